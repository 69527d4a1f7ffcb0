"""The ingest report: what came in, what was kept and dropped (by reason), what the samples look like."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.report import md_table, new_figure, write_report
from ingest.config import IngestConfig
from ingest.conversations import DUPLICATE, Kept, chat_filter
from ingest.persona import Persona
from ingest.samples import SPLITS
from ingest.telegram.desktop import ChatInfo

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass
class IngestStats:
    exports: list[str]
    chats: list[ChatInfo]  # every chat of every export, as read
    persona: Persona
    persona_prompt_name: str
    messages: pa.Table  # every message read (MESSAGES_SCHEMA)
    kept: Kept
    dropped: Counter[str]  # messages, by reason
    rules: Counter[str]  # content rules, turns, windows, split
    pii: dict[str, int] | None  # masks applied by category; None when masking is off
    train_replies: np.ndarray  # characters of each persona reply taught by the train samples
    samples_per_chat: dict[str, dict[str, int]]  # chat id -> {"train": n, "eval": n, "test": n}
    seconds: dict[str, float]  # per step; the report adds its own
    pii_regions: list[str] | None = (
        None  # regions whose national phone numbers were masked (None: masking off)
    )


def write_ingest_report(out_dir: Path, stats: IngestStats, config: IngestConfig) -> None:
    started = time.perf_counter()
    data = _report_data(stats, config)
    plots = _plots(out_dir, stats, data)
    data["seconds"] = {**stats.seconds, "report": round(time.perf_counter() - started, 3)}
    write_report(out_dir, {**data, "plots": plots}, _markdown(data, plots))


def _report_data(stats: IngestStats, config: IngestConfig) -> dict[str, Any]:
    kept = stats.kept.table
    persona_kept = int(pc.sum(kept["is_persona"]).as_py() or 0)
    replies = stats.train_replies
    per_chat = stats.samples_per_chat
    return {
        "stage": "ingest",
        "exports": stats.exports,
        "persona": {
            "id": stats.persona.id,
            "name": stats.persona.name,
            "prompt_name": stats.persona_prompt_name,
            "resolved_by": stats.persona.how,
        },
        "messages": {
            "read": stats.messages.num_rows + stats.dropped.get(DUPLICATE, 0),
            "kept": kept.num_rows,
            "dropped": sum(stats.dropped.values()),
            "dropped_by_reason": dict(stats.dropped.most_common()),
            "persona_share_of_kept": round(persona_kept / max(1, kept.num_rows), 4),
        },
        "chats": _chat_rows(stats, config),
        "rules": dict(stats.rules),
        "pii_masked": stats.pii,
        "pii_regions": stats.pii_regions,
        "samples": {
            **{split: sum(c[split] for c in per_chat.values()) for split in SPLITS},
            # Training sessions kept out of SFT (sft/onpolicy.jsonl): SFT never trains on them, kto-data
            # samples the SFT model on them; None when onpolicy_fraction is 0 (no file).
            "onpolicy": sum(c["onpolicy"] for c in per_chat.values())
            if config.onpolicy_fraction > 0
            else None,
            "per_chat": per_chat,
            "assistant_turns_train": len(replies),
            "reply_chars_median": float(np.median(replies)) if len(replies) else 0.0,
            "reply_chars_mean": round(float(np.mean(replies)), 1) if len(replies) else 0.0,
        },
        "messages_per_month": _per_month(stats.messages),
        "config": config.to_dict(),
    }


def _chat_rows(stats: IngestStats, config: IngestConfig) -> list[dict[str, Any]]:
    """One row per chat: messages read, the persona's, kept; why a chat is not used."""
    messages, kept = stats.messages, stats.kept.table
    total = _counts_by_chat(messages)
    persona = _counts_by_chat(messages.filter(messages["is_persona"]))
    used = _counts_by_chat(kept)
    unused = chat_filter(config)
    rows = {
        chat.chat_id: {
            "chat_id": chat.chat_id,
            "type": chat.type,
            "name": chat.name,
            "messages": total.get(chat.chat_id, 0),
            "persona_messages": persona.get(chat.chat_id, 0),
            "kept": used.get(chat.chat_id, 0),
            "samples": stats.samples_per_chat.get(chat.chat_id, dict.fromkeys(SPLITS, 0)),
            "not_used": unused(chat.chat_id, chat.type, chat.name),
        }
        for chat in stats.chats
    }
    return sorted(rows.values(), key=lambda r: -r["messages"])


def _counts_by_chat(table: pa.Table) -> dict[str, int]:
    if table.num_rows == 0:
        return {}
    grouped = table.group_by("chat_id", use_threads=False).aggregate([("chat_id", "count")])
    return dict(zip(grouped["chat_id"].to_pylist(), grouped["chat_id_count"].to_pylist(), strict=True))


def _per_month(messages: pa.Table) -> dict[str, dict[str, int]]:
    months = messages["timestamp"].combine_chunks().cast(pa.int64()).to_numpy().astype("datetime64[us]")
    month = months.astype("datetime64[M]")
    persona = messages["is_persona"].combine_chunks().to_numpy(zero_copy_only=False)
    out: dict[str, dict[str, int]] = {}
    for who, mask in (("persona", persona), ("others", ~persona)):
        values, counts = np.unique(month[mask], return_counts=True)
        for value, count in zip(values.astype(str).tolist(), counts.tolist(), strict=True):
            out.setdefault(value, {"persona": 0, "others": 0})[who] = count
    return dict(sorted(out.items()))


