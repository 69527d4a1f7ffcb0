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


class KtoRow(msgspec.Struct, omit_defaults=True):
    """One KTO example: TRL's unpaired preference format plus where it came from."""

    prompt: list[ChatMessage]  # system + turns up to the reply
    completion: list[ChatMessage]  # exactly one assistant message
    label: bool  # True = desirable (the persona's voice), False = undesirable
    strategy: str = "real"  # "real" for positives, else the negative strategy's name
    sample_id: str = ""
    chat_id: str = ""


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
    ]
)
