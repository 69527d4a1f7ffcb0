"""Strategy 10: on-policy samples on prompts SFT never trained on, labelled by the context-aware judges.

Ingest keeps a slice of the training sessions out of SFT (`onpolicy_fraction`, `sft/onpolicy.jsonl`). On
those prompts the SFT model cannot recite a memorised reply: what it samples there is what it would say to a
new message. This strategy samples it `samples_per_prompt` times per prompt and judges every sample against
the persona's real reply to the same prompt:

- off context: relevance (`align.context_fit`, as in `off_context`) below `max_relevance` nats and below
  `relative_to_real` times the real reply's, or a copied stock reply that fits no better than the real one;
- too generic / wrong register: the out-of-fold style judge (as in `off_persona`) finds it persona-like with
  probability below `min_persona_probability`;
- wrong length: longer than `max_length_ratio` times both the real reply and the persona's median reply.

A sample any judge rejects is undesirable (the reasons are its `detail`); when more are rejected than rows are
wanted, `length_tolerance` and `most_detectable_first` choose which come first (`rejection_rank`). The
real reply of every on-policy prompt is desirable (strategy `real`, detail `on-policy prompt`). With
`desirable_when_indistinguishable` (off by default) a sample that every judge passes strictly — relevance at
least the real reply's, persona probability at least `desirable_persona_probability`, length within
`max_length_ratio` of the real reply — is desirable too (detail `indistinguishable ...`; the report counts
them). Samples equal to the real reply are never rows. The strategy needs `--sft-adapter` and
`sft/onpolicy.jsonl` (requirement `onpolicy`); without the file its share goes to the others, and
`off_context`/`off_persona` sample training prompts.
"""

from __future__ import annotations

import random
import re
import statistics
from dataclasses import dataclass

import msgspec

from align.negatives import ModelOptions, Slot, StrategyContext, register
from align.negatives.off_context import OffContextOptions, context_verdict
from align.negatives.policy_samples import (
    PolicySample,
    context_relevance,
    persona_probabilities,
    policy_samples,
    sft_generation,
    spread,
    verdict_rows,
)
from align.negatives.text import normalize
from core.schema import ChatMessage, KtoRow

INDISTINGUISHABLE = "indistinguishable from the real reply"
ONPOLICY_PROMPT = "on-policy prompt"


@dataclass
class OnPolicyOptions(ModelOptions):
    samples_per_prompt: int = 4
    "SFT replies sampled per on-policy prompt."
    max_prompts: int | None = None
    "Use at most this many on-policy prompts (None: all)."
    distractors: int = 3
    "Other conversations each sample is also scored after (relevance = own minus their mean)."
    max_relevance: float = 1.0
    "Nats: below this (and below `relative_to_real` times the real reply's) a sample is off context."
    relative_to_real: float = 0.5
    min_persona_probability: float = 0.3
    "The style judge's persona probability below which a sample is too generic for this persona."
    max_length_ratio: float = 3.0
    "A sample longer than this many times the real reply and the persona's median reply is too long."
    most_detectable_first: bool = False
    "More rejected samples than rows: the least persona-like first (the SFT model's clearest tells)."
    length_tolerance: float | None = None
    "More rejected samples than rows: those within this fraction of their real reply's length first."
    cut_short_share: float = 0.0
    "Also keep this share of the undesirable rows cut short (see `cut_short`) as more undesirable rows."
    desirable_when_indistinguishable: bool = False
    "Label desirable the samples every judge passes strictly (off: only the real reply is desirable)."
    desirable_persona_probability: float = 0.6
    "... the style judge's persona probability such a sample needs."
    max_desirable_samples: int = 1
    "... at most this many per prompt."
    temperature: float = 0.9
    top_p: float = 0.95
    max_new_tokens: int = 32


