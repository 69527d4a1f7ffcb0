"""Strategy 6: SFT-model replies judged off-persona — the automated stand-in for the seed's manual review.

The seed's best negatives are the fine-tuned model's own replies that a person marked as "not me". Here a
judge plays that person: a char n-gram + style classifier (`align.style`) trained to tell the persona's real
replies of the split from the SFT model's replies to the same prompts. Every SFT reply is scored by a judge
that never saw it (k-fold, out-of-fold probabilities); those it still tells apart from the persona, below
`threshold`, become negatives. They are exactly the tells that give the SFT model away (a repeated word, an
emoji the persona never uses, a reply too long or too tidy), which is what KTO should push it away from,
and they are as long and as informal as the persona's replies, so KTO cannot simply learn "shorter is
better" from them.

Sampling, judging and rows go through `align.negatives.policy_samples`, shared with `off_context` and
`on_policy`. The general persona filter of the stage (`max_persona_probability`) does not second-guess
these rows: that judge contrasts the persona with formal, generic text, and scores most SFT replies
persona-like.
"""

from __future__ import annotations

from dataclasses import dataclass

from align.negatives import ModelOptions, Slot, StrategyContext, register
from align.negatives.policy_samples import persona_probabilities, policy_samples, sft_generation, verdict_rows
from core.schema import KtoRow


@dataclass
class OffPersonaOptions(ModelOptions):
    threshold: float = 0.3
    "SFT replies whose persona probability (out-of-fold judge of real vs SFT replies) is below it: negatives."
    samples_per_prompt: int = 3
    "Replies sampled per prompt: only the off-persona ones are kept, so sample more than needed."
    temperature: float = 0.9
    top_p: float = 0.95


@register(
    "off_persona", generation=sft_generation, requires="sft_adapter", options=OffPersonaOptions, judged=True
)
def build(slots: list[Slot], ctx: StrategyContext) -> list[KtoRow]:
    options: OffPersonaOptions = ctx.options
    samples = policy_samples(slots, ctx)
    probabilities = persona_probabilities(samples, ctx)
    if probabilities is None:
        return []
    rejected = {
        i: f"judge: persona probability {p:.2f}" for i, p in enumerate(probabilities) if p < options.threshold
    }
    return verdict_rows(slots, samples, rejected, "off_persona", ctx)
