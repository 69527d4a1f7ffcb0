"""Scheduled retraining: a Prefect deployment whose runs take new exports, retrain, and promote via the gate.

    chatlikeme schedule --exports exports/ --cron "0 3 * * 0" [--config pipeline.yaml] [--telegram] [--bot]

Each scheduled run (`retrain`):
1. optionally fetches what is new in the user's Telegram account (Telethon, `telegram export --since-last`)
   into the exports folder;
2. takes every export in the folder: ingest merges them without duplicate messages, and its cache key changes
   only when a file was added or changed;
3. runs the cached pipeline: the arena votes collected since the last run go into the KTO data (they change
   its key), everything is retrained where its inputs changed, evaluated, and promoted only through the gate.

Schedules fire only against a real Prefect server (Prefect's temporary local mode never schedules anything):
`serve_retraining` connects to PREFECT_API_URL or starts `prefect server start` on 127.0.0.1, registers the
deployment (at most one run at a time) and serves it in this process until interrupted.

With `--bot` (or `--bot --as-me` for drafts) the persona also stays online meanwhile: `flows/companions.py`
runs `chatlikeme serve` on runs/current and `chatlikeme bot` beside the schedule, and a promoted run's
adapters answer from the next message on.
"""

# No `from __future__ import annotations` here: Prefect may pickle these flows by value for a worker
# process, and string annotations would then no longer resolve when it validates their parameters.

import contextlib
import logging
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.client.schemas.schedules import CronSchedule
from prefect.flows import EntrypointType

from core.errors import ChatLikeMeError, input_error
from core.logs import setup_logging
from flows.companions import BotOptions, Companions, check_bot_options
from flows.config import PipelineConfig
from flows.server import prefect_server
from ingest.telegram.client import TelegramConfig

log = logging.getLogger(__name__)

DEPLOYMENT = "chatlikeme-retrain"
_SKIPPED_SUFFIXES = (".tmp", ".part", ".partial")


def find_exports(folder: Path) -> list[Path]:
    """Telegram exports in `folder`: its *.json files and the result.json of its export sub-folders."""
    if not folder.is_dir():
        raise input_error(folder, "exports folder not found")
    candidates = [*folder.glob("*.json"), *folder.glob("*/result.json")]
    exports = sorted(
        p
        for p in candidates
        if p.is_file() and not p.name.startswith(".") and p.suffix not in _SKIPPED_SUFFIXES
    )
    if not exports:
        raise input_error(
            folder, "no Telegram export in it (*.json files or export folders with a result.json)"
        )
    return exports


@flow(name="retrain")
def retrain(
    exports_dir: str, workdir: str, config_file: str | None = None, telegram: bool = False
) -> dict[str, Any]:
    """One scheduled retraining: new exports (and votes) in, a run out, promoted only if it is better."""
    from flows.pipeline import pipeline, quiet_user_errors  # the stages' libraries: only where they run

    setup_logging()  # the runner starts each scheduled run in a process of its own
    quiet_user_errors()
    config = PipelineConfig.load(config_file)
    config = config.replace(workdir=(Path(workdir) / config.workdir).resolve())
    folder = Path(exports_dir)
    if telegram:
        fetch_from_telegram(
            folder, TelegramConfig.load(config.path(config.telegram) if config.telegram else None)
        )
    outcome = pipeline(find_exports(folder), config)
    return {
        "run": outcome.run_id,
        "new_run": outcome.new_run,
        "promoted": outcome.promoted,
        "current": outcome.current,
        "reused": outcome.reused(),
        "gate": outcome.gate.get("reasons", []),
    }


def fetch_from_telegram(folder: Path, settings: TelegramConfig, client: Any = None) -> Path | None:
    """What is new in the user's Telegram account since the last fetch, as one more export in `folder`.

    `client`: a Telethon client (default: one on the session of `chatlikeme telegram login`).
    """
    from ingest.telegram.live_export import telegram_export

    # Named by the time of the fetch (to the microsecond): sorted names are the fetches in order.
    out = folder / f"telegram-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S-%f')}.json"
    if out.exists():
        raise input_error(out, "already exists; not overwriting an earlier export")
    summary = telegram_export(out, settings, since_last=True, client=client, progress=False)
    if summary.messages == 0:
        out.unlink(missing_ok=True)  # an export without messages would only add noise to the folder
        log.info("Telegram: no new message since the last fetch")
        return None
    log.info(f"Telegram: {summary.messages} new messages from {len(summary.chats)} chats -> {out}")
    return out


def check_schedule(cron: str | None, interval: float | None) -> None:
    if (cron is None) == (interval is None):
        raise ChatLikeMeError('give exactly one of --cron (e.g. "0 3 * * 0") or --interval SECONDS')
    if interval is not None and interval <= 0:
        raise ChatLikeMeError(f"--interval must be a positive number of seconds, got {interval}")
    if cron is not None:
        try:
            CronSchedule(cron=cron)
        except ValueError:
            raise ChatLikeMeError(
                f'--cron {cron!r}: not a valid cron expression (e.g. "0 3 * * 0")'
            ) from None


