"""The one path of the strategies that sample the policy and judge its samples (`off_context`, `off_persona`,
`on_policy`): sample the SFT model `samples_per_prompt` times per slot, drop samples equal to the slot's real
reply, score the rest with the context-aware judges, and turn the verdicts into rows.

    samples = policy_samples(slots, ctx)                   # (slot index, text), never the real reply
    relevance, real = context_relevance(slots, samples, ctx, distractors)
    probability = persona_probabilities(samples, ctx)      # the out-of-fold style judge (None: too few)
    rows = verdict_rows(slots, samples, verdicts, "name", ctx)

Relevance (nats) is log p(text | its conversation) - mean log p(text | `distractors` other conversations of
the split), scored by the context scorer (`align.context_fit`); the real reply of each slot is scored the same
way, so a sample is judged against what the persona really said there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from align.negatives import GenerationSpec, ModelOptions, Slot, StrategyContext
from align.negatives.text import normalize, trim_to_sentence
from align.style import out_of_fold_probabilities
from core.schema import KtoRow

Rank = float | tuple[float, ...]  # a sort key per sample: the lowest first


@dataclass(frozen=True)
class PolicySample:
    slot: int  # index of the slot (prompt) it was sampled for
    text: str


def sft_generation(slots: list[Slot], options: ModelOptions) -> GenerationSpec:
    """`options.samples_per_prompt` SFT-model replies per slot, slot by slot."""
    count = options.samples_per_prompt  # type: ignore[attr-defined]
    return GenerationSpec(
        "sft", [list(slot.prompt) for slot in slots for _ in range(count)], options.sampling()
    )


def policy_samples(slots: list[Slot], ctx: StrategyContext) -> list[PolicySample]:
    """The generated replies cut to `max_chars`, without empties and without copies of their slot's real
    reply (a sample equal to the real reply is never a negative)."""
    if not slots or not ctx.generated:
        return []
    per_slot = len(ctx.generated) // len(slots)
    samples = []
    for i, reply in enumerate(ctx.generated):
        text = trim_to_sentence(reply, ctx.options.max_chars)
        slot = slots[i // per_slot]
        if normalize(text) and normalize(text) != normalize(slot.reply):
            samples.append(PolicySample(i // per_slot, text))
    return samples


def context_relevance(
    slots: list[Slot], samples: list[PolicySample], ctx: StrategyContext, distractors: int
) -> tuple[list[float], list[float]] | None:
    """Relevance of every sample and of every slot's real reply (None: no scorer or one conversation)."""
    pool = ctx.split_slots
    if ctx.scorer is None or len({s.conversation for s in pool}) < 2:
        return None
    # Each conversation is encoded once: requests name contexts by their place in `contexts`.
    places: dict[int, int] = {}
    contexts: list[list] = []
    layout: list[list[int]] = []  # slot index -> its context, then its distractors' contexts
    for slot in slots:
        others = [d for d in pool if d.conversation != slot.conversation]
        chosen = ctx.rng.sample(others, min(distractors, len(others)))
        layout.append([])
        for source in (slot, *chosen):
            if id(source) not in places:
                places[id(source)] = len(contexts)
                contexts.append(list(source.prompt))
            layout[-1].append(places[id(source)])
    texts = [(s.slot, s.text) for s in samples] + [(k, slot.reply) for k, slot in enumerate(slots)]
    requests = [(context, text) for k, text in texts for context in layout[k]]
    scores = ctx.scorer().log_probs(contexts, requests) if requests else []
    relevance, offset = [], 0
    for k, _ in texts:
        own, others = scores[offset], scores[offset + 1 : offset + len(layout[k])]
        relevance.append(float(own - others.mean()) if len(others) else 0.0)
        offset += len(layout[k])
    return relevance[: len(samples)], relevance[len(samples) :]


def persona_probabilities(samples: list[PolicySample], ctx: StrategyContext) -> list[float] | None:
    """How persona-like each sample reads to a style judge of the persona's real replies vs these samples,
    each scored out-of-fold (by a judge that never saw it); None when there is too little to fit one."""
    if len(samples) < 2 or len(ctx.persona_replies) < 2:
        return None
    persona = ctx.persona_replies
    scores = out_of_fold_probabilities(persona, [s.text for s in samples], seed=ctx.rng.randrange(2**31))
    return [float(p) for p in scores[len(persona) :]]


def spread(
    picks: list[int], samples: list[PolicySample], ctx: StrategyContext, rank: Sequence[Rank] | None = None
) -> list[int]:
    """`picks` in random order, each prompt's first before any prompt's second: rows cover many prompts.

    With `rank` (a score per sample), the lowest-scored first within each of those tiers instead."""
    picks = list(picks)
    ctx.rng.shuffle(picks)
    if rank is not None:
        picks.sort(key=lambda i: rank[i])
    seen: Counter[int] = Counter()
    ranked = []
    for i in picks:
        ranked.append((seen[samples[i].slot], i))
        seen[samples[i].slot] += 1
    return [i for _, i in sorted(ranked, key=lambda pair: pair[0])]


def verdict_rows(
    slots: list[Slot],
    samples: list[PolicySample],
    rejected: dict[int, str],
    strategy: str,
    ctx: StrategyContext,
    rank: Sequence[Rank] | None = None,
) -> list[KtoRow]:
    """Undesirable rows from the rejected samples (index -> why), spread over prompts, at most target;
    with `rank`, the lowest-ranked rejected samples of each tier first (see `spread`)."""
    return [
        slots[samples[i].slot].negative(samples[i].text, strategy, rejected[i])
        for i in spread(list(rejected), samples, ctx, rank)[: ctx.target]
    ]