@register(
    "on_policy",
    generation=sft_generation,
    requires="onpolicy",
    splits=("train",),
    options=OnPolicyOptions,
    judged=True,
)
def build(slots: list[Slot], ctx: StrategyContext) -> list[KtoRow]:
    options: OnPolicyOptions = ctx.options
    real_rows = [real_row(slot) for slot in slots]
    samples = policy_samples(slots, ctx)
    if not samples:
        return real_rows
    context = OffContextOptions(
        distractors=options.distractors,
        max_relevance=options.max_relevance,
        relative_to_real=options.relative_to_real,
    )
    scored = context_relevance(slots, samples, ctx, options.distractors)
    probabilities = persona_probabilities(samples, ctx)
    median = statistics.median(len(r) for r in ctx.persona_replies) if ctx.persona_replies else 0
    stock = {normalize(reply) for reply in ctx.persona_replies}
    rejected: dict[int, str] = {}
    accepted: list[int] = []
    for i, sample in enumerate(samples):
        real = slots[sample.slot].reply
        reasons = []
        if scored is not None:
            why = context_verdict(sample.text, scored[0][i], scored[1][sample.slot], stock, context)
            reasons += [why] if why else []
        if probabilities is not None and probabilities[i] < options.min_persona_probability:
            reasons.append(f"too generic: persona probability {probabilities[i]:.2f}")
        if len(sample.text) > options.max_length_ratio * max(len(real), median):
            reasons.append(f"too long: {len(sample.text)} characters (real reply {len(real)})")
        if reasons:
            rejected[i] = "; ".join(reasons)
        elif (
            scored is not None
            and probabilities is not None
            and scored[0][i] >= scored[1][sample.slot]
            and probabilities[i] >= options.desirable_persona_probability
            and len(sample.text) <= options.max_length_ratio * len(real)
        ):
            accepted.append(i)
    rank = rejection_rank(slots, samples, probabilities, options)
    negatives = verdict_rows(slots, samples, rejected, "on_policy", ctx, rank)
    rows = real_rows + negatives + cut_short(negatives, options.cut_short_share, ctx.rng)
    if options.desirable_when_indistinguishable:
        per_prompt: dict[int, int] = {}
        most_persona_like = [(0.0, -p) for _, p in rank] if rank is not None else None
        for i in spread(accepted, samples, ctx, most_persona_like):
            slot = samples[i].slot
            if per_prompt.get(slot, 0) < options.max_desirable_samples:
                per_prompt[slot] = per_prompt.get(slot, 0) + 1
                detail = (
                    f"{INDISTINGUISHABLE}: relevance {scored[0][i]:.1f} nats, persona {probabilities[i]:.2f}"
                )
                rows.append(desirable_sample(slots[slot], samples[i].text, detail))
    return rows


def rejection_rank(
    slots: list[Slot],
    samples: list[PolicySample],
    probabilities: list[float] | None,
    options: OnPolicyOptions,
) -> list[tuple[float, float]] | None:
    """Which rejected samples to keep first when there are more than rows (None: a random pick).

    Sorted by (length mismatch, persona probability): with `length_tolerance`, samples whose length is
    within that fraction of their own prompt's real reply come first, so that the negatives do not teach
    KTO a length (the self-play negatives shortened the replies: docs/kto-and-eval.md); then, with
    `most_detectable_first`, the least persona-like."""
    tolerance = options.length_tolerance
    persona = probabilities if options.most_detectable_first else None
    if tolerance is None and persona is None:
        return None
    rank = []
    for i, sample in enumerate(samples):
        real = max(1, len(slots[sample.slot].reply))
        outside = tolerance is not None and abs(len(sample.text) - real) / real > tolerance
        rank.append((float(outside), persona[i] if persona is not None else 0.0))
    return rank


def cut_short(negatives: list[KtoRow], share: float, rng: random.Random) -> list[KtoRow]:
    """Copies of `share` of the negatives of three or more words, ending after a third to two thirds of them.

    Why: pushing the policy's own samples down takes probability from the tokens they continue with, and
    part of it goes to ending the reply there (self-play negatives shortened KTO's replies even when they
    were as long as the real ones: docs/kto-and-eval.md). A negative that ends early pushes that end down."""
    chosen = [row for row in negatives if len(row.completion[0].content.split()) >= 3]
    rows = []
    for row in rng.sample(chosen, round(share * len(chosen))):
        content = row.completion[0].content
        words = list(re.finditer(r"\S+", content))  # the persona's line breaks stay as they are
        keep = rng.randint(len(words) // 3, 2 * len(words) // 3)
        text = content[: words[keep - 1].end()].rstrip(",;:")
        detail = f"cut short: {keep} of {len(words)} words; {row.detail}"
        rows.append(msgspec.structs.replace(row, completion=[ChatMessage("assistant", text)], detail=detail))
    return rows


def real_row(slot: Slot) -> KtoRow:
    """The persona's real reply to an on-policy prompt: desirable."""
    return KtoRow(
        prompt=list(slot.prompt),
        completion=[ChatMessage("assistant", slot.reply)],
        label=True,
        strategy="real",
        sample_id=slot.sample_id,
        chat_id=slot.chat_id,
        detail=ONPOLICY_PROMPT,
    )


def desirable_sample(slot: Slot, text: str, detail: str) -> KtoRow:
    return KtoRow(
        prompt=list(slot.prompt),
        completion=[ChatMessage("assistant", text)],
        label=True,
        strategy="on_policy",
        sample_id=slot.sample_id,
        chat_id=slot.chat_id,
        detail=detail,
    )
