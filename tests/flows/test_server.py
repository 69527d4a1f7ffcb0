"""Finding or starting the real Prefect server that scheduled retraining needs."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from core.errors import ChatLikeMeError
from flows.server import healthy, prefect_server
from tests.flows.conftest import free_port


@pytest.fixture(autouse=True)
def no_configured_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on a fresh machine: no PREFECT_API_URL (another test's Prefect harness may have set one)."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        yield


def test_a_running_server_is_reused(prefect_server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert healthy(prefect_server_url)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    port = int(prefect_server_url.rsplit(":", 1)[1].split("/")[0])
    with prefect_server("127.0.0.1", port, attempts=1, start_timeout=1) as url:  # no time to start one
        assert url == prefect_server_url
        assert PREFECT_API_URL.value() == prefect_server_url
    monkeypatch.setenv("PREFECT_API_URL", prefect_server_url)
    with prefect_server("127.0.0.1", free_port()) as url:  # PREFECT_API_URL wins over the port
        assert url == prefect_server_url


def test_unusable_servers_are_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    with pytest.raises(ChatLikeMeError, match="no Prefect server answers there"), prefect_server():
        pass
    monkeypatch.delenv("PREFECT_API_URL")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ChatLikeMeError, match="not a Prefect server"), prefect_server("127.0.0.1", port):
            pass
    assert "PREFECT_API_URL" not in os.environ


def test_a_failed_start_is_retried_with_growing_pauses_then_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A start that loses the race for the port is tried again; after `attempts` the error names the log."""
    import flows.server as server

    starts, stopped, pauses = [], [], []
    monkeypatch.setattr(server, "start", lambda *args: starts.append(args) or f"process {len(starts)}")
    monkeypatch.setattr(server, "wait_healthy", lambda url, process, timeout: process == "process 3")
    monkeypatch.setattr(server, "stop", stopped.append)
    monkeypatch.setattr("tenacity.nap.time.sleep", pauses.append)
    started = server._start_with_retries("127.0.0.1", 1, "http://127.0.0.1:1/api", None, 3, 1.0)
    assert (started, stopped, pauses) == ("process 3", ["process 1", "process 2"], [2, 4])
    assert "Prefect server did not start (attempt 2 of 3)" in caplog.text

    with pytest.raises(ChatLikeMeError, match=r"after 2 attempts; its log: server\.log"):
        server._start_with_retries("127.0.0.1", 1, "http://127.0.0.1:1/api", Path("server.log"), 2, 1.0)
