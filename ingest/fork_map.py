"""`fork_map`: run a function that returns Arrow tables over many items in two processes.

Decoding a big export is Python-bound (one core), and the machines this runs on have at least two. A forked
child shares everything the parent has loaded (the memory-mapped export, the decoded chat slices) without
copying or pickling it; it works through its share of the items and hands each resulting table back as an
Arrow IPC file, which the parent reads with a single copy. Items are split so both processes get about the
same weight (bytes of JSON, here).

Errors keep their meaning: a `ChatLikeMeError` raised in the child is raised again in the parent with the
same message; anything else becomes a RuntimeError carrying the child's traceback.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import pyarrow as pa

from core.errors import ChatLikeMeError

T = TypeVar("T")

_INPUT_ERROR, _BUG = 2, 1


def can_fork() -> bool:
    return hasattr(os, "fork") and (os.cpu_count() or 1) >= 2


def fork_map(
    work: Callable[[T], pa.Table],
    items: Sequence[T],
    weights: Sequence[int],
    progress: Callable[[int], None] | None = None,
) -> list[pa.Table]:
    """`[work(item) for item in items]`, about half of the weight done by a forked child process."""
    mine, theirs = balanced_halves(weights)
    results: dict[int, pa.Table] = {}
    with tempfile.TemporaryDirectory(prefix="chatlikeme-fork-") as tmp:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child never returns from here
            _child(work, items, theirs, Path(tmp))
        try:
            for i in mine:
                results[i] = work(items[i])
                if progress is not None:
                    progress(weights[i])
        except BaseException:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        _, status = os.waitpid(pid, 0)
        _raise_child_error(os.waitstatus_to_exitcode(status), Path(tmp))
        for i in theirs:
            with pa.OSFile(str(Path(tmp) / f"{i}.arrow")) as source:
                results[i] = pa.ipc.open_file(source).read_all()
    if progress is not None:
        progress(sum(weights[i] for i in theirs))
    return [results[i] for i in range(len(items))]


def balanced_halves(weights: Sequence[int]) -> tuple[list[int], list[int]]:
    """Item positions for this process and for the child, heaviest first into the lighter half."""
    halves: tuple[list[int], list[int]] = ([], [])
    totals = [0, 0]
    for i in sorted(range(len(weights)), key=lambda i: -weights[i]):
        lighter = 0 if totals[0] <= totals[1] else 1
        halves[lighter].append(i)
        totals[lighter] += weights[i]
    return sorted(halves[0]), sorted(halves[1])


def _child(work: Callable[[T], pa.Table], items: Sequence[T], positions: list[int], tmp: Path) -> None:
    code = 0
    try:
        for i in positions:
            table = work(items[i])
            with (
                pa.OSFile(str(tmp / f"{i}.arrow"), "wb") as sink,
                pa.ipc.new_file(sink, table.schema) as writer,
            ):
                writer.write_table(table)
    except ChatLikeMeError as exc:
        (tmp / "error.txt").write_text(str(exc), encoding="utf-8")
        code = _INPUT_ERROR
    except BaseException:
        (tmp / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        code = _BUG
    finally:
        os._exit(code)  # no atexit handlers, no flushing of the parent's buffers


def _raise_child_error(code: int, tmp: Path) -> None:
    if code == 0:
        return
    message = (tmp / "error.txt").read_text(encoding="utf-8") if (tmp / "error.txt").exists() else ""
    if code == _INPUT_ERROR:
        raise ChatLikeMeError(message)
    raise RuntimeError(f"the decoding worker process failed (exit code {code}):\n{message}")
