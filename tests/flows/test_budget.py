"""The time-budget planner (flows/budget.py): pure plans from measurements."""

import json
import logging
from dataclasses import replace

import pytest

from core.errors import ChatLikeMeError
from flows.budget import BudgetLimits, Measurements, plan_budget

# Prefect configures logging when first imported, dropping the root handlers: among them the one `caplog`
# reads. Imported here, before any test, it drops none of theirs.
from flows.pipeline import budget_markdown


def measured(**changes) -> Measurements:
    """A real 10,000-message chat on 2 cores without bf16: 464 SFT steps of ~30 s at max_length 1024."""
    base = Measurements(
        sample_tokens=[300] * 500 + [900] * 300 + [1500] * 200,
        sft_seconds_per_token=30 / (8 * 750),  # 750: mean tokens at 1024
        sft_samples_per_step=8,
        sft_full_steps=464,
        sft_max_length=1024,
        kto_rows_per_step=16,
        kto_full_steps=35,
        kto_max_length=512,
        generation_seconds_per_reply=1.0,
        scoring_seconds_per_pair=0.05,
        eval_prompts=140,
        eval_samples_per_prompt=3,
        eval_matching_candidates=4,
        kto_data_positives=172,
        spent_seconds=60,
    )
    return replace(base, **changes)


def test_a_generous_budget_keeps_the_full_plan():
    plan = plan_budget(measured(), 100_000)
    assert (plan.sft_steps, plan.max_length, plan.kto_steps) == (464, 1024, 35)
    assert (plan.eval_prompts, plan.samples_per_prompt) == (140, 3)
    assert plan.cuts() == []
    assert plan.minutes["total"] <= 100_000


def test_an_hour_cuts_eval_first_then_length_then_steps_and_fits():
    plan = plan_budget(measured(), 60)
    assert plan.samples_per_prompt == 1 and plan.eval_prompts == 40  # eval at its minimum first
    assert plan.max_length == 256  # then max_length
    assert 20 <= plan.sft_steps < 464  # then the steps
    assert plan.minutes["total"] <= 60
    cuts = "; ".join(plan.cuts())
    assert f"SFT {plan.sft_steps} of 464 steps" in cuts and "max_length 1024→256" in cuts
    assert "eval 40 of 140 prompts" in cuts
    assert "| sft |" in plan.table() and "Cut: " in plan.table()


def test_eval_shrinks_before_any_training_is_cut():
    # training fits in full; only eval is over the budget
    m = measured(sft_seconds_per_token=1e-6)
    plan = plan_budget(m, 15)
    assert plan.sft_steps == 464 and plan.max_length == 1024 and plan.kto_steps == 35
    assert plan.samples_per_prompt == 1 and plan.eval_prompts < 140


def test_halving_the_step_time_doubles_the_steps_up_to_the_full_plan():
    slow = plan_budget(measured(), 40)
    fast = plan_budget(measured(sft_seconds_per_token=measured().sft_seconds_per_token / 2), 40)
    assert slow.max_length == fast.max_length == 256
    assert slow.sft_steps < 464 / 2
    assert abs(fast.sft_steps - 2 * slow.sft_steps) <= 4  # whole steps, rounded down
    assert abs(fast.kto_steps - 2 * slow.kto_steps) <= 2
    capped = plan_budget(measured(sft_seconds_per_token=measured().sft_seconds_per_token / 2), 90)
    assert capped.sft_steps == 464  # twice the slow plan's would be more than the full plan
    fastest = plan_budget(measured(sft_seconds_per_token=1e-9), 90)
    assert fastest.sft_steps == 464 and fastest.kto_steps == 35


@pytest.mark.parametrize("minutes", [30, 45, 60, 120, 240, 600, 10_000])
@pytest.mark.parametrize("speed", [0.25, 1, 4])
def test_the_plan_never_exceeds_the_full_plan(minutes, speed):
    m = measured(sft_seconds_per_token=measured().sft_seconds_per_token / speed)
    try:
        plan = plan_budget(m, minutes)
    except ChatLikeMeError:
        return
    assert plan.sft_steps <= 464 and plan.kto_steps <= 35 and plan.max_length <= 1024
    assert plan.eval_prompts <= 140 and plan.samples_per_prompt <= 3 and plan.kto_max_length <= 512
    assert plan.minutes["total"] <= minutes + 0.01


def test_a_budget_too_small_for_the_minimum_says_how_much_is_needed():
    with pytest.raises(ChatLikeMeError, match=r"too small.*needs about \d+ minutes"):
        plan_budget(measured(), 5)
    with pytest.raises(ChatLikeMeError, match="must be > 0"):
        plan_budget(measured(), 0)


def test_limits_are_respected():
    limits = BudgetLimits(min_eval_prompts=60, min_max_length=512)
    plan = plan_budget(measured(), 90, limits)
    assert plan.eval_prompts == 60 and plan.max_length == 512


