"""Strategy 8: wrong-context replies — the persona's own real words, sent to a conversation they do not fit.

A persona bot's commonest fault is not a foreign voice but a right-voice reply in the wrong place: "sushi
dai" when nobody mentioned dinner, tomorrow's plan in a chat about yesterday's match. The other strategies
cannot show KTO that fault, since their negatives do not sound like the persona. This one takes real persona
replies of *other* conversations of the split and places them after a slot's prompt, keeping only those the
context scorer (the base model, `align.context_fit`) finds much likelier in their own conversation than here:

    fit gap = log p(reply | its own conversation) - log p(reply | this slot's conversation)   >= min_fit_gap

Replies that fit anywhere ("ok", "ahah", an emoji) have a gap near 0 and are never used: pushing them down
would teach the model to avoid the persona's fillers, not to answer the conversation. The rows are the
persona's words, so the stage's persona filter does not second-guess them (`judged`), and a row never equals
(or nearly equals) the real reply of its own prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

from align.negatives import Slot, StrategyContext, register
from align.negatives.text import normalize
from core.schema import KtoRow


@dataclass
class WrongContextOptions:
    candidates: int = 4
    "Real replies of other conversations tried per slot (each costs two scorer passes over the reply)."
    min_fit_gap: float = 2.0
    "Nats by which a reply must fit its own conversation better than the slot's to become a negative."


@register("wrong_context", options=WrongContextOptions, judged=True)
def build(slots: list[Slot], ctx: StrategyContext) -> list[KtoRow]:
    options: WrongContextOptions = ctx.options
    pool = ctx.split_slots
    if ctx.scorer is None or len({s.conversation for s in pool}) < 2:
        return []
    trials = []  # (target slot, donor slot)
    for slot in slots[: ctx.target]:
        donors = [d for d in pool if d.conversation != slot.conversation]
        donors = [d for d in donors if normalize(d.reply) != normalize(slot.reply)]
        trials += [(slot, donor) for donor in ctx.rng.sample(donors, min(options.candidates, len(donors)))]
    if not trials:
        return []
    # Each conversation is encoded once: requests name contexts by their slot's place in `places`.
    places: dict[int, int] = {}
    for slot in (s for trial in trials for s in trial):
        places.setdefault(id(slot), len(places))
    contexts = [[] for _ in places]
    for slot in (s for trial in trials for s in trial):
        contexts[places[id(slot)]] = list(slot.prompt)
    requests = [(places[id(slot)], donor.reply) for slot, donor in trials]
    requests += [(places[id(donor)], donor.reply) for _, donor in trials]
    scores = ctx.scorer().log_probs(contexts, requests)
    here, own = scores[: len(trials)], scores[len(trials) :]

    best: dict[int, tuple[float, Slot, Slot]] = {}
    for (slot, donor), gap in zip(trials, own - here, strict=True):
        key = id(slot)
        if gap >= options.min_fit_gap and (key not in best or gap > best[key][0]):
            best[key] = (float(gap), slot, donor)
    rows = []
    for gap, slot, donor in best.values():
        detail = f"fits its own conversation ({donor.sample_id}) by {gap:.1f} nats more"
        rows.append(slot.negative(donor.reply, "wrong_context", detail))
    return rows
