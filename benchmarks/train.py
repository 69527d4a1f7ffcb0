"""Training speed: seconds per KTO optimizer step with the reference computed every step (frozen SFT
adapter copy) vs precomputed once before training.

    python benchmarks/train.py --base ~/.cache/chatlikeme/models/SmolLM2-135M-Instruct [--sft RUN/sft]
        [--kto-data DATA/kto] [--steps 6] [--per-device 8] [--effective 16]

Without --sft a fresh LoRA adapter (r 16, all linear layers) stands in for the SFT one; without --kto-data
synthetic chat rows of ~50 tokens are used. Both variants run the same rows, batch and steps, side by side;
prints a table and writes benchmarks/results/train-kto.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from align.kto import KtoConfig, KtoData, build_trainer, load_kto_data
from core.report import md_table
from core.schema import ChatMessage, KtoRow

RESULTS = Path(__file__).parent / "results"


class StepClock(TrainerCallback):
    """Wall time of every optimizer step."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self._start = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.durations.append(time.perf_counter() - self._start)


def synthetic_rows(count: int) -> list[KtoRow]:
    """Chat-shaped rows: a short exchange, then a casual (desirable) or formal (undesirable) reply."""
    rows = []
    for i in range(count):
        prompt = [
            ChatMessage(
                "system", "You are Pasquale, chatting with Lorenzo. Respond naturally in their style."
            ),
            ChatMessage(
                "user", f"ciao! stasera ci vediamo alle {i % 12 + 1}? porto io le birre", name="Lorenzo"
            ),
            ChatMessage("assistant", "si dai, chi altro viene?"),
            ChatMessage("user", "forse Marco e Giulia, ti scrivo dopo", name="Lorenzo"),
        ]
        if i % 2:
            completion = "ok perfetto ahah, a dopo 🍻"
        else:
            completion = (
                "Thank you for your message. I would be happy to meet you this evening at the agreed time."
            )
        rows.append(KtoRow(prompt, [ChatMessage("assistant", completion)], bool(i % 2)))
    return rows


def fresh_adapter(base: str, out: Path) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base)
    lora = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
    get_peft_model(model, lora).save_pretrained(out)
    return out


def time_kto(base: str, sft: Path, data: KtoData, config: KtoConfig, work: Path) -> dict:
    clock = StepClock()
    started = time.perf_counter()
    trainer = build_trainer(base, sft, data, config, work, callbacks=[clock])
    setup = time.perf_counter() - started
    trainer.train()
    steady = clock.durations[1:] or clock.durations  # the first step also warms up kernels and allocators
    return {
        "reference": "precomputed" if config.precompute_ref_log_probs else "frozen adapter",
        "setup_s": setup,
        "s_per_step": statistics.median(steady),
        "steps": len(clock.durations),
        "rows_per_step": config.effective_batch_size,
        "total_s": setup + sum(clock.durations),
    }


def median_run(runs: list[dict]) -> dict:
    """The median of every timing over repeated runs of one variant."""
    timings = ("setup_s", "s_per_step", "total_s")
    return {
        **runs[0],
        **{key: statistics.median(run[key] for run in runs) for key in timings},
        "runs": len(runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", required=True, help="Base model directory.")
    parser.add_argument("--sft", type=Path, help="SFT adapter (default: a fresh LoRA adapter).")
    parser.add_argument("--kto-data", type=Path, help="KTO data directory (default: synthetic rows).")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--per-device", type=int, default=8)
    parser.add_argument("--effective", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="Runs of each variant (medians reported).")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 mixed precision.")
    args = parser.parse_args()

    config = KtoConfig(
        learning_rate=5e-5,
        per_device_batch_size=args.per_device,
        effective_batch_size=args.effective,
        max_steps=args.steps,
        max_rows=args.steps * args.effective,
        save_steps=10_000,
        evaluate=False,
        bf16=args.bf16 or None,
        desirable_weight=1.0,
        undesirable_weight=1.0,
    )
    with tempfile.TemporaryDirectory(prefix="bench-kto-") as tmp:
        sft = args.sft or fresh_adapter(args.base, Path(tmp) / "sft")
        if args.kto_data:
            data = load_kto_data(args.kto_data, config)
        else:
            rows = synthetic_rows(args.steps * args.effective)
            data = KtoData(rows, [], 1.0, 1.0, Path("synthetic"))
        # Rounds alternate the order of the variants, so that load from other processes hits both alike.
        runs: dict[bool, list[dict]] = {False: [], True: []}
        for round_index in range(args.rounds):
            for pre in (False, True) if round_index % 2 == 0 else (True, False):
                variant = config.replace(precompute_ref_log_probs=pre)
                runs[pre].append(time_kto(args.base, sft, data, variant, Path(tmp) / f"r{round_index}-{pre}"))
        results = [median_run(runs[pre]) for pre in (False, True)]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU x{os.cpu_count()}"
    ratio = results[0]["s_per_step"] / results[1]["s_per_step"]
    print(
        md_table(
            ["reference", "setup s", "s/step", "steps", "rows/step", "total s"],
            [
                [r["reference"], r["setup_s"], r["s_per_step"], r["steps"], r["rows_per_step"], r["total_s"]]
                for r in results
            ],
        )
    )
    print(f"precomputed reference: {ratio:.2f}x faster per step on {device}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "base_model": args.base,
        "data": str(args.kto_data or "synthetic"),
        "per_device_batch_size": args.per_device,
        "effective_batch_size": args.effective,
        "bf16": bool(args.bf16),
        "rounds": args.rounds,
        "results": results,
        "speedup_precomputed": ratio,
    }
    (RESULTS / "train-kto.json").write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