def serve_retraining(
    exports_dir: Path,
    *,
    cron: str | None = None,
    interval: float | None = None,
    config_file: Path | None = None,
    telegram: bool = False,
    host: str = "127.0.0.1",
    port: int = 4200,
    bot: BotOptions | None = None,
) -> None:
    """Register the retraining deployment with a real Prefect server and run its scheduled runs (blocks)."""
    check_schedule(cron, interval)
    config = PipelineConfig.load(config_file)  # fail now, not at 3 a.m., on a bad config
    find_exports(exports_dir)
    if bot is not None:
        check_bot_options(bot, telegram=telegram)
    parameters = {
        "exports_dir": str(exports_dir.resolve()),
        "workdir": str(Path.cwd()),
        "config_file": _config_ref(config_file),
        "telegram": telegram,
    }
    server_log = config.path(config.runs_dir) / ".prefect-server.log"
    companions = (
        Companions(bot, config.runs_path, config.votes_path or config.path(Path("votes.sqlite")))
        if bot is not None
        else contextlib.nullcontext()
    )
    with prefect_server(host, port, log_path=server_log) as api_url, companions:
        when = f"cron {cron!r}" if cron else f"every {interval:g} s"
        log.info(
            f"Prefect server: {api_url} (UI at {api_url.removesuffix('/api')}); server log: {server_log}"
        )
        log.info(
            f"Retraining {when} from {exports_dir}; stop with Ctrl-C. To run it as a service: --systemd DIR"
        )
        retrain.serve(
            name=DEPLOYMENT,
            cron=cron,
            interval=interval,
            parameters=parameters,
            global_limit=1,  # two scheduled runs never train at the same time
            entrypoint_type=EntrypointType.MODULE_PATH,
            print_starting_message=True,
        )


def _config_ref(config_file: Path | None) -> str | None:
    """A config file as an absolute path (the served runs may start elsewhere), a preset name as is."""
    if config_file is None:
        return None
    return str(config_file.resolve()) if config_file.is_file() else str(config_file)


def systemd_units(
    exports_dir: Path,
    *,
    cron: str | None,
    interval: float | None,
    config_file: Path | None,
    telegram: bool,
    port: int = 4200,
    bot: BotOptions | None = None,
) -> dict[str, str]:
    """Two user units: the Prefect server, and `chatlikeme schedule` serving the deployment against it."""
    python = shlex.quote(sys.executable)
    command = [python, "-m", "flows.cli", "schedule", "--exports", shlex.quote(str(exports_dir.resolve()))]
    command += ["--cron", shlex.quote(cron)] if cron else ["--interval", f"{interval:g}"]
    if config_file:
        command += ["--config", shlex.quote(_config_ref(config_file) or "")]
    if telegram:
        command.append("--telegram")
    command += _bot_flags(bot) if bot is not None else []
    # The bot token (TELEGRAM_BOT_TOKEN) is a secret: kept in a file of its own, not in the unit.
    bot_environment = "\nEnvironmentFile=-%h/.config/chatlikeme/bot.env" if bot is not None else ""
    server = f"""[Unit]
Description=Prefect server for Chat Like Me (scheduled retraining)

[Service]
ExecStart={python} -m prefect server start --host 127.0.0.1 --port {port}
Environment=PREFECT_SERVER_ANALYTICS_ENABLED=false
Restart=on-failure

[Install]
WantedBy=default.target
"""
    worker = f"""[Unit]
Description=Chat Like Me scheduled retraining
Requires=chatlikeme-prefect.service
After=chatlikeme-prefect.service

[Service]
WorkingDirectory={Path.cwd()}
Environment=PREFECT_API_URL=http://127.0.0.1:{port}/api
ExecStart={" ".join(command)}{bot_environment}
Restart=on-failure
RestartSec=30

[Install]
WantedBy=default.target
"""
    return {"chatlikeme-prefect.service": server, "chatlikeme-retrain.service": worker}


def _bot_flags(bot: BotOptions) -> list[str]:
    flags = ["--bot"] + (["--as-me"] if bot.as_me else [])
    if bot.api:
        flags += ["--bot-api", shlex.quote(bot.api)]
    if bot.model:
        flags += ["--bot-model", shlex.quote(bot.model)]
    if bot.config:
        flags += ["--bot-config", shlex.quote(str(bot.config.resolve()))]
    if bot.serve_port != BotOptions.serve_port:
        flags += ["--bot-serve-port", str(bot.serve_port)]
    return flags


def write_systemd_units(folder: Path, units: dict[str, str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in units.items():
        (folder / name).write_text(text, encoding="utf-8")
        paths.append(folder / name)
    return paths
