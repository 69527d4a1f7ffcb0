"""Scheduled retraining against a real Prefect server: `chatlikeme schedule` registers and serves it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from core.errors import ChatLikeMeError
from flows.registry import Registry
from flows.schedule import check_schedule, fetch_from_telegram, find_exports, systemd_units
from tests.conftest import ROOT, run_cli
from tests.flows.conftest import FirstRun, tiny_pipeline_config

FIRE_TIMEOUT_S = 300


def flow_runs(api_url: str, deployment: str) -> list[dict]:
    body = {"deployments": {"name": {"any_": [deployment]}}}
    return httpx.post(f"{api_url}/flow_runs/filter", json=body, timeout=10).json()


@pytest.mark.slow
def test_an_interval_schedule_fires_a_retraining_run(
    prefect_server_url: str, first_run: FirstRun, demo_export: Path, tmp_path: Path
) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    shutil.copy(demo_export, exports / "result.json")
    config_file = tmp_path / "pipeline.yaml"
    config_file.write_text(yaml.safe_dump(first_run.config.to_dict()))
    runs_before = [run.id for run in Registry(first_run.workdir / "runs").runs()]
    log = tmp_path / "schedule.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PREFECT_API_URL": prefect_server_url,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
    }
    command = [sys.executable, "-m", "flows.cli", "schedule", "--exports", str(exports), "--interval", "5"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*command, "--config", str(config_file)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        finished = wait_for_finished_run(prefect_server_url, "chatlikeme-retrain", server, log)
    finally:
        os.killpg(server.pid, signal.SIGINT)  # Ctrl-C: the runner stops its flow runs and exits
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()

    assert finished["state_type"] == "COMPLETED", log.read_text()[-5000:]
    output = log.read_text()
    assert "steps reused from the cache: ingest, sft, kto-data, kto, eval" in output
    # nothing new in the exports folder: the existing run is found, no run directory is added
    assert [run.id for run in Registry(first_run.workdir / "runs").runs()] == runs_before


def wait_for_finished_run(api_url: str, deployment: str, server: subprocess.Popen, log: Path) -> dict:
    deadline = time.monotonic() + FIRE_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"`chatlikeme schedule` exited with {server.returncode}: {log.read_text()[-5000:]}")
        done = [run for run in flow_runs(api_url, deployment) if run["state_type"] in FINAL_STATES]
        if done:
            return done[0]
        time.sleep(2)
    pytest.fail(f"no scheduled run finished within {FIRE_TIMEOUT_S} s: {log.read_text()[-5000:]}")


FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def test_schedule_arguments_are_checked() -> None:
    with pytest.raises(ChatLikeMeError, match="exactly one of --cron"):
        check_schedule(None, None)
    with pytest.raises(ChatLikeMeError, match="exactly one of --cron"):
        check_schedule("0 3 * * 0", 60)
    with pytest.raises(ChatLikeMeError, match="not a valid cron expression"):
        check_schedule("every sunday", None)
    with pytest.raises(ChatLikeMeError, match="positive number"):
        check_schedule(None, 0)
    check_schedule("0 3 * * 0", None)

    done = run_cli("schedule", "--exports", ".", "--cron", "not cron")
    assert done.returncode == 2 and "not a valid cron expression" in done.stderr


def test_exports_folder(tmp_path: Path) -> None:
    with pytest.raises(ChatLikeMeError, match="no Telegram export"):
        find_exports(tmp_path)
    (tmp_path / "b.json").write_text("{}")
    (tmp_path / "DataExport_2026-01-01").mkdir()
    (tmp_path / "DataExport_2026-01-01" / "result.json").write_text("{}")
    (tmp_path / ".partial.json").write_text("{}")
    assert find_exports(tmp_path) == [tmp_path / "DataExport_2026-01-01" / "result.json", tmp_path / "b.json"]


def test_systemd_units_run_the_schedule_against_their_server(tmp_path: Path) -> None:
    units = systemd_units(
        tmp_path, cron="0 3 * * 0", interval=None, config_file=None, telegram=True, port=4300
    )
    server, worker = units["chatlikeme-prefect.service"], units["chatlikeme-retrain.service"]
    assert "prefect server start --host 127.0.0.1 --port 4300" in server
    assert "Environment=PREFECT_API_URL=http://127.0.0.1:4300/api" in worker
    assert f"schedule --exports {tmp_path} --cron '0 3 * * 0' --telegram" in worker
    assert "Requires=chatlikeme-prefect.service" in worker

    done = run_cli("schedule", "--exports", tmp_path, "--interval", "3600", "--systemd", tmp_path / "units")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "units").iterdir()) == sorted(units)


@pytest.mark.slow
def test_a_stage_runs_on_its_own_deployment(
    prefect_server_url: str, first_run: FirstRun, tiny_model: Path, demo_export: Path, tmp_path: Path
) -> None:
    """prefect.yaml's GPU pool in small: `ingest` served by another process, the pipeline sends it there."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.pipeline import run_pipeline

    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_API_URL": prefect_server_url}
    serve = "from flows.stages import ingest_flow\n\nif __name__ == '__main__':\n"
    serve += "    ingest_flow.serve(name='remote')\n"
    (tmp_path / "serve_ingest.py").write_text(serve)
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "serve_ingest.py"], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 120
        while "is being served" not in log.read_text() and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()
            time.sleep(0.5)
        # A setting that changes the ingest key but not its SFT data: only ingest runs, remotely.
        config = tiny_pipeline_config(
            first_run.workdir, tiny_model, ingest={"overrides": {"pii_keep_words": ["zzzz"]}}
        )
        config = config.replace(deployments={"ingest": "ingest/remote"})
        with temporary_settings({PREFECT_API_URL: prefect_server_url}):
            outcome = run_pipeline([demo_export], config)
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    ingest = outcome.steps[0]
    assert ingest["stage"] == "ingest" and ingest["ran_on"] == "ingest/remote" and not ingest["reused"]
    assert "ingest: ran in" in log.read_text()  # in the worker's process
    assert all(step["reused"] for step in outcome.steps[1:])  # same SFT data content: nothing else to redo


def test_telegram_fetch_adds_only_what_is_new(tmp_path: Path) -> None:
    from ingest.telegram.client import TelegramConfig
    from tests.ingest.telethon_fakes import BOB, ME, FakeTelegram, text_message

    def chat(first_id: int, count: int) -> list:
        return [
            text_message(i, BOB, f"messaggio {i}", sender=BOB if i % 2 else ME, minutes=3 * i)
            for i in range(first_id, first_id + count)
        ]

    settings = TelegramConfig(api_id=1, api_hash="0" * 32, data_dir=tmp_path / "telegram", types=["personal"])
    account = FakeTelegram([BOB], [(BOB, chat(1, 20))])
    exports = tmp_path / "exports"
    exports.mkdir()
    first = fetch_from_telegram(exports, settings, client=account)
    assert first is not None and find_exports(exports) == [first]
    assert fetch_from_telegram(exports, settings, client=account) is None  # nothing new: no file
    assert find_exports(exports) == [first]
    account.add(BOB, *chat(21, 5))
    second = fetch_from_telegram(exports, settings, client=account)
    assert second is not None and find_exports(exports) == [first, second]
    assert b"messaggio 25" in second.read_bytes() and b'messaggio 3"' not in second.read_bytes()
