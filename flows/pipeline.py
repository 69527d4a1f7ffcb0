"""The whole pipeline as one Prefect flow chaining the stage flows (`flows.stages`) into a run.

    exports ─▶ ingest ─▶ sft ─▶ kto-data ─▶ kto ─▶ eval ─▶ runs/<run-id>/ ─▶ promotion gate ─▶ runs/current

- Every step is cached by content: re-running with nothing new reuses every step (and says so), a changed
  config re-runs its stage and those after it only.
- A step that fails on bad input fails the run at once with the step's own one-line error; other failures are
  retried. Nothing is promoted before the end, so a failed run never touches the current model.
- One run at a time per run registry (a lock); every run gets its own `runs/<run-id>/`.
- The new run becomes `runs/current` only if it passes the gate (`flows.registry.promotion_gate`); its
  fidelity is compared with the current run's on the same held-out data (the current run is re-evaluated
  on the new data when the data changed).

`run_pipeline()` is what `chatlikeme run` and `demo` call; `pipeline` is the flow (also scheduled).
"""

# No `from __future__ import annotations` here: Prefect may pickle these flows by value for a worker
# process, and string annotations would then no longer resolve when it validates their parameters.

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from prefect import flow
from prefect.logging import get_run_logger

from align.evaluate import EvalConfig, compare_eval_runs
from align.kto import KTOStageConfig
from align.kto_data import KTODataConfig
from align.models import DEFAULT_BASE_MODEL
from align.sft import SFTStageConfig
from core.config import StageConfig
from core.errors import ChatLikeMeError
from core.io import sha256_file
from core.logs import NoTracebackForUserErrors
from core.report import md_table
from core.votes import VoteStore
from flows.artifacts import publish_run_summary
from flows.budget import BudgetPlan, fit_to_budget
from flows.caching import StageResult, fingerprint
from flows.config import PipelineConfig
from flows.registry import ArenaRecord, GateDecision, Registry, Run, promotion_gate
from flows.stages import (
    ResolvedModel,
    Workspace,
    eval_flow,
    ingest_flow,
    kto_data_flow,
    kto_flow,
    prepare_base_model,
    sft_flow,
    training_data_pii_check,
)
from ingest.config import IngestConfig
from serve.leaderboard import battles_frame

STAGE_CONFIGS: dict[str, type[StageConfig]] = {
    "ingest": IngestConfig,
    "sft": SFTStageConfig,
    "kto-data": KTODataConfig,
    "kto": KTOStageConfig,
    "eval": EvalConfig,
}


@dataclass
class PipelineOutcome:
    """What a pipeline run did: its steps, the run it produced (or found), and the gate's decision."""

    run_id: str
    run_path: Path
    new_run: bool
    promoted: bool
    current: str | None
    gate: dict[str, Any]
    steps: list[dict[str, Any]]
    seconds: float
    fidelity: dict[str, float] = field(default_factory=dict)

    def reused(self) -> list[str]:
        return [step["stage"] for step in self.steps if step["reused"]]


@flow(name="pipeline")
def pipeline(exports: list[Path], config: PipelineConfig) -> PipelineOutcome:
    """Exports -> ingest -> sft -> kto-data -> kto -> eval -> runs/<run-id>/ -> promotion gate."""
    started = time.perf_counter()
    logger = get_run_logger()
    exports = [Path(p).resolve() for p in exports]
    space = Workspace(
        config.data_path,
        config.runs_path,
        config.retries,
        config.retry_delay_s,
        config.deployments,
        config.fresh_processes,
    )
    registry = Registry(space.runs)
    with registry.lock(waiting_message=f"waiting for another pipeline run on {space.runs} to finish ..."):
        sft_config = config.stage_config("sft", SFTStageConfig)
        base = prepare_base_model(config.base_model or sft_config.base_model or DEFAULT_BASE_MODEL)
        configs = resolved_configs(config, base)
        data = space.call("ingest", ingest_flow, exports=exports, config=configs["ingest"], space=space)
        plan = None
        if config.time_budget_minutes is not None:
            configs, plan = fit_budget(config, configs, data, base)
        sft = space.call("sft", sft_flow, data=data, base=base, config=configs["sft"], space=space)
        kto_data = space.call(
            "kto-data",
            kto_data_flow,
            data=data,
            sft=sft,
            base=base,
            votes=config.votes_path,
            config=configs["kto-data"],
            space=space,
        )
        checked = training_data_pii_check(data, kto_data)  # an original value there fails the run
        if checked.hits:
            logger.warning(f"pii-check: {len(checked.hits)} PII detector hits in the training data")
        kto = space.call("kto", kto_flow, kto_data=kto_data, sft=sft, config=configs["kto"], space=space)
        evaluation = space.call(
            "eval",
            eval_flow,
            data=data,
            sft_adapter=sft.output,
            kto_adapter=kto.output,
            config=configs["eval"],
            space=space,
        )
        results = {"ingest": data, "sft": sft, "kto-data": kto_data, "kto": kto, "eval": evaluation}

        run_fingerprint = fingerprint({stage: result.key for stage, result in results.items()})
        run = registry.find(run_fingerprint)
        new_run = run is None
        if run is None:
            decision = apply_gate(registry, config, results, space)
            run = write_run(
                registry, config, exports, base, configs, results, decision, run_fingerprint, plan
            )
            if decision.promote:
                registry.promote(run.id, reason=decision.summary(), by="gate")
            logger.info(f"run {run.id}: {decision.summary()}")
        else:
            logger.info(f"nothing new: run {run.id} already holds exactly these results")
        outcome = _outcome(run, registry, results, started, new_run=new_run)
    logger.info(f"steps reused from the cache: {', '.join(outcome.reused()) or 'none'}")
    publish_run_summary(outcome_markdown(outcome), outcome.steps)
    return outcome


