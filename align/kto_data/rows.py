"""One split's rows: its positives and every strategy's negatives, cut, filtered and shuffled."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from align.context_fit import LazyScorer
from align.kto_data.config import REAL, KTODataConfig
from align.kto_data.filters import cut_to_length, drop_persona_like, keep_rows, slot_places
from align.kto_data.judge import LazyJudge
from align.kto_data.plan import Task
from align.kto_data.positives import SftData
from align.negatives import Slot, Split, StrategyContext
from core.schema import ChatMessage, KtoRow


def positive_row(slot: Slot) -> KtoRow:
    return KtoRow(
        prompt=list(slot.prompt),
        completion=[ChatMessage("assistant", slot.reply)],
        label=True,
        strategy=REAL,
        sample_id=slot.sample_id,
        chat_id=slot.chat_id,
    )


@dataclass
class SplitRows:
    rows: list[KtoRow]
    produced: Counter[str]  # rows each strategy returned
    dropped: dict[str, Counter[str]]  # strategy -> reason -> rows dropped
    cut: Counter[str]  # strategy -> negatives cut to the length of their real reply


@dataclass
class Inputs:
    """What every strategy may draw on, besides its own task."""

    data: SftData
    judge: LazyJudge
    config: KTODataConfig
    votes_db: Path | None
    scorer: LazyScorer

    def context(self, task: Task) -> StrategyContext:
        return StrategyContext(
            split=task.split,
            target=task.target,
            rng=task.rng,
            options=getattr(self.config, task.strategy.name, None),
            other_turns=self.data.other_turns[task.split],
            persona_replies=self.data.persona_replies[task.split],
            generated=task.generated,
            votes_db=self.votes_db,
            votes_since=self.config.votes_since,
            split_slots=self.data.positives[task.split],
            scorer=self.scorer,
        )


def build_split(split: Split, tasks: list[Task], inputs: Inputs) -> SplitRows:
    """The positives and every strategy's negatives of one split, filtered and shuffled."""
    data, config, judge = inputs.data, inputs.config, inputs.judge
    candidates = [positive_row(slot) for slot in data.positives[split]]
    produced: Counter[str] = Counter()
    for task in tqdm([t for t in tasks if t.split == split], desc=f"negatives ({split})", unit="strategy"):
        made = task.strategy.build(task.slots, inputs.context(task))
        produced[task.strategy.name] += sum(row.strategy != REAL for row in made)  # not on_policy's real rows
        candidates += made
    sources = slot_places(data.positives[split] + data.onpolicy[split])
    cut: Counter[str] = Counter()
    if config.max_length_ratio is not None:
        candidates = cut_to_length(candidates, sources, config.max_length_ratio, config.min_cut_chars, cut)
    rows, dropped = keep_rows(candidates, sources, config.max_similarity)
    if config.max_persona_probability is not None:
        rows = drop_persona_like(rows, judge(), config.max_persona_probability, dropped)
    data.positive_stats[split]["duplicate_rows"] = dropped.pop(REAL, Counter())["duplicate"]
    random.Random(f"{config.seed}/{split}/order").shuffle(rows)  # batches mix labels and strategies
    return SplitRows(rows, produced, dropped, cut)
