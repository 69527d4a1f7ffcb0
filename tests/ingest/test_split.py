"""The train/eval/test split by session recency, through the real ingest stage on tiny exports."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from core.errors import ChatLikeMeError
from core.io import read_jsonl
from core.schema import SftSample
from ingest.config import IngestConfig
from ingest.ingest import ingest
from tests.conftest import run_cli
from tests.ingest.telegram_builders import ME, chat, full_export, msg

SPLITS = ("train", "eval", "test")
HOURS_10 = 600  # minutes between sessions: far over the 60-minute session gap


def sessions(n: int, contact: int = 2002, texts: list[str] | None = None, start: float = 0) -> list[dict]:
    """`n` sessions of one exchange (contact, persona, contact, persona), 10 hours apart: one sample each.
    `texts[k]` is session k's content (sessions with equal texts give equal samples)."""
    texts = texts or [f"{contact}.{k}" for k in range(n)]
    return [
        msg(k * 10 + i + 1, start + k * HOURS_10 + i, ME if i % 2 else contact, f"{texts[k]} {i}")
        for k in range(n)
        for i in range(4)
    ]


def run(tmp_path: Path, write_export, chats, **config) -> tuple[dict[str, list[SftSample]], dict, Path]:
    export = write_export(full_export(chats))
    out = ingest([export], tmp_path / "out", IngestConfig(**{"mask_pii": False, "min_messages": 4, **config}))
    samples = {split: read_jsonl(out / "sft" / f"{split}.jsonl", SftSample) for split in SPLITS}
    return samples, json.loads((out / "report.json").read_text()), out


def sessions_by_chat(samples: list[SftSample]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for sample in samples:
        out[sample.chat_id].append(sample.session)
    return {chat_id: sorted(numbers) for chat_id, numbers in out.items()}


def test_test_is_newest_eval_just_before_it_train_the_rest(tmp_path, write_export):
    chats = [chat(2002, sessions(20)), chat(3003, sessions(10, contact=3003), name="Tommi")]
    samples, report, _ = run(tmp_path, write_export, chats, eval_fraction=0.2, test_fraction=0.1)
    per_split = {split: sessions_by_chat(samples[split]) for split in SPLITS}
    assert per_split == {
        "train": {"user2002": list(range(14)), "user3003": list(range(7))},
        "eval": {"user2002": [14, 15, 16, 17], "user3003": [7, 8]},
        "test": {"user2002": [18, 19], "user3003": [9]},
    }
    assert report["samples"]["per_chat"] == {
        "user2002": {"train": 14, "eval": 4, "test": 2},
        "user3003": {"train": 7, "eval": 2, "test": 1},
    }
    assert [report["samples"][split] for split in SPLITS] == [21, 6, 3]
    ids = [{s.id for s in samples[split]} for split in SPLITS]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])


def test_onpolicy_slice_is_spread_over_train_sessions_and_never_in_train(tmp_path, write_export):
    chats = [chat(2002, sessions(20)), chat(3003, sessions(3, contact=3003), name="Tommi")]
    samples, report, out = run(
        tmp_path, write_export, chats, eval_fraction=0.2, test_fraction=0.1, onpolicy_fraction=0.25
    )
    onpolicy = read_jsonl(out / "sft" / "onpolicy.jsonl", SftSample)
    held = sessions_by_chat(onpolicy)
    # user2002: 14 training sessions, a quarter (3.5 -> 4) spread over time; user3003: 2 -> 1, one kept
    assert held == {"user2002": [3, 6, 10, 13], "user3003": [1]}
    assert sessions_by_chat(samples["train"])["user3003"] == [0]
    train = sessions_by_chat(samples["train"])
    assert train["user2002"] == [k for k in range(14) if k not in held["user2002"]]
    assert not {s.id for s in onpolicy} & {s.id for split in SPLITS for s in samples[split]}
    assert report["samples"]["onpolicy"] == 5
    assert report["samples"]["per_chat"]["user2002"]["onpolicy"] == 4


def test_no_onpolicy_file_without_a_fraction(tmp_path, write_export):
    _, report, out = run(tmp_path, write_export, [chat(2002, sessions(10))])
    assert not (out / "sft" / "onpolicy.jsonl").exists() and report["samples"]["onpolicy"] is None


def test_default_fractions_hold_out_a_tenth_each(tmp_path, write_export):
    samples, _, _ = run(tmp_path, write_export, [chat(2002, sessions(30))])
    assert [len(samples[split]) for split in SPLITS] == [24, 3, 3]


