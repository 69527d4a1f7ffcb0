"""Sample windows -> SFT lines (`core.schema.SftSample` JSON), the time-based train/eval split and dedup.

A sample is a system prompt ("You are Marco, chatting with Giulia. ..."), then the window's turns: the
persona's own turns are `assistant`, everyone else's are `user` with the speaker in `name`. Chat templates
ignore `name`, so in group chats the speaker is also written in the text ("Lorenzo: chi c'è giovedì?").
The persona's own forwards and captionless media are context, never something to learn: they appear as
`user` turns marked "(you)". A message the persona replied to that lies before the window comes first,
marked "[earlier message]".

Lines are assembled from per-turn JSON fragments (each turn is encoded once, however many windows share it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.prompts import group_system_prompt, persona_system_prompt
from core.schema import ChatMessage
from ingest.config import IngestConfig
from ingest.conversations import Kept, Turns, Window
from ingest.pii import PiiMasker, first_name
from ingest.telegram_export import GROUP_TYPES

DELETED_ACCOUNT = "Deleted Account"
_encode = msgspec.json.Encoder().encode


@dataclass
class Sample:
    id: str
    chat_id: str
    session_key: int  # global session number (for the split)
    start_us: int  # when the sample's session started
    line: bytes  # the whole JSON line, without the newline
    messages_key: bytes  # the JSON of `messages`: equal keys = duplicate samples
    reply_chars: list[int]  # lengths of the assistant turns (for the report)


class Namer:
    """How people are called in prompts, `name` fields and group labels (real first name, full, pseudonym)."""

    def __init__(self, config: IngestConfig, persona_name: str, masker: PiiMasker | None) -> None:
        self.policy = config.prompt_names
        self.persona = persona_name
        self.masker = masker or PiiMasker()

    def __call__(self, display_name: str | None) -> str:
        if self.policy == "pseudonym":
            return self.masker.person(display_name or DELETED_ACCOUNT)
        if display_name is None or not display_name.strip():
            return DELETED_ACCOUNT
        if self.policy == "full_name":
            return display_name.strip()
        return first_name(display_name) or DELETED_ACCOUNT


def render_samples(
    turns: Turns, kept: Kept, windows: list[Window], persona_id: str, namer: Namer
) -> list[Sample]:
    """One `Sample` per window."""
    table = kept.table
    names = _display_names(table)
    chat_info = _chat_info(table, turns)
    label = {sid: namer(names.get(sid)) for sid in set(turns.sender_id)}
    fragments = _turn_fragments(turns, chat_info, label, persona_id, namer.persona)
    senders = turns.sender_id
    samples = []
    window_index: Counter[int] = Counter()
    for window in windows:
        chat = int(turns.chat[window.start])
        chat_id, chat_type, chat_name = chat_info[chat]
        session = int(turns.session[window.start])
        speakers = list(
            dict.fromkeys(
                label[senders[t]] for t in range(window.start, window.end + 1) if senders[t] != persona_id
            )
        )
        if chat_type in GROUP_TYPES:
            system = group_system_prompt(namer.persona, chat_name or "group", speakers)
        else:
            contact = next((s for s in speakers), None) or namer(chat_name)
            system = persona_system_prompt(namer.persona, contact)
        parts = [_encode(ChatMessage("system", system))]
        parts += [_quote(kept, row, label, persona_id, namer.persona, chat_type) for row in window.quotes]
        parts += fragments[window.start : window.end + 1]
        messages = b"[" + b",".join(parts) + b"]"
        sample_id = f"{chat_id}/{int(turns.session_in_chat[window.start])}/{window_index[session]}"
        window_index[session] += 1
        meta = _encode(
            {
                "id": sample_id,
                "chat_id": chat_id,
                "chat_type": chat_type,
                "session": int(turns.session_in_chat[window.start]),
            }
        )
        line = b'{"messages":' + messages + b"," + meta[1:]
        replies = [turns.chars[t] for t in range(window.start, window.end + 1) if turns.target[t]]
        samples.append(
            Sample(sample_id, chat_id, session, int(turns.start_us[window.start]), line, messages, replies)
        )
    return samples


def _display_names(table: pa.Table) -> dict[str, str | None]:
    """Each sender id's display name (the last one they used: people rename themselves)."""
    ids = table["sender_id"].combine_chunks()
    encoded = pc.dictionary_encode(ids)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    last = len(codes) - 1 - np.unique(codes[::-1], return_index=True)[1]
    names = pc.take(table["sender_name"].combine_chunks(), pa.array(last)).to_pylist()
    return dict(zip(encoded.dictionary.to_pylist(), names, strict=True))


