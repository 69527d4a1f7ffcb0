"""KTO against SFT, measured more than once: KTO data, KTO and eval on one SFT run, once per seed.

    python benchmarks/kto_vs_sft.py --run RUN --data DATA [--seeds 0 1 2] [--samples-per-prompt 3]
        [--kto-data-config cpu-demo] [--kto-config cpu-demo] [--eval-config cpu-demo] [--out DIR]

RUN is a run folder with an SFT adapter (`RUN/sft`, e.g. `runs/current` of `chatlikeme demo`), DATA the
ingest folder it was trained on (`DATA/sft`). For each seed S, as a user would run them:
`chatlikeme kto-data --seed S` (the SFT adapter samples the on-policy negatives), `chatlikeme kto` on that
data, and `chatlikeme eval` of base, sft and that kto with `--samples-per-prompt` replies per prompt.

Why: one run's `kto - sft` interval covers the choice of eval prompts and one draw of the replies, not the
randomness of the KTO data (which negatives were drawn, which rows KTO trained on). On the demo those two
are about the same size: one seed of a recipe said +0.018 with one reply per prompt and -0.001 with three
(docs/kto-and-eval.md). A recipe wins only where every seed's interval lies above 0.

Prints a Markdown table (per seed: kto - sft fidelity with its 95 % interval and the verdict, detectability
AUC, context fit, distinct-2, length KS; then the mean and spread over seeds) and writes
`benchmarks/results/kto_vs_sft.json`. Each seed takes about 18 minutes on 2 CPU cores with the cpu-demo
presets and three replies per prompt.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from align.evaluate import EvalConfig  # noqa: E402
from core.errors import ChatLikeMeError  # noqa: E402

# Differences shown per seed: (report key, column title, format).
COLUMNS = [
    ("detectability_auc", "AUC", "{:+.3f}"),
    ("relevance", "relevance", "{:+.2f}"),
    ("matching", "matching", "{:+.3f}"),
    ("distinct_2", "distinct-2", "{:+.3f}"),
    ("length_ks", "length KS", "{:+.3f}"),
]


def chatlikeme(*arguments: str) -> float:
    """Run one `chatlikeme` command (as `python -m flows.cli`); its wall time. Shows the command's result line
    (its last line on stdout: the trainer's step logs are left out); exits on failure."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    command = [sys.executable, "-m", "flows.cli", *arguments]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"chatlikeme {arguments[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    print(f"  {lines[-1] if lines else arguments[0] + ': done'}", file=sys.stderr, flush=True)
    return time.perf_counter() - started


def measure_seed(
    seed: int, run: Path, data: Path, out: Path, args: argparse.Namespace, eval_config: Path
) -> dict:
    """KTO data, KTO and eval for one seed in `out/seed-S`; the eval's kto - sft differences."""
    folder = out / f"seed-{seed}"
    candidate = folder / "run"
    candidate.mkdir(parents=True, exist_ok=True)
    sft = candidate / "sft"
    sft.unlink(missing_ok=True)  # a folder reused with another --run must not keep the old adapter
    sft.symlink_to((run / "sft").resolve())
    kto_data = folder / "kto-data"
    seconds = {
        "kto_data": chatlikeme(
            "kto-data",
            "--sft",
            str(data / "sft"),
            "--out",
            str(kto_data),
            "--config",
            args.kto_data_config,
            "--sft-adapter",
            str(sft),
            "--seed",
            str(seed),
            "--backend",
            args.backend,
        ),
        "kto": chatlikeme(
            "kto",
            "--data",
            str(kto_data),
            "--sft",
            str(sft),
            "--out",
            str(candidate / "kto"),
            "--config",
            args.kto_config,
        ),
        "eval": chatlikeme(
            "eval", "--run", str(candidate), "--data", str(data), "--config", str(eval_config)
        ),
    }
    report = json.loads((candidate / "eval" / "report.json").read_text())
    differences = report["differences"]["kto-sft"]
    return {
        "seed": seed,
        "fidelity": differences["fidelity"],
        "verdict": report["verdicts"]["kto vs sft"],
        "differences": {key: differences[key] for key, _, _ in COLUMNS},
        "seconds": {stage: round(value, 1) for stage, value in seconds.items()},
        "folder": str(folder),
    }


def print_table(results: list[dict]) -> dict:
    """The per-seed table and the summary over seeds (returned)."""
    titles = ["seed", "kto - sft fidelity [95 %]", "verdict", *(title for _, title, _ in COLUMNS)]
    print("| " + " | ".join(titles) + " |")
    print("|" + "---|" * len(titles))
    for result in results:
        value, low, high = result["fidelity"]
        cells = [str(result["seed"]), f"{value:+.3f} [{low:+.3f}, {high:+.3f}]", result["verdict"]]
        cells += [fmt.format(result["differences"][key][0]) for key, _, fmt in COLUMNS]
        print("| " + " | ".join(cells) + " |")
    values = [result["fidelity"][0] for result in results]
    summary = {
        "mean": statistics.fmean(values),
        "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
        "seeds_above_0": sum(result["fidelity"][1] > 0 for result in results),
        "seeds_below_0": sum(result["fidelity"][2] < 0 for result in results),
        "seeds": len(results),
    }
    print(
        f"mean over {len(values)} seeds {summary['mean']:+.3f} (sd {summary['sd']:.3f}); interval above 0 in "
        f"{summary['seeds_above_0']}, below 0 in {summary['seeds_below_0']}"
    )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--run", type=Path, required=True, help="A run folder with the SFT adapter (RUN/sft)."
    )
    parser.add_argument("--data", type=Path, required=True, help="The ingest data folder (DATA/sft).")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="KTO-data seeds.")
    parser.add_argument("--samples-per-prompt", type=int, default=3, help="Eval replies per prompt.")
    parser.add_argument("--kto-data-config", default="cpu-demo", help="Preset name or YAML file.")
    parser.add_argument("--kto-config", default="cpu-demo", help="Preset name or YAML file.")
    parser.add_argument("--eval-config", default="cpu-demo", help="Preset name or YAML file.")
    parser.add_argument("--backend", default="auto", help="Generation backend of kto-data.")
    parser.add_argument("--out", type=Path, help="Where the seeds' folders go (default: a temporary one).")
    args = parser.parse_args()
    if not (args.run / "sft").is_dir():
        sys.exit(f"{args.run}: no SFT adapter (sft/) in this run folder")
    if not (args.data / "sft").is_dir():
        sys.exit(f"{args.data}: no SFT data (sft/) in this data folder")
    out = args.out or Path(tempfile.mkdtemp(prefix="chatlikeme-kto-vs-sft-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        eval_config = EvalConfig.load(args.eval_config, {"samples_per_prompt": args.samples_per_prompt})
    except ChatLikeMeError as exc:
        sys.exit(f"--eval-config: {exc}")
    eval_path = eval_config.save_yaml(out / "eval.yaml")

    results = []
    for seed in args.seeds:
        print(f"seed {seed}: kto-data, kto, eval in {out / f'seed-{seed}'}", file=sys.stderr, flush=True)
        results.append(measure_seed(seed, args.run, args.data, out, args, eval_path))
    summary = print_table(results)
    record = {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "configs": {
            "kto_data": args.kto_data_config,
            "kto": args.kto_config,
            "eval": args.eval_config,
            "samples_per_prompt": args.samples_per_prompt,
        },
        "run": str(args.run.resolve()),
        "data": str(args.data.resolve()),
        "seeds": results,
        "summary": summary,
    }
    path = ROOT / "benchmarks" / "results" / "kto_vs_sft.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
