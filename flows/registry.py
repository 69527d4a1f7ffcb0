"""The run registry: every finished pipeline run, which one is current, and the gate a new run must pass.

    runs/
      20261124-031502-3fa2c1/     one complete run, never changed once written
        manifest.json             data hashes, stage keys, resolved configs, adapters, metrics, eval, gate
        report.md                 the same for people
        configs/<stage>.yaml      the resolved config of every stage
        sft/ kto/ eval/           the adapters and the evaluation (hard links to the stage outputs)
        data/<stage>/report.*     the data stages' reports
      current -> 20261124-031502-3fa2c1    what `chatlikeme serve` uses by default
      promotions.jsonl            every change of `current` (promote, rollback), with who and why
      .stages/ .cache/ .lock      the pipeline's working space (content-addressed stage outputs, Prefect's
                                  cache records, the lock that keeps two runs from training at once)

`current` is a relative symlink replaced atomically, so a server reading it never sees a missing model.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from core.errors import ChatLikeMeError, input_error
from core.io import atomic_dir

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
CURRENT = "current"
PROMOTIONS = "promotions.jsonl"


@dataclass
class Run:
    """A complete run directory and its manifest."""

    id: str
    path: Path
    manifest: dict[str, Any]

    @property
    def created(self) -> str:
        return self.manifest.get("created", "")

    @property
    def fingerprint(self) -> str:
        return self.manifest.get("fingerprint", "")

    def fidelity(self, model: str) -> float | None:
        return self.manifest.get("eval", {}).get("fidelity", {}).get(model)


class Registry:
    """`runs/`: complete runs, the `current` pointer and its history."""

    def __init__(self, runs_dir: str | Path) -> None:
        self.root = Path(runs_dir)

    # --- reading ---------------------------------------------------------------------------------------

    def runs(self) -> list[Run]:
        """Every complete run, oldest first (hidden and half-written directories are not runs)."""
        if not self.root.is_dir():
            return []
        found = [self._load(p) for p in self.root.iterdir() if _is_run_dir(p)]
        return sorted(found, key=lambda run: (run.created, run.id))

    def get(self, run: str | Path) -> Run:
        """A run by id (`20261124-031502-3fa2c1`) or by path (`runs/20261124-...`, `runs/current`)."""
        path = Path(run)
        if not path.exists() and (self.root / str(run)).exists():
            path = self.root / str(run)
        path = path.resolve()
        if not path.is_dir():
            raise input_error(run, f"no such run (runs in {self.root}: {self._known()})")
        if not (path / MANIFEST).is_file():
            known = self._known()
            raise input_error(path, f"not a complete run: no {MANIFEST} (runs in {self.root}: {known})")
        return self._load(path)

    def find(self, fingerprint: str) -> Run | None:
        """The run built from exactly these inputs, if one exists."""
        return next((run for run in self.runs() if run.fingerprint == fingerprint), None)

    def current(self) -> Run | None:
        link = self.root / CURRENT
        if not link.exists():
            return None
        return self._load(link.resolve())

    def history(self) -> list[dict[str, Any]]:
        """Every change of `current`, oldest first."""
        path = self.root / PROMOTIONS
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    # --- writing ---------------------------------------------------------------------------------------

    def new_run_id(self, fingerprint: str) -> str:
        """Sortable by time, unique even for two runs started in the same second."""
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return f"{stamp}-{fingerprint[:6]}{secrets.token_hex(2)}"

    def write_run(
        self,
        run_id: str,
        manifest: dict[str, Any],
        *,
        report: str,
        trees: dict[str, Path],
        texts: dict[str, str],
    ) -> Run:
        """Create `runs/<run_id>/` in one step: `trees` (name -> file or directory, hard-linked), `texts`
        (name -> content), `manifest.json` and `report.md`. An existing run is never overwritten."""
        with atomic_dir(self.root / run_id, overwrite=False) as tmp:
            for name, source in trees.items():
                link_tree(source, tmp / name)
            for name, text in texts.items():
                (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                (tmp / name).write_text(text, encoding="utf-8")
            (tmp / "report.md").write_text(report.rstrip() + "\n", encoding="utf-8")
            manifest = {"run_id": run_id, "created": _now(), **manifest}
            text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str)
            (tmp / MANIFEST).write_text(text + "\n", encoding="utf-8")
        return self.get(run_id)

    def promote(self, run: str | Path, *, reason: str, by: str = "hand") -> Run:
        """Make `run` current (its previous value stays in the history for `rollback`)."""
        with self.lock():
            target = self.get(run)
            self._set_current(target)
            self._log("promote", target.id, reason, by)
            return target

    def rollback(self) -> Run:
        """Make the run that was current before the present one current again."""
        with self.lock():
            stack = self._current_stack()
            if len(stack) < 2:
                raise ChatLikeMeError(f"{self.root}: nothing to roll back to (no earlier current run)")
            previous = self.get(stack[-2])
            self._set_current(previous)
            self._log("rollback", previous.id, f"rolled back from {stack[-1]}", "hand")
            return previous

    @contextlib.contextmanager
    def lock(self, timeout: float = -1, waiting_message: str | None = None) -> Iterator[None]:
        """Exclusive use of this registry across processes (an OS lock: a killed holder releases it).

        Re-entrant within one process, so `promote` can run inside a pipeline run that holds it.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        lock = _lock_for(self.root / ".lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if waiting_message:
                log.info(waiting_message)
            try:
                lock.acquire(timeout=timeout)
            except Timeout:
                raise ChatLikeMeError(
                    f"{self.root}: another pipeline run holds the lock (waited {timeout:.0f} s)"
                ) from None
        try:
            yield
        finally:
            lock.release()

    # --- internals -------------------------------------------------------------------------------------

    def _set_current(self, run: Run) -> None:
        link = self.root / CURRENT
        tmp = self.root / f".{CURRENT}.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.path.relpath(run.path, self.root))
        os.replace(tmp, link)  # rename is atomic: `current` always points at a complete run

    def _log(self, action: str, run_id: str, reason: str, by: str) -> None:
        entry = {"time": _now(), "action": action, "run": run_id, "reason": reason, "by": by}
        with (self.root / PROMOTIONS).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def _current_stack(self) -> list[str]:
        """Replay the history: a promotion pushes a run, a rollback pops back to the one before."""
        stack: list[str] = []
        for entry in self.history():
            if entry["action"] == "promote":
                stack.append(entry["run"])
            elif entry["action"] == "rollback" and stack:
                stack.pop()
        return stack

    def _load(self, path: Path) -> Run:
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise input_error(path / MANIFEST, f"unreadable run manifest ({exc})") from None
        return Run(id=path.name, path=path, manifest=manifest)

    def _known(self) -> str:
        return ", ".join(run.id for run in self.runs()) or "none yet"


def _lock_for(path: Path) -> FileLock:
    # One FileLock object per path and process makes the lock re-entrant (filelock counts acquisitions).
    return FileLock(path.resolve(), thread_local=False, is_singleton=True)


def link_tree(source: Path, target: Path) -> None:
    """Hard-link a file or every file of a directory under `target` (copy across filesystems).

    The run keeps its own names for the stage outputs: replacing a stage output later (a new directory, new
    inodes) leaves the run's files as they were.
    """
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    for file in files:
        dest = target if file == source else target / file.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(file, dest)
        except OSError:
            shutil.copy2(file, dest)


def _is_run_dir(path: Path) -> bool:
    hidden = path.name.startswith(".")
    return not hidden and not path.is_symlink() and (path / MANIFEST).is_file()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- the promotion gate -------------------------------------------------------------------------------------


@dataclass
class GateConfig:
    """When a new run may replace the current one."""

    model: str = "kto"
    "Which of the run's models stands for it: its fidelity score and its arena win-rate are compared."
    min_gain: float = 0.0
    "The lower end of the 95 % interval of the fidelity gain over the current run must exceed this."
    min_votes: int = 30
    "Arena battles each run's model needs before win-rates are compared (fewer: fidelity decides alone)."
    win_rate_tolerance: float = 0.0
    "How much lower the candidate's win-rate may be than the current one's."


@dataclass
class ArenaRecord:
    """A model's arena battles: wins count 1, ties 1/2."""

    wins: float = 0.0
    battles: int = 0

    @property
    def win_rate(self) -> float | None:
        return self.wins / self.battles if self.battles else None


@dataclass
class GateDecision:
    promote: bool
    reasons: list[str]
    candidate_score: float | None = None
    current_score: float | None = None
    current_run: str | None = None
    gain_interval: list[float] | None = None
    "95 % interval [low, high] of the fidelity gain over the current run (paired bootstrap, same prompts)."
    win_rates: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        verdict = "promoted to current" if self.promote else "kept as a candidate"
        return f"{verdict}: " + "; ".join(self.reasons)


def promotion_gate(
    candidate_score: float,
    current_score: float | None,
    config: GateConfig,
    *,
    current_run: str | None = None,
    gain_interval: tuple[float, float] | None = None,
    candidate_arena: ArenaRecord | None = None,
    current_arena: ArenaRecord | None = None,
) -> GateDecision:
    """Promote only a run whose fidelity gain is surely above `min_gain` and whose win-rate is not worse.

    The scores must come from the same held-out prompts and seeds; `gain_interval` is the 95 % interval of
    candidate - current from a paired bootstrap over those prompts (`align.evaluate.compare_eval_runs`): the
    gain counts only when the interval's lower end is above `min_gain`, so a gain inside the noise is a tie
    and keeps the current run. Without an interval the point gain decides. Win-rates count only when both
    models have `min_votes` battles.
    """
    decision = GateDecision(False, [], candidate_score, current_score, current_run)
    if current_score is None:
        decision.promote = True
        decision.reasons.append(f"no current run yet; fidelity {candidate_score:.4f}")
        return decision
    gain = candidate_score - current_score
    low, high = gain_interval if gain_interval is not None else (gain, gain)
    decision.gain_interval = [low, high]
    interval = f"gain {gain:+.4f}, 95 % interval [{low:+.4f}, {high:+.4f}]"
    if low <= config.min_gain:
        decision.reasons.append(
            f"fidelity {candidate_score:.4f} does not beat the current run {current_run}'s "
            f"{current_score:.4f} surely enough ({interval}; the lower end must exceed "
            f"min_gain {config.min_gain:+.4f})"
        )
        return decision
    decision.reasons.append(
        f"fidelity {candidate_score:.4f} beats {current_score:.4f} ({interval}, above min_gain "
        f"{config.min_gain:+.4f})"
    )

    candidate_arena, current_arena = candidate_arena or ArenaRecord(), current_arena or ArenaRecord()
    decision.win_rates = {"candidate": candidate_arena.win_rate, "current": current_arena.win_rate}
    if min(candidate_arena.battles, current_arena.battles) < config.min_votes:
        decision.promote = True
        decision.reasons.append(
            f"win-rates not compared: {candidate_arena.battles} and {current_arena.battles} arena battles "
            f"(candidate, current) where {config.min_votes} each are needed"
        )
        return decision
    candidate_rate, current_rate = candidate_arena.win_rate or 0.0, current_arena.win_rate or 0.0
    if candidate_rate < current_rate - config.win_rate_tolerance:
        decision.reasons.append(
            f"but its arena win-rate {candidate_rate:.1%} is worse than the current run's {current_rate:.1%}"
        )
        return decision
    decision.promote = True
    decision.reasons.append(f"arena win-rate {candidate_rate:.1%} vs {current_rate:.1%}")
    return decision
