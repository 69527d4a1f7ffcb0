"""The on-policy strategy: SFT samples on prompts SFT never trained on (`sft/onpolicy.jsonl`), labelled by the
context-aware judges. Undesirable rows come only from samples a judge rejected, never from the real reply;
the real reply of every on-policy prompt is desirable; wrong-context rows never sit on their own prompt."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import msgspec
import numpy as np
from kto_samples import context_for, make_sft_samples, slots_of, write_sft_dir

from align.kto_data import KTODataConfig, build_kto_data
from align.negatives import get_strategy
from align.negatives.on_policy import (
    INDISTINGUISHABLE,
    ONPOLICY_PROMPT,
    OnPolicyOptions,
    cut_short,
    rejection_rank,
)
from align.negatives.policy_samples import PolicySample, spread
from align.negatives.text import normalize
from core.io import read_jsonl, write_jsonl
from core.schema import ChatMessage, KtoRow

NONSENSE = "xyzzy qwerty plugh"  # no word of it is in any conversation: relevance 0 everywhere


class WordScorer:
    """A context scorer that counts the reply's words found in the conversation (3 nats each)."""

    def log_probs(self, contexts: list[list], requests: list[tuple[int, str]]) -> np.ndarray:
        def words(context: list) -> set[str]:
            return set(normalize(" ".join(m.content for m in context if m.role != "system")).split())

        known = [words(context) for context in contexts]
        return np.array([3.0 * sum(w in known[c] for w in normalize(text).split()) for c, text in requests])


def on_policy(slots: list, generated: list[str], **options) -> list[KtoRow]:
    settings = OnPolicyOptions(samples_per_prompt=3, min_persona_probability=0.0, **options)
    context = context_for(
        "on_policy",
        slots,
        split_slots=slots_of(sessions=4),
        scorer=WordScorer,
        generated=generated,
        options=settings,
    )
    return get_strategy("on_policy").build(slots, context)


def test_undesirable_rows_only_from_rejected_samples_never_the_real_reply() -> None:
    slots = slots_of(sessions=2)
    # Per prompt: the real reply (never a row of its own), a reply out of every context (rejected), and the
    # contact's own message echoed back (fits the conversation: not rejected by the context judge).
    generated = [text for slot in slots for text in (slot.reply, NONSENSE, slot.last_message)]
    rows = on_policy(slots, generated)
    negatives = [row for row in rows if not row.label]
    assert negatives, "the nonsense reply misses every conversation"
    for row in negatives:
        slot = next(s for s in slots if s.sample_id == row.sample_id and list(s.prompt) == row.prompt)
        assert row.strategy == "on_policy" and row.completion[0].content == NONSENSE
        assert normalize(row.completion[0].content) != normalize(slot.reply)
        relevance, real = map(float, re.findall(r"-?\d+\.\d+", row.detail.split("relevance ")[1])[:2])
        assert relevance < 1.0 and relevance < 0.5 * real
    # The real reply of every on-policy prompt is desirable; no sample is (the default is conservative).
    desirable = [row for row in rows if row.label]
    assert {(r.sample_id, r.completion[0].content) for r in desirable} == {
        (s.sample_id, s.reply) for s in slots
    }
    assert all(r.strategy == "real" and r.detail == ONPOLICY_PROMPT for r in desirable)


def test_samples_no_judge_tells_from_the_real_reply_may_be_desirable() -> None:
    slots = slots_of(sessions=2)
    generated = [text for slot in slots for text in (slot.reply, NONSENSE, slot.last_message)]
    rows = on_policy(
        slots, generated, desirable_when_indistinguishable=True, desirable_persona_probability=0.0
    )
    accepted = [row for row in rows if row.label and row.strategy == "on_policy"]
    assert accepted and all(row.detail.startswith(INDISTINGUISHABLE) for row in accepted)
    for row in accepted:
        slot = next(s for s in slots if s.sample_id == row.sample_id and list(s.prompt) == row.prompt)
        assert row.completion[0].content == slot.last_message  # never the nonsense, never the real reply
    assert len({(r.sample_id, msgspec.json.encode(r.prompt)) for r in accepted}) == len(accepted)


