"""Arena votes: a SQLite store, the leaderboard they produce, and the KTO rows they turn into.

    store = VoteStore("votes.sqlite")                  # created on first use (WAL: many writers, no loss)
    store.add(vote)                                    # idempotent: one row per round, however often sent
    board = leaderboard("votes.sqlite", run_id="r7")   # Bradley-Terry scores + bootstrap CIs, win rates
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

Leaderboard (after the Chatbot Arena): a Bradley-Terry model fitted by maximum likelihood, on the Elo scale
(400 points = 10:1 odds) with `base` anchored at 1000; `tie` and `both_bad` count as half a win for each
side. Confidence intervals are the 2.5-97.5 percentiles over bootstrap resamples of the battles.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import msgspec
import numpy as np
import pandas as pd

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


# --- leaderboard --------------------------------------------------------------------------------------------

ELO_SCALE, ELO_BASE, ELO_INIT = 400.0, 10.0, 1000.0


def battles_frame(votes: list[Vote], *, label_by_run: bool = False) -> pd.DataFrame:
    """One row per battle: `model_a`, `model_b`, `winner` in {a, b, tie} (`both_bad` is a tie)."""
    rows = []
    for vote in votes:
        if vote.mode == "single":
            continue
        a, b = vote.model_a, vote.model_b
        if label_by_run:  # across runs, sft of run 1 and sft of run 2 are different players
            a, b = _player(a, vote.run_id), _player(b, vote.run_id)
        winner = "tie" if vote.outcome == "both_bad" else vote.outcome
        rows.append({"model_a": a, "model_b": b, "winner": winner})
    return pd.DataFrame(rows, columns=["model_a", "model_b", "winner"])


def _player(model: str, run_id: str) -> str:
    return model if model == "base" else f"{model}@{run_id}"


def _encode(battles: pd.DataFrame, players: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Battles as arrays: index of model A, index of model B, A's credit (1 win, 0 loss, 0.5 tie)."""
    index = {p: i for i, p in enumerate(players)}
    a = battles["model_a"].map(index).to_numpy()
    b = battles["model_b"].map(index).to_numpy()
    credit_a = battles["winner"].map({"a": 1.0, "b": 0.0, "tie": 0.5}).to_numpy()
    return a, b, credit_a


def _win_matrix(a: np.ndarray, b: np.ndarray, credit_a: np.ndarray, size: int) -> np.ndarray:
    """W[i, j] = wins of i over j, a tie counting half for each."""
    wins = np.zeros((size, size))
    np.add.at(wins, (a, b), credit_a)
    np.add.at(wins, (b, a), 1.0 - credit_a)
    return wins


def _fit_strengths(wins: np.ndarray, prior: float) -> np.ndarray:
    """Maximum a posteriori Bradley-Terry strengths (natural-log odds), fitted as FastChat fits its arena: a
    logistic regression without intercept on rows "i played j" (+1 for i, -1 for j), labelled by who won.

    The L2 penalty is the weak Gaussian prior that keeps a model's strength finite when it has won every one
    of its battles. Each game is given once as (i - j, won) and once as (j - i, lost), so that both classes
    exist after a single battle; that doubles the likelihood, hence C = 1 / (2 * prior).
    """
    from sklearn.linear_model import LogisticRegression  # ~1 s to import: only when a leaderboard is made

    winner, loser = np.nonzero(wins)
    if len(winner) == 0:
        return np.zeros(len(wins))
    rows = np.zeros((len(winner), len(wins)))
    rows[np.arange(len(winner)), winner] = 1.0
    rows[np.arange(len(winner)), loser] = -1.0
    model = LogisticRegression(
        C=1.0 / (2.0 * prior), fit_intercept=False, solver="newton-cholesky", tol=1e-10, max_iter=100
    )
    labels = np.concatenate([np.ones(len(winner)), np.zeros(len(winner))])
    model.fit(np.vstack([rows, -rows]), labels, sample_weight=np.tile(wins[winner, loser], 2))
    return model.coef_[0]


def _elo(theta: np.ndarray, players: list[str], anchor: str) -> np.ndarray:
    """Strengths on the Elo scale, `anchor` (if present) at 1000, else the mean at 1000."""
    scores = ELO_SCALE / np.log(ELO_BASE) * theta
    offset = scores[players.index(anchor)] if anchor in players else scores.mean()
    return ELO_INIT + scores - offset


def bradley_terry(battles: pd.DataFrame, *, anchor: str = "base", prior: float = 0.1) -> pd.Series:
    """Bradley-Terry scores on the Elo scale (400 points = 10:1 odds), `anchor` at 1000."""
    players = _players(battles)
    wins = _win_matrix(*_encode(battles, players), len(players))
    return pd.Series(_elo(_fit_strengths(wins, prior), players, anchor), index=players)


