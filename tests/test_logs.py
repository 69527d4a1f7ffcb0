"""`core.logs`: the one log handler, in a process of its own (the handler is global state)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = textwrap.dedent(
    """
    import logging, sys
    from tqdm import tqdm
    from core.errors import ChatLikeMeError
    from core.logs import setup_logging

    setup_logging()
    setup_logging()  # a second call adds no second handler
    logging.getLogger().addHandler(logging.StreamHandler(sys.stderr))  # as Prefect does: no line twice
    log = logging.getLogger("align.somewhere")
    print("result on stdout")
    log.debug("not shown at INFO")
    logging.getLogger("elsewhere").info("another library's info: not shown")
    for step in tqdm(range(2), file=sys.stderr):
        log.info("resuming from /" + "checkpoint/" * 20 + " [cpu]")
    try:
        raise ChatLikeMeError("bad input")
    except ChatLikeMeError:
        log.exception("step failed")
    """
)


def test_progress_is_one_line_on_stderr_once_and_results_stay_on_stdout() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout == "result on stdout\n"
    lines = done.stderr.splitlines()  # text mode: tqdm's carriage returns end lines too
    resumed = [line for line in lines if "resuming from" in line]
    # Not wrapped at 80 columns (a grep finds the whole message), no time column off a terminal, once each.
    assert resumed == ["INFO     resuming from /" + "checkpoint/" * 20 + " [cpu]"] * 2, done.stderr
    assert "ERROR    step failed" in lines and "Traceback" not in done.stderr  # a user error: its line only
    assert "not shown" not in done.stderr


def say_resuming(path: str) -> Path:
    logging.getLogger("align.training").info(f"resuming from {path}")
    return Path(path)


def test_a_stage_in_a_process_of_its_own_still_shows_its_progress(capfd: pytest.CaptureFixture[str]) -> None:
    from flows.stages import in_process

    assert in_process(say_resuming, "/runs/x", fresh=True) == Path("/runs/x")
    assert "INFO     resuming from /runs/x\n" in capfd.readouterr().err