def test_too_long_samples_are_rejected_with_the_reason() -> None:
    slots = slots_of(sessions=1)[:3]
    long = " ".join(slots[0].last_message for _ in range(12))[:250]
    generated = [text for slot in slots for text in (slot.reply, long, slot.reply)]
    rows = on_policy(slots, generated, max_chars=300)
    assert any("too long" in row.detail for row in rows if not row.label)


def test_wrong_context_rows_never_sit_on_their_own_prompt() -> None:
    slots = slots_of(sessions=3)
    context = context_for("wrong_context", slots, split_slots=slots, scorer=WordScorer)
    rows = get_strategy("wrong_context").build(slots, context)
    assert rows
    for row in rows:
        target = next(s for s in slots if list(s.prompt) == row.prompt and s.sample_id == row.sample_id)
        assert normalize(row.completion[0].content) != normalize(target.reply)
        donor = next(s for s in slots if s.reply == row.completion[0].content)
        assert donor.conversation != target.conversation


def test_kto_data_with_onpolicy_prompts_on_a_tiny_model(
    tmp_path: Path, tiny_model: Path, tiny_adapters: dict[str, Path]
) -> None:
    sft = write_sft_dir(tmp_path, train_sessions=4, eval_sessions=2)
    write_jsonl(sft / "onpolicy.jsonl", make_sft_samples("train", 2, seed=5)[:3])
    config = KTODataConfig.from_dict(
        {
            "strategies": {"on_policy": 0.5, "corruption": 0.5},
            "max_train_positives": 8,
            "max_eval_positives": 4,
            "max_prompt_turns": 2,
            "generation_backend": "transformers",
            "max_persona_probability": None,
            "on_policy": {"samples_per_prompt": 2, "max_new_tokens": 8},
        }
    )
    out = build_kto_data(sft, tmp_path / "kto", config, sft_adapter=tiny_adapters["sft"])
    report = json.loads((out / "report.json").read_text())
    onpolicy = report["onpolicy"]
    assert onpolicy["active"] and onpolicy["prompts"] > 0
    assert onpolicy["real_replies"] == onpolicy["prompts"] and onpolicy["desirable_samples"] == 0
    train = read_jsonl(out / "train.jsonl", KtoRow)
    real = {(r.sample_id, msgspec.json.encode(r.prompt)): r.completion[0].content for r in train if r.label}
    ours = [r for r in train if r.strategy == "on_policy"]
    assert len(ours) == onpolicy["undesirable_samples"]
    for row in ours:  # every one a sample a judge rejected, never its prompt's real reply
        assert not row.label and row.detail
        assert normalize(row.completion[0].content) != normalize(
            real[(row.sample_id, msgspec.json.encode(row.prompt))]
        )
    assert not [r for r in read_jsonl(out / "eval.jsonl", KtoRow) if r.strategy == "on_policy"]


def test_without_onpolicy_file_the_report_says_so(tmp_path: Path) -> None:
    sft = write_sft_dir(tmp_path, train_sessions=3, eval_sessions=1)
    config = KTODataConfig.from_dict(
        {"strategies": {"on_policy": 0.5, "corruption": 0.5}, "max_persona_probability": None}
    )
    report = json.loads((build_kto_data(sft, tmp_path / "kto", config) / "report.json").read_text())
    assert "no onpolicy.jsonl" in report["onpolicy"]["note"]
    assert "inactive" in report["strategies"]["on_policy"]


def test_off_context_goes_through_the_same_path() -> None:
    slots = slots_of(sessions=2)
    generated = [text for slot in slots for text in (slot.reply, NONSENSE)]
    context = context_for("off_context", slots, split_slots=slots, scorer=WordScorer, generated=generated)
    rows = get_strategy("off_context").build(slots, context)
    assert rows and all(row.completion[0].content == NONSENSE and not row.label for row in rows)
    assert all("misses the conversation" in row.detail for row in rows)
    prompts = {(row.sample_id, msgspec.json.encode(row.prompt)) for row in rows}
    assert len(prompts) == len(rows)  # one sample per prompt here, and never the real reply


