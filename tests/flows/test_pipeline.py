"""The whole pipeline on a small demo export and a tiny model: a run, its reuse, partial re-runs, the gate."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from flows.pipeline import run_pipeline
from flows.registry import Registry
from tests.conftest import ROOT, run_cli
from tests.flows.conftest import FirstRun, tiny_pipeline_config

pytestmark = pytest.mark.slow
STAGES = ["ingest", "sft", "kto-data", "kto", "eval"]


def steps(outcome) -> dict[str, bool]:
    """stage -> reused?"""
    return {step["stage"]: step["reused"] for step in outcome.steps}


def test_first_run_trains_every_stage_and_becomes_current(first_run: FirstRun) -> None:
    outcome = first_run.outcome
    assert steps(outcome) == dict.fromkeys(STAGES, False)
    assert outcome.new_run and outcome.promoted and "no current run yet" in outcome.gate["reasons"][0]

    registry = Registry(first_run.workdir / "runs")
    run = registry.current()
    assert run is not None and run.id == outcome.run_id
    for adapter in ("sft", "kto"):
        config = json.loads((run.path / adapter / "adapter_config.json").read_text())
        assert config["base_model_name_or_path"] == first_run.config.base_model
    manifest = run.manifest
    assert set(manifest["stages"]) == set(STAGES)
    assert set(manifest["eval"]["fidelity"]) == {"base", "sft", "kto", "real", "shuffled_real"}
    assert manifest["eval"]["fidelity"]["kto"] == outcome.fidelity["kto"]
    assert manifest["exports"][0]["new"] and len(manifest["exports"][0]["sha256"]) == 64
    assert manifest["configs"]["kto"]["max_steps"] == 2  # resolved: preset + overrides
    assert yaml.safe_load((run.path / "configs" / "sft.yaml").read_text())["max_steps"] == 2
    assert (run.path / "eval" / "report.json").is_file() and (
        run.path / "data" / "ingest" / "report.md"
    ).is_file()
    assert "Promoted" in (run.path / "report.md").read_text()
    assert not list(run.path.rglob("pii_mapping*")), "the PII mapping never leaves the data directory"


def test_stages_publish_artifacts(first_run: FirstRun) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    keys = ["ingest-report", "sft-report", "sft-metrics", "kto-plot-rewards", "eval-report", "pipeline-run"]
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)))
    assert {artifact.key for artifact in found} == set(keys)
    eval_report = next(a for a in found if a.key == "eval-report")
    assert "fidelity" in eval_report.data


def test_second_run_reuses_every_step(first_run: FirstRun, demo_export: Path) -> None:
    registry = Registry(first_run.workdir / "runs")
    runs_before = [run.id for run in registry.runs()]  # other tests may have added candidates to this workdir
    again = run_pipeline([demo_export], first_run.config)
    assert steps(again) == dict.fromkeys(STAGES, True)
    assert not again.new_run and again.run_id == first_run.outcome.run_id
    assert [run.id for run in registry.runs()] == runs_before


def test_a_lost_output_runs_its_step_again(first_run: FirstRun, demo_export: Path) -> None:
    ingest_output = Path(next(s["output"] for s in first_run.outcome.steps if s["stage"] == "ingest"))
    shutil.rmtree(ingest_output)
    again = run_pipeline([demo_export], first_run.config)
    # ingest runs again; it writes the same SFT data, so everything after it is still reused
    assert steps(again) == {**dict.fromkeys(STAGES, True), "ingest": False}
    assert (ingest_output / "sft" / "train.jsonl").is_file()
    assert again.run_id == first_run.outcome.run_id  # same inputs: the same run, not a new one


def test_changed_config_reruns_only_what_follows_and_the_gate_keeps_a_worse_run(
    first_run: FirstRun, tiny_model: Path, demo_export: Path
) -> None:
    runs = first_run.workdir / "runs"
    config = tiny_pipeline_config(
        first_run.workdir,
        tiny_model,
        kto={"overrides": {**first_run.config.kto.overrides, "beta": 0.5}},
        gate={"min_gain": 1.0},  # fidelity is in [0, 1]: nothing can beat the current run by 1
    )
    candidate = run_pipeline([demo_export], config)
    assert steps(candidate) == {"ingest": True, "sft": True, "kto-data": True, "kto": False, "eval": False}
    assert candidate.new_run and not candidate.promoted
    assert candidate.current == first_run.outcome.run_id
    assert "does not beat the current run" in candidate.gate["reasons"][0]
    assert "Kept as a candidate" in (candidate.run_path / "report.md").read_text()
    assert Registry(runs).current().id == first_run.outcome.run_id

    # By hand: promote the candidate anyway, then roll back.
    done = run_cli("promote", candidate.run_id, "--runs", runs)
    assert done.returncode == 0, done.stderr
    assert Registry(runs).current().id == candidate.run_id
    done = run_cli("rollback", "--runs", runs)
    assert done.returncode == 0, done.stderr
    assert Registry(runs).current().id == first_run.outcome.run_id


def test_corrupt_export_fails_in_one_line_and_leaves_the_current_model(
    first_run: FirstRun, demo_export: Path, prefect_server_url: str, tmp_path: Path
) -> None:
    corrupt = tmp_path / "new-export.json"
    corrupt.write_text('{"personal_information": {"user_id": 1}, "chats": {"list": [')  # truncated
    config_file = tmp_path / "pipeline.yaml"
    config_file.write_text(yaml.safe_dump(first_run.config.to_dict()))
    registry = Registry(first_run.workdir / "runs")
    before = ([run.id for run in registry.runs()], registry.current().id)

    # (against the session's Prefect server: the same as Prefect's temporary one, without its start-up)
    done = run_cli(
        "run", "--export", demo_export, "--export", corrupt, "--config", config_file,
        PREFECT_API_URL=prefect_server_url,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("chatlikeme: error:")]
    assert len(error_lines) == 1 and str(corrupt) in error_lines[0]
    assert "Traceback" not in done.stderr + done.stdout
    assert ([run.id for run in registry.runs()], registry.current().id) == before


def test_a_training_step_killed_midway_resumes_on_the_next_run(
    first_run: FirstRun,
    tiny_model: Path,
    demo_export: Path,
    prefect_server_url: str,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from flows.pipeline import resolved_configs
    from flows.stages import Workspace, ingest_flow, prepare_base_model, sft_flow

    sft_overrides = {**first_run.config.sft.overrides, "max_steps": 4, "eval_steps": 2}
    config = tiny_pipeline_config(first_run.workdir, tiny_model, sft={"overrides": sft_overrides})
    config_file = tmp_path / "pipeline.yaml"
    config_file.write_text(yaml.safe_dump(config.to_dict()))
    stages = first_run.workdir / "runs" / ".stages" / "sft"
    before = set(stages.iterdir())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_API_URL": prefect_server_url}
    command = [
        sys.executable,
        "-m",
        "flows.cli",
        "run",
        "--export",
        str(demo_export),
        "--config",
        str(config_file),
    ]
    run = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        checkpoint = wait_for_checkpoint(stages, before, run)
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # as if the machine went down mid-training
        run.wait()
    step_dir = checkpoint.parents[1]
    assert not (step_dir / "sft").exists(), "killed before the adapter was written"

    # The next run computes the same key, hence the same directory, and continues from the checkpoint.
    space = Workspace(config.data_path, config.runs_path, retries=0)
    base = prepare_base_model(str(tiny_model))
    data = ingest_flow([demo_export], resolved_configs(config, base)["ingest"], space)
    resumed = sft_flow(data, base, resolved_configs(config, base)["sft"], space)
    assert resumed.output == step_dir / "sft" and not resumed.reused
    assert f"resuming from {checkpoint}" in " ".join(capfd.readouterr().err.split())


def wait_for_checkpoint(stages: Path, before: set[Path], run: subprocess.Popen) -> Path:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for step_dir in set(stages.iterdir()) - before if stages.is_dir() else ():
            done = [
                c
                for c in step_dir.glob(".sft.checkpoints/checkpoint-*")
                if (c / "trainer_state.json").is_file()
            ]
            if done:
                time.sleep(1)  # let the checkpoint's last files land
                return done[0]
        if run.poll() is not None:
            pytest.fail(f"the run ended before its first checkpoint: {run.stderr.read().decode()[-3000:]}")
        time.sleep(0.2)
    pytest.fail("no SFT checkpoint within 300 s")
