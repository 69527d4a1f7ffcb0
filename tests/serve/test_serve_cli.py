"""`chatlikeme serve` end to end, on a server of its own (the shared one must survive): start, pick up a newly
trained adapter without a restart, serve the arena, then stop with Ctrl-C in the middle of a conversation."""

import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from gradio_client import Client

from core.votes import VoteStore
from serve.arena import ArenaConfig, build_arena
from serve.server_process import free_port
from serve.vllm_server import served_models
from tests.conftest import ROOT
from tests.conftest import chat_texts as texts


class ServeProcess:
    """`chatlikeme serve` in a subprocess, with its console output readable line by line as it comes."""

    def __init__(self, *args: object) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve", *map(str, args)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            # Ctrl-C as in a terminal: a suite started in the background (`pytest &`) has SIGINT ignored,
            # which the child would inherit (Python then installs no KeyboardInterrupt handler).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip())

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.process.poll() is None, f"serve exited: {self.seen}"
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} within {timeout} s; output so far: {self.seen}")


@pytest.mark.vllm
def test_serve_reloads_adapters_and_the_arena_survives_the_server_stopping(
    tiny_adapters: dict[str, Path], tmp_path: Path
) -> None:
    pytest.importorskip("vllm", reason="vLLM is not installed")
    run = tmp_path / "run-7"
    shutil.copytree(tiny_adapters["sft"], run / "sft")  # KTO is not trained yet
    port = free_port()
    serve = ServeProcess("--run", run, "--port", port, "--watch-interval", "0.5")
    demo = None
    try:
        serve.wait_for("vLLM is ready", timeout=300)
        api = f"http://127.0.0.1:{port}"
        assert sorted(m.name for m in served_models(api)) == ["base", "sft"]
        server_processes = psutil.Process(serve.process.pid).children(recursive=True)
        assert server_processes  # the vLLM server and its engine

        # A newly trained adapter appears: served without a restart.
        shutil.copytree(tiny_adapters["kto"], tmp_path / "kto.tmp")
        (tmp_path / "kto.tmp").rename(run / "kto")  # as atomically as the KTO stage writes it
        serve.wait_for("kto: loaded", timeout=60)
        assert sorted(m.name for m in served_models(api)) == ["base", "kto", "sft"]

        db = tmp_path / "votes.sqlite"
        demo = build_arena(api, db, config=ArenaConfig(max_new_tokens=8))
        arena_port = free_port()
        demo.queue().launch(server_name="127.0.0.1", server_port=arena_port, prevent_thread_lock=True)
        client = Client(f"http://127.0.0.1:{arena_port}/", verbose=False)
        send = ("Pasquale", "Lorenzo", "sft", "kto")  # persona, contact, model A, model B
        client.predict("ciao", *send, api_name="/named_send")
        client.predict(api_name="/named_vote_a")
        client.predict(api_name="/named_new_round")
        before = client.predict("primo messaggio", *send, api_name="/named_send")[:2]
        assert [texts(chat)[-1][0] for chat in before] == ["assistant", "assistant"]

        # Ctrl-C: the server and every process it started go away.
        serve.process.send_signal(signal.SIGINT)
        assert serve.process.wait(60) == 0
        serve.wait_for("Stopping vLLM", timeout=5)
        _, alive = psutil.wait_procs(server_processes, timeout=30)
        assert not alive, [p.cmdline() for p in alive]

        # Mid-conversation: the pane says what is wrong, the app keeps running, the votes are intact.
        after = client.predict("ci sei?", *send, api_name="/named_send")[:2]
        for chat, earlier in zip(after, before, strict=True):
            role, text = texts(chat)[-1]
            assert role == "assistant" and text.startswith("⚠️ Cannot reach the model server at")
            assert texts(chat)[:3] == [*texts(earlier), ("user", "ci sei?")]  # the conversation is kept
        client.predict(api_name="/named_vote_a")  # a failed reply cannot be voted on
        assert client.predict(api_name="/runs")["value"] == "run-7"
        _, _, _, _, summary = client.predict("run-7", api_name="/leaderboard")
        assert "1 vote for run **run-7**" in summary
        (vote,) = VoteStore(db).votes()
        assert (vote.model_a, vote.model_b, vote.outcome, vote.run_id) == ("sft", "kto", "a", "run-7")
        with sqlite3.connect(db) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        chat_a, *_ = client.predict(api_name="/named_new_round")
        assert chat_a == []
    finally:
        if demo is not None:
            demo.close()
        if serve.process.poll() is None:
            serve.process.send_signal(signal.SIGINT)
            serve.process.wait(60)
