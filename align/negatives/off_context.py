"""Strategy 9: on-policy replies that miss the conversation — the SFT model's own samples, judged in context.

The SFT model sounds like the persona (its assistant-voice rate is about 0), so negatives that do not sound
like the persona teach KTO nothing it would use. What it still gets wrong is *what* it answers: a stock reply
that fits any chat, a plan nobody asked about. This strategy samples the SFT model on the slots' prompts and
asks the context scorer (the base model, `align.context_fit`) how much each sample's own conversation
explains it, against `distractors` other conversations of the split:

    relevance = log p(sample | its conversation) - mean log p(sample | other conversations)

A sample is undesirable when its relevance is below `max_relevance` nats and below `relative_to_real` times
the real reply's own relevance (the persona's real answer to that prompt sets the bar), or when it copies a
stock reply of the persona (a training reply) while fitting the conversation no better than that. Samples
equal or near to the real reply are never negatives. The rows are the model's own replies (on-policy): they
are what it would say, so pushing them down changes what it generates. Sampling, scoring and rows go through
`align.negatives.policy_samples`, the path `off_persona` and `on_policy` share.
"""

from __future__ import annotations

from dataclasses import dataclass

from align.negatives import ModelOptions, Slot, StrategyContext, register
from align.negatives.policy_samples import context_relevance, policy_samples, sft_generation, verdict_rows
from align.negatives.text import normalize
from core.schema import KtoRow


@dataclass
class OffContextOptions(ModelOptions):
    samples_per_prompt: int = 2
    "SFT replies sampled per prompt: only those that miss the conversation are kept."
    distractors: int = 3
    "Other conversations each sample is also scored after (relevance = own minus their mean)."
    max_relevance: float = 1.0
    "Nats: a sample whose conversation explains it less than this may be a negative."
    relative_to_real: float = 0.5
    "... and only if its relevance is below this share of the real reply's relevance on the same prompt."
    temperature: float = 0.9
    top_p: float = 0.95
    max_new_tokens: int = 32


def context_verdict(
    text: str, relevance: float, real: float, stock: set[str], options: OffContextOptions
) -> str | None:
    """Why a sample misses its conversation (None: it does not); `off_context` and `on_policy` share it."""
    copied = normalize(text) in stock
    if copied and relevance < real:
        return f"copies a persona reply: relevance {relevance:.1f} nats (real reply {real:.1f})"
    if relevance < options.max_relevance and relevance < options.relative_to_real * real:
        return f"misses the conversation: relevance {relevance:.1f} nats (real reply {real:.1f})"
    return None


@register(
    "off_context", generation=sft_generation, requires="sft_adapter", options=OffContextOptions, judged=True
)
def build(slots: list[Slot], ctx: StrategyContext) -> list[KtoRow]:
    options: OffContextOptions = ctx.options
    samples = policy_samples(slots, ctx)
    scored = context_relevance(slots, samples, ctx, options.distractors) if samples else None
    if scored is None:
        return []
    relevance, real = scored
    stock = {normalize(reply) for reply in ctx.persona_replies}
    rejected = {}
    for i, sample in enumerate(samples):
        why = context_verdict(sample.text, relevance[i], real[sample.slot], stock, options)
        if why is not None:
            rejected[i] = why
    return verdict_rows(slots, samples, rejected, "off_context", ctx)
