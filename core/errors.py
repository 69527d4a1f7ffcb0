"""One exception type for every error a user can cause and fix (bad input, missing files, bad config).

The CLI prints its message on one line and exits with status 2; anything else is a bug (a traceback).
"""

from __future__ import annotations

from pathlib import Path


class ChatLikeMeError(Exception):
    """A problem with the user's input, described in one line (it should name the file and what is wrong)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))  # always one line


def input_error(path: str | Path, problem: str) -> ChatLikeMeError:
    """`path: problem` — the shape every file-related error message takes."""
    return ChatLikeMeError(f"{path}: {problem}")
