"""Every stage's report in Prefect's UI: the markdown report, its numbers as a table, links to its plots.

Stages already write `report.json` + `report.md` + PNG plots (`core.report`); this turns that output directory
into Prefect artifacts, keyed by stage so the UI keeps each stage's history across runs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

_MAX_ROWS = 80


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


def publish_stage_artifacts(stage: str, output: Path, *, reused: bool, key: str) -> None:
    """Markdown report, metrics table and plot links of one stage's output directory."""
    origin = f"reused from cache (key {key[:12]})" if reused else f"computed in this run (key {key[:12]})"
    report_md = output / "report.md"
    if report_md.is_file():
        body = report_md.read_text(encoding="utf-8")
        create_markdown_artifact(
            markdown=f"*{stage}: {origin} — `{output}`*\n\n{body}",
            key=artifact_key(stage, "report"),
            description=f"{stage} report ({origin})",
        )
    rows = metric_rows(output)
    if rows:
        create_table_artifact(table=rows, key=artifact_key(stage, "metrics"), description=f"{stage} metrics")
    for plot in sorted(output.glob("*.png")):
        create_link_artifact(
            link=plot.resolve().as_uri(),
            link_text=f"{stage}: {plot.name}",
            key=artifact_key(stage, "plot", plot.stem),
            description=f"{stage} plot {plot.name}",
        )


def metric_rows(output: Path) -> list[dict[str, Any]]:
    """The numbers of `report.json` (and `metrics.json`'s final values), one row each: metric, value."""
    rows: list[dict[str, Any]] = []
    for name in ("report.json", "metrics.json"):
        path = output / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        rows += [{"source": name, "metric": k, "value": v} for k, v in _numbers(data)]
    return rows[:_MAX_ROWS]


def _numbers(data: Any, prefix: str = "") -> list[tuple[str, float | int]]:
    """Numeric leaves of nested mappings as dotted names; lists (per-step logs, examples) are skipped."""
    if isinstance(data, bool):
        return []
    if isinstance(data, int | float):
        return [(prefix or "value", round(data, 6) if isinstance(data, float) else data)]
    if isinstance(data, dict):
        found: list[tuple[str, float | int]] = []
        for key, value in data.items():
            if key == "config":  # configs are recorded in the run manifest, not metrics
                continue
            found += _numbers(value, f"{prefix}.{key}" if prefix else str(key))
        return found
    return []


def publish_run_summary(markdown: str, rows: list[dict[str, Any]]) -> None:
    """The pipeline's own summary: which steps ran or were reused, and the promotion decision."""
    create_markdown_artifact(markdown=markdown, key="pipeline-run", description="Pipeline run summary")
    create_table_artifact(table=rows, key="pipeline-steps", description="Pipeline steps: ran or reused")