def _plots(out_dir: Path, stats: IngestStats, data: dict[str, Any]) -> dict[str, str]:
    """Three small charts. Margins are set by hand: matplotlib's tight_layout costs more than the drawing."""
    plots = {}

    fig, ax = new_figure()
    reasons = {"kept": data["messages"]["kept"], **data["messages"]["dropped_by_reason"]}
    labels = list(reasons)[::-1]
    colors = ["tab:green" if k == "kept" else "tab:red" for k in labels]
    ax.barh(range(len(labels)), [reasons[k] for k in labels], color=colors, tick_label=labels)
    ax.set_xlabel("messages")
    ax.set_title("Messages kept and dropped, by reason")
    plots["kept_dropped"] = _save(fig, out_dir / "kept_dropped.png", left=0.42)

    fig, ax = new_figure()
    replies = stats.train_replies
    if len(replies):
        # binned by numpy: matplotlib's own hist is slow on hundreds of thousands of values
        counts, edges = np.histogram(
            replies, bins=np.unique(np.geomspace(1, replies.max() + 1, 40).astype(int))
        )
        ax.stairs(counts, edges, fill=True, color="tab:blue")
        ax.set_xscale("log")
    ax.set_xlabel("characters per persona reply (train)")
    ax.set_ylabel("replies")
    ax.set_title("Reply length")
    plots["reply_length"] = _save(fig, out_dir / "reply_length.png")

    fig, ax = new_figure()
    months = data["messages_per_month"]
    keys = list(months)
    persona = np.array([months[m]["persona"] for m in keys])
    others = np.array([months[m]["others"] for m in keys])
    edges = np.arange(len(keys) + 1) - 0.5  # one step per month: two filled outlines instead of many bars
    ax.stairs(others, edges, fill=True, label="others", color="tab:gray")
    ax.stairs(others + persona, edges, baseline=others, fill=True, label="persona", color="tab:orange")
    ax.set_ylabel("messages")
    ax.set_title("Messages per month")
    ax.legend()
    step = max(1, len(keys) // 12)
    ax.set_xticks(range(0, len(keys), step), keys[::step], rotation=45, ha="right")
    plots["messages_per_month"] = _save(fig, out_dir / "messages_per_month.png", bottom=0.22)
    return plots


def _save(fig: Figure, path: Path, left: float = 0.12, bottom: float = 0.14) -> str:
    import matplotlib.pyplot as plt  # already loaded (and set to Agg) by core.report

    fig.subplots_adjust(left=left, bottom=bottom, right=0.97, top=0.9)
    fig.savefig(path)
    plt.close(fig)
    return path.name


def _split_note(data: dict[str, Any]) -> str:
    """What the held-out splits are for; a warning when one is empty."""
    s, config = data["samples"], data["config"]
    note = (
        "Per chat, the most recent sessions are the test split, the ones just before them the eval split: "
        "eval picks the training checkpoints, test is what `chatlikeme eval` reports on."
    )
    for split in ("eval", "test"):
        if s[split] == 0:
            why = (
                f"{split}_fraction is 0"
                if config[f"{split}_fraction"] == 0
                else "too few sessions: a chat's sessions go to train first, then to eval, then to test"
            )
            note += f" **The {split} split is empty** ({why})."
    return note


def _markdown(data: dict[str, Any], plots: dict[str, str]) -> str:
    m, s, p = data["messages"], data["samples"], data["persona"]
    lines = [
        "# Ingest report",
        "",
        f"Exports: {', '.join(data['exports'])}  ",
        f"Persona: **{p['name']}** (`{p['id']}`, {p['resolved_by']}); "
        f'called "{p["prompt_name"]}" in prompts.',
        "",
        "## Messages",
        "",
        md_table(
            ["read", "kept", "dropped", "persona share of kept"],
            [[m["read"], m["kept"], m["dropped"], f"{m['persona_share_of_kept']:.1%}"]],
        ),
        "",
        "Dropped, by reason:",
        "",
        md_table(["reason", "messages"], list(m["dropped_by_reason"].items()) or [["(none)", 0]]),
        "",
        f"![kept and dropped]({plots['kept_dropped']})",
        "",
        "## Chats",
        "",
        md_table(
            ["chat", "type", "name", "messages", "persona", "kept", "train/eval/test", "not used because"],
            [
                [
                    c["chat_id"],
                    c["type"],
                    c["name"] or "",
                    c["messages"],
                    c["persona_messages"],
                    c["kept"],
                    " / ".join(str(c["samples"][split]) for split in SPLITS),
                    c["not_used"] or "",
                ]
                for c in data["chats"]
            ],
        ),
        "",
        "## Content rules, turns and samples",
        "",
        md_table(["rule / count", "n"], list(data["rules"].items())),
        "",
    ]
    if data["pii_masked"] is not None:
        masked = list(data["pii_masked"].items()) or [["(nothing found)", 0]]
        lines += [
            "PII masked (mapping in `private/pii_mapping.json`, mode 0600):",
            "",
            md_table(["kind", "n"], masked),
            "",
            f"Phone numbers read in the national formats of: {', '.join(data['pii_regions'] or [])} "
            "(and international +.. numbers everywhere).",
            "",
        ]
    else:
        lines += ["PII masking was **off**.", ""]
    lines += [
        md_table(
            [
                "train samples",
                "eval samples",
                "test samples",
                "persona replies (train)",
                "median reply chars",
            ],
            [[s["train"], s["eval"], s["test"], s["assistant_turns_train"], s["reply_chars_median"]]],
        ),
        "",
        _split_note(data),
        "",
        f"![reply length]({plots['reply_length']})",
        "",
        f"![messages per month]({plots['messages_per_month']})",
        "",
        "Seconds per step: " + ", ".join(f"{step} {sec}" for step, sec in data["seconds"].items()) + ".",
    ]
    return "\n".join(lines)
