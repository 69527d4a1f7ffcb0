"""The baseline `benchmarks/ingest.py` compares against: the original project's way, stdlib only.

What the original data-preparation script did (see the seed summary): `json.load` the whole export, walk
every personal chat in Python dicts, flatten entity lists, drop service/empty/short messages, merge a
sender's messages within 5 minutes into a turn, start a conversation after 60 minutes of silence, skip chats
under 20 messages, and write one JSON line of chat `messages` per conversation. No PII masking, no dedup,
no split. It runs in the same benchmark so that the speed-up is a ratio measured on the same machine at the
same time, not a comparison with a number taken elsewhere.

    python benchmarks/naive_ingest.py EXPORT OUT_DIR [PERSONA_NAME]
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

TURN_WINDOW_S = 5 * 60
SESSION_GAP_S = 60 * 60
MIN_MESSAGES = 20


def flatten(text: object) -> str:
    if isinstance(text, str):
        return text
    return "".join(part if isinstance(part, str) else part.get("text", "") for part in text)  # type: ignore[union-attr]


def conversations(chat: dict, persona: str) -> list[list[dict]]:
    messages = []
    for m in chat.get("messages", []):
        if m.get("type") != "message":
            continue
        text = flatten(m.get("text", "")).strip()
        sender = m.get("from") or ""
        if len(text) < 2 or sender in ("Telegram", "Group", "Channel"):
            continue
        when = datetime.fromisoformat(m["date"]).timestamp()
        messages.append((when, sender, text))
    if len(messages) < MIN_MESSAGES:
        return []
    result, current, last_time, last_sender = [], [], None, None
    for when, sender, text in messages:
        if last_time is not None and when - last_time > SESSION_GAP_S:
            result.append(current)
            current, last_sender = [], None
        if current and sender == last_sender and when - last_time <= TURN_WINDOW_S:
            current[-1]["content"] += "\n" + text
        else:
            role = "assistant" if sender == persona else "user"
            current.append({"role": role, "content": text} | ({"name": sender} if role == "user" else {}))
        last_time, last_sender = when, sender
    if current:
        result.append(current)
    return result


def main(export: Path, out_dir: Path, persona: str | None = None) -> None:
    with export.open(encoding="utf-8") as fh:
        data = json.load(fh)
    info = data.get("personal_information", {})
    persona = persona or f"{info.get('first_name', '')} {info.get('last_name', '')}".strip()
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "train.jsonl").open("w", encoding="utf-8") as out:
        for chat in data["chats"]["list"]:
            if chat.get("type") != "personal_chat":
                continue
            contact = chat.get("name") or "Deleted Account"
            system = f"You are {persona}, chatting with {contact}. "
            system += "Respond naturally in their conversational style."
            for turns in conversations(chat, persona):
                out.write(json.dumps({"messages": [{"role": "system", "content": system}, *turns]}) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
