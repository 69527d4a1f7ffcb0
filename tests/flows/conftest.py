"""Fixtures of the flow tests: one Prefect test server for the whole session."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


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