def bootstrap_scores(
    battles: pd.DataFrame, *, rounds: int = 500, seed: int = 0, anchor: str = "base", prior: float = 0.1
) -> pd.DataFrame:
    """Bradley-Terry scores of `rounds` resamples (with replacement) of the battles: one row per resample."""
    players = _players(battles)
    a, b, credit_a = _encode(battles, players)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(rounds):
        pick = rng.integers(0, len(a), len(a))
        wins = _win_matrix(a[pick], b[pick], credit_a[pick], len(players))
        samples.append(_elo(_fit_strengths(wins, prior), players, anchor))
    return pd.DataFrame(samples, columns=players)


def _players(battles: pd.DataFrame) -> list[str]:
    return sorted(set(battles["model_a"]) | set(battles["model_b"]))


def win_rates(battles: pd.DataFrame) -> pd.DataFrame:
    """Share of battles the row model won against the column model (ties count half); NaN if never met."""
    players = _players(battles)
    wins = _win_matrix(*_encode(battles, players), len(players))
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = wins / (wins + wins.T)
    np.fill_diagonal(rates, np.nan)
    return pd.DataFrame(rates, index=players, columns=players)


def battle_counts(battles: pd.DataFrame) -> pd.DataFrame:
    """How many battles each pair of models fought (symmetric)."""
    counts = pd.crosstab(battles["model_a"], battles["model_b"])
    players = _players(battles)
    counts = counts.reindex(index=players, columns=players, fill_value=0)
    return counts + counts.T


@dataclass
class Leaderboard:
    """Everything the leaderboard tab shows, for one run (or all runs)."""

    run_id: str | None
    ratings: pd.DataFrame  # model, score, lower, upper, battles, wins, ties, losses
    win_rates: pd.DataFrame
    battle_counts: pd.DataFrame
    thumbs: pd.DataFrame  # model, up, down, approval
    votes: int


def leaderboard(
    db_path: str | Path,
    run_id: str | None = None,
    *,
    rounds: int = 500,
    seed: int = 0,
    models: list[str] | None = None,
) -> Leaderboard:
    """The leaderboard of one run's votes, or of every run (`run_id=None`, models named `model@run`).
    `models` are listed even without battles (no score yet), so that none seems to be missing."""
    votes = VoteStore(db_path, create=False).votes(run_id=run_id)
    battles = battles_frame(votes, label_by_run=run_id is None)
    return Leaderboard(
        run_id=run_id,
        ratings=_ratings_table(battles, rounds, seed, models or []),
        win_rates=win_rates(battles) if len(battles) else pd.DataFrame(),
        battle_counts=battle_counts(battles) if len(battles) else pd.DataFrame(),
        thumbs=_thumbs_table(votes, label_by_run=run_id is None),
        votes=len(votes),
    )


ANCHOR = "base"


def _ratings_table(battles: pd.DataFrame, rounds: int, seed: int, models: list[str]) -> pd.DataFrame:
    columns = ["model", "score", "lower", "upper", "battles", "wins", "ties", "losses", "note"]
    unplayed = pd.DataFrame(
        [
            {"model": m, "battles": 0, "wins": 0, "ties": 0, "losses": 0, "note": "no battles yet"}
            for m in models
        ],
        columns=columns,
    )
    if battles.empty:
        return unplayed
    scores = bradley_terry(battles, anchor=ANCHOR)
    samples = bootstrap_scores(battles, rounds=rounds, seed=seed)
    lower, upper = samples.quantile(0.025), samples.quantile(0.975)
    table = pd.DataFrame({"score": scores, "lower": lower, "upper": upper})
    for model in table.index:
        as_a, as_b = battles[battles.model_a == model], battles[battles.model_b == model]
        wins = (as_a.winner == "a").sum() + (as_b.winner == "b").sum()
        ties = (as_a.winner == "tie").sum() + (as_b.winner == "tie").sum()
        table.loc[model, ["battles", "wins", "ties"]] = [len(as_a) + len(as_b), wins, ties]
    table["losses"] = table["battles"] - table["wins"] - table["ties"]
    table = table.astype({"battles": int, "wins": int, "ties": int, "losses": int})
    table["note"] = ["anchor: fixed at 1000" if model == ANCHOR else "" for model in table.index]
    table = table.sort_values("score", ascending=False).rename_axis("model").reset_index()
    unplayed = unplayed[~unplayed.model.isin(table.model)]
    return pd.concat([table, unplayed], ignore_index=True)[columns] if len(unplayed) else table[columns]


def _thumbs_table(votes: list[Vote], *, label_by_run: bool) -> pd.DataFrame:
    rows = [
        {"model": _player(v.model_a, v.run_id) if label_by_run else v.model_a, "up": v.outcome == "up"}
        for v in votes
        if v.mode == "single"
    ]
    if not rows:
        return pd.DataFrame(columns=["model", "up", "down", "approval"])
    frame = pd.DataFrame(rows).groupby("model")["up"].agg(up="sum", total="count")
    frame["down"] = frame["total"] - frame["up"]
    frame["approval"] = frame["up"] / frame["total"]
    return frame.reset_index()[["model", "up", "down", "approval"]].astype({"up": int, "down": int})
