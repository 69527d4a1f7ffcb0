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
are what it would say, so pushing them down changes what it generates.
"""

from __future__ import annotations

from dataclasses import dataclass

from align.negatives import GenerationSpec, ModelOptions, Slot, StrategyContext, register
from align.negatives.text import normalize, trim_to_sentence
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


def generation(slots: list[Slot], options: OffContextOptions) -> GenerationSpec:
    prompts = [list(slot.prompt) for slot in slots for _ in range(options.samples_per_prompt)]
    return GenerationSpec("sft", prompts, options.sampling())


@register(
    "off_context", generation=generation, requires="sft_adapter", options=OffContextOptions, judged=True
)
def build(slots: list[Slot], ctx: StrategyContext) -> list[KtoRow]:
    options: OffContextOptions = ctx.options
    pool = ctx.split_slots
    if ctx.scorer is None or not ctx.generated or len({s.conversation for s in pool}) < 2:
        return []
    per_slot = len(ctx.generated) // len(slots)
    samples = [trim_to_sentence(reply, options.max_chars) for reply in ctx.generated]
    candidates = [
        i
        for i, sample in enumerate(samples)
        if normalize(sample) and normalize(sample) != normalize(slots[i // per_slot].reply)
    ]
    if not candidates:
        return []
    # Every candidate and its slot's real reply, scored after the slot's prompt and after the distractors;
    # each conversation is encoded once (requests name contexts by their place in `places`).
    places: dict[int, int] = {}
    contexts: list[list] = []
    requests: list[tuple[int, str]] = []
    layout: dict[int, list[int]] = {}  # slot index -> its context, then its distractors' contexts
    for s, slot in enumerate(slots):
        others = [d for d in pool if d.conversation != slot.conversation]
        chosen = ctx.rng.sample(others, min(options.distractors, len(others)))
        layout[s] = []
        for source in (slot, *chosen):
            if id(source) not in places:
                places[id(source)] = len(contexts)
                contexts.append(list(source.prompt))
            layout[s].append(places[id(source)])
    texts = {i: samples[i] for i in candidates} | {-1 - s: slot.reply for s, slot in enumerate(slots)}
    order = []
    for key, text in texts.items():
        order.append(key)
        requests += [(context, text) for context in layout[key // per_slot if key >= 0 else -1 - key]]
    scores = ctx.scorer().log_probs(contexts, requests)
    relevance, offset = {}, 0
    for key in order:
        count = len(layout[key // per_slot if key >= 0 else -1 - key])
        own, others = scores[offset], scores[offset + 1 : offset + count]
        relevance[key] = float(own - others.mean()) if len(others) else 0.0
        offset += count

    stock = {normalize(reply) for reply in ctx.persona_replies}
    picked = []
    for i in candidates:
        real = relevance[-1 - i // per_slot]
        low = relevance[i] < options.max_relevance and relevance[i] < options.relative_to_real * real
        copied_stock = normalize(samples[i]) in stock and relevance[i] < real
        if low or copied_stock:
            picked.append(i)
    ctx.rng.shuffle(picked)
    rows = []
    for i in picked[: ctx.target]:
        slot = slots[i // per_slot]
        reason = "copies a persona reply" if normalize(samples[i]) in stock else "misses the conversation"
        detail = (
            f"{reason}: relevance {relevance[i]:.1f} nats (real reply {relevance[-1 - i // per_slot]:.1f})"
        )
        rows.append(slot.negative(samples[i], "off_context", detail))
    return rows
