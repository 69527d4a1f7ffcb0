"""The files the stage writes: TRL's `{train,eval}.jsonl`, the axolotl export, `config.yaml`, the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import regex

from align.kto_data.config import SPLITS, KTODataConfig
from align.kto_data.report import plot_lengths, report_markdown
from align.negatives import Split
from core.io import atomic_dir, write_jsonl
from core.report import write_report
from core.schema import KtoRow


def write_dataset(
    out_dir: Path, rows: dict[Split, list[KtoRow]], report: dict[str, Any], config: KTODataConfig
) -> None:
    """Every output file, atomically: a reader sees the previous complete dataset or the new one."""
    with atomic_dir(out_dir) as tmp:
        for split in SPLITS:
            # Every field on every line (msgspec would omit defaults such as strategy "real"): loaders that
            # infer a schema from the first rows (datasets) see the same columns throughout.
            write_jsonl(tmp / f"{split}.jsonl", (msgspec.structs.asdict(row) for row in rows[split]))
            write_jsonl(tmp / "axolotl" / f"{split}.jsonl", (axolotl_row(row) for row in rows[split]))
        config.save_yaml(tmp / "config.yaml")
        plot_lengths(rows["train"] + rows["eval"], tmp / "lengths.png")
        write_report(tmp, report, report_markdown(report))


PERSONA_NAME = regex.compile(r"^You are (.+?)(?:,| in a group chat)")


def axolotl_row(row: KtoRow) -> dict[str, Any]:
    """Axolotl's custom KTO format: one system string, the conversation so far as one prompt string."""
    system = "\n".join(m.content for m in row.prompt if m.role == "system")
    persona = PERSONA_NAME.match(system)
    turns = [m for m in row.prompt if m.role != "system"]
    if len(turns) == 1:
        prompt = turns[0].content
    else:
        me = persona.group(1) if persona else "assistant"
        speakers = [m.name or (me if m.role == "assistant" else "user") for m in turns]
        prompt = "\n".join(f"{who}: {m.content}" for who, m in zip(speakers, turns, strict=True))
    return {"system": system, "prompt": prompt, "completion": row.completion[0].content, "label": row.label}
