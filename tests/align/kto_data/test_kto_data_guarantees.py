"""The dataset's guarantees: positives with their own context, no collision with real replies, no
near-copies or duplicates, no eval leakage, determinism, and complete, atomic outputs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import msgspec
import pytest
from kto_samples import TOPICS, make_sft_samples, write_sft_dir

from align.kto_data import KTODataConfig, build_kto_data, chat_languages, keep_rows, persona_slots
from align.negatives.text import normalize
from core.io import read_jsonl, write_jsonl
from core.schema import ChatMessage, KtoRow, SftSample

TEMPLATE_STRATEGIES = {
    "corruption": 0.3,
    "contamination": 0.3,
    "paraphrase": 0.2,
    "contextual_templates": 0.2,
}


def rows_of(out: Path, split: str) -> list[KtoRow]:
    return read_jsonl(out / f"{split}.jsonl", KtoRow)


def real_replies(sft: Path) -> set[str]:
    samples = read_jsonl(sft / "train.jsonl", SftSample) + read_jsonl(sft / "eval.jsonl", SftSample)
    return {normalize(m.content) for s in samples for m in s.messages if m.role == "assistant"}


def test_every_persona_turn_is_a_positive_with_its_own_context() -> None:
    samples = make_sft_samples("train", 4)
    _, languages = chat_languages(samples, "auto")
    slots, stats = persona_slots(samples, languages, KTODataConfig(max_positives_per_session=99), "train")
    sample = samples[0]
    turns = [i for i, m in enumerate(sample.messages) if m.role == "assistant"]
    assert len(turns) >= 2
    for i in turns:  # one positive per assistant turn, prompt = everything before it
        assert any(
            list(s.prompt) == sample.messages[:i] and s.reply == sample.messages[i].content for s in slots
        )
    assert stats["duplicate_turns"] > 0  # overlapping windows repeat replies: each is kept once
    keys = [(s.chat_id, s.session, s.last_message, s.reply) for s in slots]
    assert len(keys) == len(set(keys))

    capped, _ = persona_slots(samples, languages, KTODataConfig(max_positives_per_session=1), "train")
    sessions = [(s.chat_id, s.session) for s in capped]
    assert len(sessions) == len(set(sessions)) == len({(s.chat_id, s.session) for s in slots})

    short, _ = persona_slots(samples, languages, KTODataConfig(max_prompt_turns=2), "train")
    assert all(len(s.prompt) <= 3 and s.prompt[0].role == "system" for s in short)


def test_keep_rows_drops_collisions_near_copies_and_duplicates() -> None:
    prompt = [ChatMessage("system", "You are P."), ChatMessage("user", "pizza stasera?", name="L")]
    reply = "ok pizza alle 18 allora, poi vediamo"

    def row(text: str, label: bool = False) -> KtoRow:
        return KtoRow(
            prompt, [ChatMessage("assistant", text)], label, "real" if label else "corruption", "s/0/0"
        )

    rows = [
        row(reply, True),
        row("OK, pizza alle 18 allora... poi vediamo!!"),  # the real reply, differently written
        row("ok pizza alle 18 allora poi vediamo dai"),  # a near-copy
        row("La ringrazio per il messaggio."),
        row("la ringrazio per il messaggio"),  # a duplicate after normalisation
        row("🙂"),  # nothing left after normalisation
    ]
    sources = {("s/0/0", msgspec.json.encode(prompt)): reply}
    kept, dropped = keep_rows(rows, sources, max_similarity=0.9)
    assert [r.completion[0].content for r in kept] == [reply, "La ringrazio per il messaggio."]
    assert dropped["corruption"] == {
        "equals its real reply": 1,
        "near-copy of its real reply": 1,
        "duplicate": 1,
        "empty": 1,
    }


def test_no_negative_equals_the_real_reply_of_its_own_prompt(tmp_path: Path) -> None:
    train = make_sft_samples("train", 8)
    for sample in train:  # contacts who repeat the persona's last words, in other spellings
        reply = sample.messages[-1].content
        sample.messages.insert(1, ChatMessage("user", reply.upper() + "!!", name="Lorenzo"))
    sft = tmp_path / "sft"
    write_jsonl(sft / "train.jsonl", train)
    write_jsonl(sft / "eval.jsonl", make_sft_samples("eval", 3))
    config = KTODataConfig.from_dict(
        {
            "strategies": {"contamination": 0.5, "corruption": 0.5},
            "negatives_per_positive": 3,
            "contamination": {"stock_phrase_share": 0.0, "min_words": 1},
            "max_persona_probability": None,
        }
    )
    out = build_kto_data(sft, tmp_path / "kto", config)

    positives = {}
    for split in ("train", "eval"):
        for row in rows_of(out, split):
            if row.label:
                positives[(row.sample_id, msgspec.json.encode(row.prompt))] = normalize(
                    row.completion[0].content
                )
    negatives = [r for split in ("train", "eval") for r in rows_of(out, split) if not r.label]
    assert negatives
    for row in negatives:
        own = positives.get((row.sample_id, msgspec.json.encode(row.prompt)))
        assert normalize(row.completion[0].content) != own
    for split in ("train", "eval"):
        keys = [
            (msgspec.json.encode(r.prompt), normalize(r.completion[0].content)) for r in rows_of(out, split)
        ]
        assert len(keys) == len(set(keys))


def test_eval_split_is_built_from_eval_samples_only(tmp_path: Path, sft_dir: Path) -> None:
    config = KTODataConfig(strategies=TEMPLATE_STRATEGIES)
    out = build_kto_data(sft_dir, tmp_path / "kto", config)
    eval_ids = {s.id for s in read_jsonl(sft_dir / "eval.jsonl", SftSample)}
    train_ids = {s.id for s in read_jsonl(sft_dir / "train.jsonl", SftSample)}
    eval_topics = {t for (_, split), topics in TOPICS.items() if split == "eval" for t in topics}
    train_topics = {t for (_, split), topics in TOPICS.items() if split == "train" for t in topics}

    def words(row: KtoRow) -> set[str]:
        texts = [m.content for m in row.prompt + row.completion if m.role != "system"]
        return set(normalize(" ".join(texts)).split())

    train_rows, eval_rows = rows_of(out, "train"), rows_of(out, "eval")
    assert {r.sample_id for r in eval_rows} <= eval_ids and {r.sample_id for r in train_rows} <= train_ids
    assert {r.strategy for r in eval_rows} == {"real", *TEMPLATE_STRATEGIES}
    assert not [r for r in train_rows if words(r) & eval_topics]
    assert not [r for r in eval_rows if words(r) & train_topics]


def test_same_seed_same_dataset(tmp_path: Path, sft_dir: Path) -> None:
    outputs = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        config = KTODataConfig(strategies=TEMPLATE_STRATEGIES, seed=seed)
        outputs.append(build_kto_data(sft_dir, tmp_path / name, config))
    a, b, c = outputs
    for file in ("train.jsonl", "eval.jsonl", "axolotl/train.jsonl", "axolotl/eval.jsonl"):
        assert (a / file).read_bytes() == (b / file).read_bytes()
    assert (a / "train.jsonl").read_bytes() != (c / "train.jsonl").read_bytes()


def test_outputs_and_report(tmp_path: Path, sft_dir: Path) -> None:
    config = KTODataConfig(strategies=TEMPLATE_STRATEGIES, negatives_per_positive=2.5)
    out = build_kto_data(sft_dir, tmp_path / "kto", config)
    assert sorted(p.name for p in out.iterdir()) == [
        "axolotl",
        "config.yaml",
        "eval.jsonl",
        "lengths.png",
        "report.json",
        "report.md",
        "train.jsonl",
    ]
    assert not list(tmp_path.glob(".kto.*"))  # the temporary directory is gone
    report = json.loads((out / "report.json").read_text())
    weights = report["weights"]
    counts = report["counts"]["train"]["total"]
    assert (weights["n_desirable"], weights["n_undesirable"]) == (counts["desirable"], counts["undesirable"])
    assert weights["desirable_weight"] > 1.0 and weights["undesirable_weight"] == 1.0  # 2.5 negatives each
    assert 1 <= weights["ratio"] <= 4 / 3
    assert set(report["examples"]) == {"real", *TEMPLATE_STRATEGIES}
    assert all(len(e) == 3 for e in report["examples"].values())
    assert "λD" in (out / "report.md").read_text()

    train = rows_of(out, "train")
    axolotl = [json.loads(line) for line in (out / "axolotl" / "train.jsonl").read_text().splitlines()]
    assert len(axolotl) == len(train)
    assert set(axolotl[0]) == {"system", "prompt", "completion", "label"}
    for row, exported in zip(train, axolotl, strict=True):
        assert exported["completion"] == row.completion[0].content and exported["label"] == row.label
        assert exported["system"] == row.prompt[0].content
        assert row.prompt[-1].content in exported["prompt"]


def test_an_empty_eval_split_gives_an_empty_eval_file(tmp_path: Path) -> None:
    sft = write_sft_dir(tmp_path, train_sessions=3)
    (sft / "eval.jsonl").write_text("")
    out = build_kto_data(sft, tmp_path / "kto", KTODataConfig(strategies=TEMPLATE_STRATEGIES))
    assert rows_of(out, "eval") == [] and rows_of(out, "train")


def test_a_votes_db_needs_a_share(tmp_path: Path, sft_dir: Path) -> None:
    from core.errors import ChatLikeMeError

    (tmp_path / "votes.sqlite").write_bytes(b"")
    with pytest.raises(ChatLikeMeError, match="arena_votes"):
        build_kto_data(
            sft_dir,
            tmp_path / "kto",
            KTODataConfig(strategies=TEMPLATE_STRATEGIES),
            votes_db=tmp_path / "votes.sqlite",
        )


def test_persona_like_negatives_are_dropped(tmp_path: Path, sft_dir: Path) -> None:
    """Corrupted replies that keep the persona's voice (no forced formality) are what the judge catches."""

    counts = {}
    for limit in (0.5, None):
        config = KTODataConfig.from_dict(
            {
                "strategies": {"corruption": 1.0},
                "corruption": {"formalize_probability": 0.5},
                "max_persona_probability": limit,
            }
        )
        out = build_kto_data(sft_dir, tmp_path / str(limit), config)
        report = json.loads((out / "report.json").read_text())
        counts[limit] = report["counts"]["train"]["total"]["undesirable"]
        dropped = report["strategies"]["corruption"]["train"]["dropped"]
        assert ("judged persona-like" in dropped) == (limit is not None)
    assert counts[0.5] < counts[None]


