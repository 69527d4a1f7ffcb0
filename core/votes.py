"""Votes on the persona's replies (arena battles and thumbs, owner edits, Telegram drafts): their record type,
the SQLite store that the arena and the bot write, and the KTO rows they turn into (what `kto-data` reads).
It lives in `core` because it is the contract between serving (writers) and training (reader); the
leaderboard computed from the votes is `serve/leaderboard.py`.

    store = VoteStore("votes.sqlite")                  # created on first use (WAL: many writers, no loss)
    store.add(vote)                                    # idempotent: one row per round, however often sent
    rows = kto_rows_from_votes("votes.sqlite")         # what the KTO-dataset stage reads

Outcomes: battles end in `a`, `b`, `tie` or `both_bad`; the single-model tab records `up` or `down`.

Votes -> KTO rows (the voted reply is the last assistant message of each conversation; its prompt is the
system prompt plus everything before it, exactly what the model saw):
- `a` / `b`: the winner's reply is desirable, the loser's undesirable;
- `both_bad`: both replies undesirable;
- `tie`: no rows. A tie says the replies were alike, not whether they sound like the persona, and the
  arena offers `both_bad` for replies that are equally wrong, so a tie is no evidence either way;
- `up` / `down`: desirable / undesirable;
- an owner's edit of a voted reply ("write it as you would have", stored in the `edits` table): the edit is
  desirable and the model's reply undesirable on that prompt, whatever the vote said of it (as
  huggingface/feel does); an edit that leaves the reply unchanged makes it desirable.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import msgspec

from core.errors import ChatLikeMeError, input_error
from core.io import write_jsonl
from core.schema import ChatMessage, KtoRow

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 60  # how long a writer waits for another to finish
KTO_STRATEGY = "arena_vote"
EDIT_STRATEGY = "owner_edit"

Mode = Literal["anonymous", "named", "single"]
Outcome = Literal["a", "b", "tie", "both_bad", "up", "down"]
BATTLE_OUTCOMES = ("a", "b", "tie", "both_bad")
SINGLE_OUTCOMES = ("up", "down")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}'), ('app', 'chatlikeme-arena');
CREATE TABLE IF NOT EXISTS votes (
    vote_id        TEXT PRIMARY KEY,   -- the round's id: a round is voted at most once
    created_at     TEXT NOT NULL,      -- ISO 8601, UTC, microseconds (sorts as text)
    session_id     TEXT NOT NULL,      -- anonymous browser session
    mode           TEXT NOT NULL CHECK (mode IN ('anonymous', 'named', 'single')),
    outcome        TEXT NOT NULL CHECK (outcome IN ('a', 'b', 'tie', 'both_bad', 'up', 'down')),
    run_id         TEXT NOT NULL,
    model_a        TEXT NOT NULL,
    version_a      TEXT NOT NULL,      -- content hash of the adapter (or base model) that answered
    conversation_a TEXT NOT NULL,      -- JSON [{{role, content}}]: system prompt first, voted reply last
    model_b        TEXT,
    version_b      TEXT,
    conversation_b TEXT,
    sampling       TEXT NOT NULL DEFAULT '{{}}',
    CHECK ((mode = 'single') = (model_b IS NULL)),
    CHECK ((mode = 'single') = (outcome IN ('up', 'down')))
);
CREATE INDEX IF NOT EXISTS votes_by_run ON votes (run_id, created_at);
"""
# Added after schema version 1 without changing it: older files get the table on first open, older readers
# never look at it.
_EDITS_SCHEMA = """
CREATE TABLE IF NOT EXISTS edits (
    vote_id    TEXT NOT NULL REFERENCES votes (vote_id),
    side       TEXT NOT NULL CHECK (side IN ('a', 'b')),
    text       TEXT NOT NULL,      -- the reply as the owner would have written it
    created_at TEXT NOT NULL,
    source     TEXT NOT NULL DEFAULT 'arena',
    PRIMARY KEY (vote_id, side)    -- a later edit of the same reply replaces the earlier one
)
"""


