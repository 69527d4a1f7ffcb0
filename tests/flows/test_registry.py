"""The run registry (runs/, current, promote/rollback, the lock) and the promotion gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.errors import ChatLikeMeError
from flows.registry import ArenaRecord, GateConfig, Registry, promotion_gate
from tests.conftest import ROOT, run_cli


def make_run(registry: Registry, run_id: str, fidelity: float, tmp_path: Path) -> Path:
    adapter = tmp_path / f"src-{run_id}" / "kto"
    adapter.mkdir(parents=True)
    (adapter / "adapter_model.safetensors").write_bytes(os.urandom(64))
    manifest = {"fingerprint": f"fp-{run_id}", "eval": {"fidelity": {"kto": fidelity}}}
    run = registry.write_run(
        run_id, manifest, report="# run", trees={"kto": adapter}, texts={"configs/kto.yaml": "beta: 0.1\n"}
    )
    return run.path


def test_write_run_is_complete_and_hard_linked(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "runs")
    path = make_run(registry, "r1", 0.5, tmp_path)
    source = tmp_path / "src-r1" / "kto" / "adapter_model.safetensors"
    assert (path / "kto" / "adapter_model.safetensors").stat().st_ino == source.stat().st_ino
    assert json.loads((path / "manifest.json").read_text())["run_id"] == "r1"
    assert (path / "configs" / "kto.yaml").read_text() == "beta: 0.1\n"
    assert [run.id for run in registry.runs()] == ["r1"]
    assert registry.find("fp-r1").id == "r1" and registry.find("other") is None
    with pytest.raises(ChatLikeMeError, match="already exists"):
        make_run(registry, "r1", 0.9, tmp_path / "again")


def test_promote_and_rollback_move_current_atomically(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "runs")
    for i, run_id in enumerate(("r1", "r2", "r3")):
        make_run(registry, run_id, 0.1 * i, tmp_path)
    assert registry.current() is None
    with pytest.raises(ChatLikeMeError, match="nothing to roll back"):
        registry.rollback()

    for run_id in ("r1", "r2", "r3"):
        registry.promote(run_id, reason="test")
    link = tmp_path / "runs" / "current"
    assert link.is_symlink() and os.readlink(link) == "r3"  # relative: the registry can be moved
    assert registry.rollback().id == "r2"
    assert registry.rollback().id == "r1"
    with pytest.raises(ChatLikeMeError, match="nothing to roll back"):
        registry.rollback()
    assert registry.current().id == "r1"
    assert [e["action"] for e in registry.history()] == ["promote"] * 3 + ["rollback"] * 2
    # `current` is never listed as a run of its own
    assert [run.id for run in registry.runs()] == ["r1", "r2", "r3"]


def test_promote_rejects_what_is_not_a_complete_run(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "runs")
    make_run(registry, "r1", 0.5, tmp_path)
    (tmp_path / "runs" / "half").mkdir()
    with pytest.raises(ChatLikeMeError, match=r"not a complete run.*runs in .*: r1"):
        registry.promote(tmp_path / "runs" / "half", reason="test")
    with pytest.raises(ChatLikeMeError, match="no such run"):
        registry.promote("nope", reason="test")


def test_promote_and_rollback_commands(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "runs")
    make_run(registry, "r1", 0.5, tmp_path)
    make_run(registry, "r2", 0.6, tmp_path)
    for run_id in ("r1", "r2"):
        done = run_cli("promote", run_id, "--runs", tmp_path / "runs")
        assert done.returncode == 0, done.stderr
    assert registry.current().id == "r2"
    done = run_cli("rollback", "--runs", tmp_path / "runs")
    assert done.returncode == 0 and "r1" in done.stdout
    done = run_cli("rollback", "--runs", tmp_path / "runs")
    assert done.returncode == 2 and "nothing to roll back" in done.stderr and "Traceback" not in done.stderr
    done = run_cli("promote", "missing", "--runs", tmp_path / "runs")
    assert done.returncode == 2 and "no such run" in done.stderr
    listing = run_cli("runs", "--runs", tmp_path / "runs").stdout.splitlines()
    assert listing == ["* r1  kto 0.500  (candidate)", "  r2  kto 0.600  (candidate)"]


def test_lock_excludes_another_process_and_dies_with_its_holder(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "runs")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
                import sys, time
                from flows.registry import Registry
                with Registry({str(tmp_path / "runs")!r}).lock():
                    print("locked", flush=True)
                    time.sleep(60)
            """),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ChatLikeMeError, match="another pipeline run holds the lock"), registry.lock(0.2):
            pass
        holder.kill()  # a killed run must not leave a stale lock behind
        holder.wait()
        with registry.lock(5), registry.lock(0):  # and the lock is re-entrant within a process
            pass
    finally:
        holder.kill()
        holder.wait()


def test_gate_first_run_is_promoted() -> None:
    decision = promotion_gate(0.4, None, GateConfig())
    assert decision.promote and "no current run" in decision.summary()


def test_gate_keeps_a_worse_or_equal_candidate() -> None:
    for score in (0.49, 0.5):
        decision = promotion_gate(score, 0.5, GateConfig(), current_run="r1")
        assert not decision.promote
        assert "does not beat the current run r1" in decision.summary()
    assert not promotion_gate(0.51, 0.5, GateConfig(min_gain=0.02)).promote


def test_gate_refuses_a_gain_whose_interval_crosses_min_gain() -> None:
    """A point gain is not enough: the lower end of its 95 % interval must be above min_gain."""
    noisy = promotion_gate(0.60, 0.50, GateConfig(), current_run="r1", gain_interval=(-0.01, 0.21))
    assert not noisy.promote and noisy.gain_interval == [-0.01, 0.21]
    assert "interval [-0.0100, +0.2100]" in noisy.summary() and "does not beat" in noisy.summary()
    sure = promotion_gate(0.60, 0.50, GateConfig(), current_run="r1", gain_interval=(0.04, 0.16))
    assert sure.promote and "beats 0.5000" in sure.summary()
    above_zero = promotion_gate(0.60, 0.50, GateConfig(min_gain=0.05), gain_interval=(0.04, 0.16))
    assert not above_zero.promote  # its lower end (0.04) does not clear min_gain 0.05


def test_gate_compares_win_rates_only_with_enough_votes() -> None:
    config = GateConfig(min_votes=20)
    few = promotion_gate(
        0.6, 0.5, config, candidate_arena=ArenaRecord(0, 5), current_arena=ArenaRecord(40, 50)
    )
    assert few.promote and "5 and 50 arena battles" in few.summary()

    worse = promotion_gate(
        0.6, 0.5, config, candidate_arena=ArenaRecord(8, 20), current_arena=ArenaRecord(30, 50)
    )
    assert not worse.promote and "win-rate 40.0% is worse than the current run's 60.0%" in worse.summary()

    better = promotion_gate(
        0.6, 0.5, config, candidate_arena=ArenaRecord(14, 20), current_arena=ArenaRecord(30, 50)
    )
    assert better.promote and better.win_rates == {"candidate": 0.7, "current": 0.6}
