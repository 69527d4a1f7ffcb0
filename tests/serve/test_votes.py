import multiprocessing
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from msgspec.structs import replace

from core.errors import ChatLikeMeError
from core.io import read_jsonl
from core.schema import ChatMessage, KtoRow
from core.votes import SCHEMA_VERSION, Vote, VoteStore, kto_rows_from_votes
from serve.leaderboard import battle_counts, bootstrap_scores, bradley_terry, leaderboard, win_rates
from tests.conftest import run_cli

SYSTEM = ChatMessage("system", "You are Pasquale, chatting with Lorenzo. Respond naturally.")


def conversation(*turns: str) -> list[ChatMessage]:
    """System prompt, then alternating user/assistant turns (the last one is the voted reply)."""
    return [SYSTEM, *(ChatMessage("user" if i % 2 == 0 else "assistant", t) for i, t in enumerate(turns))]


def battle(vote_id: str, outcome: str, a: str = "sft", b: str = "base", run: str = "run-1", **kw) -> Vote:
    return Vote(
        vote_id=vote_id,
        session_id=kw.pop("session_id", "s1"),
        mode="anonymous",
        outcome=outcome,
        run_id=run,
        model_a=a,
        version_a=f"{a}-v1",
        conversation_a=conversation("ciao", f"reply of {a}"),
        model_b=b,
        version_b=f"{b}-v1",
        conversation_b=conversation("ciao", f"reply of {b}"),
        **kw,
    )


def thumbs(vote_id: str, outcome: str, model: str = "kto", run: str = "run-1") -> Vote:
    return Vote(
        vote_id=vote_id,
        session_id="s2",
        mode="single",
        outcome=outcome,
        run_id=run,
        model_a=model,
        version_a="v",
        conversation_a=conversation("ciao", "first", "and then?", f"{outcome} reply"),
    )


