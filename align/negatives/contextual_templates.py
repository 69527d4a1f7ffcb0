"""Strategy 5: contextual templates — generic schemas filled with words taken from the prompt.

"Su {topic} capisco la tua posizione. {conclusione neutra}." with the topic lifted from the message the
persona answered: on topic, correct, and in nobody's voice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from align.negatives import Slot, StrategyContext, register
from align.negatives.text import content_words
from core.schema import KtoRow


@dataclass
class ContextualTemplatesOptions:
    min_topic_chars: int = 4
    "Shortest word that can be a topic (shorter ones are mostly function words and interjections)."


def topic_of(slot: Slot, min_chars: int, rng: random.Random) -> str:
    """What the exchange is about: a content word of the message the persona answered that the reply picks
    up too (both talking about it makes it the topic), else one of its longest content words, else the
    bank's neutral fallback."""
    words = content_words(slot.last_message, slot.bank.stopwords, min_chars)
    in_reply = {w.casefold() for w in content_words(slot.reply, slot.bank.stopwords, min_chars)}
    shared = sorted({w for w in words if w.casefold() in in_reply})
    if shared:
        return rng.choice(shared)
    if not words:
        return slot.bank.fallback_topic
    longest = sorted(set(words), key=lambda w: (-len(w), w))[:3]
    return rng.choice(longest)


def fill_template(slot: Slot, topic: str, rng: random.Random) -> str:
    template = rng.choice(slot.bank.topic_templates)
    return template.format(topic=topic, conclusion=rng.choice(slot.bank.conclusions))


@register("contextual_templates", options=ContextualTemplatesOptions)
def build(slots: list[Slot], ctx: StrategyContext) -> list[KtoRow]:
    rows = []
    for slot in slots:
        topic = topic_of(slot, ctx.options.min_topic_chars, ctx.rng)
        text = fill_template(slot, topic, ctx.rng)
        rows.append(slot.negative(text, "contextual_templates", f"topic: {topic}"))
    return rows
