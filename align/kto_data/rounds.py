"""KTO rounds: the rows the SFT model's samples made, replaced by samples of the previous round's policy
judged again by the same judges (called by the KTO stage, `align.kto`)."""

from __future__ import annotations

import dataclasses
import logging
import random
from pathlib import Path
from typing import Any

from align.context_fit import LazyScorer
from align.generation import GenerationJob, generate, vllm_available
from align.kto_data.config import REAL, KTODataConfig
from align.kto_data.filters import keep_rows, slot_places
from align.kto_data.plan import pick_slots
from align.negatives import Slot, StrategyContext, get_strategy
from align.negatives.on_policy import ONPOLICY_PROMPT
from align.negatives.text import detect_language
from core.schema import KtoRow

log = logging.getLogger(__name__)

POLICY_SAMPLED = ("on_policy", "off_context", "off_persona")  # rows sampled from the policy being trained


def relabel_on_policy(
    data_dir: Path, rows: list[KtoRow], policy_adapter: Path, base_model: str, round_number: int
) -> tuple[list[KtoRow], dict[str, Any]]:
    """The train rows of KTO round `round_number`: the rows the SFT model's samples made (`on_policy`,
    `off_context`, `off_persona`) are replaced by samples of `policy_adapter` (the previous round's policy)
    judged by the same judges; every other row stays. On-policy prompts (the real replies marked
    `on-policy prompt`) are sampled with `on_policy`; a dataset without them (older data folders) with
    `off_context` on every real reply's prompt."""
    config_path = Path(data_dir) / "config.yaml"
    config = KTODataConfig.load(config_path) if config_path.is_file() else KTODataConfig()
    reals = [row for row in rows if row.label and row.strategy == REAL]
    onpolicy_reals = [row for row in reals if row.detail == ONPOLICY_PROMPT]
    name = "on_policy" if onpolicy_reals else "off_context"
    old = [row for row in rows if row.strategy in POLICY_SAMPLED]
    kept = [row for row in rows if row.strategy not in POLICY_SAMPLED]
    language = config.language
    if language == "auto":
        language = detect_language([row.completion[0].content for row in reals])
    all_slots = [real_slot(row, i, language) for i, row in enumerate(reals)]
    if not all_slots:
        return rows, {"strategy": None, "note": "no real reply to sample the policy on: rows unchanged"}
    rng = random.Random(f"{config.seed}/round{round_number}/{name}")
    target = sum(not row.label for row in old) or max(
        1, round(config.strategies.get(name, 0.25) * len(reals))
    )
    if name == "on_policy":
        slots = [slot for slot, row in zip(all_slots, reals, strict=True) if row.detail == ONPOLICY_PROMPT]
    else:
        slots = pick_slots(all_slots, target, rng)
    strategy, options = get_strategy(name), getattr(config, name)
    spec = strategy.generation(slots, options)
    sampling = dataclasses.replace(spec.sampling, seed=config.seed + round_number)
    backend = config.generation_backend
    if backend == "auto":
        backend = "vllm" if vllm_available() else "transformers"
    log.info(f"round {round_number}: sampling {len(spec.prompts)} replies of {policy_adapter} [{backend}]")
    job = GenerationJob(name, Path(policy_adapter), spec.prompts, sampling)
    generated = generate(base_model, [job], backend=backend, batch_size=config.generation_batch_size)[name]
    context = StrategyContext(
        split="train",
        target=target,
        rng=rng,
        options=options,
        other_turns=[],
        persona_replies=list(dict.fromkeys(row.completion[0].content for row in reals)),
        generated=generated,
        split_slots=all_slots,
        scorer=LazyScorer(lambda: base_model),
    )
    made = [row for row in strategy.build(slots, context) if row.strategy == name]
    new, dropped = keep_rows(made, slot_places(all_slots), config.max_similarity)
    summary = {
        "strategy": name,
        "policy": str(policy_adapter),
        "prompts": len(slots),
        "samples": len(generated),
        "replaced_rows": len(old),
        "undesirable": sum(not row.label for row in new),
        "desirable_samples": sum(row.label for row in new),
        "dropped": {reason: n for counts in dropped.values() for reason, n in counts.items()},
    }
    return kept + new, summary


def real_slot(row: KtoRow, index: int, language: str) -> Slot:
    """A desirable row as a slot; its session read back from the sample id (`chat/session/window`)."""
    parts = row.sample_id.split("/")
    session = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else -1 - index
    return Slot(tuple(row.prompt), row.completion[0].content, row.sample_id, row.chat_id, session, language)
