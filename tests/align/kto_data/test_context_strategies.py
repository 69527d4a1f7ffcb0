"""The context-aware negative strategies, judged by the real default model (SmolLM2) as context scorer:
wrong-context rows never sit on their own conversation, and on-policy rows come only from samples the judge
rejected, never from the real reply."""

from __future__ import annotations

import re

import pytest
from kto_samples import context_for, slots_of

from align.context_fit import LazyScorer
from align.negatives import get_strategy
from align.negatives.text import normalize

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scorer() -> LazyScorer:
    from align.models import prepare_default_model

    return LazyScorer(lambda: str(prepare_default_model()))


def test_wrong_context_rows_are_real_replies_of_other_conversations(scorer: LazyScorer) -> None:
    slots = slots_of(sessions=2)
    rows = get_strategy("wrong_context").build(
        slots, context_for("wrong_context", slots, split_slots=slots, scorer=scorer)
    )
    assert len(rows) >= len(slots) // 3  # the topic words make most donors clearly out of place
    replies = {normalize(slot.reply): slot for slot in slots}
    for row in rows:
        target = next(s for s in slots if list(s.prompt) == row.prompt and s.sample_id == row.sample_id)
        donor = replies[normalize(row.completion[0].content)]  # a real persona reply of the split...
        assert (donor.chat_id, donor.session) != (target.chat_id, target.session)  # ...from elsewhere
        assert normalize(row.completion[0].content) != normalize(target.reply)
        assert not row.label and row.strategy == "wrong_context"
        assert float(row.detail.split(" by ")[1].split()[0]) >= 2.0  # the fit gap, in nats


def test_off_context_keeps_only_rejected_samples_never_the_real_reply(scorer: LazyScorer) -> None:
    slots = slots_of(sessions=2)
    # Two "SFT samples" per prompt: the real reply itself (never a negative, however it scores) and a
    # stock reply that fits any conversation (the SFT model's typical fault).
    generated = [text for slot in slots for text in (slot.reply, "ahah ok")]
    context = context_for("off_context", slots, split_slots=slots, scorer=scorer, generated=generated)
    rows = get_strategy("off_context").build(slots, context)
    assert rows, "the stock reply misses most conversations"
    for row in rows:
        assert row.completion[0].content == "ahah ok" and not row.label
        relevance, real = map(float, re.findall(r"-?\d+\.\d+", row.detail.split("relevance ")[1]))
        assert relevance < 1.0 and relevance < 0.5 * real
