"""The `chatlikeme` command: one verb per stage, each a thin wrapper over the stage's library function.

No logic lives only here: the Prefect flows call the same functions. Errors the user can fix
(`ChatLikeMeError`) are printed on one line and exit with status 2. The verbs are grouped by stage in
`ingest`, `train` (align), `serve`, `pipeline` (flows) and `telegram`; options they share are in `core.cli`.
"""

from __future__ import annotations

import typer

from core.cli import run_app
from flows.cli import ingest, pipeline, serve, telegram, train

app = typer.Typer(
    name="chatlikeme",
    help="Turn your Telegram chats into a chatbot that writes like you: ingest, SFT, KTO, serve, arena.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# `chatlikeme --help` lists the verbs in the order they are added: the stages' (merged in, no group name)
# in pipeline order, then the groups.
app.add_typer(ingest.app)
app.add_typer(train.app)
app.add_typer(serve.app)
app.add_typer(pipeline.app)
app.add_typer(train.model_app, name="model")
app.add_typer(serve.votes_app, name="votes")
app.add_typer(telegram.app, name="telegram")


def main() -> None:
    """The `chatlikeme` console script (and `python -m flows.cli`)."""
    run_app(app)
