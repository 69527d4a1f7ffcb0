"""Training speed, side by side in one run: tokens/s and seconds per optimizer step.

    python benchmarks/train.py [--data DATA] [--base-model REF] [--steps 6] [--rounds 2] [--section sft]

Without --data the demo export (4,000 messages) is generated and ingested first, as `chatlikeme demo` does.

Section `sft`: SFT steps of the base model (default SmolLM2-135M-Instruct) with the stage's own trainer, one
row per variant: number format (CPU: float32 vs bf16; CUDA: bf16) x batching (padded in random order, padded
and grouped by length, padding-free; packing on CUDA). Every variant runs the same samples, batch size and
LoRA; the first step of each run is warm-up and not counted; variants alternate over `--rounds` so that a
busy machine slows them alike (the median is reported). Tokens are real (non-padding) tokens.

Prints a table and writes `benchmarks/results/train-<section>.json`. Add a section by writing a function
`(args) -> list[dict]` and registering it in SECTIONS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import TrainerCallback

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from align.models import (
    DEFAULT_BASE_MODEL,
    choose_precision,
    load_model,
    load_tokenizer,
    resolve_base_model,
)
from align.sft import SFTStageConfig, build_trainer, encode_split, load_split
from align.training import MetricsRecorder, build_lora_config
from core.report import md_table

RESULTS = Path(__file__).parent / "results"


class StepClock(TrainerCallback):
    """Wall time and real tokens of every optimizer step."""

    def __init__(self) -> None:
        self.steps: list[tuple[float, int]] = []
        self._start, self._tokens = 0.0, 0

    def on_step_begin(self, args, state, control, **kwargs):
        self._start, self._tokens = time.perf_counter(), state.num_input_tokens_seen

    def on_step_end(self, args, state, control, **kwargs):
        self.steps.append((time.perf_counter() - self._start, state.num_input_tokens_seen - self._tokens))


# --- SFT ----------------------------------------------------------------------------------------------------


def sft_variants() -> list[tuple[str, str, dict]]:
    """(dtype, batching, config overrides) for every variant this machine supports."""
    batching = {
        "padded, random order": {"group_by_length": False},
        "padded, grouped by length": {"group_by_length": True},
        "padding-free": {"group_by_length": False, "padding_free": True},
    }
    if torch.cuda.is_available():
        dtypes = ["bfloat16"]
        batching["packing (BFD)"] = {"group_by_length": False, "packing": True}
    else:
        dtypes = ["float32", "bfloat16"]
    return [
        (dtype, name, {"dtype": dtype, **overrides})
        for dtype in dtypes
        for name, overrides in batching.items()
    ]


def demo_data_dir(root: Path) -> Path:
    from ingest.demo.export import write_demo_export
    from ingest.ingest import IngestConfig, ingest

    return ingest([write_demo_export(root / "result.json")], root / "data", IngestConfig())


def bench_sft(args: argparse.Namespace) -> list[dict]:
    base = resolve_base_model(args.base_model)
    tokenizer = load_tokenizer(base)
    config = SFTStageConfig(base_model=args.base_model, per_device_train_batch_size=args.batch)
    # Twice what the steps use: the run stops at max_steps, before the epoch ends and triggers an evaluation.
    samples = load_split(Path(args.data) / "sft" / "train.jsonl")[: 2 * args.batch * (args.steps + 1)]
    train = encode_split(tokenizer, samples, config.max_length, config.targets)
    evaluation = encode_split(tokenizer, samples[: args.batch], config.max_length, config.targets)
    timings: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for round_ in range(args.rounds):
        for dtype, batching, overrides in sft_variants():
            run_config = config.replace(max_steps=args.steps + 1, logging_steps=1000, **overrides)
            precision = choose_precision(run_config.dtype)
            model = load_model(base, precision)
            clock = StepClock()
            with tempfile.TemporaryDirectory() as work:
                trainer = build_trainer(
                    model,
                    tokenizer,
                    train,
                    evaluation,
                    run_config,
                    precision,
                    build_lora_config(run_config.lora),
                    Path(work),
                    [MetricsRecorder(Path(work) / "metrics.json"), clock],
                )
                trainer.train()
            timings.setdefault((dtype, batching), []).extend(clock.steps[1:])  # first step: warm-up
            print(
                f"round {round_ + 1}: {dtype:9} {batching:28} {_rate(clock.steps[1:]):8.0f} tokens/s",
                flush=True,
            )
    reference = timings[next(iter(timings))]
    return [
        {
            "section": "sft",
            "dtype": dtype,
            "batching": batching,
            "seconds_per_step": round(statistics.median(s for s, _ in steps), 3),
            "tokens_per_second": round(_rate(steps), 1),
            "speedup": round(_rate(steps) / _rate(reference), 2),
        }
        for (dtype, batching), steps in timings.items()
    ]


def _rate(steps: list[tuple[float, int]]) -> float:
    return statistics.median(tokens / seconds for seconds, tokens in steps)


# --- driver -------------------------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[argparse.Namespace], list[dict]]] = {"sft": bench_sft}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="A data directory written by `chatlikeme ingest`."
    )
    parser.add_argument("--base-model", default=DEFAULT_BASE_MODEL)
    parser.add_argument(
        "--steps", type=int, default=6, help="Timed optimizer steps per run (after 1 warm-up)."
    )
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="Alternate the variants this many times.")
    parser.add_argument("--section", choices=sorted(SECTIONS), default="sft")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        if args.data is None:
            args.data = demo_data_dir(Path(scratch))
        rows = SECTIONS[args.section](args)
    machine = {
        "device": torch.cuda.get_device_name()
        if torch.cuda.is_available()
        else platform.processor() or "cpu",
        "threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "torch": torch.__version__,
    }
    headers = ["dtype", "batching", "s/step", "tokens/s", "speedup"]
    table = [
        [r["dtype"], r["batching"], r["seconds_per_step"], r["tokens_per_second"], r["speedup"]] for r in rows
    ]
    print(
        f"\n{args.section}: {args.base_model}, batch {args.batch}, {args.steps} steps x {args.rounds} rounds"
    )
    print(md_table(headers, table))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"train-{args.section}.json"
    settings = {k: str(v) for k, v in vars(args).items()}
    out.write_text(json.dumps({"machine": machine, "settings": settings, "rows": rows}, indent=2) + "\n")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