def _chat_info(table: pa.Table, turns: Turns) -> list[tuple[str, str, str | None]]:
    """Per chat (as numbered in `turns`): id, type, name."""
    info = []
    for chat in range(len(turns.chat_ids)):
        first = int(turns.first_row[np.searchsorted(turns.chat, chat)])
        row = table.slice(first, 1)
        info.append((row["chat_id"][0].as_py(), row["chat_type"][0].as_py(), row["chat_name"][0].as_py()))
    return info


def _turn_fragments(
    turns: Turns,
    chat_info: list[tuple[str, str, str | None]],
    label: dict[str | None, str],
    persona_id: str,
    persona_name: str,
) -> list[bytes]:
    group_chat = [info[1] in GROUP_TYPES for info in chat_info]
    chats = turns.chat.tolist()
    targets = turns.target.tolist()
    fragments = []
    for chat, sender, target, content in zip(chats, turns.sender_id, targets, turns.content, strict=True):
        if target:
            fragments.append(_encode(ChatMessage("assistant", content)))
        elif sender == persona_id:  # the persona's forward or media: context, never a reply to learn
            fragments.append(_encode(ChatMessage("user", f"{persona_name} (you): {content}", persona_name)))
        else:
            name = label[sender]
            text = f"{name}: {content}" if group_chat[chat] else content
            fragments.append(_encode(ChatMessage("user", text, name)))
    return fragments


def _quote(
    kept: Kept, row: int, label: dict[str | None, str], persona_id: str, persona_name: str, chat_type: str
) -> bytes:
    sender = kept.table["sender_id"][row].as_py()
    content = kept.content[row].as_py()
    if sender == persona_id:
        return _encode(
            ChatMessage("user", f"[earlier message] {persona_name} (you): {content}", persona_name)
        )
    name = label.get(sender) or DELETED_ACCOUNT
    text = f"{name}: {content}" if chat_type in GROUP_TYPES else content
    return _encode(ChatMessage("user", f"[earlier message] {text}", name))


# --- split and dedup ----------------------------------------------------------------------------------------


def split_samples(
    samples: list[Sample], eval_fraction: float
) -> tuple[list[Sample], list[Sample], Counter[str]]:
    """The most recent `eval_fraction` of each chat's sessions -> eval; exact duplicates removed."""
    sessions_by_chat: dict[str, dict[int, int]] = {}
    for s in samples:
        sessions_by_chat.setdefault(s.chat_id, {})[s.session_key] = s.start_us
    eval_sessions: set[int] = set()
    for sessions in sessions_by_chat.values():
        ordered = sorted(sessions, key=lambda k: (sessions[k], k))
        k = int(len(ordered) * eval_fraction + 0.5)
        eval_sessions.update(ordered[len(ordered) - k :] if k else [])
    if not eval_sessions and eval_fraction > 0 and len({s.session_key for s in samples}) > 1:
        eval_sessions.add(max(samples, key=lambda s: (s.start_us, s.session_key)).session_key)
    counts: Counter[str] = Counter()
    seen: set[bytes] = set()
    train, evaluation = [], []
    for s in samples:
        if s.session_key not in eval_sessions:
            if s.messages_key in seen:
                counts["duplicate samples removed"] += 1
                continue
            seen.add(s.messages_key)
            train.append(s)
    for s in samples:
        if s.session_key in eval_sessions:
            if s.messages_key in seen:
                counts["duplicate samples removed"] += 1
                continue
            seen.add(s.messages_key)
            evaluation.append(s)
    return train, evaluation, counts