def test_most_detectable_samples_are_taken_first_spread_over_prompts() -> None:
    samples = [PolicySample(slot, f"reply {i}") for i, slot in enumerate([0, 0, 0, 1, 1, 2])]
    persona_probability = [0.9, 0.1, 0.5, 0.3, 0.8, 0.6]
    ctx = context_for("on_policy", slots_of(sessions=1))
    ranked = spread(list(range(len(samples))), samples, ctx, persona_probability)
    # Each prompt's least persona-like sample first (in that order), then each prompt's second, and so on.
    assert ranked == [1, 3, 5, 2, 4, 0]
    assert sorted(spread(list(range(len(samples))), samples, ctx)) == list(range(len(samples)))


def test_length_matched_samples_come_first_then_the_least_persona_like() -> None:
    slots = slots_of(sessions=1)[:2]
    real = [len(slot.reply) for slot in slots]
    lengths = [real[0], 3 * real[0], real[0] + 1, real[1], 4 * real[1]]
    samples = [PolicySample(slot, "x" * n) for slot, n in zip([0, 0, 0, 1, 1], lengths, strict=True)]
    persona_probability = [0.9, 0.0, 0.2, 0.5, 0.1]
    options = OnPolicyOptions(length_tolerance=0.25, most_detectable_first=True)
    rank = rejection_rank(slots, samples, persona_probability, options)
    ctx = context_for("on_policy", slots)
    # Within 25 % of the real reply's length first (least persona-like first among them): 2 before 0;
    # the too-long samples 1 and 4 come last although the style judge finds them least persona-like.
    assert spread(list(range(len(samples))), samples, ctx, rank) == [2, 3, 0, 4, 1]
    by_length_only = rejection_rank(
        slots, samples, persona_probability, OnPolicyOptions(length_tolerance=0.25)
    )
    assert [outside for outside, _ in by_length_only] == [0.0, 1.0, 0.0, 0.0, 1.0]
    assert rejection_rank(slots, samples, persona_probability, OnPolicyOptions()) is None


def test_cut_short_copies_end_early_and_stay_undesirable() -> None:
    slots = slots_of(sessions=2)
    generated = [text for slot in slots for text in (slot.reply, NONSENSE + " and more words here", NONSENSE)]
    plain = on_policy(slots, generated)
    rows = on_policy(slots, generated, cut_short_share=1.0)
    negatives = [row for row in plain if not row.label]
    cut = [row for row in rows if row.detail.startswith("cut short")]
    # Every negative of three or more words gets one copy, a strict prefix of it, undesirable, on its prompt.
    assert len(cut) == sum(len(row.completion[0].content.split()) >= 3 for row in negatives) > 0
    originals = {(row.sample_id, row.completion[0].content) for row in negatives}
    for row in cut:
        text, words = row.completion[0].content, row.detail.split(": ")[1].split(" of ")
        assert not row.label and row.strategy == "on_policy"
        assert any(sid == row.sample_id and full.startswith(text) and full != text for sid, full in originals)
        assert 1 <= int(words[0]) < int(words[1].split()[0])
    assert [r for r in rows if not r.detail.startswith("cut short")] == plain
    assert not [r for r in on_policy(slots, generated, cut_short_share=0.0) if r.detail.startswith("cut")]
    # Line breaks (the persona's turn separator) count as word boundaries and stay as they are.
    lines = [ChatMessage("assistant", "ahah\nsi dai\nok")]
    multi_line = msgspec.structs.replace(negatives[0], completion=lines)
    (copy,) = cut_short([multi_line], 1.0, random.Random(0))
    assert copy.completion[0].content in {"ahah", "ahah\nsi"}
