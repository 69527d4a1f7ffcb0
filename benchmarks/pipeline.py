"""The README's main job, timed: `chatlikeme demo` end to end on this machine, then again with nothing new.

    python benchmarks/pipeline.py [--workdir DIR] [--messages N] [--float32]

Runs the real command twice in a fresh working directory (the first run does everything, the second must
reuse every step), prints a table of per-stage times and writes benchmarks/results/pipeline.json
(pipeline-float32.json with --float32: training and scoring in float32 as on a CPU without AVX512-BF16, on
one that has it). Target on a 2-core CPU with bf16: the first run within 15 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 15 * 60


def run_demo(workdir: Path, messages: int | None, float32: bool) -> dict:
    command = [sys.executable, "-m", "flows.cli", "demo", "--workdir", str(workdir)]
    if messages:
        command += ["--messages", str(messages)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    if float32:
        env["CHATLIKEME_CPU_BF16"] = "0"  # dtype "auto" picks float32, as on a CPU without bf16
    started = time.perf_counter()
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"chatlikeme demo failed ({done.returncode}):\n{done.stderr[-4000:]}")
    current = json.loads((workdir / "runs" / "current" / "manifest.json").read_text())
    return {"wall_s": round(wall, 1), "manifest": current, "stdout": done.stdout}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, help="Working directory (default: a fresh temporary one).")
    parser.add_argument("--messages", type=int, help="Size of the demo export.")
    parser.add_argument("--float32", action="store_true", help="Float32 even where the CPU has bf16.")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="chatlikeme-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)

    first = run_demo(workdir, args.messages, args.float32)
    second = run_demo(workdir, args.messages, args.float32)
    stages = first["manifest"]["stages"]
    rows = [(stage, s["seconds"], "reused" if s["reused"] else "ran") for stage, s in stages.items()]
    print(f"{'step':<10} {'seconds':>9}  first run")
    for stage, seconds, how in rows:
        print(f"{stage:<10} {seconds:>9.1f}  {how}")
    print(f"{'total':<10} {first['wall_s']:>9.1f}  wall time of `chatlikeme demo` (target <= {TARGET_S} s)")
    print(f"{'again':<10} {second['wall_s']:>9.1f}  second run, nothing new (every step reused)")
    fidelity = first["manifest"]["eval"]["fidelity"]
    print("fidelity: " + ", ".join(f"{model} {score:.3f}" for model, score in fidelity.items()))

    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "precision": "float32" if args.float32 else "auto (bf16 where the CPU has it)",
        "first_run_wall_s": first["wall_s"],
        "second_run_wall_s": second["wall_s"],
        "target_s": TARGET_S,
        "within_target": first["wall_s"] <= TARGET_S,
        "stages_s": {stage: seconds for stage, seconds, _ in rows},
        "fidelity": fidelity,
        "workdir": str(workdir),
    }
    out = ROOT / "benchmarks" / "results" / ("pipeline-float32.json" if args.float32 else "pipeline.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
