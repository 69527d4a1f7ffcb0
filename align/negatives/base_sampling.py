"""Strategy 1: the base model (before SFT) with aggressive sampling — the generic assistant voice.

High temperature with a low top-p keeps the sampling to plausible words while flattening the model's
preferences: polite, generic, often formal replies, the voice the SFT model must unlearn.
"""

from __future__ import annotations

from dataclasses import dataclass

from align.negatives import GenerationSpec, ModelOptions, Slot, StrategyContext, register
from align.negatives.text import trim_to_sentence
from core.schema import KtoRow


@dataclass
class BaseSamplingOptions(ModelOptions):
    temperature: float = 1.2
    "High: flattens the base model's distribution (the seed's 'temperatura alta')."
    top_p: float = 0.8
    "Low: keeps the flattened sampling among plausible tokens (the seed's 'top-p basso')."


def generation(slots: list[Slot], options: BaseSamplingOptions) -> GenerationSpec:
    return GenerationSpec("base", [list(slot.prompt) for slot in slots], options.sampling())


@register("base_sampling", generation=generation, options=BaseSamplingOptions)
def build(slots: list[Slot], ctx: StrategyContext) -> list[KtoRow]:
    options: BaseSamplingOptions = ctx.options
    detail = f"base model, temperature {options.temperature}, top-p {options.top_p}"
    rows = []
    for slot, reply in zip(slots, ctx.generated, strict=True):
        text = trim_to_sentence(reply, options.max_chars)
        if text:
            rows.append(slot.negative(text, "base_sampling", detail))
    return rows
