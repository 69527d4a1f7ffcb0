"""One logging path. Progress goes to module loggers (`log = logging.getLogger(__name__)`) and reaches the
user through the one handler `setup_logging` puts on the project's packages: a line on stderr. Results (a
printed path, a summary line, a table) stay on stdout, where scripts read them; an error the user can fix is
one `chatlikeme: error: ...` line (`core.cli`).

The command-line entry points call `setup_logging` (`core.cli.run_app`), and so does every process a stage
runs in (`flows.stages.in_process`). A library user who never calls it gets Python's default: warnings only.
"""

from __future__ import annotations

import logging
import sys

from rich.console import Console, ConsoleRenderable
from rich.logging import RichHandler
from rich.text import Text
from rich.traceback import Traceback
from tqdm.std import tqdm

from core.errors import ChatLikeMeError

# The project's top-level packages (pyproject's `packages.find`): every module logger is a child of one.
PACKAGES = ("core", "ingest", "align", "serve", "flows")


class NoTracebackForUserErrors(logging.Filter):
    """Bad input is reported in one line, also in logs: no traceback for a `ChatLikeMeError`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], ChatLikeMeError):
            record.exc_info, record.exc_text = None, None
        return True


class ProgressHandler(RichHandler):
    """Rich's log lines on stderr, written between tqdm's progress bars instead of through them.

    On a terminal: time, level and message in rich's columns. Elsewhere (a log file, a test's capture): the
    level and the message on one plain line, never wrapped, so that a grep for a message finds it.
    """

    def __init__(self) -> None:
        # `stderr=True` looks up sys.stderr at each write: a redirected or captured stderr is followed.
        console = Console(stderr=True, soft_wrap=True)
        super().__init__(console=console, show_path=False, log_time_format="[%X]", markup=False)
        self.addFilter(NoTracebackForUserErrors())

    def render(
        self,
        *,
        record: logging.LogRecord,
        traceback: Traceback | None,
        message_renderable: ConsoleRenderable,
    ) -> ConsoleRenderable:
        if self.console.is_terminal or traceback is not None or not isinstance(message_renderable, Text):
            return super().render(record=record, traceback=traceback, message_renderable=message_renderable)
        # Rich's columns are a table as wide as the console (80 when it is not a terminal): it would wrap.
        return Text.assemble(self.get_level_text(record), " ", message_renderable)

    def emit(self, record: logging.LogRecord) -> None:
        # A bar redrawn over half a log line garbles both: clear the bars, write, redraw (as tqdm.write does).
        with tqdm.external_write_mode(file=sys.stderr):
            super().emit(record)


def setup_logging(level: int = logging.INFO) -> None:
    """Show the project's log records of `level` and above on stderr (a second call only sets the level)."""
    loggers = [logging.getLogger(name) for name in PACKAGES]
    installed = [h for logger in loggers for h in logger.handlers if isinstance(h, ProgressHandler)]
    handler = installed[0] if installed else ProgressHandler()
    for logger in loggers:
        logger.setLevel(level)
        if handler not in logger.handlers:
            logger.addHandler(handler)
        # Prefect puts its own console handler on the root logger: propagating would print each line twice.
        logger.propagate = False
