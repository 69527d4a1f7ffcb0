"""Builders of small Telegram Desktop exports, written the way the exporter writes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ME = 1001  # the account owner (the persona) in these fixtures
BASE = datetime(2024, 5, 1, 18, 0, tzinfo=UTC)


def msg(
    msg_id: int, minute: float, sender: int | None, text: Any = "", name: str | None = None, **extra: Any
):
    """A message `minute` minutes after BASE from user `sender` (None: no sender fields at all)."""
    when = BASE + timedelta(minutes=minute)
    out: dict[str, Any] = {
        "id": msg_id,
        "type": "message",
        "date": when.replace(tzinfo=None).isoformat(timespec="seconds"),
        "date_unixtime": str(int(when.timestamp())),
    }
    if sender is not None:
        out["from"] = name if name is not None else ("Marco Rossi" if sender == ME else f"User {sender}")
        out["from_id"] = f"user{sender}"
    out.update(extra)
    out["text"] = text
    out["text_entities"] = _entities(text)
    return out


def _entities(text: Any) -> list[dict[str, Any]]:
    if isinstance(text, str):
        return [{"type": "plain", "text": text}] if text else []
    return [{"type": "plain", "text": p} if isinstance(p, str) else p for p in text if p != ""]


def chat(
    chat_id: int, messages: list[dict[str, Any]], name: str | None = "Giulia", type: str = "personal_chat"
):
    out: dict[str, Any] = {"name": name, "type": type, "id": chat_id, "messages": messages}
    if name is None:
        del out["name"]
    return out


def dialogue(n_pairs: int, contact: int = 2002, start_id: int = 1, start_minute: float = 0, gap: float = 1):
    """Alternating contact / persona messages, `gap` minutes apart: one session of 2 * n_pairs turns."""
    out = []
    for i in range(n_pairs):
        t = start_minute + 2 * i * gap
        out.append(msg(start_id + 2 * i, t, contact, f"domanda {i}?"))
        out.append(msg(start_id + 2 * i + 1, t + gap, ME, f"risposta {i} ahah"))
    return out


def full_export(
    chats: list[dict[str, Any]],
    left: list[dict[str, Any]] | None = None,
    owner: int | None = ME,
    contacts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"about": "Here is the data you requested."}
    if owner is not None:
        data["personal_information"] = {
            "user_id": owner,
            "first_name": "Marco",
            "last_name": "Rossi",
            "phone_number": "+39 333 000 0000",
            "bio": "",
        }
    if contacts is not None:
        data["contacts"] = {"about": "", "list": contacts}
    data["chats"] = {"about": "", "list": chats}
    if left is not None:
        data["left_chats"] = {"about": "", "list": left}
    return data


def write_json(path: Path, data: Any, indent: int | str | None = 1) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=indent), encoding="utf-8")
    return path
