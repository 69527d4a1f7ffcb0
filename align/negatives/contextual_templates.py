"""Strategy 5: contextual templates — generic schemas filled with words taken from the prompt.

"Su {topic} capisco la tua posizione. {conclusione neutra}." with the topic lifted from the message the
persona answered: on topic, correct, and in nobody's voice.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

import regex

from align.negatives import Slot, StrategyContext, register
from align.negatives.text import ELIDED_WORD, content_words
from core.schema import KtoRow


@dataclass
class ContextualTemplatesOptions:
    min_topic_chars: int = 3
    "Shortest word that can be a topic."


def topic_of(slot: Slot, min_chars: int, frequency: Counter[str], rng: random.Random) -> str:
    """What the exchange is about: a word of the message the persona answered that the reply picks up too
    (both talking about it makes it the topic), else one of its rarest words in the chats (frequent words
    like "devo" or "tonight" carry no topic; the longest of equally rare ones), else the bank's fallback."""
    words = content_words(slot.last_message, slot.bank.stopwords, min_chars)
    in_reply = {w.casefold() for w in content_words(slot.reply, slot.bank.stopwords, min_chars)}
    candidates = sorted({w for w in words if w.casefold() in in_reply})
    if not candidates:
        candidates = sorted(set(words), key=lambda w: (frequency[w.casefold()], -len(w), w))[:1]
    if not candidates:
        return slot.bank.fallback_topic
    topic = rng.choice(candidates)
    starts_sentence = regex.search(rf"(?:^|[.!?\]\n]\s*){regex.escape(topic)}", slot.last_message)
    return topic.casefold() if starts_sentence else topic  # "Fatto! Controlla." -> controlla; names stay


def word_frequency(texts: list[str]) -> Counter[str]:
    """In how many of `texts` each word occurs."""
    return Counter(word for text in texts for word in {w.casefold() for w in ELIDED_WORD.findall(text)})


def fill_template(slot: Slot, topic: str, rng: random.Random) -> str:
    template = rng.choice(slot.bank.topic_templates)
    return template.format(topic=topic, conclusion=rng.choice(slot.bank.conclusions))


@register("contextual_templates", options=ContextualTemplatesOptions)
def build(slots: list[Slot], ctx: StrategyContext) -> list[KtoRow]:
    frequency = word_frequency([turn.text for turn in ctx.other_turns])
    rows = []
    for slot in slots:
        topic = topic_of(slot, ctx.options.min_topic_chars, frequency, ctx.rng)
        text = fill_template(slot, topic, ctx.rng)
        rows.append(slot.negative(text, "contextual_templates", f"topic: {topic}"))
    return rows
