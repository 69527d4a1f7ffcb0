"""The serve verbs: `serve`, `load-adapter`, `arena`, `bot` and `votes export|leaderboard` (a run's
adapters behind vLLM, and what talks to them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.cli import ConfigOption

app = typer.Typer()
votes_app = typer.Typer(help="Arena votes.")

ApiOption = Annotated[str, typer.Option("--api", help="URL of the vLLM server (http://127.0.0.1:8000).")]


@app.command()
def serve(
    run: Annotated[Path | None, typer.Option("--run", help="Run directory (default: runs/current).")] = None,
    host: Annotated[str | None, typer.Option("--host", help="Default 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Default 8000.")] = None,
    config: ConfigOption = None,
    watch: Annotated[
        bool,
        typer.Option("--watch/--no-watch", help="Load new or retrained adapters, no restart."),
    ] = True,
    watch_interval: Annotated[float, typer.Option("--watch-interval", help="Seconds between checks.")] = 5.0,
    log: Annotated[Path | None, typer.Option("--log", help="vLLM's log file (default: a temp file).")] = None,
) -> None:
    """One vLLM OpenAI-compatible server: the base model plus the run's `sft` and `kto` adapters."""
    from serve.vllm_server import CURRENT_RUN, ServeConfig, VLLMServer, serve_forever

    run_dir = run if run is not None else CURRENT_RUN
    serve_config = ServeConfig.load(config, {"host": host, "port": port})
    server = VLLMServer.for_run(run_dir, serve_config, log_path=log)
    serve_forever(server, watch=run_dir if watch else None, interval=watch_interval, echo=typer.echo)


@app.command("load-adapter")
def load_adapter(
    name: Annotated[str, typer.Argument(help="Served name (sft, kto, or a new one).")],
    adapter: Annotated[Path, typer.Argument(help="The LoRA adapter directory.")],
    api: Annotated[str, typer.Option("--api", help="URL of the vLLM server.")] = "http://127.0.0.1:8000",
) -> None:
    """Serve an adapter on a running `chatlikeme serve` without restarting it (replaces one of that name)."""
    from serve.vllm_server import load_adapter as load

    load(api, name, adapter)
    typer.echo(f"{api} now serves {name} from {adapter}")


@app.command()
def arena(
    api: ApiOption,
    db: Annotated[Path, typer.Option("--db", help="SQLite file for the votes.")] = Path("votes.sqlite"),
    auth: Annotated[str | None, typer.Option("--auth", help="user:pass required to open the arena.")] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Data directory of `ingest`: offers its chats (DATA/sft).")
    ] = None,
    host: Annotated[
        str, typer.Option("--host", help="Interface to bind (0.0.0.0 exposes it).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 7860,
    config: ConfigOption = None,
) -> None:
    """The Gradio A/B arena: anonymous side-by-side battles, votes, leaderboard."""
    from serve.arena import ArenaConfig, launch_arena

    typer.echo(f"Arena on http://{host}:{port} (models from {api}, votes in {db}). Ctrl-C stops.")
    launch_arena(api, db, host=host, port=port, auth=auth, data_dir=data, config=ArenaConfig.load(config))


@app.command()
def bot(
    api: ApiOption,
    data: Annotated[
        Path, typer.Option("--data", help="Data directory of `ingest`: contacts, their prompts, limits.")
    ],
    model: Annotated[
        str | None, typer.Option("--model", help="Served model that answers: base, sft, kto (default kto).")
    ] = None,
    as_me: Annotated[
        bool,
        typer.Option(
            "--as-me", help="Draft mode: suggest replies as drafts in your own account (`telegram login`)."
        ),
    ] = False,
    db: Annotated[
        Path | None, typer.Option("--db", help="Votes SQLite file for draft outcomes (votes.sqlite).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """The persona on Telegram: a bot that answers as you (TELEGRAM_BOT_TOKEN), or drafts (--as-me)."""
    from serve.bot import BotConfig, run_bot

    bot_config = BotConfig.load(config, {"model": model, "votes_db": db})
    what = "drafts" if as_me else "bot"
    typer.echo(f"Telegram {what} with model {bot_config.model} from {api}. Ctrl-C stops.")
    try:
        run_bot(api, data, bot_config, as_me=as_me, echo=typer.echo)
    except KeyboardInterrupt:
        typer.echo("Stopped.")


@votes_app.command("export")
def votes_export(
    db: Annotated[Path, typer.Option("--db", help="The arena's SQLite file.")],
    out: Annotated[Path, typer.Option("--out", help="Output JSONL of KTO rows.")],
    since: Annotated[
        str | None, typer.Option("--since", help="Only votes at or after this ISO date/time (UTC).")
    ] = None,
) -> None:
    """Turn arena votes into KTO rows."""
    from core.votes import export_kto_rows

    count = export_kto_rows(db, out, since)
    typer.echo(f"{count} KTO rows -> {out}")


@votes_app.command("leaderboard")
def votes_leaderboard(
    db: Annotated[Path, typer.Option("--db", help="The arena's SQLite file.")],
    run: Annotated[str | None, typer.Option("--run", help="A run id (default: every run).")] = None,
) -> None:
    """Print the leaderboard: Bradley-Terry scores with 95% bootstrap intervals, and win rates."""
    from serve.leaderboard import leaderboard

    board = leaderboard(db, run)
    typer.echo(f"{board.votes} votes, {'run ' + run if run else 'all runs'}")
    typer.echo(board.ratings.round(1).to_string(index=False) if len(board.ratings) else "no battles yet")
    if len(board.win_rates):
        typer.echo("\nwin rate (row beats column):\n" + board.win_rates.round(3).to_string())
