"""`accelerate launch -m align.sft` / `-m align.kto`: the training stages as programs of their own, with the
flags, help and errors of `chatlikeme sft` / `chatlikeme kto`, and without the Prefect layer (`flows`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

# Runs a module as `python -m` does, then reports its exit status and the `flows` modules it imported.
RUN_AS_MAIN = """
import runpy, sys
module, status = sys.argv.pop(1), 0  # the arguments after the module's name are its own
try:
    runpy.run_module(module, run_name="__main__", alter_sys=True)
except SystemExit as exit:
    status = exit.code
print(status, sorted(name for name in sys.modules if name.partition(".")[0] == "flows"))
"""


def run_python(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python ARGS` with this checkout first on the path (as `run_cli` does) and a 100-column terminal.
    On a timeout the whole process group is killed: a launcher's workers too, not only the launcher."""
    command = [sys.executable, *map(str, args)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    ) as process:  # fmt: skip
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.mark.parametrize("verb", ["sft", "kto"])
def test_the_module_takes_the_verbs_flags_and_help(verb: str) -> None:
    """`python -m align.VERB --help` is `chatlikeme VERB --help` but for the program's name."""
    launched = run_python("-m", f"align.{verb}", "--help")
    verb_help = run_cli(verb, "--help", COLUMNS="100")
    assert launched.returncode == 0 == verb_help.returncode, launched.stderr
    assert f"Usage: python -m align.{verb} [OPTIONS]" in launched.stdout
    expected = verb_help.stdout.replace(
        f"python -m flows.cli {verb} [OPTIONS]", f"python -m align.{verb} [OPTIONS]"
    )
    assert [line.rstrip() for line in launched.stdout.splitlines()] == [
        line.rstrip() for line in expected.splitlines()
    ]


@pytest.mark.parametrize(
    ("module", "args", "message"),
    [
        (
            "align.sft",
            ["--data", "{tmp}/missing", "--out", "{tmp}/run"],
            "missing/sft/train.jsonl: file not found",
        ),
        (
            "align.kto",
            ["--data", "{tmp}/kto", "--sft", "{tmp}/missing", "--out", "{tmp}/run/kto"],
            "missing: does not exist; run `chatlikeme sft` first",
        ),
    ],
)
def test_the_module_runs_without_flows_and_reports_errors_on_one_line(
    tmp_path: Path, module: str, args: list[str], message: str
) -> None:
    """Each GPU's process parses, loads the config and starts the stage without importing Prefect; an error
    the user can fix is one `chatlikeme: error:` line and status 2, as with `chatlikeme`."""
    result = run_python("-c", RUN_AS_MAIN, module, *(arg.format(tmp=tmp_path) for arg in args))
    assert result.stdout.splitlines()[-1] == "2 []", result.stderr
    assert "Traceback" not in result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("chatlikeme: error: ") and message in error


def test_two_launched_processes_on_a_cpu_see_one_main_process(tmp_path: Path) -> None:
    """Under `torchrun` on a machine without a GPU the stages' process group is the Trainer's (gloo): one
    main process, not two that each clear the checkpoint folder while the other writes into it."""
    from tests.flows.conftest import free_port

    script = (
        "import pathlib, sys; from align.models import choose_precision; "
        "from align.training import training_processes; "
        "state = training_processes(choose_precision('float32')); "
        "pathlib.Path(sys.argv[1], f'rank{state.process_index}').write_text("
        "f'{state.num_processes} {state.is_main_process}')"
    )
    launched = run_python(
        "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
        "--no-python", sys.executable, "-c", script, tmp_path,
    )  # fmt: skip
    assert launched.returncode == 0, launched.stderr
    seen = {path.name: path.read_text() for path in tmp_path.iterdir()}
    assert seen == {"rank0": "2 True", "rank1": "2 False"}


@pytest.mark.slow
def test_kto_under_two_processes_writes_one_complete_output(tiny_model: Path, tmp_path: Path) -> None:
    """`torchrun --nproc_per_node 2 -m align.kto` (what `accelerate launch` does): both processes train, the
    main one alone writes the adapter and its report; nothing of the checkpoints is left behind."""
    from tests.align.test_kto import FAST, write_kto_data
    from tests.conftest import make_lora_adapter
    from tests.flows.conftest import free_port

    sft = make_lora_adapter(tiny_model, tmp_path / "run" / "sft", seed=7)
    data = write_kto_data(tmp_path / "data" / "kto", train_count=16)
    config = FAST.replace(max_steps=2, evaluate=False).save_yaml(tmp_path / "kto.yaml")
    out = tmp_path / "run" / "kto"
    launched = run_python(
        "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
        "-m", "align.kto", "--data", data, "--sft", sft, "--out", out, "--config", config,
    )  # fmt: skip
    assert launched.returncode == 0, launched.stderr
    assert json.loads((out / "report.json").read_text())["steps"] == 2
    assert [step["step"] for step in json.loads((out / "metrics.json").read_text())["train"]] == [1, 2]
    assert (out / "adapter_model.safetensors").is_file()
    assert sorted(path.name for path in out.parent.iterdir()) == ["kto", "sft"]
    assert launched.stdout.count(f"-> {out}") == 1  # one summary line: the main process's
