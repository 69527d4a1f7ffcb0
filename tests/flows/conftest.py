"""Fixtures of the flow tests: Prefect servers, a small demo export, and one pipeline run the others reuse."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from flows.config import PipelineConfig
    from flows.pipeline import PipelineOutcome

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
# Servers (vLLM, Gradio, Prefect) run beside training in the suite: idle torch threads sleep at once.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Flows run against a temporary Prefect server and database (started once, ~10 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def prefect_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `prefect server start` on 127.0.0.1 (schedules fire only there), with its own database."""
    from flows.server import start, stop, wait_healthy

    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    process = start("127.0.0.1", port, home / "server.log", env={"PREFECT_HOME": str(home)})
    try:
        if not wait_healthy(url, process, 120):
            pytest.fail(f"the Prefect server did not start: {(home / 'server.log').read_text()[-3000:]}")
        yield url
    finally:
        stop(process)


def tiny_pipeline_config(workdir: Path, tiny_model: Path, **changes: Any) -> PipelineConfig:
    """The cpu-demo pipeline cut down to seconds: the tiny random model, a few steps, few prompts."""
    from flows.config import PipelineConfig

    data: dict[str, Any] = {
        "workdir": str(workdir),
        "preset": "cpu-demo",
        "base_model": str(tiny_model),
        "retries": 1,
        "retry_delay_s": 0,
        "sft": {"overrides": {"max_steps": 2, "per_device_train_batch_size": 4, "max_length": 256}},
        "kto_data": {
            "overrides": {
                "max_train_positives": 24,
                "max_eval_positives": 8,
                "generation_backend": "transformers",
                "base_sampling": {"max_new_tokens": 8},
                "off_persona": {"max_new_tokens": 8, "samples_per_prompt": 1},
                "on_policy": {"max_new_tokens": 8, "samples_per_prompt": 1, "max_prompts": 8},
            }
        },
        "kto": {
            "overrides": {
                "max_steps": 2,
                "per_device_train_batch_size": 2,
                "per_device_eval_batch_size": 2,
                "gradient_accumulation_steps": 2,
                "max_rows": 32,
                "max_length": 128,
            }
        },
        "eval": {"overrides": {"backend": "transformers", "max_prompts": 8, "max_new_tokens": 8}},
        # The stages in the test's own process: a fresh one per stage costs ~8 s of imports each time.
        # `first_run` runs the default (a fresh process per stage), so that path is tested too.
        "fresh_processes": False,
    }
    for key, value in changes.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return PipelineConfig.from_dict(data)


@pytest.fixture(scope="session")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo export (1,500 messages): enough for every stage, quick to ingest."""
    from ingest.demo.export import write_demo_export

    return write_demo_export(tmp_path_factory.mktemp("exports") / "demo-result.json", messages=1500)


@dataclass
class FirstRun:
    workdir: Path
    config: PipelineConfig
    outcome: PipelineOutcome


@pytest.fixture(scope="session")
def first_run(
    prefect_harness: None, tiny_model: Path, demo_export: Path, tmp_path_factory: pytest.TempPathFactory
) -> FirstRun:
    """The whole pipeline once, on the demo export and the tiny model (later tests build on its cache)."""
    from flows.pipeline import run_pipeline

    workdir = tmp_path_factory.mktemp("pipeline")
    config = tiny_pipeline_config(workdir, tiny_model, fresh_processes=True)
    return FirstRun(workdir, config, run_pipeline([demo_export], config))
