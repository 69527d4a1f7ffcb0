"""Strategy 4: negative paraphrase — a real reply made longer, neutral or professional.

Template mode wraps the reply (most of the time neutralised first: tone stripped, slang replaced, sentence
case) in the bank's professional padding: "ahah! Comprendo il tuo punto di vista e procederò di conseguenza."
Model mode asks the base model for a formal rewrite and falls back to a template where the rewrite is empty
or merely repeats the reply.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import regex

from align.negatives import GenerationSpec, ModelOptions, Slot, StrategyContext, register
from align.negatives.text import (
    normalize,
    replace_slang,
    sentence_case,
    strip_tone,
    trim_to_sentence,
)
from core.schema import ChatMessage, KtoRow

PRONOUN_I = regex.compile(r"I\b")


@dataclass
class ParaphraseOptions(ModelOptions):
    use_model: bool = False
    "Ask the base model for a formal rewrite (one generation per negative); templates otherwise."
    neutralize_probability: float = 0.7
    "How often the reply inside a template is neutralised first (otherwise it keeps its own tone)."
    max_new_tokens: int = 80
    max_chars: int = 320


def template_paraphrase(slot: Slot, neutralize_probability: float, rng: random.Random) -> tuple[str, str]:
    reply, detail = slot.reply.strip(), "template"
    if rng.random() < neutralize_probability:
        reply, detail = sentence_case(replace_slang(strip_tone(reply), slot.bank)), "neutralised + template"
    elif reply[-1:] not in ".!?…":
        reply += "."
    template = rng.choice(slot.bank.paraphrase_templates)
    before = template.split("{reply}")[0].rstrip()
    if before and before[-1] not in ".!?:" and not PRONOUN_I.match(reply):
        reply = reply[:1].lower() + reply[1:]  # the reply continues a sentence: "In sintesi, domani vengo."
    text = template.format(reply=reply, contact=slot.contact or "").replace(" ,", ",")
    return " ".join(text.split()), detail


def rewrite_prompt(slot: Slot) -> list[ChatMessage]:
    return [ChatMessage("user", slot.bank.rewrite_instruction.format(reply=slot.reply))]


def generation(slots: list[Slot], options: ParaphraseOptions) -> GenerationSpec | None:
    if not options.use_model:
        return None
    return GenerationSpec("base", [rewrite_prompt(slot) for slot in slots], options.sampling())


def useful_rewrite(rewrite: str, slot: Slot) -> bool:
    """A rewrite worth keeping: longer than the reply and not the reply again."""
    return len(rewrite) > len(slot.reply) and normalize(rewrite) != normalize(slot.reply)


@register("paraphrase", generation=generation, options=ParaphraseOptions)
def build(slots: list[Slot], ctx: StrategyContext) -> list[KtoRow]:
    options: ParaphraseOptions = ctx.options
    rewrites = ctx.generated or [""] * len(slots)
    rows = []
    for slot, rewrite in zip(slots, rewrites, strict=True):
        rewrite = trim_to_sentence(rewrite, options.max_chars)
        if useful_rewrite(rewrite, slot):
            text, detail = rewrite, "model rewrite"
        else:
            text, detail = template_paraphrase(slot, options.neutralize_probability, ctx.rng)
        rows.append(slot.negative(text, "paraphrase", detail))
    return rows
