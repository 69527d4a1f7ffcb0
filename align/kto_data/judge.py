"""The persona judge of the stage: fitted once, on first use, from the train split only."""

from __future__ import annotations

import logging

from align.kto_data.plan import Task
from align.kto_data.positives import SftData
from align.negatives.text import template_bank
from align.style import PersonaJudge

log = logging.getLogger(__name__)


class LazyJudge:
    """The persona judge, fitted on first use (after generation) from train-split data only: the persona's
    replies against everyone else — other speakers, stock formal phrases, the base model's replies."""

    def __init__(self, data: SftData, tasks: list[Task], seed: int) -> None:
        self.data, self.tasks, self.seed = data, tasks, seed
        self.judge: PersonaJudge | None = None

    def __call__(self) -> PersonaJudge:
        if self.judge is None:
            train = [t for t in self.tasks if t.split == "train" and t.strategy.name == "base_sampling"]
            base_replies = [reply for task in train for reply in task.generated]
            stock = list(template_bank(self.data.persona_language).formal_phrases)
            persona = sorted({slot.reply for slot in self.data.positives["train"]})
            others = [turn.text for turn in self.data.other_turns["train"]] + stock + base_replies
            log.info(f"fitting the persona judge on {len(persona)} persona and {len(others)} other replies")
            self.judge = PersonaJudge(self.seed).fit(persona, others)
        return self.judge