def test_the_measuring_part_on_the_tiny_model_prints_and_records_the_plan(
    tiny_model, demo_data, tmp_path, caplog
):
    """Real SFT steps and a real generation on the tiny model; the plan is logged, kept and applied."""
    from align.evaluate import EvalConfig
    from align.kto import KTOStageConfig
    from align.kto_data import KTODataConfig
    from align.sft import SFTStageConfig
    from flows.budget import fit_to_budget

    configs = {
        "sft": SFTStageConfig.load("cpu", {"base_model": str(tiny_model), "per_device_train_batch_size": 2}),
        "kto-data": KTODataConfig.load("cpu"),
        "kto": KTOStageConfig.load("cpu"),
        "eval": EvalConfig.load("cpu", {"max_new_tokens": 8}),
    }
    record = tmp_path / "budget" / "plan.json"
    limits = BudgetLimits(min_eval_prompts=5, min_max_length=64, min_sft_steps=2, min_kto_steps=1)
    caplog.set_level(logging.INFO, logger="flows.budget")
    fitted, plan = fit_to_budget(configs, demo_data.data_dir, 10, limits, record)
    logged = caplog.text
    assert "time budget 10 minutes (measured:" in logged and "| sft |" in logged and "Cut:" in logged
    assert plan.minutes["total"] <= 10 + 0.01
    saved = json.loads(record.read_text())
    assert saved["sft_steps"] == plan.sft_steps and saved["cuts"] == plan.cuts()
    assert fitted["sft"].max_length == plan.max_length
    assert fitted["eval"].max_prompts == plan.eval_prompts
    assert fitted["eval"].samples_per_prompt == plan.samples_per_prompt
    if plan.sft_steps < plan.sft_full_steps:
        assert fitted["sft"].max_steps == plan.sft_steps
    assert "## Time budget (10 minutes)" in budget_markdown(saved)

    caplog.clear()
    again, same = fit_to_budget(configs, demo_data.data_dir, 10, limits, record)
    assert same == plan and again["sft"] == fitted["sft"]  # reused: the stages' cache keys stay the same
    assert "the plan measured before" in caplog.text


@pytest.mark.slow
def test_a_budgeted_pipeline_run_records_its_plan_and_reuses_it(
    prefect_harness, tiny_model, demo_export, tmp_path, caplog
):
    """`time_budget_minutes` in a whole run: the plan is logged before SFT, kept in the manifest and the run
    page, and the same inputs again reuse it (every stage a cache hit)."""
    from flows.pipeline import run_pipeline
    from tests.flows.conftest import tiny_pipeline_config

    config = tiny_pipeline_config(
        tmp_path,
        tiny_model,
        time_budget_minutes=120,
        budget_limits={"min_eval_prompts": 4, "min_sft_steps": 1, "min_kto_steps": 1, "min_max_length": 64},
    )
    caplog.set_level(logging.INFO, logger="flows.budget")
    outcome = run_pipeline([demo_export], config)
    assert "time budget 120 minutes (measured:" in caplog.text
    manifest = json.loads((outcome.run_path / "manifest.json").read_text())
    budget = manifest["budget"]
    assert budget["budget_minutes"] == 120 and "cuts" in budget and budget["minutes"]["total"] <= 120
    assert manifest["configs"]["eval"]["max_prompts"] == budget["eval_prompts"]
    assert "## Time budget (120 minutes)" in (outcome.run_path / "report.md").read_text()

    caplog.clear()
    again = run_pipeline([demo_export], config)
    assert "the plan measured before" in caplog.text
    assert not again.new_run and all(step["reused"] for step in again.steps)


@pytest.mark.parametrize(("flag", "minutes"), [([], 60.0), (["--time-budget", "90"], 90.0)])
def test_run_takes_the_cpu_preset_and_a_time_budget_flag(monkeypatch, tmp_path, flag, minutes):
    import signal

    from typer.testing import CliRunner

    import flows.pipeline
    from flows.cli import app

    seen = {}

    def fake_run(exports, config):
        seen["config"] = config
        raise SystemExit(0)

    monkeypatch.setattr(flows.pipeline, "run_pipeline", fake_run)
    monkeypatch.setattr(signal, "signal", lambda *a: None)
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    args = ["run", "--export", str(tmp_path / "result.json"), "--config", "cpu", *flag]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen["config"].preset == "cpu" and seen["config"].time_budget_minutes == minutes


def test_every_stage_has_a_cpu_preset_for_real_chats():
    """`--config cpu` runs every stage's cpu preset: the full plan the budget cuts from."""
    from flows.config import PipelineConfig
    from flows.pipeline import STAGE_CONFIGS

    config = PipelineConfig.load("cpu")
    assert config.preset == "cpu" and config.time_budget_minutes == 60
    for stage, cls in STAGE_CONFIGS.items():
        assert "cpu" in cls.presets(), stage
        config.stage_config(stage, cls)  # loads
    sft, demo = config.stage_config("sft", STAGE_CONFIGS["sft"]), STAGE_CONFIGS["sft"].load("cpu-demo")
    assert sft.max_length > demo.max_length
    assert PipelineConfig.load("cpu-demo").time_budget_minutes is None  # the demo is not budgeted
