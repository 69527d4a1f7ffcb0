"""KTO-data generation speed: vLLM's offline engine vs transformers `generate`, on the exact generation jobs
a kto-data config plans for an SFT data directory (default: the cpu-demo preset).

    python benchmarks/kto_data.py --sft DATA/sft [--config cpu-demo] [--base-model REF] [--sft-adapter DIR]
                                  [--rounds 1]

Both backends run the same jobs (base-model replies + SFT-adapter replies, same prompts and sampling); times
include everything a kto-data run pays: model loading and, for vLLM, the engine start in its child process.
Backends alternate over `--rounds` so that a busy machine slows them alike (the median is reported). Without
`--sft-adapter` a fresh LoRA adapter (rank 16, all linear layers, standard init) stands in for the SFT model.

Prints a table and writes `benchmarks/results/kto_data-generation.json`.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from align.generation import GenerationJob, generate, vllm_available
from align.kto_data import (
    SPLITS,
    KTODataConfig,
    base_model_for,
    chat_languages,
    find_sft_dir,
    generation_jobs,
    persona_slots,
    plan_tasks,
    read_split,
)
from core.report import md_table

RESULTS = Path(__file__).parent / "results"


def planned_jobs(sft: Path, config: KTODataConfig, adapter: Path) -> list[GenerationJob]:
    """The generation jobs `build_kto_data` would run for this data and config."""
    samples = {split: read_split(sft, split) for split in SPLITS}
    _, languages = chat_languages(samples["train"] + samples["eval"], config.language)
    positives = {split: persona_slots(samples[split], languages, config, split)[0] for split in SPLITS}
    return generation_jobs(plan_tasks(config, positives, {"sft_adapter"}), config, adapter)


def fresh_adapter(base_model: str, out: Path) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_model)
    config = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
    get_peft_model(model, config).save_pretrained(out)
    return out


def new_tokens(base_model: str, replies: dict[str, list[str]]) -> int:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    return sum(len(tokenizer(r, add_special_tokens=False).input_ids) for rs in replies.values() for r in rs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sft", type=Path, required=True, help="SFT data directory (ingest's DIR/sft)")
    parser.add_argument("--config", default="cpu-demo", help="kto-data config file or preset")
    parser.add_argument("--base-model", default=None, help="base model (default: the project default)")
    parser.add_argument("--sft-adapter", type=Path, default=None, help="SFT adapter (default: a fresh one)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--backends", nargs="+", default=["transformers", "vllm"], help="in this order")
    args = parser.parse_args()

    config = KTODataConfig.load(args.config)
    base_model = base_model_for(args.base_model or config.base_model, None)
    backends = [b for b in args.backends if b != "vllm" or vllm_available()]
    with tempfile.TemporaryDirectory() as tmp:
        adapter = args.sft_adapter or fresh_adapter(base_model, Path(tmp) / "sft")
        jobs = planned_jobs(find_sft_dir(args.sft), config, adapter)
        prompts = sum(len(job.prompts) for job in jobs)
        seconds: dict[str, list[float]] = {backend: [] for backend in backends}
        tokens: dict[str, int] = {}
        for _ in range(args.rounds):
            for backend in backends:
                started = time.perf_counter()
                replies = generate(base_model, jobs, backend=backend, batch_size=config.generation_batch_size)
                seconds[backend].append(time.perf_counter() - started)
                tokens[backend] = new_tokens(base_model, replies)

    rows = []
    for backend in backends:
        median = statistics.median(seconds[backend])
        rows.append(
            {
                "backend": backend,
                "prompts": prompts,
                "new_tokens": tokens[backend],
                "seconds": round(median, 1),
                "replies_per_s": round(prompts / median, 2),
                "tokens_per_s": round(tokens[backend] / median, 1),
                "runs": [round(s, 1) for s in seconds[backend]],
            }
        )
    by_backend = {row["backend"]: row for row in rows}
    if {"vllm", "transformers"} <= set(by_backend):
        speedup = by_backend["transformers"]["seconds"] / by_backend["vllm"]["seconds"]
        by_backend["vllm"]["speedup_vs_transformers"] = round(speedup, 2)
    headers = list(max(rows, key=len))
    print(md_table(headers, [[row.get(h, "") for h in headers] for row in rows]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "kto_data-generation",
        "config": args.config,
        "base_model": base_model,
        "jobs": {job.name: len(job.prompts) for job in jobs},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "rows": rows,
    }
    path = RESULTS / "kto_data-generation.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
