"""A real Prefect server for scheduled retraining (Prefect's temporary local mode never fires schedules).

`prefect_server()` uses the server named by `PREFECT_API_URL` when there is one, reuses a Prefect server
already listening on the port, or starts `prefect server start` on 127.0.0.1 and stops it on exit. Starting is
retried: a first start can lose a race for the port or time out while it migrates its database.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from prefect.settings import PREFECT_API_URL, temporary_settings
from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_attempt, wait_incrementing

from core.errors import ChatLikeMeError

log = logging.getLogger(__name__)


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    """The Prefect API at `api_url` (…/api) answers its health check."""
    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) == 0


@contextlib.contextmanager
def prefect_server(
    host: str = "127.0.0.1",
    port: int = 4200,
    *,
    log_path: Path | None = None,
    attempts: int = 3,
    start_timeout: float = 90.0,
) -> Iterator[str]:
    """Yield the API URL of a running Prefect server, with `PREFECT_API_URL` set to it for this process."""
    configured = os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value()
    if configured:
        if not healthy(configured, timeout=10):
            raise ChatLikeMeError(f"PREFECT_API_URL={configured}: no Prefect server answers there")
        yield configured
        return
    api_url = f"http://{host}:{port}/api"
    if port_in_use(host, port):
        if not healthy(api_url):
            raise ChatLikeMeError(f"{host}:{port} is taken by something that is not a Prefect server")
        with temporary_settings({PREFECT_API_URL: api_url}):
            yield api_url
        return
    process = _start_with_retries(host, port, api_url, log_path, attempts, start_timeout)
    try:
        with temporary_settings({PREFECT_API_URL: api_url}):
            yield api_url
    finally:
        stop(process)


def _start_with_retries(
    host: str, port: int, api_url: str, log_path: Path | None, attempts: int, start_timeout: float
) -> subprocess.Popen:
    def start_healthy() -> subprocess.Popen | None:
        process = start(host, port, log_path)
        if wait_healthy(api_url, process, start_timeout):
            return process
        stop(process)
        return None

    def say_retrying(state: RetryCallState) -> None:
        log.warning("Prefect server did not start (attempt %d of %d)", state.attempt_number, attempts)

    retrying = Retrying(
        retry=retry_if_result(lambda process: process is None),
        stop=stop_after_attempt(attempts),
        wait=wait_incrementing(start=2, increment=2),  # 2, 4, 6 s: time for a lost port race to clear
        before_sleep=say_retrying,
        retry_error_callback=lambda state: None,
    )
    process = retrying(start_healthy)
    if process is None:
        where = f"; its log: {log_path}" if log_path else ""
        raise ChatLikeMeError(
            f"could not start a Prefect server on {host}:{port} after {attempts} attempts{where}"
        )
    return process


def start(
    host: str, port: int, log_path: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """`prefect server start` as a child process (its output goes to `log_path`, else is discarded)."""
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **(env or {})}
    env.pop("PREFECT_API_URL", None)
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    output = log_path.open("ab") if log_path is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # Ctrl-C in the terminal reaches us; we stop the server ourselves
        )
    finally:
        if log_path is not None:
            output.close()


def wait_healthy(api_url: str, process: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if healthy(api_url):
            return True
        time.sleep(0.5)
    return False


def stop(process: subprocess.Popen, timeout: float = 15.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
