"""`chatlikeme schedule --bot`: the bot (and its server) kept alive beside retraining, on the current run."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from core.errors import ChatLikeMeError
from flows.companions import (
    BotOptions,
    Companions,
    KeptAlive,
    bot_command,
    check_bot_options,
    current_data_dir,
)
from flows.schedule import systemd_units
from tests.conftest import run_cli


def promote(runs: Path, run_id: str, data: Path) -> None:
    """A run folder whose manifest names `data` as its ingest output, made current (as the registry does)."""
    run = runs / run_id
    run.mkdir(parents=True)
    manifest = {"run_id": run_id, "stages": {"ingest": {"output": str(data)}}}
    (run / "manifest.json").write_text(json.dumps(manifest))
    link = runs / "current"
    link.unlink(missing_ok=True)
    link.symlink_to(run_id)


def wait_for(condition, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_the_bot_follows_the_current_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    assert current_data_dir(runs) is None  # nothing promoted yet: nothing to answer with
    promote(runs, "r1", tmp_path / "data-1")
    assert current_data_dir(runs) == tmp_path / "data-1"
    (runs / "r1" / "manifest.json").write_text("{}")
    with pytest.raises(ChatLikeMeError, match=r"no stages\.ingest\.output"):
        current_data_dir(runs)


def test_the_bot_command_uses_flags_that_chatlikeme_bot_has(tmp_path: Path) -> None:
    (tmp_path / "bot.yaml").write_text("rate_limit: 5\n")
    options = BotOptions(as_me=True, model="sft", config=tmp_path / "bot.yaml")
    command = bot_command(options, "http://127.0.0.1:8000", tmp_path / "data", tmp_path / "votes.sqlite")
    assert command[1:4] == ["-m", "flows.cli", "bot"]
    help_text = run_cli("bot", "--help").stdout
    for flag in (arg for arg in command if arg.startswith("--")):
        assert flag in help_text
    assert command[command.index("--db") + 1] == str(tmp_path / "votes.sqlite")  # drafts feed the next KTO
    assert "--as-me" in command and command[command.index("--model") + 1] == "sft"


def test_draft_mode_cannot_share_the_session_with_telegram_fetches(tmp_path: Path) -> None:
    with pytest.raises(ChatLikeMeError, match="cannot share"):
        check_bot_options(BotOptions(as_me=True), telegram=True)
    check_bot_options(BotOptions(as_me=False), telegram=True)
    with pytest.raises(ChatLikeMeError, match="bot config not found"):
        check_bot_options(BotOptions(config=tmp_path / "missing.yaml"), telegram=False)
    done = run_cli("schedule", "--exports", tmp_path, "--interval", "60", "--as-me")
    assert done.returncode == 2 and "--as-me goes with --bot" in done.stderr


def test_systemd_units_keep_the_bot_flags_and_its_token_out_of_the_unit(tmp_path: Path) -> None:
    units = systemd_units(
        tmp_path, cron=None, interval=3600, config_file=None, telegram=False,
        bot=BotOptions(model="kto", serve_port=8100),
    )  # fmt: skip
    worker = units["chatlikeme-retrain.service"]
    assert "--interval 3600 --bot --bot-model kto --bot-serve-port 8100" in worker
    assert "EnvironmentFile=-%h/.config/chatlikeme/bot.env" in worker
    assert "TELEGRAM_BOT_TOKEN" not in worker


def test_a_child_that_exits_is_restarted_and_a_new_command_replaces_it(tmp_path: Path) -> None:
    seen = tmp_path / "seen.txt"
    script = (
        "import sys, time; open(sys.argv[1], 'a').write(sys.argv[2] + '\\n'); time.sleep(float(sys.argv[3]))"
    )
    child = KeptAlive("child", tmp_path / "child.log", min_backoff_s=0.2, max_backoff_s=0.4)
    quick = [sys.executable, "-c", script, str(seen), "quick", "0"]
    try:
        said: list[str] = []

        def restarted() -> bool:
            said.append(child.keep(quick) or "")
            return child.starts == 2

        wait_for(restarted)
        assert said[0].startswith("child started")
        assert any(line.startswith("child exited (status 0); restarting in 0 s") for line in said)
        assert child.backoff_s == 0.4  # a quick exit waits longer before the next start

        slow = [sys.executable, "-c", script, str(seen), "slow", "60"]
        assert "started" in (child.keep(slow) or "")  # a new command replaces the old one at once
        process = child.process
        wait_for(lambda: seen.read_text().splitlines()[-1:] == ["slow"])
        assert child.keep(slow) is None and child.process is process  # running: left alone
    finally:
        child.stop()
    assert process is not None and process.poll() is not None
    assert seen.read_text().splitlines()[0] == "quick"


def test_companions_start_the_bot_once_a_run_is_current_and_restart_it_on_a_new_one(tmp_path: Path) -> None:
    """The real `chatlikeme bot` (no Telegram here: it stops on its first error and is started again)."""
    runs = tmp_path / "runs"
    runs.mkdir()
    said: list[str] = []
    options = BotOptions(api="http://127.0.0.1:9")  # an API given: no server started here
    companions = Companions(options, runs, tmp_path / "votes.sqlite", poll_s=0.2, echo=said.append)
    companions.bot.min_backoff_s = 0.2
    with companions:
        time.sleep(1)
        assert companions.bot.starts == 0 and said == ["bot: waiting for a first promoted run (runs/current)"]
        promote(runs, "r1", tmp_path / "data-1")
        wait_for(lambda: any("bot exited (status 2)" in line for line in said))
        assert "data-1/chats.json" in (companions.bot.log_path.read_text())  # its one-line error

        promote(runs, "r2", tmp_path / "data-2")
        wait_for(
            lambda: companions.bot.command is not None and str(tmp_path / "data-2") in companions.bot.command
        )
    assert companions.bot.process is None
    assert "Traceback" not in companions.bot.log_path.read_text()
