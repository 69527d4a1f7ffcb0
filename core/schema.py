"""The records that pass between stages — one typed definition each, one on-disk format each.

    messages.parquet         MESSAGES_SCHEMA            (ingest -> conversations; a table, so Arrow)
    sft/{train,eval}.jsonl   SftSample per line         (ingest -> sft, kto-data, eval)
    kto/{train,eval}.jsonl   KtoRow per line            (kto-data -> kto; TRL's unpaired conversational)

JSON lines are msgspec Structs: decoding validates every field and names the bad one.
"""

from __future__ import annotations

from typing import Literal

import msgspec
import pyarrow as pa

Role = Literal["system", "user", "assistant"]


class ChatMessage(msgspec.Struct, omit_defaults=True):
    """One chat turn in the OpenAI/TRL `messages` format (`name` = the speaker, on user turns)."""

    role: Role
    content: str
    name: str | None = None


class SftSample(msgspec.Struct, omit_defaults=True):
    """One training conversation: a system prompt, then turns, ending on a persona (`assistant`) turn."""

    messages: list[ChatMessage]
    id: str = ""  # stable sample id: "<chat_id>/<session>/<window>"
    chat_id: str = ""
    chat_type: str = ""
    session: int = 0  # index of the session (conversation) within its chat, in time order


class ChatEntry(msgspec.Struct, omit_defaults=True):
    """A chat of the training data as the arena and the bot offer it (`DATA/chats.json`)."""

    chat_id: str
    chat_type: str  # "personal_chat", "private_group", ... (Telegram's names; WhatsApp maps to them)
    name: str  # the contact of a one-to-one chat, or the group's name, as the system prompt says it
    system_prompt: str  # the training prompt (a group's: its most frequent one)
    group: bool = False
    participants: list[str] = []  # a group: the others named in that prompt
    samples: dict[str, int] = {}  # samples written per split, e.g. {"train": 120, "eval": 14, "test": 12}


class ChatList(msgspec.Struct):
    """`DATA/chats.json`: who the persona is and the chats of the training data, most samples first."""

    persona: str  # the persona's name in the system prompts
    persona_id: str  # the persona's sender id ("user123")
    chats: list[ChatEntry]
    windowing: Windowing  # how conversations became samples: a live chat keeps its context the same way


class Windowing(msgspec.Struct):
    """The ingest settings that cut conversations into training samples."""

    max_turns: int
    max_chars: int
    session_gap_minutes: float
    turn_window_minutes: float


class KtoRow(msgspec.Struct, omit_defaults=True):
    """One KTO example: TRL's unpaired preference format plus where it came from."""

    prompt: list[ChatMessage]  # system + turns up to the reply
    completion: list[ChatMessage]  # exactly one assistant message
    label: bool  # True = desirable (the persona's voice), False = undesirable
    strategy: str = "real"  # "real" for positives, else the negative strategy's name
    sample_id: str = ""
    chat_id: str = ""
    detail: str = ""  # how the strategy made it (e.g. "shuffle+formalize", "judge p=0.12", "vote: b_better")


# One text entity: Telegram's type ("phone", "mention_name", ...) and the text it covers.
ENTITY_TYPE = pa.struct([pa.field("type", pa.string()), pa.field("text", pa.string())])

# The normalized message table every export format is converted into (one row per message).
MESSAGES_SCHEMA = pa.schema(
    [
        pa.field("chat_id", pa.string(), nullable=False),
        pa.field("chat_type", pa.string(), nullable=False),
        pa.field("chat_name", pa.string()),
        pa.field("message_id", pa.int64(), nullable=False),
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("sender_id", pa.string()),
        pa.field("sender_name", pa.string()),
        pa.field("is_persona", pa.bool_(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # text, sticker, photo, voice_message, ...
        pa.field("reply_to", pa.int64()),  # id of the message this one replies to (same chat)
        pa.field("forwarded", pa.bool_(), nullable=False),
        pa.field("action", pa.string()),  # service messages: phone_call, pin_message, ... (else null)
        # Optional (see OPTIONAL_COLUMNS): the PII-relevant text entities Telegram tagged in the message
        # (phone, email, mention, mention_name, bank_card, text_link to a private link), as they appear in
        # `text`; null when there are none or the source did not say.
        pa.field("entities", pa.list_(ENTITY_TYPE)),
    ]
)

# Columns that older messages.parquet files and other readers (WhatsApp, ...) may lack: read as all-null.
OPTIONAL_COLUMNS = frozenset({"entities"})


def with_optional_columns(table: pa.Table, schema: pa.Schema = MESSAGES_SCHEMA) -> pa.Table:
    """`table` in `schema`'s column order, with every missing optional column added as nulls.

    A table written before a column existed (or by a reader that has no such data) still reads; a missing
    required column is an error (KeyError naming it)."""
    if table.schema.equals(schema):
        return table
    columns = []
    for f in schema:
        if f.name in table.column_names:
            columns.append(table[f.name])
        elif f.name in OPTIONAL_COLUMNS:
            columns.append(pa.nulls(table.num_rows, f.type))
        else:
            raise KeyError(f"messages table without the required column {f.name!r}")
    return pa.table(columns, schema=schema)