def test_a_vote_round_trips_with_everything_it_was_stored_with(tmp_path: Path) -> None:
    store = VoteStore(tmp_path / "votes.sqlite")
    vote = battle("r1", "a", sampling={"temperature": 0.7})

    assert store.add(vote) is True
    (stored,) = store.votes()

    assert stored.conversation_a == vote.conversation_a and stored.conversation_b == vote.conversation_b
    models = (stored.model_a, stored.version_a, stored.model_b, stored.version_b)
    assert models == ("sft", "sft-v1", "base", "base-v1")
    assert (stored.run_id, stored.session_id, stored.sampling) == ("run-1", "s1", {"temperature": 0.7})
    assert stored.created_at.endswith("+00:00")
    with sqlite3.connect(tmp_path / "votes.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        version = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    assert version == str(SCHEMA_VERSION)


def test_a_round_is_stored_once_however_often_it_is_sent(tmp_path: Path) -> None:
    store = VoteStore(tmp_path / "votes.sqlite")
    assert store.add(battle("r1", "a")) is True
    assert store.add(battle("r1", "b")) is False  # a double click or a retried request
    assert [v.outcome for v in store.votes()] == ["a"]


def test_inconsistent_votes_are_refused(tmp_path: Path) -> None:
    store = VoteStore(tmp_path / "votes.sqlite")
    with pytest.raises(ChatLikeMeError, match="not valid in anonymous mode"):
        store.add(battle("r1", "up"))
    with pytest.raises(ChatLikeMeError, match="end with a reply"):
        store.add(replace(thumbs("r2", "up"), conversation_a=conversation("only a question")))
    assert store.count() == 0


def processes() -> multiprocessing.context.BaseContext:
    """Processes forked from a fresh single-threaded server: a fork of this test process, which runs vLLM's
    and Gradio's threads, can inherit a lock held by one of them and hang."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["core.votes"])
    return context


def _add_votes(db: str, worker: int, count: int) -> None:
    store = VoteStore(db)
    for i in range(count):
        store.add(battle(f"w{worker}-{i}", "a", session_id=f"s{worker}"))
        store.add(battle(f"w{worker}-{i}", "b"))  # the same round again: must not create a second row


def test_many_processes_voting_at_once_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "votes.sqlite")
    context = processes()
    workers = [context.Process(target=_add_votes, args=(db, w, 10)) for w in range(10)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0

    votes = VoteStore(db).votes()
    assert len(votes) == 100 and len({v.vote_id for v in votes}) == 100
    assert {v.outcome for v in votes} == {"a"}


def _open_and_vote(db: str, worker: int, start: threading.Barrier) -> None:
    start.wait(30)  # all at the same moment
    store = VoteStore(db)
    for i in range(3):
        store.add(battle(f"w{worker}-{i}", "a"))


def test_many_processes_creating_one_new_database_at_once_all_open_it(tmp_path: Path) -> None:
    # The race is over in milliseconds, so try it on several fresh files: before the schema check and the
    # switch to WAL were made safe against each other, most runs of this test failed.
    context = processes()
    for attempt in range(10):
        db = str(tmp_path / f"votes-{attempt}.sqlite")
        start = context.Barrier(8)
        openers = [context.Process(target=_open_and_vote, args=(db, w, start)) for w in range(8)]
        for process in openers:
            process.start()
        for process in openers:
            process.join(60)
        assert [p.exitcode for p in openers] == [0] * 8
        assert VoteStore(db).count() == 24
        with sqlite3.connect(db) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_databases_of_another_kind_are_clear_errors(tmp_path: Path) -> None:
    not_sqlite = tmp_path / "notes.sqlite"
    not_sqlite.write_text("hello, I am not a database" * 100)
    with pytest.raises(ChatLikeMeError, match="not a votes database"):
        kto_rows_from_votes(not_sqlite)

    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE things (x)")
    with pytest.raises(ChatLikeMeError, match=r"other\.sqlite: .*no votes table"):
        VoteStore(other)
    with pytest.raises(ChatLikeMeError, match="not a chatlikeme votes database"):
        kto_rows_from_votes(other)

    future = tmp_path / "future.sqlite"
    VoteStore(future)
    with sqlite3.connect(future) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(ChatLikeMeError, match="schema version 99"):
        kto_rows_from_votes(future)

    with pytest.raises(ChatLikeMeError, match="file not found"):
        kto_rows_from_votes(tmp_path / "missing.sqlite")
    assert not (tmp_path / "missing.sqlite").exists()  # reading never creates a database


def test_votes_become_kto_rows(tmp_path: Path) -> None:
    db = tmp_path / "votes.sqlite"
    store = VoteStore(db)
    for vote in [
        battle("a-wins", "a", a="sft", b="base"),
        battle("b-wins", "b", a="kto", b="sft"),
        battle("both-bad", "both_bad", a="base", b="kto"),
        battle("tie", "tie"),
        thumbs("up", "up"),
        thumbs("down", "down"),
    ]:
        store.add(vote)

    rows = kto_rows_from_votes(db)
    labels = {row.sample_id: (row.completion[0].content, row.label) for row in rows}
    assert labels == {
        "arena/a-wins/a": ("reply of sft", True),
        "arena/a-wins/b": ("reply of base", False),
        "arena/b-wins/a": ("reply of kto", False),
        "arena/b-wins/b": ("reply of sft", True),
        "arena/both-bad/a": ("reply of base", False),
        "arena/both-bad/b": ("reply of kto", False),
        "arena/up/a": ("up reply", True),
        "arena/down/a": ("down reply", False),
    }  # a tie gives no rows
    assert {row.strategy for row in rows} == {"arena_vote"}
    multi_turn = next(row for row in rows if row.sample_id == "arena/up/a")
    assert [m.role for m in multi_turn.prompt] == ["system", "user", "assistant", "user"]
    assert [m.role for m in multi_turn.completion] == ["assistant"]
    both = {row.chat_id for row in rows if row.sample_id.startswith("arena/a-wins/")}
    assert both == {"arena/a-wins"}  # both replies of a battle share a chat id (same split)


def test_owner_edits_become_a_desirable_row_and_make_the_model_reply_undesirable(tmp_path: Path) -> None:
    db = tmp_path / "votes.sqlite"
    store = VoteStore(db)
    store.add(battle("won", "a", a="kto", b="sft"))
    store.add(battle("tied", "tie", a="kto", b="sft"))
    store.add(thumbs("up", "up"))
    store.add_edit("won", "a", "  ahah sì dai, ci vediamo alle 8 ")  # the winner, still not quite right
    store.add_edit("tied", "b", "first try")
    store.add_edit("tied", "b", "ahah no stasera non posso")  # a second edit replaces the first
    store.add_edit("up", "a", "up   reply")  # unchanged but for spaces: an approval, not an edit

    assert store.votes()[0].edits == {"a": "ahah sì dai, ci vediamo alle 8"}
    labels = {
        row.sample_id: (row.completion[0].content, row.label, row.strategy) for row in kto_rows_from_votes(db)
    }
    assert labels == {
        "arena/won/a/edit": ("ahah sì dai, ci vediamo alle 8", True, "owner_edit"),
        "arena/won/a": ("reply of kto", False, "arena_vote"),  # the vote said better, the owner said no
        "arena/won/b": ("reply of sft", False, "arena_vote"),
        "arena/tied/b/edit": ("ahah no stasera non posso", True, "owner_edit"),
        "arena/tied/b": ("reply of sft", False, "arena_vote"),  # a tie gives rows once the owner edits
        "arena/up/a": ("up reply", True, "arena_vote"),
    }
    edit = next(row for row in kto_rows_from_votes(db) if row.sample_id == "arena/won/a/edit")
    original = next(row for row in kto_rows_from_votes(db) if row.sample_id == "arena/won/a")
    assert edit.prompt == original.prompt and edit.chat_id == original.chat_id  # same prompt, same split

    with pytest.raises(ChatLikeMeError, match="no vote nope"):
        store.add_edit("nope", "a", "text")
    with pytest.raises(ChatLikeMeError, match="no reply on side 'b'"):
        store.add_edit("up", "b", "text")  # a single-model vote has one side
    with pytest.raises(ChatLikeMeError, match="needs some text"):
        store.add_edit("won", "b", "   ")


def test_a_database_from_before_edits_gets_the_table_and_keeps_its_votes(tmp_path: Path) -> None:
    db = tmp_path / "votes.sqlite"
    VoteStore(db).add(battle("old", "a"))
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE edits")
    assert len(kto_rows_from_votes(db)) == 2  # read-only readers cope without the table
    store = VoteStore(db)  # opening it for writing adds the table
    store.add_edit("old", "b", "my version")
    assert {row.sample_id for row in kto_rows_from_votes(db)} == {
        "arena/old/a",
        "arena/old/b",
        "arena/old/b/edit",
    }


def test_since_selects_the_newer_votes_and_export_writes_them(tmp_path: Path) -> None:
    db = tmp_path / "votes.sqlite"
    store = VoteStore(db)
    store.add(replace(battle("old", "a"), created_at="2026-01-01T10:00:00.000000+00:00"))
    store.add(replace(battle("new", "b"), created_at="2026-03-01T10:00:00.000000+00:00"))

    assert len(kto_rows_from_votes(db)) == 4
    newer = kto_rows_from_votes(db, since="2026-02-01")
    assert {row.sample_id for row in newer} == {"arena/new/a", "arena/new/b"}

    out = tmp_path / "kto.jsonl"
    result = run_cli("votes", "export", "--db", db, "--out", out, "--since", "2026-02-01T00:00:00Z")
    assert result.returncode == 0, result.stderr
    assert "2 KTO rows" in result.stdout
    assert [row.sample_id for row in read_jsonl(out, KtoRow)] == ["arena/new/a", "arena/new/b"]

    bad = run_cli("votes", "export", "--db", tmp_path / "nope.sqlite", "--out", out)
    assert bad.returncode == 2 and "nope.sqlite: file not found" in bad.stderr


def simulated_battles(true_scores: dict[str, float], count: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names, rows = list(true_scores), []
    for _ in range(count):
        a, b = rng.choice(names, 2, replace=False)
        p_a = 1 / (1 + 10 ** ((true_scores[b] - true_scores[a]) / 400))
        winner = "tie" if rng.random() < 0.1 else ("a" if rng.random() < p_a else "b")
        rows.append({"model_a": a, "model_b": b, "winner": winner})
    return pd.DataFrame(rows)


def test_bradley_terry_recovers_known_strengths_within_its_intervals() -> None:
    truth = {"base": 1000.0, "sft": 1100.0, "kto": 1250.0}
    battles = simulated_battles(truth, 1500)

    scores = bradley_terry(battles)
    samples = bootstrap_scores(battles, rounds=200)
    lower, upper = samples.quantile(0.025), samples.quantile(0.975)

    assert scores["base"] == 1000.0
    assert list(scores.sort_values().index) == ["base", "sft", "kto"]
    for model in ("sft", "kto"):
        assert abs(scores[model] - truth[model]) < 40
        assert lower[model] <= truth[model] <= upper[model]
        assert upper[model] - lower[model] < 120


def test_bradley_terry_stays_finite_and_ties_are_even() -> None:
    one_sided = pd.DataFrame([{"model_a": "sft", "model_b": "base", "winner": "a"}] * 5)
    assert 1000 < bradley_terry(one_sided)["sft"] < 2000  # every battle won: finite thanks to the prior

    ties = pd.DataFrame([{"model_a": "sft", "model_b": "kto", "winner": "tie"}] * 6)
    scores = bradley_terry(ties)  # no base: the mean is anchored at 1000
    assert scores["sft"] == pytest.approx(1000) and scores["kto"] == pytest.approx(1000)


def test_win_rates_and_battle_counts() -> None:
    battles = pd.DataFrame(
        [
            {"model_a": "sft", "model_b": "base", "winner": "a"},
            {"model_a": "base", "model_b": "sft", "winner": "a"},
            {"model_a": "base", "model_b": "sft", "winner": "b"},
            {"model_a": "kto", "model_b": "sft", "winner": "tie"},
        ]
    )
    rates = win_rates(battles)
    assert rates.loc["sft", "base"] == pytest.approx(2 / 3)
    assert rates.loc["base", "sft"] == pytest.approx(1 / 3)
    assert rates.loc["kto", "sft"] == 0.5 and np.isnan(rates.loc["kto", "base"])
    counts = battle_counts(battles)
    assert counts.loc["sft", "base"] == counts.loc["base", "sft"] == 3
    assert counts.loc["kto", "base"] == 0


def test_leaderboard_per_run_and_across_runs(tmp_path: Path) -> None:
    db = tmp_path / "votes.sqlite"
    store = VoteStore(db)
    for i in range(6):
        store.add(battle(f"r1-{i}", "a", a="kto", b="base", run="run-1"))
    for i in range(4):
        store.add(battle(f"r2-{i}", "b", a="kto", b="sft", run="run-2"))
    store.add(thumbs("t1", "up", run="run-2"))
    store.add(thumbs("t2", "down", run="run-2"))

    assert store.runs() == ["run-2", "run-1"]
    first = leaderboard(db, "run-1", rounds=50)
    assert first.votes == 6 and list(first.ratings["model"]) == ["kto", "base"]
    assert first.ratings.set_index("model").loc["kto", ["battles", "wins", "losses"]].tolist() == [6, 6, 0]
    assert first.ratings.set_index("model").loc["base", "note"] == "anchor: fixed at 1000"

    # The contestants without a battle yet are listed after the others, with no score, rather than missing.
    listed = leaderboard(db, "run-1", rounds=50, models=["base", "sft", "kto"]).ratings.set_index("model")
    assert list(listed.index) == ["kto", "base", "sft"]
    assert listed.loc["sft", "battles"] == 0 and pd.isna(listed.loc["sft", "score"])
    assert listed.loc["sft", "note"] == "no battles yet"
    VoteStore(tmp_path / "empty.sqlite")
    empty = leaderboard(tmp_path / "empty.sqlite", "run-1", models=["base"])
    assert list(empty.ratings["model"]) == ["base"] and empty.votes == 0

    second = leaderboard(db, "run-2", rounds=50)
    assert list(second.ratings["model"]) == ["sft", "kto"]
    assert second.thumbs.set_index("model").loc["kto", ["up", "down"]].tolist() == [1, 1]

    everything = leaderboard(db, None, rounds=50)
    assert set(everything.ratings["model"]) == {"base", "kto@run-1", "kto@run-2", "sft@run-2"}
    assert everything.votes == 12
    row = everything.ratings.iloc[0]
    assert row["lower"] <= row["score"] <= row["upper"]