def test_long_negatives_are_cut_to_the_length_of_their_real_reply(tmp_path: Path, sft_dir: Path) -> None:
    """Formal paraphrases and templates run long; the persona's replies are short. Cut, a negative is at most
    2x its real reply (or 32 characters), ends on a word, and keeps its formal opening."""
    strategies = {"paraphrase": 0.5, "contextual_templates": 0.5}
    lengths = {}
    for ratio in (2.0, None):
        config = KTODataConfig.from_dict(
            {"strategies": strategies, "max_length_ratio": ratio, "min_cut_chars": 32}
        )
        out = build_kto_data(sft_dir, tmp_path / str(ratio), config)
        report = json.loads((out / "report.json").read_text())
        rows = rows_of(out, "train")
        sources = {(r.sample_id, msgspec.json.encode(r.prompt)): r for r in rows if r.label}
        negatives = [r for r in rows if not r.label]
        lengths[ratio] = report["lengths"]["undesirable"]["mean_chars"]
        cut = sum(report["strategies"][name]["train"]["cut_to_length"] for name in strategies)
        if ratio is None:
            assert cut == 0
            continue
        assert cut > 0
        for row in negatives:
            real = sources[(row.sample_id, msgspec.json.encode(row.prompt))].completion[0].content
            text = row.completion[0].content
            assert len(text) <= max(32, round(2 * len(real))) and not text.endswith(("…", " ", ","))
    assert lengths[2.0] < lengths[None]


