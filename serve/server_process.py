"""An HTTP server run as a child process: start it, wait until it answers, stop it with everything it spawned.

    class MyServer(ServerProcess):
        def command(self): return ["python", "-m", "my.server", "--port", str(self.port)], dict(os.environ)

    with MyServer("127.0.0.1", 8000) as server:
        httpx.get(server.url + "/health")

The server runs in a process group of its own (vLLM, for one, spawns engine and worker processes): `stop()`
signals the whole group, and Ctrl-C in a terminal reaches only the parent, which then stops it cleanly.
A guard process (`python -m serve.server_process PARENT_PID -- COMMAND`) leads the group and ends it if
the parent dies without stopping it (SIGKILL, a closed terminal, a test runner's timeout), so no server is
ever left running with its memory and its port.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self

import httpx

from core.errors import ChatLikeMeError


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ChatLikeMeError(
                f"{host}:{port} is in use ({exc.strerror}); stop what runs there or choose another --port"
            ) from None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_guarded(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """`command` in a process group of its own, led by the guard, its output appended to `log_path`."""
    guarded = [sys.executable, "-m", "serve.server_process", str(os.getpid()), "--", *command]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            guarded, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip


def stop_group(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM to the process group that `start_guarded` made; SIGKILL for whatever lingers."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # children may outlive the guard by a moment
        os.killpg(process.pid, signal.SIGKILL)


class ServerProcess:
    """Base class: subclasses say how to start the server (`command`) and may add readiness checks."""

    name = "server"
    health_path = "/health"

    def __init__(
        self, host: str, port: int, *, startup_timeout_s: float = 900.0, log_path: str | Path | None = None
    ) -> None:
        self.host, self.port, self.startup_timeout_s = host, port, startup_timeout_s
        default_log = Path(tempfile.gettempdir()) / f"chatlikeme-{self.name}-{port}-{os.getpid()}.log"
        self.log_path = Path(log_path) if log_path else default_log
        self.process: subprocess.Popen | None = None

    def command(self) -> tuple[list[str], dict[str, str]]:
        """The command line and environment that start the server."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> Self:
        if self.process is not None:
            return self
        check_port_free(self.host, self.port)
        command, env = self.command()
        self.process = start_guarded(command, env, self.log_path)
        try:
            self.wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ChatLikeMeError(
                    f"{self.name} exited during start-up (status {self.process.returncode}): "
                    f"{self.last_log_line()} (full log: {self.log_path})"
                )
            if self.healthy():
                return
            time.sleep(0.5)
        raise ChatLikeMeError(
            f"{self.name} did not become healthy within {self.startup_timeout_s:.0f} s (log: {self.log_path})"
        )

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}{self.health_path}", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to the whole process group; SIGKILL for whatever lingers."""
        process, self.process = self.process, None
        if process is not None:
            stop_group(process, timeout)

    def last_log_line(self) -> str:
        """The last error line of the log (else its last line): why a start failed, in one line."""
        try:
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return "no log"
        errors = [ln for ln in lines if "error" in ln.lower()]
        return (errors or lines or ["no output"])[-1].strip()[:400]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- the guard: `python -m serve.server_process PARENT_PID -- COMMAND...` ----------------------------------


def guard(parent_pid: int, command: list[str], *, poll_s: float = 1.0, grace_s: float = 30.0) -> int:
    """Run `command` in our process group; end the group if `parent_pid` dies. Returns the exit status."""
    child = subprocess.Popen(command)
    # stop() signals the whole group at once: let the child shut down gracefully and report its status.
    signal.signal(signal.SIGTERM, lambda *_: None)
    signal.signal(signal.SIGINT, lambda *_: None)
    while child.poll() is None:
        if os.getppid() != parent_pid:  # re-parented: whoever started us is gone
            os.killpg(os.getpgrp(), signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            while child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            os.killpg(os.getpgrp(), signal.SIGKILL)
        time.sleep(poll_s)
    return child.returncode


if __name__ == "__main__":
    parent, separator, *rest = sys.argv[1:]
    if separator != "--" or not rest:
        sys.exit("usage: python -m serve.server_process PARENT_PID -- COMMAND...")
    sys.exit(guard(int(parent), rest))
