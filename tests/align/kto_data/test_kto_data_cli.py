"""`chatlikeme kto-data` end to end: the model strategies (base sampling, off-persona SFT replies) with a
tiny model, and bad input (one line on stderr, exit 2)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml
from kto_samples import write_sft_dir

from core.io import read_jsonl
from core.schema import ChatMessage, KtoRow
from tests.conftest import run_cli

MODEL_STRATEGIES = {
    "strategies": {"base_sampling": 0.3, "off_persona": 0.3, "paraphrase": 0.2, "contextual_templates": 0.2},
    "max_train_positives": 16,
    "max_eval_positives": 6,
    "max_prompt_turns": 2,
    "generation_backend": "transformers",
    "base_sampling": {"max_new_tokens": 12},
    "off_persona": {"max_new_tokens": 12, "samples_per_prompt": 2, "threshold": 0.5},
    "paraphrase": {"use_model": True, "max_new_tokens": 24},
    "max_persona_probability": None,  # a random tiny model's output is not worth judging
}


def write_config(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("chatlikeme: error:")]
    # Progress lines may come first; the error is the one last line.
    assert len(errors) == 1 and result.stderr.strip().endswith(errors[0]), result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


@pytest.mark.slow
def test_model_strategies_end_to_end_on_the_demo_data(
    tmp_path: Path, demo_data, tiny_model: Path, tiny_adapters: dict[str, Path]
) -> None:
    sft = demo_data.sft_dir
    config = write_config(tmp_path / "kto.yaml", MODEL_STRATEGIES)
    out = tmp_path / "kto"
    result = run_cli(
        "kto-data", "--sft", sft, "--out", out, "--config", config, "--sft-adapter", tiny_adapters["sft"]
    )  # no --base-model: the adapter's base model is used
    assert result.returncode == 0, result.stderr

    report = json.loads((out / "report.json").read_text())
    assert report["generation"]["base_model"] == str(tiny_model)
    for name in ("base_sampling", "off_persona"):
        for split in ("train", "eval"):
            assert report["counts"][split][name]["undesirable"] > 0, (name, split)
    train = read_jsonl(out / "train.jsonl", KtoRow)
    model_rows = [r for r in train if r.strategy in ("base_sampling", "off_persona")]
    assert all(not r.label and r.completion[0].content for r in model_rows)
    assert all("persona probability" in r.detail for r in train if r.strategy == "off_persona")
    assert "model rewrite" in {r.detail for r in train if r.strategy == "paraphrase"}
    weights = report["weights"]
    assert 1 <= weights["ratio"] <= 4 / 3
    assert weights["n_desirable"] + weights["n_undesirable"] == len(train)
    assert report["persona_language"] == "it"  # the demo persona writes Italian (and some English)
    eval_ids = {json.loads(line)["id"] for line in (sft / "eval.jsonl").read_text().splitlines()}
    assert {r.sample_id for r in read_jsonl(out / "eval.jsonl", KtoRow)} <= eval_ids


def test_without_an_adapter_off_persona_passes_its_share_on(tmp_path: Path, tiny_model: Path) -> None:
    sft = write_sft_dir(tmp_path, train_sessions=3, eval_sessions=1)
    data = {**MODEL_STRATEGIES, "strategies": {"off_persona": 0.5, "corruption": 0.5}}
    config = write_config(tmp_path / "kto.yaml", data)
    result = run_cli("kto-data", "--sft", sft, "--out", tmp_path / "kto", "--config", config, "--seed", "3")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "kto" / "report.json").read_text())
    assert "sft-adapter" in report["strategies"]["off_persona"]["inactive"]
    assert (
        report["strategies"]["corruption"]["train"]["requested"] == report["positives"]["train"]["positives"]
    )
    assert report["seed"] == 3


def test_empty_sft_data(tmp_path: Path) -> None:
    sft = tmp_path / "sft"
    sft.mkdir()
    (sft / "train.jsonl").write_text("")
    (sft / "eval.jsonl").write_text("")
    result = run_cli("kto-data", "--sft", sft, "--out", tmp_path / "kto")
    assert_one_line_error(result, "train.jsonl", "no persona reply")
    assert not (tmp_path / "kto").exists()
    assert_one_line_error(
        run_cli("kto-data", "--sft", tmp_path / "nowhere", "--out", tmp_path / "kto"), "nowhere"
    )


def test_unknown_strategy(tmp_path: Path, sft_dir: Path) -> None:
    config = write_config(tmp_path / "kto.yaml", {"strategies": {"corruption": 0.5, "telepathy": 0.5}})
    result = run_cli("kto-data", "--sft", sft_dir, "--out", tmp_path / "kto", "--config", config)
    assert_one_line_error(result, "kto.yaml", "unknown negative strategy 'telepathy'")


@pytest.mark.parametrize(
    "shares, problem",
    [({"corruption": 0.5, "paraphrase": 0.9}, "sum to 1"), ({"corruption": 1.5, "paraphrase": -0.5}, ">= 0")],
)
def test_bad_shares(tmp_path: Path, sft_dir: Path, shares: dict, problem: str) -> None:
    config = write_config(tmp_path / "kto.yaml", {"strategies": shares})
    result = run_cli("kto-data", "--sft", sft_dir, "--out", tmp_path / "kto", "--config", config)
    assert_one_line_error(result, "kto.yaml", problem)


def test_votes_db_of_the_wrong_schema(tmp_path: Path, sft_dir: Path) -> None:
    db = tmp_path / "votes.sqlite"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE recipes (name TEXT, minutes INTEGER)")
    result = run_cli("kto-data", "--sft", sft_dir, "--out", tmp_path / "kto", "--votes", db)
    assert_one_line_error(result, str(db))


def test_arena_votes_become_train_rows(tmp_path: Path, sft_dir: Path) -> None:
    from core import votes as votes_module

    system = ChatMessage("system", "You are Pasquale, chatting with Lorenzo. Respond naturally.")

    def conversation(question: str, reply: str) -> list[ChatMessage]:
        return [system, ChatMessage("user", question), ChatMessage("assistant", reply)]

    formal = "La ringrazio per la domanda, le farò sapere al più presto la mia disponibilità."
    battles = [
        ("a", conversation("stasera?", "daje ci sto 🔥"), conversation("stasera?", formal)),
        (
            "b",
            conversation("pizza?", "Certamente, una pizza sarebbe un'ottima idea."),
            conversation("pizza?", "sìì"),
        ),
        (
            "both_bad",
            conversation("calcetto?", "As an AI I cannot play."),
            conversation("calcetto?", "Non so."),
        ),
        ("tie", conversation("cinema?", "boh"), conversation("cinema?", "forse")),
    ]
    store = votes_module.VoteStore(tmp_path / "votes.sqlite")
    common = {"session_id": "s", "run_id": "r1", "model_a": "sft", "version_a": "1"}
    for i, (outcome, a, b) in enumerate(battles):
        battle = {"mode": "anonymous", "model_b": "kto", "version_b": "1", "conversation_b": b}
        store.add(
            votes_module.Vote(vote_id=f"round-{i}", outcome=outcome, conversation_a=a, **common, **battle)
        )
    thumb = conversation("domani?", "I would be delighted to.")
    store.add(votes_module.Vote(vote_id="t", mode="single", outcome="down", conversation_a=thumb, **common))
    config = write_config(tmp_path / "kto.yaml", {"strategies": {"arena_votes": 0.5, "corruption": 0.5}})
    out = tmp_path / "kto"
    result = run_cli(
        "kto-data", "--sft", sft_dir, "--out", out, "--config", config, "--votes", tmp_path / "votes.sqlite"
    )
    assert result.returncode == 0, result.stderr

    train = [r for r in read_jsonl(out / "train.jsonl", KtoRow) if r.strategy == "arena_votes"]
    labels = {r.completion[0].content: r.label for r in train}
    assert labels == {
        "daje ci sto 🔥": True,
        formal: False,
        "Certamente, una pizza sarebbe un'ottima idea.": False,
        "sìì": True,
        "As an AI I cannot play.": False,
        "Non so.": False,
        "I would be delighted to.": False,
    }  # a tie says nothing about the persona: no rows
    assert all(r.prompt[0] == system and r.prompt[-1].role == "user" for r in train)
    assert not [r for r in read_jsonl(out / "eval.jsonl", KtoRow) if r.strategy == "arena_votes"]


def test_no_strategy_can_run(tmp_path: Path, sft_dir: Path) -> None:
    config = write_config(tmp_path / "kto.yaml", {"strategies": {"off_persona": 1.0, "corruption": 0.0}})
    result = run_cli("kto-data", "--sft", sft_dir, "--out", tmp_path / "kto", "--config", config)
    assert_one_line_error(result, "off_persona needs --sft-adapter")