class Vote(msgspec.Struct, kw_only=True):
    """One stored vote: a battle between two models (`model_b` set) or a thumbs up/down on one."""

    vote_id: str
    session_id: str
    mode: Mode
    outcome: Outcome
    run_id: str
    model_a: str
    version_a: str
    conversation_a: list[ChatMessage]
    model_b: str | None = None
    version_b: str | None = None
    conversation_b: list[ChatMessage] | None = None
    sampling: dict = msgspec.field(default_factory=dict)
    created_at: str = ""
    edits: dict[str, str] = msgspec.field(default_factory=dict)
    "The owner's own version of a reply, by side (`a` / `b`), written after the vote."

    def check(self) -> None:
        battle = self.mode != "single"
        where = f"vote {self.vote_id}"
        if not self.vote_id:
            raise ChatLikeMeError("a vote needs the id of its round")
        if battle != (self.model_b is not None and self.conversation_b is not None):
            raise ChatLikeMeError(f"{where}: a {self.mode} vote needs {'two' if battle else 'one'} models")
        if self.outcome not in (BATTLE_OUTCOMES if battle else SINGLE_OUTCOMES):
            raise ChatLikeMeError(f"{where}: outcome {self.outcome!r} is not valid in {self.mode} mode")
        for conversation in filter(None, (self.conversation_a, self.conversation_b)):
            if not conversation or conversation[-1].role != "assistant":
                raise ChatLikeMeError(f"{where}: a voted conversation must end with a reply")


