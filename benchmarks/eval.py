"""Eval-stage speed: generation, scoring, metrics + bootstrap, per backend and samples per prompt.

    python benchmarks/eval.py                                  # default model, random adapters, demo data
    python benchmarks/eval.py --model DIR --run RUN --data DATA --prompts 100 --samples 1 2 \\
                              --backends transformers vllm --max-new-tokens 64

Runs `align.evaluate.run_evaluation` (what `evaluate()` runs before writing its report) once per backend x
samples setting (EvalConfig.backend / samples_per_prompt, the rest from the eval preset: cpu-demo on CPU,
gpu on CUDA), and times them separately:
- generation: `sample_replies` (base, sft, kto; model loading and, for vLLM, the engine start in its child
  process included, as the stage pays them);
- scoring: `score_replies` (the scorer's context fit with KV-cache reuse, and perplexity under each model);
- metrics: `build_features` + `bootstrap` (the paired bootstrap over prompts);
- total: all of it, from the prompts to the bootstrap (report writing and plots excluded).
Each is also normalized per 100 prompts, i.e. per 100 x 3 models x S replies. The scorer's throughput is the
(context, reply) pairs its `log_probs` scored per second (every reply against its own context and k-1
distractors; duplicates scored once).

Defaults: the prepared SmolLM2-135M-Instruct, two random rank-8 LoRA adapters on it as `sft` and `kto`, and
the demo export ingested into a temporary folder. Prints a table and writes `benchmarks/results/eval.json`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from align.adapters import require_adapter, same_base_model, shared_base_model
from align.context_fit import ReplyScorer
from align.evaluate import (
    MODELS,
    EvalConfig,
    EvalItem,
    held_out_split_path,
    load_eval_items,
    run_evaluation,
    select_items,
)
from align.generation import vllm_available
from core.errors import ChatLikeMeError
from core.report import md_table

RESULTS = Path(__file__).parent / "results" / "eval.json"
BACKENDS = ("transformers", "vllm")
MESSAGES_PER_PROMPT = 40  # the demo export yields ~1 held-out persona reply per 35 messages


@dataclass
class Setup:
    """What every row evaluates: the base model, the adapters, the held-out items and their split."""

    base_model: str
    adapters: dict[str, Path]
    items: list[EvalItem]
    split: Path
    warning: str | None


@dataclass
class ScorerStats:
    """What the context-fit scorer did during one `score_replies` call."""

    pairs: int = 0
    seconds: float = 0.0


@dataclass
class Row:
    backend: str
    samples: int
    prompts: int
    seconds: dict[str, float] = field(default_factory=dict)
    scorer: ScorerStats = field(default_factory=ScorerStats)
    fidelity: dict[str, float] = field(default_factory=dict)
    error: str | None = None


# --- arguments ----------------------------------------------------------------------------------------------


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments end in one line (`eval.py: error: ...`), not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="base model dir (default: the prepared SmolLM2-135M)")
    parser.add_argument("--run", type=Path, help="run dir with sft/ and kto/ adapters (default: random ones)")
    parser.add_argument("--data", type=Path, help="ingested data dir (default: the demo export, ingested)")
    parser.add_argument("--prompts", type=int, default=100, help="held-out prompts (default 100)")
    parser.add_argument("--samples", type=int, nargs="+", default=[1, 2], help="samples per prompt settings")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), help="transformers and/or vllm")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--config", help="eval preset or YAML (default: cpu-demo, or gpu on CUDA)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON result (default {RESULTS})")
    args = parser.parse_args(argv)
    problem = argument_problem(args)
    if problem:
        parser.error(problem)
    return args


def argument_problem(args: argparse.Namespace) -> str | None:
    """The first thing wrong with the arguments, in one line (None when they are fine)."""
    checks = [
        (args.prompts < 4, f"--prompts must be at least 4 (got {args.prompts})"),
        (min(args.samples) < 1, f"--samples must all be >= 1 (got {args.samples})"),
        (args.max_new_tokens < 1, f"--max-new-tokens must be >= 1 (got {args.max_new_tokens})"),
        (bool(set(args.backends) - set(BACKENDS)), f"--backends: choose from {', '.join(BACKENDS)}"),
        ("vllm" in args.backends and not vllm_available(), "--backends vllm: vLLM is not installed"),
        (args.model is not None and not args.model.is_dir(), f"--model {args.model}: no such directory"),
        (args.run is not None and not args.run.is_dir(), f"--run {args.run}: no such directory"),
        (args.data is not None and not args.data.is_dir(), f"--data {args.data}: no such directory"),
        (args.out.is_dir(), f"--out {args.out}: is a directory, give a JSON file path"),
    ]
    problem = next((message for bad, message in checks if bad), None)
    return problem or config_problem(args)


def config_problem(args: argparse.Namespace) -> str | None:
    try:
        eval_config(args, args.backends[0], args.samples[0])
    except ChatLikeMeError as exc:
        return f"--config: {exc}"
    return None


# --- inputs -------------------------------------------------------------------------------------------------


def random_adapter(base_model: str, out_dir: Path, seed: int, rank: int = 8) -> Path:
    """A LoRA adapter with random non-zero weights (as tests/conftest.py's make_lora_adapter)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base_model)
    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
        init_lora_weights=False,
    )
    get_peft_model(model, config).save_pretrained(out_dir)
    return out_dir


