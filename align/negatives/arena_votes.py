"""Strategy 7: arena votes — people's own judgements from `chatlikeme arena`, read from its SQLite file.

A preferred reply is desirable and the other undesirable; "both bad" makes both undesirable; thumbs up/down
map directly (the mapping lives with the votes store, `core.votes.kto_rows_from_votes`). Votes come from
live conversations, not from the SFT data, so they only ever go to the train split. Every desirable vote
row is kept (real feedback is the best data there is); the undesirable ones count against this strategy's
share like any other negative.
"""

from __future__ import annotations

import msgspec

from align.negatives import Slot, StrategyContext, register
from core.schema import KtoRow
from core.votes import kto_rows_from_votes


def read_votes(ctx: StrategyContext) -> list[KtoRow]:
    """The votes' rows (a file that is not a votes database is a one-line input error)."""
    rows = kto_rows_from_votes(ctx.votes_db, since=ctx.votes_since)
    return [msgspec.structs.replace(row, strategy="arena_votes") for row in rows]


@register("arena_votes", requires="votes", splits=("train",), human=True, check=read_votes)
def build(slots: list[Slot], ctx: StrategyContext) -> list[KtoRow]:
    rows = read_votes(ctx)
    desirable = [row for row in rows if row.label]
    undesirable = [row for row in rows if not row.label]
    ctx.rng.shuffle(undesirable)
    return desirable + undesirable[: ctx.target]