def utc_timestamp(when: datetime | str | None = None) -> str:
    """The one timestamp format of the store (naive datetimes and strings are taken as UTC)."""
    if when is None:
        when = datetime.now(UTC)
    elif isinstance(when, str):
        try:
            when = datetime.fromisoformat(when)
        except ValueError:
            raise ChatLikeMeError(f"not an ISO 8601 date/time: {when!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="microseconds")


class VoteStore:
    """The votes database. Every call opens its own connection, so threads and processes can share a file."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not self.path.exists() and not create:
            raise input_error(self.path, "file not found")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                self._create_schema(db)
                self._use_wal(db)
        self._check_schema()

    def _use_wal(self, db: sqlite3.Connection) -> None:
        """Switch the file to WAL (readers never block the writer, writers queue). The switch is made once
        and persists; SQLite answers "locked" at once, without waiting, while another process holds the
        file, so wait here the way the busy timeout waits for everything else."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            try:
                db.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _create_schema(self, db: sqlite3.Connection) -> None:
        """Create the tables unless they exist. The check and the creation share one write transaction:
        of many processes opening a new file at once, one creates the tables and the others then see them
        (checked outside it, a second process could find the first one's half-made schema and take the
        file for a database of something else)."""
        db.execute("BEGIN IMMEDIATE")
        try:
            if not _has_table(db, "votes"):
                if db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                    raise input_error(self.path, "an SQLite database of something else (no votes table)")
                for statement in _SCHEMA.split(";"):  # executescript would commit the transaction first
                    if statement.strip():
                        db.execute(statement)
            if not _has_table(db, "edits"):
                db.execute(_EDITS_SCHEMA)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise input_error(self.path, f"cannot open as SQLite ({exc})") from None
        try:
            yield db
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc) or "malformed" in str(exc):
                raise input_error(self.path, f"not a votes database ({exc})") from None
            raise
        finally:
            db.close()

    def _check_schema(self) -> None:
        with self._connect() as db:
            if not _has_table(db, "meta") or not _has_table(db, "votes"):
                raise input_error(self.path, "not a chatlikeme votes database (no meta/votes tables)")
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None or row[0] != str(SCHEMA_VERSION):
            found = row[0] if row else "none"
            raise input_error(
                self.path, f"votes database schema version {found}, this version reads {SCHEMA_VERSION}"
            )

    def add(self, vote: Vote) -> bool:
        """Store a vote; False if this round was already voted (a double click, a retried request)."""
        vote.check()
        created_at = vote.created_at or utc_timestamp()
        row = (
            vote.vote_id, created_at, vote.session_id, vote.mode, vote.outcome, vote.run_id,
            vote.model_a, vote.version_a, _to_json(vote.conversation_a),
            vote.model_b, vote.version_b, _to_json(vote.conversation_b) if vote.conversation_b else None,
            json.dumps(vote.sampling),
        )  # fmt: skip
        with self._connect() as db:
            placeholders = ", ".join("?" * len(row))
            cursor = db.execute(f"INSERT INTO votes VALUES ({placeholders}) ON CONFLICT DO NOTHING", row)
            return cursor.rowcount == 1

    def votes(self, *, since: datetime | str | None = None, run_id: str | None = None) -> list[Vote]:
        """Votes in time order, optionally only those at or after `since` and of one run."""
        query, params = "SELECT * FROM votes WHERE 1 = 1", []
        if since is not None:
            query, params = query + " AND created_at >= ?", [*params, utc_timestamp(since)]
        if run_id is not None:
            query, params = query + " AND run_id = ?", [*params, run_id]
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(query + " ORDER BY created_at, vote_id", params).fetchall()
            edits = self._edits(db)
        votes = [_vote_from_row(row) for row in rows]
        for vote in votes:
            vote.edits = edits.get(vote.vote_id, {})
        return votes

    def add_edit(self, vote_id: str, side: str, text: str, *, source: str = "arena") -> None:
        """Store the owner's version of the reply on `side` of a voted round (replacing an earlier one)."""
        text = text.strip()
        if not text:
            raise ChatLikeMeError("an edit needs some text")
        with self._connect() as db:
            row = db.execute("SELECT model_b FROM votes WHERE vote_id = ?", (vote_id,)).fetchone()
            if row is None:
                raise ChatLikeMeError(f"no vote {vote_id}: vote first, then edit")
            if side not in ("a", "b") or (side == "b" and row[0] is None):
                raise ChatLikeMeError(f"vote {vote_id} has no reply on side {side!r}")
            db.execute(
                "INSERT INTO edits VALUES (?, ?, ?, ?, ?) ON CONFLICT (vote_id, side) DO UPDATE SET "
                "text = excluded.text, created_at = excluded.created_at, source = excluded.source",
                (vote_id, side, text, utc_timestamp(), source),
            )

    def _edits(self, db: sqlite3.Connection) -> dict[str, dict[str, str]]:
        edits: dict[str, dict[str, str]] = {}
        if _has_table(db, "edits"):  # a read-only look at a file last opened by an older version
            for vote_id, side, text in db.execute("SELECT vote_id, side, text FROM edits"):
                edits.setdefault(vote_id, {})[side] = text
        return edits

    def runs(self) -> list[str]:
        """Run ids with votes, the most recently voted first."""
        with self._connect() as db:
            query = "SELECT run_id FROM votes GROUP BY run_id ORDER BY MAX(created_at) DESC"
            rows = db.execute(query).fetchall()
        return [run for (run,) in rows]

    def count(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM votes").fetchone()[0]


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return db.execute(query, (name,)).fetchone() is not None


def _to_json(conversation: list[ChatMessage]) -> str:
    return msgspec.json.encode(conversation).decode()


def _vote_from_row(row: sqlite3.Row) -> Vote:
    data = dict(row)
    for column in ("conversation_a", "conversation_b", "sampling"):
        data[column] = json.loads(data[column]) if data[column] is not None else None
    try:
        return msgspec.convert(data, Vote)
    except msgspec.ValidationError as exc:
        raise ChatLikeMeError(f"vote {data.get('vote_id')}: malformed row ({exc})") from None


# --- votes -> KTO rows --------------------------------------------------------------------------------------

_LABELS: dict[str, tuple[bool | None, bool | None]] = {
    "a": (True, False),
    "b": (False, True),
    "both_bad": (False, False),
    "tie": (None, None),
    "up": (True, None),
    "down": (False, None),
}


def kto_rows_from_votes(db_path: str | Path, since: datetime | str | None = None) -> list[KtoRow]:
    """KTO rows (strategy `arena_vote`, and `owner_edit` for the owner's edits) from every vote, or from
    those at or after `since`."""
    rows = []
    for vote in VoteStore(db_path, create=False).votes(since=since):
        sides = (("a", vote.conversation_a), ("b", vote.conversation_b))
        for (side, conversation), label in zip(sides, _LABELS[vote.outcome], strict=True):
            if conversation is None:
                continue
            chat_id = f"arena/{vote.vote_id}"  # every row of a round lands in the same split
            prompt, reply = conversation[:-1], conversation[-1]
            edit = vote.edits.get(side)
            if edit is not None:
                unchanged = " ".join(edit.split()) == " ".join(reply.content.split())
                label = unchanged  # the owner's own words outrank the vote
                if not unchanged:
                    rows.append(
                        KtoRow(
                            prompt=prompt,
                            completion=[ChatMessage("assistant", edit)],
                            label=True,
                            strategy=EDIT_STRATEGY,
                            sample_id=f"arena/{vote.vote_id}/{side}/edit",
                            chat_id=chat_id,
                        )
                    )
            if label is None:
                continue
            rows.append(
                KtoRow(
                    prompt=prompt,
                    completion=[reply],
                    label=label,
                    strategy=KTO_STRATEGY,
                    sample_id=f"arena/{vote.vote_id}/{side}",
                    chat_id=chat_id,
                )
            )
    return rows


def export_kto_rows(db_path: str | Path, out: str | Path, since: datetime | str | None = None) -> int:
    """Write the votes' KTO rows to a JSONL file (atomically); returns how many rows were written."""
    rows = kto_rows_from_votes(db_path, since)
    write_jsonl(out, rows)
    return len(rows)