def test_rows_a_strategy_judged_itself_are_not_second_guessed(tmp_path: Path) -> None:
    """off_persona's rows were picked by a judge of real vs SFT replies; the general persona filter, which
    contrasts the persona with formal text, would throw most of them away."""
    from align.kto_data import drop_persona_like
    from align.negatives import get_strategy

    class EverythingPersonaLike:
        def persona_probability(self, replies: list[str]) -> list[float]:
            return [0.99] * len(replies)

    prompt = [ChatMessage("system", "You are P."), ChatMessage("user", "ciao", name="L")]
    rows = [
        KtoRow(prompt, [ChatMessage("assistant", text)], False, strategy)
        for text, strategy in (("boh boh", "off_persona"), ("ahah si", "corruption"))
    ]
    assert get_strategy("off_persona").judged and not get_strategy("corruption").judged
    dropped: dict = {"off_persona": Counter(), "corruption": Counter()}
    kept = drop_persona_like(rows, EverythingPersonaLike(), 0.5, dropped)
    assert [row.strategy for row in kept] == ["off_persona"]
    assert dropped["corruption"]["judged persona-like"] == 1


@pytest.mark.parametrize("preset", ["cpu-demo", "cpu", "gpu"])
def test_presets_load(preset: str) -> None:
    config = KTODataConfig.load(preset)
    assert abs(sum(config.strategies.values()) - 1) < 0.01
    assert config.weight_ratio_range[0] == 1.0
