"""Strategy 6: SFT-model replies judged off-persona — the automated stand-in for the seed's manual review.

The seed's best negatives are the fine-tuned model's own replies that a person marked as "not me". Here a
judge plays that person: a char n-gram + style classifier (`align.style`) trained to tell the persona's real
replies of the split from the SFT model's replies to the same prompts. Every SFT reply is scored by a judge
that never saw it (k-fold, out-of-fold probabilities); those it still tells apart from the persona, below
`threshold`, become negatives. They are exactly the tells that give the SFT model away (a repeated word, an
emoji the persona never uses, a reply too long or too tidy), which is what KTO should push it away from,
and they are as long and as informal as the persona's replies, so KTO cannot simply learn "shorter is
better" from them.

The general persona filter of the stage (`max_persona_probability`) does not second-guess these rows: that
judge contrasts the persona with formal, generic text, and scores most SFT replies persona-like.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from align.negatives import GenerationSpec, ModelOptions, Slot, StrategyContext, register
from align.negatives.text import normalize, trim_to_sentence
from align.style import out_of_fold_probabilities
from core.schema import KtoRow


@dataclass
class OffPersonaOptions(ModelOptions):
    threshold: float = 0.3
    "SFT replies whose persona probability (out-of-fold judge of real vs SFT replies) is below it: negatives."
    samples_per_prompt: int = 3
    "Replies sampled per prompt: only the off-persona ones are kept, so sample more than needed."
    temperature: float = 0.9
    top_p: float = 0.95


def generation(slots: list[Slot], options: OffPersonaOptions) -> GenerationSpec:
    prompts = [list(slot.prompt) for slot in slots for _ in range(options.samples_per_prompt)]
    return GenerationSpec("sft", prompts, options.sampling())


@register(
    "off_persona", generation=generation, requires="sft_adapter", options=OffPersonaOptions, judged=True
)
def build(slots: list[Slot], ctx: StrategyContext) -> list[KtoRow]:
    options: OffPersonaOptions = ctx.options
    replies = [trim_to_sentence(reply, options.max_chars) for reply in ctx.generated]
    scored = [i for i, reply in enumerate(replies) if normalize(reply)]
    if len(scored) < 2 or len(ctx.persona_replies) < 2:
        return []
    persona, sft_replies = ctx.persona_replies, [replies[i] for i in scored]
    scores = out_of_fold_probabilities(persona, sft_replies, seed=ctx.rng.randrange(2**31))
    probabilities = dict(zip(scored, scores[len(persona) :], strict=True))
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