def test_dedup_covers_all_three_splits(tmp_path, write_export):
    # sessions 7 and 8 are eval, 9 is test; 7 repeats train session 0 and 9 repeats eval session 8
    texts = [f"s{k}" for k in range(10)]
    texts[7], texts[9] = texts[0], texts[8]
    samples, report, _ = run(
        tmp_path, write_export, [chat(2002, sessions(10, texts=texts))], eval_fraction=0.2, test_fraction=0.1
    )
    assert [s.session for s in samples["train"]] == list(range(7))
    assert [s.session for s in samples["eval"]] == [8]
    assert samples["test"] == []
    assert report["rules"]["duplicate samples removed"] == 2
    all_messages = [s.messages for split in SPLITS for s in samples[split]]
    assert len({json.dumps([m.content for m in messages]) for messages in all_messages}) == 8


def test_test_fraction_0_writes_an_empty_test_file_and_says_so(tmp_path, write_export):
    samples, report, out = run(tmp_path, write_export, [chat(2002, sessions(10))], test_fraction=0)
    assert (out / "sft" / "test.jsonl").read_bytes() == b""
    assert [len(samples[split]) for split in SPLITS] == [9, 1, 0] and report["samples"]["test"] == 0
    assert "**The test split is empty** (test_fraction is 0)" in (out / "report.md").read_text()


def test_small_chats_give_training_data_first(tmp_path, write_export):
    # Fractions round to 0 in every chat: one session per held-out split still comes from the chat with the
    # newest session that keeps a training session; the one-session chat (newest of all) stays in train.
    chats = [chat(2002, sessions(3)), chat(3003, sessions(1, contact=3003, start=10_000), name="Tommi")]
    samples, _, out = run(tmp_path, write_export, chats)
    assert {split: sessions_by_chat(samples[split]) for split in SPLITS} == {
        "train": {"user2002": [0], "user3003": [0]},
        "eval": {"user2002": [1]},
        "test": {"user2002": [2]},
    }
    assert "split is empty" not in (out / "report.md").read_text()


def test_two_sessions_give_train_and_eval_before_test(tmp_path, write_export):
    # SFT cannot pick a checkpoint without eval samples; an empty test split is allowed and reported
    samples, _, out = run(tmp_path, write_export, [chat(2002, sessions(2))])
    assert [[s.session for s in samples[split]] for split in SPLITS] == [[0], [1], []]
    assert "**The test split is empty** (too few sessions" in (out / "report.md").read_text()


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"eval_fraction": 1.0}, "eval_fraction must be in [0, 1), got 1.0"),
        ({"test_fraction": -0.1}, "test_fraction must be in [0, 1), got -0.1"),
        ({"test_fraction": float("nan")}, "test_fraction must be in [0, 1), got nan"),
        (
            {"eval_fraction": 0.5, "test_fraction": 0.5},
            "eval_fraction + test_fraction must be below 1 (the rest is the train split), got 0.5 + 0.5",
        ),
    ],
)
def test_bad_fractions_are_one_line_errors(overrides, problem):
    with pytest.raises(ChatLikeMeError) as err:
        IngestConfig.load(None, overrides)
    assert str(err.value) == f"IngestConfig defaults: {problem}"


def test_bad_fraction_in_code_is_an_error_too(tmp_path):
    # A dataclass built in Python is not validated; the stage checks it as it would a file.
    problem = r"^ingest config: test_fraction must be in \[0, 1\), got -0.1$"
    with pytest.raises(ChatLikeMeError, match=problem):
        ingest([tmp_path / "result.json"], tmp_path / "out", IngestConfig(test_fraction=-0.1))
    with pytest.raises(ChatLikeMeError, match=r"eval_fraction \+ test_fraction must be below 1"):
        IngestConfig(eval_fraction=0.5, test_fraction=0.5)  # a rule between fields: checked at once


def test_cli_bad_fraction_in_a_config_file(tmp_path, write_export):
    export = write_export(full_export([chat(2002, sessions(5))]))
    config = tmp_path / "ingest.yaml"
    config.write_text("test_fraction: 0.95\n")
    result = run_cli(
        "ingest", export, "--out", tmp_path / "out", "--config", config, "--eval-fraction", "0.1"
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{config}: eval_fraction + test_fraction must be below 1" in result.stderr
    assert not (tmp_path / "out").exists()
