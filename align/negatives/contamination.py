"""Strategy 3: contamination — other people's words in the persona's mouth.

Half of what a chat export holds is other speakers, each with a voice of their own: their messages from
OTHER conversations, put after this prompt, are on-register but not the persona. Stock neutral / formal
phrases from the language's template bank add the voice of nobody in particular.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from align.negatives import OtherTurn, Slot, StrategyContext, register
from core.schema import KtoRow

# "[photo]", "[voice message]", "[forwarded] ...": ingest's markers for media and other people's words
PLACEHOLDER = regex.compile(r"\[[\p{L} _-]+\]")


@dataclass
class ContaminationOptions:
    stock_phrase_share: float = 0.4
    "Fraction of these negatives taken from the template bank's stock phrases (the rest: other speakers)."
    min_words: int = 2
    "Other speakers' messages shorter than this are not used (too generic to tell voices apart)."


def usable_turns(turns: list[OtherTurn], min_words: int) -> list[OtherTurn]:
    return [t for t in turns if len(t.text.split()) >= min_words and not PLACEHOLDER.search(t.text)]


def other_speaker_turn(slot: Slot, turns: list[OtherTurn], ctx: StrategyContext) -> OtherTurn | None:
    """A message in the slot's language from another conversation, preferably another chat (another voice)."""
    same_language = [t for t in turns if t.language == slot.language and t.sample_id != slot.sample_id]
    other_chats = [t for t in same_language if t.chat_id != slot.chat_id]
    candidates = other_chats or same_language
    return ctx.rng.choice(candidates) if candidates else None


@register("contamination", options=ContaminationOptions)
def build(slots: list[Slot], ctx: StrategyContext) -> list[KtoRow]:
    options: ContaminationOptions = ctx.options
    turns = usable_turns(ctx.other_turns, options.min_words)
    rows = []
    for slot in slots:  # (the language filter per slot is cheap at these sizes: a few thousand turns)
        turn = None
        if turns and ctx.rng.random() >= options.stock_phrase_share:
            turn = other_speaker_turn(slot, turns, ctx)
        if turn is not None:
            text, detail = turn.text, f"other speaker ({turn.sample_id})"
        else:
            text, detail = ctx.rng.choice(slot.bank.formal_phrases), "stock phrase"
        rows.append(slot.negative(text, "contamination", detail))
    return rows
