"""Progress notes for people running a stage: one line each on stderr, so stdout stays for results
(a printed path, a summary line) that scripts may read."""

from __future__ import annotations

import sys


def note(message: str) -> None:
    print(f"chatlikeme: {message}", file=sys.stderr, flush=True)
