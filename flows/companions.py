"""What runs beside scheduled retraining: the model server and the Telegram bot, kept alive.

    chatlikeme schedule --exports exports/ --cron "0 3 * * 0" --bot            # a bot that answers as you
    chatlikeme schedule --exports exports/ --cron "0 3 * * 0" --bot --as-me    # drafts in your own chats

Without `--bot-api`, `chatlikeme serve --run runs/current` runs here, watching the run: when a retraining
run is promoted, the server loads its adapters without a restart and the bot's next answer comes from them.
The bot (`chatlikeme bot`) is a child process, started once a run is current, restarted with backoff if it
exits, and restarted when a promoted run brings a new data folder (new contacts, new prompts). Draft
outcomes go to the votes database that the next retraining reads, which closes the loop.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from core.errors import ChatLikeMeError
from core.subprocess import project_env
from serve.server_process import ServerProcess, start_guarded, stop_group

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BotOptions:
    """The `chatlikeme schedule --bot…` flags."""

    as_me: bool = False
    "Draft mode (the owner's own account) instead of a bot account."
    api: str | None = None
    "A running `chatlikeme serve`; None: start one here on runs/current."
    model: str | None = None
    config: Path | None = None
    "The bot's YAML (`chatlikeme bot --config`)."
    serve_port: int = 8000
    "Port of the server started here."


def check_bot_options(options: BotOptions, *, telegram: bool) -> None:
    if options.as_me and telegram:
        # Telethon's session is one SQLite file that two processes cannot use at once.
        raise ChatLikeMeError(
            "--bot --as-me and --telegram both need your Telegram session, which two processes cannot share: "
            "drop --telegram (drop new exports into the folder instead) or run the bot with a bot token"
        )
    if options.config is not None and not options.config.is_file():
        raise ChatLikeMeError(f"{options.config}: bot config not found")


def current_data_dir(runs: Path) -> Path | None:
    """The ingest data folder of the current run (its contacts and prompts), or None before the first run."""
    manifest = runs / "current" / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        output = json.loads(manifest.read_text(encoding="utf-8"))["stages"]["ingest"]["output"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ChatLikeMeError(f"{manifest}: not a run manifest (no stages.ingest.output)") from None
    return Path(output)


def bot_command(options: BotOptions, api: str, data: Path, votes_db: Path) -> list[str]:
    command = [sys.executable, "-m", "flows.cli", "bot", "--api", api, "--data", str(data)]
    command += ["--db", str(votes_db)]
    if options.model:
        command += ["--model", options.model]
    if options.config:
        command += ["--config", str(options.config.resolve())]
    if options.as_me:
        command.append("--as-me")
    return command


class RunServer(ServerProcess):
    """`chatlikeme serve` on a run folder (the `runs/current` link), watching it for promoted adapters."""

    name = "serve"

    def __init__(self, run: Path, port: int, *, log_path: Path) -> None:
        super().__init__("127.0.0.1", port, log_path=log_path)
        self.run = run

    def command(self) -> tuple[list[str], dict[str, str]]:
        command = [sys.executable, "-m", "flows.cli", "serve", "--run", str(self.run)]
        return [*command, "--port", str(self.port)], project_env()


class KeptAlive:
    """A child process that is restarted when it exits (waiting longer after each quick failure) or when the
    command it should run changes. Like the servers, it runs under the guard that ends it if we die."""

    def __init__(
        self, name: str, log_path: Path, *, min_backoff_s: float = 5.0, max_backoff_s: float = 300.0
    ) -> None:
        self.name, self.log_path = name, log_path
        self.min_backoff_s, self.max_backoff_s = min_backoff_s, max_backoff_s
        self.backoff_s = min_backoff_s
        self.process: subprocess.Popen | None = None
        self.command: list[str] | None = None
        self.started_at = 0.0
        self.next_start = 0.0
        self.starts = 0

    def keep(self, command: list[str] | None) -> str | None:
        """Run `command` (None: nothing to run yet). Returns what was done, for the log, or None."""
        if command != self.command and self.process is not None:
            self.stop()
            self.command, self.next_start = command, 0.0
            return self._start() if command else f"{self.name} stopped"
        self.command = command
        if command is None or (self.process is not None and self.process.poll() is None):
            return None
        if self.process is not None:  # it exited by itself
            status = self.process.returncode
            self.process = None
            quick = time.monotonic() - self.started_at < 60
            self.backoff_s = min(self.backoff_s * 2, self.max_backoff_s) if quick else self.min_backoff_s
            self.next_start = time.monotonic() + self.backoff_s
            again = f"restarting in {self.backoff_s:.0f} s (log: {self.log_path})"
            return f"{self.name} exited (status {status}); {again}"
        if time.monotonic() < self.next_start:
            return None
        return self._start()

    def _start(self) -> str:
        assert self.command is not None
        self.process = start_guarded(self.command, project_env(), self.log_path)
        self.started_at = time.monotonic()
        self.starts += 1
        return f"{self.name} started (log: {self.log_path})"

    def stop(self, timeout: float = 20.0) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_group(process, timeout)


class Companions:
    """The server and the bot beside `retrain.serve`, checked every `poll_s` s on a thread of their own."""

    def __init__(
        self,
        options: BotOptions,
        runs: Path,
        votes_db: Path,
        *,
        poll_s: float = 5.0,
        echo: Callable[[str], None] = log.info,
    ) -> None:
        self.options, self.runs, self.votes_db = options, runs, votes_db
        self.poll_s, self.echo = poll_s, echo
        logs = runs / ".companions"
        self.server: RunServer | None = None
        if options.api is None:
            self.server = RunServer(runs / "current", options.serve_port, log_path=logs / "serve.log")
        self.bot = KeptAlive("bot", logs / ("drafts.log" if options.as_me else "bot.log"))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chatlikeme-companions", daemon=True)

    @property
    def api(self) -> str:
        return self.options.api or (self.server.url if self.server else "")

    def check(self) -> bool:
        """One round: start the server once a run is current, keep the bot on the current data folder.
        False while no run is current."""
        data = current_data_dir(self.runs)
        if data is None:
            return False
        if self.server is not None and not self.server.running():
            self.echo(f"starting chatlikeme serve on {self.runs / 'current'} ({self.server.url}) ...")
            self.server.stop()  # a server that died is still held: start() would then do nothing
            self.server.start()  # waits until it answers
            self.echo(f"serving {self.runs / 'current'} at {self.server.url}, reloading promoted adapters")
        done = self.bot.keep(bot_command(self.options, self.api, data, self.votes_db))
        if done:
            self.echo(done)
        return True

    def _loop(self) -> None:
        waiting_said = False
        while not self._stop.is_set():
            try:
                if not self.check() and not waiting_said:
                    self.echo("bot: waiting for a first promoted run (runs/current)")
                    waiting_said = True
            except ChatLikeMeError as exc:  # e.g. the server failed to start: say so, try again later
                self.echo(f"bot: {exc}")
            self._stop.wait(self.poll_s)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        self.bot.stop()
        if self.server is not None:
            self.server.stop()
