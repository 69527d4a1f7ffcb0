"""What `chatlikeme chats` and `chatlikeme ingest` print."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.ingest import ChatListing


def print_chats(listing: ChatListing, as_json: bool = False) -> None:
    if as_json:
        persona = listing.persona
        data = {
            "persona": {"id": persona.id, "name": persona.name} if persona else None,
            "chats": [
                {**row, "first": _iso(row["first"]), "last": _iso(row["last"])} for row in listing.rows
            ],
        }
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return
    headers = ["chat id", "type", "name", "messages", "persona", "first", "last", "used", "why not", "flags"]
    rows = [
        [
            str(row["chat_id"]),
            str(row["type"]),
            str(row["name"] or "(no name)"),
            str(row["messages"]),
            "?" if row["persona_messages"] is None else str(row["persona_messages"]),
            _day(row["first"]),
            _day(row["last"]),
            "yes" if row.get("used") else "no",
            str(row.get("why_not") or ""),
            str(row.get("include") or "(never used)"),
        ]
        for row in listing.rows
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if listing.persona:
        print(f"\npersona: {listing.persona.name} ({listing.persona.id}, {listing.persona.how})")
    else:
        print("\npersona: unknown (single-chat export): pass --persona user<ID> or a display name")


def print_ingest_summary(out_dir: Path) -> None:
    report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    m, s = report["messages"], report["samples"]
    dropped = ", ".join(f"{reason} {n}" for reason, n in m["dropped_by_reason"].items()) or "none"
    print(f"persona: {report['persona']['name']} ({report['persona']['id']})")
    print(f"messages: {m['read']} read, {m['kept']} kept; dropped: {dropped}")
    held_out = f"{s['eval']} eval, {s.get('test', 0)} test"
    print(f"samples: {s['train']} train, {held_out} -> {out_dir}/sft/ (report: {out_dir}/report.md)")


def _iso(value: object) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else None  # type: ignore[union-attr]


def _day(value: object) -> str:
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else "-"  # type: ignore[union-attr]