def resolved_configs(config: PipelineConfig, base: ResolvedModel) -> dict[str, Any]:
    """Every stage's config; the one base model is forced into those that have a `base_model` field."""
    resolved = {}
    for stage, cls in STAGE_CONFIGS.items():
        forced = {"base_model": base.path} if "base_model" in cls.__dataclass_fields__ else {}
        resolved[stage] = config.stage_config(stage, cls, **forced)
    return resolved


def fit_budget(
    config: PipelineConfig, configs: dict[str, Any], data: StageResult, base: ResolvedModel
) -> tuple[dict[str, Any], BudgetPlan]:
    """The stage configs fitted to `time_budget_minutes` (flows/budget.py); one plan per distinct input."""
    minutes = float(config.time_budget_minutes or 0)
    key = fingerprint(
        "budget",
        {"ingest": data.key, "base_model": base.sha256, "minutes": minutes},
        {"limits": vars(config.budget_limits), **{stage: c.to_dict() for stage, c in configs.items()}},
    )
    record = config.data_path / "budget" / f"{key[:16]}.json"
    spent = 0.0 if data.reused else data.seconds
    return fit_to_budget(configs, data.output, minutes, config.budget_limits, record, spent)


# --- promotion ----------------------------------------------------------------------------------------------


def apply_gate(
    registry: Registry, config: PipelineConfig, results: dict[str, StageResult], space: Workspace
) -> GateDecision:
    """The gate, with the candidate and the current run scored on the same held-out prompts and seeds."""
    decision = fidelity_gate(registry, config, results, space)
    return block_leaks(decision, results["eval"].output)


def block_leaks(decision: GateDecision, eval_dir: Path) -> GateDecision:
    """A trained model that wrote an original value of pii_mapping.json (the eval's memorisation probe) is
    never promoted, whatever its fidelity."""
    pii = _read_json(eval_dir / "report.json").get("pii") or {}
    leaks = {
        name: pii[name]["original_values"]
        for name in ("sft", "kto")
        if pii.get(name, {}).get("original_values")
    }
    if leaks:
        decision.promote = False
        counts = ", ".join(f"{name} {n}" for name, n in leaks.items())
        decision.reasons.insert(
            0,
            f"blocked by the memorisation probe: the generations hold original values of {pii['mapping']} "
            f"({counts}); a model that leaks personal data is never promoted",
        )
    return decision


def fidelity_gate(
    registry: Registry, config: PipelineConfig, results: dict[str, StageResult], space: Workspace
) -> GateDecision:
    model = config.gate.model
    candidate_eval = results["eval"].output
    candidate_score = eval_fidelity(candidate_eval, model)
    current = registry.current()
    if current is None:
        return promotion_gate(candidate_score, None, config.gate)
    # The current run's models on the candidate's held-out prompts, with the same eval config (seeds):
    # a cache hit when the current run was already evaluated on this split.
    eval_config = EvalConfig.from_dict(results["eval"].config)
    rerun = eval_flow(results["ingest"], current.path / "sft", current.path / "kto", eval_config, space)
    comparison = compare_eval_runs(
        candidate_eval, model, rerun.output, model, eval_config.bootstrap_rounds, eval_config.seed
    )
    gain = comparison.differences["candidate-current"]["fidelity"]
    votes = config.votes_path
    return promotion_gate(
        candidate_score,
        eval_fidelity(rerun.output, model),
        config.gate,
        current_run=current.id,
        gain_interval=(gain.low, gain.high),
        candidate_arena=ArenaRecord(),  # a new run has not been in the arena yet
        current_arena=arena_record(votes, current.id, model) if votes else ArenaRecord(),
    )


