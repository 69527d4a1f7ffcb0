"""The `telegram login|export` verbs: a live export of the user's own account with Telethon."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Live export of your Telegram account with Telethon.")


TelegramConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="YAML with api_id, api_hash, data_dir, types, takeout (env vars win)."),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Session and export state (default ~/.local/share/chatlikeme)."),
]


@app.command("login")
def telegram_login(config: TelegramConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Log in to Telegram (api_id/api_hash from the environment or config) and keep the session file."""
    from ingest.telegram.client import TelegramConfig
    from ingest.telegram.live_export import telegram_login as login

    result = login(TelegramConfig.load(config, {"data_dir": data_dir}))
    print(f"Logged in as {result.name} (user id {result.user_id}); session kept in {result.session_path}")


@app.command("export")
def telegram_export(
    out: Annotated[Path, typer.Option("--out", help="Where to write the export (Desktop JSON layout).")],
    chats: Annotated[
        list[str] | None,
        typer.Option("--chats", help="Chat id or @username; repeat or comma-separate (default: by --types)."),
    ] = None,
    types: Annotated[
        str | None,
        typer.Option("--types", help="personal,group (also bot, public_group, channel, or Desktop's types)."),
    ] = None,
    since_last: Annotated[
        bool, typer.Option("--since-last", help="Only messages newer than the last completed export.")
    ] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Discard an interrupted export to --out instead of resuming it.")
    ] = False,
    config: TelegramConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Export chats with Telethon in the Telegram Desktop full-account JSON layout."""
    from ingest.telegram.client import TelegramConfig
    from ingest.telegram.live_export import telegram_export as export

    settings = TelegramConfig.load(config, {"data_dir": data_dir})
    try:
        summary = export(
            out,
            settings,
            chats=chats or (),
            types=types.split(",") if types else None,
            since_last=since_last,
            restart=restart,
        )
    except KeyboardInterrupt:
        print(
            f"\nInterrupted: progress kept in {out}.partial/; run the same command to resume", file=sys.stderr
        )
        sys.exit(130)
    print(f"Wrote {summary.messages} messages from {len(summary.chats)} chats to {summary.out}")
