"""What every command-line entry shares: the `--config` and `--persona` options, and running a Typer app
so that an error the user can fix (`ChatLikeMeError`) is one line on stderr and exit status 2.

It lives in core, not in `flows.cli`, because the training stages run as programs of their own too
(`accelerate launch -m align.sft`, one process per GPU) and must not import the Prefect layer.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Literal

import typer

from core.errors import ChatLikeMeError
from core.logs import setup_logging

ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config", help="A YAML config file or a preset name (cpu-demo, gpu; ingest and training also cpu)."
    ),
]
PersonaOption = Annotated[
    Literal["it", "en"],
    typer.Option(
        "--persona", help="The demo persona: it (Marco Rossi, Italian) or en (Emma Clarke, English)."
    ),
]


def run_app(app: typer.Typer) -> None:
    """Run `app` on the command line; a `ChatLikeMeError` becomes `chatlikeme: error: ...` and status 2
    (anything else is a bug and keeps its traceback). Progress is logged on stderr (`core.logs`)."""
    setup_logging()
    try:
        app()
    except ChatLikeMeError as exc:
        print(f"chatlikeme: error: {exc}", file=sys.stderr)
        sys.exit(2)


def run_command(command: Callable[..., None]) -> None:
    """Run one command function as a program of its own: its options at the top level, no verb
    (`python -m align.sft --data DATA --out RUN`), with `run_app`'s error handling."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(command)
    run_app(app)
