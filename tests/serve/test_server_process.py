"""Child server processes, with Python's own http.server standing in for vLLM (same life cycle, no model)."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import httpx
import pytest

from core.errors import ChatLikeMeError
from serve.server_process import ServerProcess, free_port
from tests.conftest import ROOT

psutil = pytest.importorskip("psutil")


class HttpServer(ServerProcess):
    name = "http.server"
    health_path = "/"

    def command(self) -> tuple[list[str], dict[str, str]]:
        return [sys.executable, "-m", "http.server", str(self.port), "--bind", self.host], dict(os.environ)


class Crashing(ServerProcess):
    name = "crashing"

    def command(self) -> tuple[list[str], dict[str, str]]:
        code = "import sys; print('RuntimeError: no model here', file=sys.stderr); sys.exit(3)"
        return [sys.executable, "-c", code], dict(os.environ)


def test_start_wait_use_stop() -> None:
    with HttpServer("127.0.0.1", free_port()) as server:
        assert httpx.get(server.url).status_code == 200
        group = [
            psutil.Process(server.process.pid),
            *psutil.Process(server.process.pid).children(recursive=True),
        ]
        assert len(group) == 2  # the guard and the server
    _, alive = psutil.wait_procs(group, timeout=10)
    assert not alive and not server.running()


def test_a_server_that_dies_at_start_says_why() -> None:
    with pytest.raises(
        ChatLikeMeError, match=r"crashing exited during start-up \(status 3\): RuntimeError: no model"
    ):
        Crashing("127.0.0.1", free_port(), startup_timeout_s=60).start()


def test_the_server_dies_with_a_parent_killed_outright(tmp_path) -> None:
    port = free_port()
    script = textwrap.dedent(
        f"""
        import time
        from tests.serve.test_server_process import HttpServer
        with HttpServer("127.0.0.1", {port}):
            print("up", flush=True)
            time.sleep(600)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    assert parent.stdout.readline().strip() == "up"
    server_side = psutil.Process(parent.pid).children(recursive=True)
    assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200

    parent.send_signal(signal.SIGKILL)  # no chance to stop anything itself
    parent.wait()
    _, alive = psutil.wait_procs(server_side, timeout=15)
    assert not alive
    time.sleep(0.2)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/")
