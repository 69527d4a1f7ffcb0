"""What makes a live export incremental and resumable: the export state and the partial-export journal.

- `ExportState` (`<data dir>/telegram/export-state.json`): per chat, the id of the last message that went
  into a *completed* export. `--since-last` starts each chat after it.
- `ExportJournal` (`<out>.partial/`): the export in progress. `meta.json` holds the plan (account, chats in
  order, where each starts, which are done); `<chat>.jsonl` holds that chat's converted messages, one per
  line, appended as they arrive. An interrupted export resumes after the last complete line of each chat.
  Only when every chat is done is the Desktop-layout JSON assembled (to a temporary name, then renamed):
  `<out>` is never a half file, and the state only moves forward once `<out>` is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import msgspec

from core.errors import input_error
from core.io import atomic_file

ABOUT = (
    "Exported with chatlikeme from the Telegram API (Telethon), in the layout of a Telegram Desktop "
    "export. Media files are not included."
)
ABOUT_CHATS = "This page lists all chats from this export."
_FLUSH_EVERY = 200  # lines; a crash loses at most these, and the resumed export fetches them again


class ExportState(msgspec.Struct):
    """Per chat (keyed "user123"/"chat123"/"channel123"), the last message id of a completed export."""

    user_id: int = 0
    last_message_ids: dict[str, int] = msgspec.field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> ExportState:
        if not path.exists():
            return cls()
        try:
            return msgspec.json.decode(path.read_bytes(), type=cls)
        except msgspec.DecodeError as exc:
            problem = f"not a valid export state file ({exc}); move it away to start over"
            raise input_error(path, problem) from None

    def save(self, path: Path) -> None:
        with atomic_file(path) as tmp:
            tmp.write_bytes(msgspec.json.format(msgspec.json.encode(self)))


class PlannedChat(msgspec.Struct):
    key: str  # "user123" | "chat123" | "channel123"
    header: dict[str, Any]  # Desktop's name/type/id of the chat
    min_id: int = 0  # export the messages after this id (0: the whole history)


class JournalMeta(msgspec.Struct):
    options: dict[str, Any]  # what the user asked for; a resume must ask for the same
    user_id: int
    personal_information: dict[str, Any]
    chats: list[PlannedChat]
    done: list[str] = msgspec.field(default_factory=list)


class ChatWriter:
    """Appends one chat's converted messages to its journal file, flushing to disk every few hundred."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0
        self._file: IO[bytes] | None = None

    def write(self, entry: dict[str, Any]) -> None:
        if self._file is None:
            self._file = self.path.open("ab")
        self._file.write(json.dumps(entry, ensure_ascii=False).encode() + b"\n")
        self.written += 1
        if self.written % _FLUSH_EVERY == 0:
            self.flush()

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self.flush()
            self._file.close()
            self._file = None

    def __enter__(self) -> ChatWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ExportJournal:
    """The `<out>.partial/` directory of an export in progress."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.dir = self.out.with_name(self.out.name + ".partial")
        self.meta_path = self.dir / "meta.json"

    # --- plan ---

    def load(self) -> JournalMeta | None:
        if not self.meta_path.exists():
            return None
        try:
            return msgspec.json.decode(self.meta_path.read_bytes(), type=JournalMeta)
        except msgspec.DecodeError:
            raise input_error(
                self.meta_path, "unreadable journal of an interrupted export; run again with --restart"
            ) from None

    def start(self, meta: JournalMeta) -> JournalMeta:
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True, mode=0o700)
        self.save(meta)
        return meta

    def save(self, meta: JournalMeta) -> None:
        with atomic_file(self.meta_path) as tmp:
            tmp.write_bytes(msgspec.json.encode(meta))

    def mark_done(self, meta: JournalMeta, key: str) -> None:
        if key not in meta.done:
            meta.done.append(key)
            self.save(meta)

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- messages ---

    def chat_path(self, key: str, part: str = "") -> Path:
        """`<key>.jsonl`, or `<key>.migrated.jsonl` for a supergroup's history from before its migration."""
        return self.dir / (f"{key}.{part}.jsonl" if part else f"{key}.jsonl")

    def writer(self, key: str, part: str = "") -> ChatWriter:
        return ChatWriter(self.chat_path(key, part))

    def last_id(self, key: str, part: str = "") -> int | None:
        """Id of the last complete message of a chat file (a torn last line, from a crash, is cut off)."""
        line = _last_complete_line(self.chat_path(key, part))
        return None if line is None else json.loads(line)["id"]

    def count(self, key: str, part: str = "") -> int:
        path = self.chat_path(key, part)
        if not path.exists():
            return 0
        with path.open("rb") as fh:
            return sum(1 for _ in fh)

    # --- the final file ---

    def assemble(self, meta: JournalMeta) -> Path:
        """Write `<out>` in the Desktop full-account layout, atomically. A chat fetched incrementally with
        nothing new is left out; a fully fetched chat is listed even when empty (as Desktop does)."""
        chats = [c for c in meta.chats if c.min_id == 0 or self.count(c.key) + self.count(c.key, "migrated")]
        document = {
            "about": ABOUT,
            "personal_information": meta.personal_information,
            "chats": {"about": ABOUT_CHATS, "list": _HOLE},
        }
        with atomic_file(self.out) as tmp, tmp.open("w", encoding="utf-8") as fh:
            before, after = _around_hole(document)
            fh.write(before + "[")
            for index, chat in enumerate(chats):
                chat_before, chat_after = _around_hole({**chat.header, "messages": _HOLE}, depth=3)
                fh.write(("," if index else "") + "\n" + chat_before + "[")
                for number, line in enumerate(self._messages(chat.key)):
                    fh.write((",\n     " if number else "\n     ") + line)
                fh.write("\n    ]" + chat_after)
            fh.write("\n  ]" + after + "\n")
        return self.out

    def _messages(self, key: str) -> Iterator[str]:
        """A chat's message lines: its pre-migration history (negative ids) first, as Desktop orders them."""
        for part in ("migrated", ""):
            path = self.chat_path(key, part)
            if path.exists():
                with path.open(encoding="utf-8") as fh:
                    for line in fh:
                        if line.endswith("\n"):  # a torn last line was never a message
                            yield line.rstrip("\n")


_HOLE = "\x00hole\x00"  # where streamed content goes inside a JSON skeleton


def _around_hole(document: dict[str, Any], depth: int = 0) -> tuple[str, str]:
    """The JSON text of `document` (indented one space per level, as Desktop, starting at `depth`)
    before and after its `_HOLE` value."""
    text = textwrap.indent(json.dumps(document, ensure_ascii=False, indent=1), " " * depth)
    before, after = text.split(json.dumps(_HOLE))
    return before, after


def _rfind_newline(fh: IO[bytes], before: int, block: int = 1 << 16) -> int:
    """Offset of the last b"\\n" before offset `before`, or -1; reads backwards, block by block."""
    while before > 0:
        start = max(0, before - block)
        fh.seek(start)
        found = fh.read(before - start).rfind(b"\n")
        if found >= 0:
            return start + found
        before = start
    return -1


def _last_complete_line(path: Path) -> bytes | None:
    """The last newline-terminated line of `path`; anything after it (a torn write) is truncated away."""
    if not path.exists():
        return None
    with path.open("r+b") as fh:
        size = fh.seek(0, os.SEEK_END)
        last_newline = _rfind_newline(fh, size)
        if last_newline + 1 < size:
            fh.truncate(last_newline + 1)
        if last_newline < 0:
            return None
        line_start = _rfind_newline(fh, last_newline) + 1
        fh.seek(line_start)
        return fh.read(last_newline - line_start)