def eval_fidelity(eval_dir: Path, model: str) -> float:
    report = _read_json(eval_dir / "report.json")
    try:
        return float(report["fidelity"][model])
    except (KeyError, TypeError, ValueError):
        raise ChatLikeMeError(f"{eval_dir / 'report.json'}: no fidelity score for model '{model}'") from None


def arena_record(votes: Path, run_id: str, model: str) -> ArenaRecord:
    """`model`'s battles in the arena while `run_id` was served: wins (ties and "both bad" count half)."""
    battles = battles_frame(VoteStore(votes, create=False).votes(run_id=run_id))
    credit = {"a": 1.0, "b": 0.0, "tie": 0.5}
    record = ArenaRecord()
    for a, b, winner in battles[["model_a", "model_b", "winner"]].itertuples(index=False):
        if model in (a, b):
            record.battles += 1
            record.wins += credit[winner] if a == model else 1.0 - credit[winner]
    return record


# --- the run directory --------------------------------------------------------------------------------------


def write_run(
    registry: Registry,
    config: PipelineConfig,
    exports: list[Path],
    base: ResolvedModel,
    configs: dict[str, StageConfig],
    results: dict[str, StageResult],
    decision: GateDecision,
    run_fingerprint: str,
    plan: BudgetPlan | None = None,
) -> Run:
    """runs/<run-id>/: adapters, evaluation, the data stages' reports, resolved configs and the manifest."""
    earlier = {e["sha256"] for run in registry.runs() for e in run.manifest.get("exports", [])}
    export_hashes = {path: sha256_file(path) for path in exports}
    manifest = {
        "fingerprint": run_fingerprint,
        "exports": [
            {"path": str(path), "sha256": sha, "new": sha not in earlier}
            for path, sha in export_hashes.items()
        ],
        "base_model": vars(base),
        "data": {
            "sft_data": results["sft"].inputs["sft_data"],
            "eval_split": results["eval"].inputs["eval_split"],
            "kto_data": results["kto-data"].sha256,
            "votes": results["kto-data"].inputs["votes"],
        },
        "stages": {stage: result.summary() for stage, result in results.items()},
        "configs": {stage: cfg.to_dict() for stage, cfg in configs.items()},
        "adapters": {name: {"path": name, "sha256": results[name].sha256} for name in ("sft", "kto")},
        "metrics": {name: _read_json(results[name].output / "metrics.json") for name in ("sft", "kto")},
        "eval": _eval_summary(results["eval"].output),
        "gate": decision.to_dict(),
    }
    if plan is not None:
        manifest["budget"] = plan.to_dict()
    texts = {f"configs/{stage}.yaml": _yaml(cfg.to_dict()) for stage, cfg in configs.items()}
    texts["configs/pipeline.yaml"] = _yaml(config.to_dict())
    trees = {name: results[name].output for name in ("sft", "kto", "eval")}
    for stage in ("ingest", "kto-data"):
        for report in sorted(results[stage].output.glob("report.*")):
            trees[f"data/{stage}/{report.name}"] = report
    run_id = registry.new_run_id(run_fingerprint)
    return registry.write_run(
        run_id, manifest, report=run_markdown(run_id, manifest), trees=trees, texts=texts
    )


def _eval_summary(eval_dir: Path) -> dict[str, Any]:
    report = _read_json(eval_dir / "report.json")
    return {
        key: report.get(key)
        for key in (
            "fidelity",
            "fidelity_interval",
            "detectability_auc",
            "verdicts",
            "n_prompts",
            "eval_split",
            "fidelity_formula",
            "pii",
        )
    }


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _outcome(
    run: Run, registry: Registry, results: dict[str, StageResult], started: float, *, new_run: bool
) -> PipelineOutcome:
    current = registry.current()
    return PipelineOutcome(
        run_id=run.id,
        run_path=run.path,
        new_run=new_run,
        promoted=current is not None and current.id == run.id,
        current=current.id if current else None,
        gate=run.manifest.get("gate", {}),
        steps=[
            {
                "stage": stage,
                "reused": r.reused,
                "seconds": round(r.seconds, 1),
                "output": str(r.output),
                "ran_on": r.ran_on,
            }
            for stage, r in results.items()
        ],
        seconds=time.perf_counter() - started,
        fidelity=run.manifest.get("eval", {}).get("fidelity") or {},
    )


