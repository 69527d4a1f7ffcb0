"""Strategy 6: SFT-model replies judged off-persona — the automated stand-in for the seed's manual review.

The seed's best negatives are the fine-tuned model's own replies that a person marked as "not me". Here the
persona judge (`align.style.PersonaJudge`: char n-grams + style features, trained on the persona's real
replies against other speakers, stock phrases and base-model outputs) plays that person: of several sampled
SFT replies per prompt, those it scores below `threshold` become negatives. They are exactly the mistakes
the SFT model makes, which is what KTO should push it away from.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from align.negatives import GenerationSpec, ModelOptions, Slot, StrategyContext, register
from align.negatives.text import normalize, trim_to_sentence
from core.schema import KtoRow


@dataclass
class OffPersonaOptions(ModelOptions):
    threshold: float = 0.3
    "SFT replies whose persona probability (judge) is below this become negatives."
    samples_per_prompt: int = 3
    "Replies sampled per prompt: only the off-persona ones are kept, so sample more than needed."
    temperature: float = 0.9
    top_p: float = 0.95


def generation(slots: list[Slot], options: OffPersonaOptions) -> GenerationSpec:
    prompts = [list(slot.prompt) for slot in slots for _ in range(options.samples_per_prompt)]
    return GenerationSpec("sft", prompts, options.sampling())


@register("off_persona", generation=generation, requires="sft_adapter", options=OffPersonaOptions)
def build(slots: list[Slot], ctx: StrategyContext) -> list[KtoRow]:
    options: OffPersonaOptions = ctx.options
    replies = [trim_to_sentence(reply, options.max_chars) for reply in ctx.generated]
    scored = [i for i, reply in enumerate(replies) if normalize(reply)]
    if not scored:
        return []
    scores = ctx.judge().persona_probability([replies[i] for i in scored])
    probabilities = dict(zip(scored, scores, strict=True))
    # Off-persona candidates in random order, each prompt's first pick before any prompt's second: the
    # negatives cover as many prompts as possible.
    per_slot = len(replies) // len(slots)
    candidates = [i for i in scored if probabilities[i] < options.threshold]
    ctx.rng.shuffle(candidates)
    picks_of_slot: Counter[int] = Counter()
    ranked = []
    for i in candidates:
        ranked.append((picks_of_slot[i // per_slot], i))
        picks_of_slot[i // per_slot] += 1
    ordered = [i for _, i in sorted(ranked, key=lambda pair: pair[0])]
    rows = []
    for i in ordered[: ctx.target]:
        detail = f"judge: persona probability {probabilities[i]:.2f}"
        rows.append(slots[i // per_slot].negative(replies[i], "off_persona", detail))
    return rows