def demo_data(out_dir: Path, prompts: int) -> Path:
    """The demo export, large enough for `prompts` held-out replies, ingested into `out_dir`."""
    from ingest.demo.export import DEFAULT_MESSAGES, write_demo_export
    from ingest.ingest import IngestConfig, ingest

    messages = max(DEFAULT_MESSAGES, MESSAGES_PER_PROMPT * prompts)
    export = write_demo_export(out_dir / "result.json", messages=messages, seed=0)
    return ingest([export], out_dir / "data", IngestConfig())


def base_model_path(args: argparse.Namespace) -> str:
    if args.model is not None:
        return str(args.model.resolve())
    from align.models import prepare_default_model

    return str(prepare_default_model())


def run_adapters(args: argparse.Namespace, tmp: Path) -> dict[str, Path]:
    if args.run is None:
        model = base_model_path(args)
        progress(f"making random rank-8 LoRA adapters sft, kto on {model}")
        return {
            name: random_adapter(model, tmp / "run" / name, seed) for seed, name in enumerate(MODELS[1:], 1)
        }
    return {name: require_adapter(args.run / name, name) for name in MODELS[1:]}


def prepare(args: argparse.Namespace, tmp: Path) -> Setup:
    """The base model, adapters and held-out items every row uses (made in `tmp` where not given)."""
    adapters = run_adapters(args, tmp)
    base_model = shared_base_model(adapters)
    if args.model is not None and not same_base_model(base_model, str(args.model.resolve())):
        raise ChatLikeMeError(
            f"--model {args.model}: the adapters in {args.run} were trained on {base_model}"
        )
    if args.data is None:
        progress("writing and ingesting the demo export")
    data_dir = args.data or demo_data(tmp / "demo", args.prompts)
    split, warning = held_out_split_path(data_dir)
    context_messages = eval_config(args, args.backends[0], args.samples[0]).max_context_messages
    items = select_items(load_eval_items(split, context_messages), args.prompts)
    if len(items) < args.prompts:
        progress(f"warning: {split} holds only {len(items)} held-out replies (asked for {args.prompts})")
    return Setup(base_model, adapters, items, split, warning)


def eval_config(args: argparse.Namespace, backend: str, samples: int) -> EvalConfig:
    overrides = {
        "backend": backend,
        "samples_per_prompt": samples,
        "max_new_tokens": args.max_new_tokens,
        "max_prompts": args.prompts,
    }
    return EvalConfig.load(args.config or default_preset(), overrides)


def default_preset() -> str:
    import torch

    return "gpu" if torch.cuda.is_available() else "cpu-demo"


# --- measuring ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def scorer_stats() -> Iterator[ScorerStats]:
    """Count the (context, reply) pairs `ReplyScorer.log_probs` scores, and the seconds it takes."""
    stats, original = ScorerStats(), ReplyScorer.log_probs

    def counted(self: ReplyScorer, contexts: list, requests: list) -> object:
        clock = time.perf_counter()
        try:
            return original(self, contexts, requests)
        finally:
            stats.pairs += len(requests)
            stats.seconds += time.perf_counter() - clock

    ReplyScorer.log_probs = counted  # type: ignore[method-assign]
    try:
        yield stats
    finally:
        ReplyScorer.log_probs = original  # type: ignore[method-assign]


def measure(setup: Setup, config: EvalConfig) -> Row:
    """One pass of the eval stage's pipeline (as `evaluate()` chains it), each step timed."""
    row = Row(config.backend, config.samples_per_prompt, len(setup.items))
    with scorer_stats() as stats:
        done = run_evaluation(setup.base_model, setup.adapters, setup.items, setup.split, config)
    row.scorer = stats
    for step in ("generation", "scoring", "metrics", "total"):
        row.seconds[step] = done.timings[f"{step}_s"]
    row.fidelity = {name: round(done.result.metrics[name]["fidelity"].value, 4) for name in MODELS}
    return row


def measure_all(args: argparse.Namespace, setup: Setup) -> list[Row]:
    settings = [(backend, samples) for backend in args.backends for samples in args.samples]
    rows = []
    for number, (backend, samples) in enumerate(settings, 1):
        replies = len(setup.items) * len(MODELS) * samples
        progress(f"[{number}/{len(settings)}] {backend}, {samples} sample(s)/prompt: {replies} replies")
        try:
            rows.append(measure(setup, eval_config(args, backend, samples)))
        except ChatLikeMeError as exc:  # e.g. the vLLM child process failed: keep the other rows
            progress(f"[{number}/{len(settings)}] failed: {exc}")
            rows.append(Row(backend, samples, len(setup.items), error=str(exc)))
        progress(f"[{number}/{len(settings)}] done: {summary(rows[-1])}")
    return rows


