"""Strategy 2: corruption of real replies — the persona's own words with the voice taken out.

Each negative takes one structural change (words shuffled, formal padding inserted, words deleted), then
strips the tone (emoji, laughter, elongations) and, most of the time, forces formality (slang replaced,
sentence case, a formal opener or closer). The result keeps the reply's topic but loses the persona.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import Field

from align.negatives import Slot, StrategyContext, register
from align.negatives.text import TemplateBank, formalize, normalize, strip_tone
from core.schema import KtoRow


def shuffle_words(text: str, bank: TemplateBank, rng: random.Random) -> str | None:
    words = text.split()
    if len(set(words)) < 2:
        return None
    shuffled = words[:]
    while shuffled == words:
        rng.shuffle(shuffled)
    return " ".join(shuffled)


def insert_words(text: str, bank: TemplateBank, rng: random.Random) -> str:
    words = text.split()
    for _ in range(rng.randint(1, 2)):
        words.insert(rng.randint(0, len(words)), rng.choice(bank.filler_words))
    return " ".join(words)


def delete_words(text: str, bank: TemplateBank, rng: random.Random) -> str | None:
    words = text.split()
    if len(words) < 3:
        return None
    drop = set(rng.sample(range(len(words)), max(1, len(words) // 3)))
    return " ".join(w for i, w in enumerate(words) if i not in drop)


OPERATIONS: dict[str, Callable[[str, TemplateBank, random.Random], str | None]] = {
    "shuffle": shuffle_words,
    "insert": insert_words,
    "delete": delete_words,
}


Operation = Literal[tuple(OPERATIONS)]


@dataclass
class CorruptionOptions:
    operations: Annotated[list[Operation], Field(min_length=1)] = field(
        default_factory=lambda: list(OPERATIONS)
    )
    "Structural changes to draw from (one per negative): shuffle, insert, delete."
    formalize_probability: float = 0.7
    "How often the corrupted reply is also forced formal (otherwise only its tone is stripped)."
    always_formalize_below: int = 4
    "Replies of fewer words are always forced formal: shuffling 'chi?? ahah' into 'chi?' changes nothing."


def corrupt(slot: Slot, options: CorruptionOptions, rng: random.Random) -> tuple[str, str] | None:
    """A corrupted version of the slot's reply and the steps taken, or None if nothing applies."""
    operations = list(options.operations)
    rng.shuffle(operations)
    for name in operations:
        changed = OPERATIONS[name](slot.reply, slot.bank, rng)
        if changed is not None:
            break
    else:
        return None
    steps = [name, "strip_tone"]
    text = strip_tone(changed)
    short = len(slot.reply.split()) < options.always_formalize_below
    if short or rng.random() < options.formalize_probability:
        text = formalize(text, slot.bank, slot.contact, rng)
        steps.append("formalize")
    if not normalize(text) or normalize(text) == normalize(slot.reply):
        return None
    return text, "+".join(steps)


@register("corruption", options=CorruptionOptions)
def build(slots: list[Slot], ctx: StrategyContext) -> list[KtoRow]:
    rows = []
    for slot in slots:
        corrupted = corrupt(slot, ctx.options, ctx.rng)
        if corrupted is not None:
            text, steps = corrupted
            rows.append(slot.negative(text, "corruption", steps))
    return rows