# --- reports ------------------------------------------------------------------------------------------------


def run_markdown(run_id: str, manifest: dict[str, Any]) -> str:
    steps = [
        [stage, "reused" if s["reused"] else "ran", s["seconds"], s["key"][:12]]
        for stage, s in manifest["stages"].items()
    ]
    fidelity = manifest["eval"].get("fidelity") or {}
    auc = manifest["eval"].get("detectability_auc") or {}
    intervals = manifest["eval"].get("fidelity_interval") or {}
    scores = [
        [model, score, _interval_text(intervals.get(model)), auc.get(model, "")]
        for model, score in fidelity.items()
    ]
    verdicts = "; ".join(f"{pair}: {word}" for pair, word in (manifest["eval"].get("verdicts") or {}).items())
    gate = manifest["gate"]
    exports = [
        f"- `{e['path']}` ({e['sha256'][:12]}{', new' if e['new'] else ''})" for e in manifest["exports"]
    ]
    return "\n\n".join(
        [
            f"# Run {run_id}",
            "## Steps\n\n" + md_table(["step", "result", "seconds", "cache key"], steps),
            "## Evaluation\n\n"
            + md_table(["model", "fidelity", "95 % interval", "detectability AUC"], scores)
            + (f"\n\nVerdicts: {verdicts}" if verdicts else "")
            + _pii_text(manifest["eval"].get("pii")),
            "## Promotion gate\n\n"
            + ("Promoted: " if gate["promote"] else "Kept as a candidate: ")
            + "; ".join(gate["reasons"]),
            *([budget_markdown(manifest["budget"])] if manifest.get("budget") else []),
            "## Exports\n\n" + "\n".join(exports),
        ]
    )


def budget_markdown(budget: dict[str, Any]) -> str:
    """The run page's time-budget section: the plan's table and what it cut from the full plan."""
    plan = BudgetPlan(**{k: v for k, v in budget.items() if k != "cuts"})
    return f"## Time budget ({plan.budget_minutes:g} minutes)\n\n" + plan.table()


def _pii_text(pii: dict[str, Any] | None) -> str:
    if not pii:
        return ""
    counts = ", ".join(
        f"{name} {pii[name]['original_values']}" for name in ("base", "sft", "kto") if name in pii
    )
    return f"\n\nMemorisation probe (original values of pii_mapping.json in the generations): {counts}"


def _interval_text(interval: list[float] | None) -> str:
    return f"[{interval[0]:.3f}, {interval[1]:.3f}]" if interval else ""


def outcome_markdown(outcome: PipelineOutcome) -> str:
    steps = [
        [s["stage"], "reused" if s["reused"] else "ran", s["seconds"], s["output"]] for s in outcome.steps
    ]
    verdict = "current" if outcome.promoted else f"a candidate (current: {outcome.current})"
    origin = "new run" if outcome.new_run else "existing run, nothing new"
    return "\n\n".join(
        [
            f"# Run `{outcome.run_id}` ({origin}): {verdict}",
            md_table(["step", "result", "seconds", "output"], steps),
            "Gate: " + "; ".join(outcome.gate.get("reasons", [])),
        ]
    )


# --- the entry point of `chatlikeme run` / `demo` -----------------------------------------------------------


def run_pipeline(exports: list[Path], config: PipelineConfig) -> PipelineOutcome:
    """Run the pipeline flow (Prefect's temporary local server unless PREFECT_API_URL names one)."""
    missing = [path for path in exports if not Path(path).is_file()]
    if missing:
        raise ChatLikeMeError(f"{missing[0]}: export file not found")
    if not exports:
        raise ChatLikeMeError("no export given: pass --export FILE (a Telegram Desktop result.json)")
    quiet_user_errors()
    return pipeline(list(map(Path, exports)), config)


def quiet_user_errors() -> None:
    """Bad input is reported in one line, also in Prefect's logs: no traceback for a `ChatLikeMeError`
    (the project's own log handler, `core.logs`, has the filter already)."""
    for logger in (logging.getLogger(), logging.getLogger("prefect")):
        for handler in logger.handlers:
            if not any(isinstance(f, NoTracebackForUserErrors) for f in handler.filters):
                handler.addFilter(NoTracebackForUserErrors())
