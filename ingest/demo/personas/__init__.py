"""The people of the demo export, one module a persona: who they are, their chats, and what they say.

`ingest.demo.export` is the generator, shared by all personas; a persona module (`it`, `en`) gives it a
`DemoPersona`: the account owner, the contacts and chats, and the language data (dialogue templates, word
banks, the owner's style rules). `demo_persona(name)` returns one by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingest.demo.dialogues import Beat, Lines, Topic

PERSONAS = ("it", "en")


@dataclass(frozen=True)
class Person:
    user_id: int
    name: str | None  # display name; None for a deleted account
    register: str  # which lines of the dialogue data they speak

    @property
    def from_id(self) -> str:
        return f"user{self.user_id}"


@dataclass(frozen=True)
class ChatSpec:
    id: int
    name: str | None
    type: str
    share: float  # fraction of the export's messages
    contact: Person | None = None
    old_format: bool = False  # 2019-era fields: integer from_id, no date_unixtime / text_entities
    section: str = "chats"  # "chats" or "left_chats"
    session_size: float = 7  # messages per conversation, on average: spreads the chat over the history


@dataclass(frozen=True)
class GroupStart:
    """The group's first messages, before its migration to a supergroup."""

    creator: Person
    booster: Person  # applies a boost: a service action no parser knows
    first_title: str
    first_line: str  # the creator's
    persona_line: str  # the persona's answer


@dataclass(frozen=True)
class DemoPersona:
    name: str  # "it", "en"
    lang: str  # the persona's main language: the key of her/his lines in the dialogue data
    persona: Person
    personal_information: dict[str, Any]
    contact_names: list[tuple[str, str]]
    phone: Callable[[int], str]  # the phone number of the i-th contact of the address book
    chats: tuple[ChatSpec, ...]
    group_members: tuple[Person, ...]
    group_start: GroupStart
    languages: dict[str, str]  # register -> language of the persona's answers, where not `lang`
    # dialogue data (see `ingest.demo.dialogues` for the template syntax)
    slots: dict[str, list[str]]
    topics: list[Topic]
    closers: list[Beat]
    persona_closers: Lines
    stray_lines: Lines
    late_answers: Lines
    photo_captions: Lines
    photo_replies: Lines
    persona_captions: Lines
    map_link_texts: Lines
    fillers: Lines  # by language
    reactions: Lines
    emoji: list[str]
    persona_stickers: list[str]
    contact_stickers: list[str]
    photo_comments: list[str]  # a contact on the persona's photo
    forwards: list[str]  # news a contact forwards from the channel
    channel: tuple[int, str, str, str]  # id, name, headline and body of its posts
    bot: tuple[str, str, str, str]  # command, its argument, the answer ("{degrees}" filled in), via_bot
    saved_notes: list[str]
    group_fallback: str = "?"
    default_messages: int = 4000
    # style rules that the Italian persona does not use (0: off, and no random draw)
    split: float = 0.0  # a reply with a comma sent as two messages
    plain: frozenset[str] = frozenset()  # registers she writes to without emoji, tails or kisses
    tail: float = 0.0  # a word of hers added at the end of a line...
    tails: list[str] = field(default_factory=list)  # ...one of these
    sign_off: dict[str, tuple[float, str]] = field(default_factory=dict)  # register -> (chance, " x")

    def lang_of(self, register: str) -> str:
        return self.languages.get(register, self.lang)


def demo_persona(name: str) -> DemoPersona:
    if name not in PERSONAS:
        raise ValueError(f"unknown demo persona {name!r} (known: {', '.join(PERSONAS)})")
    return importlib.import_module(f"ingest.demo.personas.{name}").PERSONA
