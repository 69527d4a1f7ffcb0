"""The KTO dataset: the persona's real replies (desirable) and synthetic negatives (undesirable).

    config = KTODataConfig.load("cpu-demo")
    build_kto_data("data/sft", "data/kto", config, sft_adapter="runs/1/sft")

1. Positives: every persona (assistant) turn of the SFT data, with everything before it as the prompt,
   deduplicated across overlapping windows and capped per session.
2. Negatives: `negatives_per_positive` per positive, divided among the strategies of `align.negatives` by
   their shares; strategies that cannot run (no SFT adapter, no votes) pass their share on to the others.
   Every model generation of every strategy runs in ONE `align.generation.generate` call.
3. Guarantees: no negative equals or nearly copies (normalised) the real reply of its own prompt (a real
   reply of *another* conversation may be one: `wrong_context` is exactly that);
   duplicates removed; the eval split is built from eval-split samples only; same seed, same dataset.
4. Weights λD, λU such that λD·nD / (λU·nU) falls inside `weight_ratio_range` (KTO paper, eq. 8), written
   to `report.json["weights"]`, where the KTO stage reads them.

Output: `{train,eval}.jsonl` (TRL's unpaired conversational format + metadata), `axolotl/{train,eval}.jsonl`
(system/prompt/completion/label), `report.{json,md}`, `lengths.png`, `config.yaml`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

from align.context_fit import LazyScorer
from align.kto_data.config import DEFAULT_SHARES, ONPOLICY_FILE, REAL, SPLITS, KTODataConfig
from align.kto_data.filters import drop_persona_like, keep_rows, slot_places
from align.kto_data.generation import base_model_for, find_adapter, generation_jobs, run_generation
from align.kto_data.judge import LazyJudge
from align.kto_data.output import write_dataset
from align.kto_data.plan import Task, plan_tasks
from align.kto_data.positives import (
    SftData,
    chat_languages,
    find_sft_dir,
    load_sft_data,
    other_turns,
    persona_replies,
    persona_slots,
    read_split,
)
from align.kto_data.report import (
    chats_per_language,
    examples,
    kto_weights,
    label_counts,
    length_cut_rule,
    length_stats,
    onpolicy_report,
    strategy_report,
)
from align.kto_data.rounds import relabel_on_policy
from align.kto_data.rows import Inputs, build_split
from core.errors import ChatLikeMeError, input_error

log = logging.getLogger(__name__)

# What `align.kto_data` offers: the names the CLI, the flows, the KTO stage, the benchmark and the tests
# import from it (they predate the package), and the constants and types those take or return.
__all__ = [
    "DEFAULT_SHARES",
    "ONPOLICY_FILE",
    "REAL",
    "SPLITS",
    "KTODataConfig",
    "SftData",
    "Task",
    "base_model_for",
    "build_kto_data",
    "chat_languages",
    "drop_persona_like",
    "find_sft_dir",
    "generation_jobs",
    "keep_rows",
    "kto_weights",
    "other_turns",
    "persona_replies",
    "persona_slots",
    "plan_tasks",
    "read_split",
    "relabel_on_policy",
]


def build_kto_data(
    sft_dir: str | Path,
    out_dir: str | Path,
    config: KTODataConfig | None = None,
    *,
    base_model: str | None = None,
    sft_adapter: str | Path | None = None,
    votes_db: str | Path | None = None,
) -> Path:
    """Build `out_dir/{train,eval}.jsonl` (+ axolotl export, report) from the SFT data in `sft_dir`."""
    started = time.perf_counter()
    config = (config or KTODataConfig()).validated("kto-data config")
    sft_dir = find_sft_dir(Path(sft_dir))
    sft_adapter = find_adapter(Path(sft_adapter)) if sft_adapter is not None else None
    votes_db = Path(votes_db) if votes_db is not None else None
    if votes_db is not None and not votes_db.is_file():
        raise input_error(votes_db, "votes database not found")
    if votes_db is not None and not config.strategies.get("arena_votes"):
        raise ChatLikeMeError("--votes given but the config gives the 'arena_votes' strategy no share")

    data = load_sft_data(sft_dir, config)
    counts = {split: len(data.positives[split]) for split in SPLITS}
    log.info(f"{counts['train']} train and {counts['eval']} eval positives ({data.persona_language})")
    available = {name for name, given in (("sft_adapter", sft_adapter), ("votes", votes_db)) if given}
    if sft_adapter is not None and data.onpolicy["train"]:
        available.add("onpolicy")
    tasks = plan_tasks(config, data.positives, available, data.onpolicy)
    scorer = LazyScorer(lambda: base_model_for(base_model or config.base_model, sft_adapter))
    inputs = Inputs(data, LazyJudge(data, tasks, config.seed), config, votes_db, scorer)
    for task in tasks:  # bad input (a votes file of the wrong kind) fails now, not after generation
        if task.strategy.check is not None:
            task.strategy.check(inputs.context(task))
    generation = run_generation(tasks, config, base_model, sft_adapter)
    splits = {split: build_split(split, tasks, inputs) for split in SPLITS}

    train_labels = Counter(row.label for row in splits["train"].rows)
    if not train_labels[False]:
        drops = {name: dict(reasons) for name, reasons in splits["train"].dropped.items()}
        raise ChatLikeMeError(
            f"no undesirable train row is left after the filters (dropped: {drops}); give the strategies "
            "more share or loosen max_persona_probability / max_similarity"
        )
    weights = kto_weights(train_labels[True], train_labels[False], config.weight_ratio_range)
    report = {
        "sft_dir": str(sft_dir),
        "sft_adapter": str(sft_adapter) if sft_adapter else None,
        "votes_db": str(votes_db) if votes_db else None,
        "seed": config.seed,
        "persona_language": data.persona_language,
        "chats_per_language": chats_per_language(data),
        "positives": data.positive_stats,
        "onpolicy": onpolicy_report(sft_dir, data, splits["train"].rows, available),
        "strategies": strategy_report(config, tasks, splits, available),
        "counts": {split: label_counts(splits[split].rows) for split in SPLITS},
        "weights": weights,
        "lengths": length_stats(splits["train"].rows + splits["eval"].rows),
        "length_cut": length_cut_rule(config),
        "generation": generation,
        "examples": examples(splits["train"].rows, slot_places(data.positives["train"])),
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_dataset(Path(out_dir), {split: splits[split].rows for split in SPLITS}, report, config)
    log.info(
        f"wrote {out_dir}: {sum(train_labels.values())} train rows ({train_labels[True]} desirable), "
        f"{len(splits['eval'].rows)} eval rows; "
        f"λD={weights['desirable_weight']:.3g} λU={weights['undesirable_weight']:.3g}"
    )
    return Path(out_dir)
