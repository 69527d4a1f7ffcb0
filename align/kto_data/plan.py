"""How many negatives each strategy writes per split, and for which positives (one `Task` each)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from align.kto_data.config import ONPOLICY_FILE, SPLITS, KTODataConfig
from align.negatives import Slot, Split, Strategy, get_strategy
from core.errors import ChatLikeMeError
from core.schema import ChatMessage


def effective_shares(config: KTODataConfig, split: Split, available: set[str]) -> dict[str, float]:
    """Shares of the strategies that can run for `split`, rescaled to sum to 1."""
    runnable = {}
    for name, share in config.strategies.items():
        strategy = get_strategy(name)
        can_run = strategy.requires is None or strategy.requires in available
        if share > 0 and split in strategy.splits and can_run:
            runnable[name] = share
    total = sum(runnable.values())
    if split == "train" and not total:
        needs = [f"{n} {requirement(get_strategy(n))}" for n, s in config.strategies.items() if s > 0]
        raise ChatLikeMeError(f"no negative strategy with a share can run here ({'; '.join(needs)})")
    return {name: share / total for name, share in runnable.items()}


def requirement(strategy: Strategy) -> str:
    if strategy.requires is None:
        return "needs nothing"
    if strategy.requires == "onpolicy":
        return f"needs --sft-adapter and {ONPOLICY_FILE} (ingest's onpolicy_fraction)"
    return f"needs --{strategy.requires.replace('_', '-')}"


def allocate(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Split `total` by `shares` into integers summing to `total` (largest remainders first)."""
    raw = {name: total * share for name, share in shares.items()}
    counts = {name: int(value) for name, value in raw.items()}
    by_remainder = sorted(raw, key=lambda name: (counts[name] - raw[name], name))
    for name in by_remainder[: total - sum(counts.values())]:
        counts[name] += 1
    return counts


def pick_slots(slots: list[Slot], count: int, rng: random.Random) -> list[Slot]:
    """`count` slots, cycling through all of them in random order before any repeats."""
    picked: list[Slot] = []
    while slots and len(picked) < count:
        batch = slots[:]
        rng.shuffle(batch)
        picked += batch[: count - len(picked)]
    return picked


@dataclass
class Task:
    """One strategy's work on one split."""

    split: Split
    strategy: Strategy
    slots: list[Slot]
    target: int
    rng: random.Random
    prompts: list[list[ChatMessage]] = field(default_factory=list)  # its generation prompts, if any
    generated: list[str] = field(default_factory=list)


def plan_tasks(
    config: KTODataConfig,
    positives: dict[Split, list[Slot]],
    available: set[str],
    onpolicy: dict[Split, list[Slot]] | None = None,
) -> list[Task]:
    tasks = []
    for split in SPLITS:
        shares = effective_shares(config, split, available)
        budget = round(config.negatives_per_positive * len(positives[split]))
        for name, target in allocate(budget, shares).items():
            rng = random.Random(f"{config.seed}/{split}/{name}")
            strategy = get_strategy(name)
            if strategy.requires == "onpolicy":  # every held-out prompt (up to max_prompts), sampled anew
                pool = (onpolicy or {}).get(split, [])
                cap = config.on_policy.max_prompts
                slots = rng.sample(pool, cap) if cap is not None and cap < len(pool) else list(pool)
            else:
                slots = pick_slots(positives[split], target, rng) if strategy.requires != "votes" else []
            tasks.append(Task(split, strategy, slots, target, rng))
    return tasks
