"""The weights λD, λU and the report: `report.json`'s sections, `report.md` and the `lengths.png` plot."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from align.kto_data.config import ONPOLICY_FILE, REAL, SPLITS, KTODataConfig
from align.kto_data.filters import source_reply
from align.kto_data.plan import Task, requirement
from align.kto_data.positives import SftData
from align.kto_data.rows import SplitRows
from align.negatives import Split, get_strategy
from align.negatives.on_policy import ONPOLICY_PROMPT
from core.errors import ChatLikeMeError
from core.report import md_table, save_figure
from core.schema import KtoRow


def kto_weights(
    n_desirable: int, n_undesirable: int, ratio_range: tuple[float, float] = (1.0, 4 / 3)
) -> dict[str, float]:
    """λD, λU such that λD·nD / (λU·nU) lies in `ratio_range`, keeping one of them at 1.

    Balanced-enough data keeps both at 1. Otherwise the scarcer label is up-weighted to the middle of the
    range (robust to rounding): 1 positive per 10 negatives -> λD ≈ 11.7, λU = 1; nD = 9000, nU = 3000 ->
    λD = 1, λU ≈ 2.57 (the seed's worked examples, with the paper's range).
    """
    if n_desirable <= 0 or n_undesirable <= 0:
        raise ChatLikeMeError(
            f"KTO needs both desirable and undesirable rows (got {n_desirable} and {n_undesirable})"
        )
    low, high = ratio_range
    raw = n_desirable / n_undesirable
    target = (low + high) / 2
    desirable_weight, undesirable_weight = 1.0, 1.0
    if raw < low:
        desirable_weight = target / raw
    elif raw > high:
        undesirable_weight = raw / target
    ratio = desirable_weight * n_desirable / (undesirable_weight * n_undesirable)
    return {
        "desirable_weight": desirable_weight,
        "undesirable_weight": undesirable_weight,
        "ratio": ratio,
        "n_desirable": n_desirable,
        "n_undesirable": n_undesirable,
        "ratio_range": [low, high],
    }


def chats_per_language(data: SftData) -> dict[str, int]:
    chats = {sample.chat_id for split in SPLITS for sample in data.samples[split]}
    return dict(Counter(data.languages[chat] for chat in chats))


def onpolicy_report(sft_dir: Path, data: SftData, rows: list[KtoRow], available: set[str]) -> dict[str, Any]:
    """How many on-policy prompts there were, and how the judges labelled the samples on them."""
    if not (sft_dir / ONPOLICY_FILE).is_file():
        return {
            "prompts": 0,
            "note": f"no {ONPOLICY_FILE} (a data folder from before ingest's onpolicy_fraction): on_policy "
            "is inactive; off_context and off_persona sample the SFT model on training prompts as before",
        }
    ours = [row for row in rows if row.strategy == "on_policy"]
    return {
        "prompts": len(data.onpolicy["train"]),
        "active": "onpolicy" in available,
        "undesirable_samples": sum(not row.label for row in ours),
        "desirable_samples": sum(row.label for row in ours),
        "real_replies": sum(row.strategy == REAL and row.detail == ONPOLICY_PROMPT for row in rows),
    }


def label_counts(rows: list[KtoRow]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"desirable": 0, "undesirable": 0})
    for row in rows:
        counts[row.strategy]["desirable" if row.label else "undesirable"] += 1
    total = {"desirable": sum(c["desirable"] for c in counts.values())}
    total["undesirable"] = sum(c["undesirable"] for c in counts.values())
    return {**dict(sorted(counts.items())), "total": total}


def strategy_report(
    config: KTODataConfig, tasks: list[Task], splits: dict[Split, SplitRows], available: set[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, share in config.strategies.items():
        strategy = get_strategy(name)
        entry: dict[str, Any] = {"share": share}
        if strategy.requires and strategy.requires not in available:
            entry["inactive"] = f"{requirement(strategy)}; its share went to the others"
        for split in SPLITS:
            task = next((t for t in tasks if t.split == split and t.strategy.name == name), None)
            entry[split] = {
                "requested": task.target if task else 0,
                "produced": splits[split].produced[name],
                "cut_to_length": splits[split].cut[name],
                "dropped": dict(splits[split].dropped.get(name, {})),
            }
        out[name] = entry
    return out


def length_cut_rule(config: KTODataConfig) -> str:
    if config.max_length_ratio is None:
        return "never (max_length_ratio: null)"
    return f"{config.max_length_ratio:g}x their real reply and {config.min_cut_chars} characters"


def length_stats(rows: list[KtoRow]) -> dict[str, dict[str, float]]:
    stats = {}
    for label, name in ((True, "desirable"), (False, "undesirable")):
        lengths = sorted(len(row.completion[0].content) for row in rows if row.label == label)
        if lengths:
            stats[name] = {
                "mean_chars": round(statistics.fmean(lengths), 1),
                "median_chars": statistics.median(lengths),
                "p90_chars": lengths[int(0.9 * (len(lengths) - 1))],
            }
    return stats


def examples(rows: list[KtoRow], replies: dict, per_strategy: int = 3) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if len(out[row.strategy]) < per_strategy:
            out[row.strategy].append(
                {
                    "prompt": next((m.content for m in reversed(row.prompt) if m.role != "system"), ""),
                    "completion": row.completion[0].content,
                    "label": row.label,
                    "real_reply": source_reply(row, replies) if not row.label else None,
                    "detail": row.detail,
                }
            )
    return dict(sorted(out.items()))


def plot_lengths(rows: list[KtoRow], path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), dpi=100)
    longest = max((len(row.completion[0].content) for row in rows), default=1)
    bins = [longest * i / 30 for i in range(31)]  # the same bins for both labels
    for label, name in ((True, "desirable"), (False, "undesirable")):
        lengths = [len(row.completion[0].content) for row in rows if row.label == label]
        if lengths:
            left.hist(lengths, bins=bins, alpha=0.6, label=f"{name} ({len(lengths)})")
    left.set(xlabel="completion length (characters)", ylabel="rows", title="Lengths per label")
    left.legend()
    by_strategy: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_strategy[row.strategy].append(len(row.completion[0].content))
    names = sorted(by_strategy, key=lambda n: (n != REAL, n))
    right.boxplot([by_strategy[n] for n in names], showfliers=False)
    right.set_xticks(range(1, len(names) + 1), names, rotation=30, ha="right")
    right.set(ylabel="characters", title="Lengths per strategy")
    return save_figure(fig, path)


def onpolicy_line(onpolicy: dict[str, Any]) -> str:
    if "note" in onpolicy:
        return onpolicy["note"].capitalize() + "."
    if not onpolicy["active"]:
        return f"{onpolicy['prompts']} on-policy prompts, unused (no --sft-adapter or no on_policy share)."
    return (
        f"{onpolicy['prompts']} prompts SFT never trained on: their {onpolicy['real_replies']} real replies "
        f"desirable, {onpolicy['undesirable_samples']} SFT samples a judge rejected undesirable, "
        f"{onpolicy['desirable_samples']} samples no judge told from the real reply desirable."
    )


def report_markdown(report: dict[str, Any]) -> str:
    weights = report["weights"]
    lines = [
        "# KTO dataset",
        "",
        f"SFT data `{report['sft_dir']}`; persona language **{report['persona_language']}**; "
        f"seed {report['seed']}; built in {report['seconds']} s.",
        "",
        "## Weights",
        "",
        f"λD = **{weights['desirable_weight']:.4g}**, λU = **{weights['undesirable_weight']:.4g}** for "
        f"nD = {weights['n_desirable']}, nU = {weights['n_undesirable']}: λD·nD / (λU·nU) = "
        f"{weights['ratio']:.4g}, inside [{weights['ratio_range'][0]:.4g}, {weights['ratio_range'][1]:.4g}].",
        "",
        "## On-policy samples",
        "",
        onpolicy_line(report["onpolicy"]),
        "",
        "## Rows per strategy and label",
        "",
    ]
    for split in SPLITS:
        counts = report["counts"][split]
        table = [(name, c["desirable"], c["undesirable"]) for name, c in counts.items()]
        lines += [f"**{split}**", "", md_table(["strategy", "desirable", "undesirable"], table), ""]
    strategy_rows = []
    for name, entry in report["strategies"].items():
        for split in SPLITS:
            s = entry[split]
            dropped = ", ".join(f"{reason}: {n}" for reason, n in s["dropped"].items()) or "-"
            note = entry.get("inactive", "")
            numbers = (entry["share"], s["requested"], s["produced"], s["cut_to_length"])
            strategy_rows.append((name, split, *numbers, dropped, note))
    header = ["strategy", "split", "share", "requested", "produced", "cut to length", "dropped", "note"]
    lines += [
        "## Strategies",
        "",
        f"Negatives longer than {report['length_cut']} were cut at a sentence or word end.",
        "",
        md_table(header, strategy_rows),
        "",
        "## Lengths",
        "",
        md_table(
            ["label", "mean chars", "median", "p90"],
            [(k, v["mean_chars"], v["median_chars"], v["p90_chars"]) for k, v in report["lengths"].items()],
        ),
        "",
        "![lengths](lengths.png)",
        "",
        "## Examples (train)",
        "",
    ]
    for name, items in report["examples"].items():
        table = [(e["prompt"], e["real_reply"] or "", e["completion"], e["detail"]) for e in items]
        lines += [f"**{name}**", "", md_table(["prompt", "real reply", "completion", "how"], table), ""]
    generation = report["generation"]
    if generation["replies"]:
        lines += [
            "## Generation",
            "",
            f"{generation['replies']} replies from `{generation['base_model']}` with the "
            f"{generation['backend']} backend in {generation['seconds']} s.",
        ]
    return "\n".join(lines)