def progress(message: str) -> None:
    print(f"eval-bench: {message}", file=sys.stderr, flush=True)


# --- reporting ----------------------------------------------------------------------------------------------


def per_100_prompts(row: Row) -> dict[str, float]:
    """Seconds per 100 prompts, i.e. per 100 x 3 models x S replies."""
    return {step: seconds * 100 / row.prompts for step, seconds in row.seconds.items()}


def pairs_per_s(row: Row) -> float | None:
    return row.scorer.pairs / row.scorer.seconds if row.scorer.seconds > 0 else None


def summary(row: Row) -> str:
    if row.error:
        return f"error: {row.error}"
    return ", ".join(f"{step} {seconds:.1f}s" for step, seconds in row.seconds.items())


STEPS = ("generation", "scoring", "metrics", "total")
HEADERS = ["backend", "S", "prompts", "replies", *(f"{s} s" for s in STEPS)]
HEADERS += [*(f"{s} s/100p" for s in STEPS), "scorer pairs/s"]


def table_row(row: Row) -> list:
    replies = row.prompts * len(MODELS) * row.samples
    if row.error:
        return [row.backend, row.samples, row.prompts, replies, "failed", *[""] * (len(HEADERS) - 5)]
    normalized = per_100_prompts(row)
    rate = pairs_per_s(row)
    return [
        row.backend,
        row.samples,
        row.prompts,
        replies,
        *(round(row.seconds[s], 1) for s in STEPS),
        *(round(normalized[s], 1) for s in STEPS),
        "" if rate is None else round(rate, 1),
    ]


def row_json(row: Row) -> dict:
    if row.error:
        return {"backend": row.backend, "samples_per_prompt": row.samples, "error": row.error}
    rate = pairs_per_s(row)
    return {
        "backend": row.backend,
        "samples_per_prompt": row.samples,
        "prompts": row.prompts,
        "replies": row.prompts * len(MODELS) * row.samples,
        "seconds": {s: round(v, 2) for s, v in row.seconds.items()},
        "seconds_per_100_prompts": {s: round(v, 2) for s, v in per_100_prompts(row).items()},
        "scorer": {
            "pairs": row.scorer.pairs,
            "context_fit_s": round(row.scorer.seconds, 2),
            "pairs_per_s": None if rate is None else round(rate, 2),
        },
        "fidelity": row.fidelity,
    }


def machine_info() -> dict:
    import torch

    from align.models import choose_precision

    cpuinfo = read_cpuinfo()
    model_names = [
        line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")
    ]
    return {
        "cpu": model_names[0] if model_names else platform.processor(),
        "cores": os.cpu_count(),
        "torch_dtype": str(choose_precision().weights).removeprefix("torch."),
        "precision": choose_precision().describe(),
        "avx512_bf16": "avx512_bf16" in cpuinfo,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch_threads": torch.get_num_threads(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
    }


def read_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def settings_json(args: argparse.Namespace, setup: Setup, config: EvalConfig) -> dict:
    return {
        "base_model": setup.base_model,
        "adapters": str(args.run) if args.run else "random rank-8 LoRA adapters",
        "data": str(args.data) if args.data else "demo export (ingested in a temporary folder)",
        "split": setup.split.name,
        "split_warning": setup.warning,
        "prompts": len(setup.items),
        "samples": args.samples,
        "backends": args.backends,
        "preset": args.config or default_preset(),
        "max_new_tokens": config.max_new_tokens,
        "max_context_messages": config.max_context_messages,
        "max_length": config.max_length,
        "matching_candidates": config.matching_candidates,
        "bootstrap_rounds": config.bootstrap_rounds,
        "generation_batch_size": config.generation_batch_size,
        "perplexity_batch_size": config.perplexity_batch_size,
        "temperature": config.temperature,
        "top_p": config.top_p,
        "seed": config.seed,
    }


def write_results(args: argparse.Namespace, setup: Setup, rows: list[Row]) -> None:
    print("\n" + md_table(HEADERS, [table_row(row) for row in rows]))
    result = {
        "benchmark": "eval",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine_info(),
        "settings": settings_json(args, setup, eval_config(args, args.backends[0], args.samples[0])),
        "rows": [row_json(row) for row in rows],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {args.out}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="chatlikeme-eval-bench-") as tmp:
            setup = prepare(args, Path(tmp))
            rows = measure_all(args, setup)
            write_results(args, setup, rows)
    except ChatLikeMeError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
