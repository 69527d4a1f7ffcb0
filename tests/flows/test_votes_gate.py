"""Arena votes as the pipeline sees them: a run's win record for the gate, and the KTO data's cache key."""

from __future__ import annotations

from pathlib import Path

from core.schema import ChatMessage
from core.votes import Vote, VoteStore
from flows.pipeline import arena_record
from flows.stages import votes_fingerprint


def conversation(reply: str) -> list[ChatMessage]:
    return [
        ChatMessage("system", "You are Giulia, chatting with Marco."),
        ChatMessage("user", "ci vediamo stasera?"),
        ChatMessage("assistant", reply),
    ]


def battle(n: int, run_id: str, a: str, b: str, outcome: str) -> Vote:
    return Vote(
        vote_id=f"v{n}",
        session_id="s",
        mode="anonymous",
        outcome=outcome,
        run_id=run_id,
        model_a=a,
        version_a="x",
        conversation_a=conversation(f"reply {n} of {a}"),
        model_b=b,
        version_b="y",
        conversation_b=conversation(f"reply {n} of {b}"),
    )


def test_win_record_of_a_runs_model(tmp_path: Path) -> None:
    db = tmp_path / "votes.sqlite"
    store = VoteStore(db)
    votes = [
        battle(1, "r1", "kto", "sft", "a"),  # kto wins
        battle(2, "r1", "base", "kto", "a"),  # kto loses
        battle(3, "r1", "sft", "kto", "tie"),  # half
        battle(4, "r1", "kto", "base", "both_bad"),  # half
        battle(5, "r1", "sft", "base", "b"),  # kto not involved
        battle(6, "r2", "kto", "sft", "a"),  # another run
    ]
    for vote in votes:
        store.add(vote)
    record = arena_record(db, "r1", "kto")
    assert (record.battles, record.wins) == (4, 2.0) and record.win_rate == 0.5
    assert arena_record(db, "r3", "kto").win_rate is None


def test_new_votes_change_the_kto_data_key(tmp_path: Path) -> None:
    db = tmp_path / "votes.sqlite"
    store = VoteStore(db)
    store.add(battle(1, "r1", "kto", "sft", "a"))
    before = votes_fingerprint(db, None)
    assert before == votes_fingerprint(db, None) != votes_fingerprint(None, None)
    store.add(battle(1, "r1", "kto", "sft", "a"))  # the same round again: stored once, same data
    assert votes_fingerprint(db, None) == before
    store.add(battle(2, "r1", "kto", "base", "b"))
    after = votes_fingerprint(db, None)
    assert after != before
    store.add(battle(3, "r1", "sft", "base", "tie"))  # a tie makes no KTO row: nothing to retrain on
    assert votes_fingerprint(db, None) == after
