"""A realistic synthetic Telegram Desktop export (full-account layout), deterministic for a seed.

`chatlikeme demo-export --out FILE [--messages N] [--seed S]` writes it; the tests, the README demo and the
ingest benchmark all run on it. What the people say comes from `ingest.demo_dialogues`; this module turns
conversations into the exact JSON Telegram Desktop writes, including the awkward parts of real exports:
text as entity lists ending in "", stickers, photos with and without captions, voice messages, a video over
2^31 bytes, replies (some to a message of an earlier conversation), forwards, service messages (calls, group
events, an action no parser knows), a deleted account (null names), a 2019 chat in the old format (integer
`from_id`, no `date_unixtime`/`text_entities`), a migrated group with negative ids, names with emoji, ZWJ
sequences and right-to-left script, phone numbers / e-mails / IBANs in the text, and unknown fields.

The file is streamed chat by chat, one message at a time: a million messages take seconds and little memory.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from core.io import atomic_file
from ingest.demo_dialogues import (
    CLOSERS,
    LATE_ANSWERS,
    MAP_LINK_TEXTS,
    PERSONA_CAPTIONS,
    PERSONA_CLOSERS,
    PERSONA_EMOJI,
    PERSONA_FILLERS,
    PERSONA_FILLERS_EN,
    PERSONA_REACTIONS,
    PHOTO_CAPTIONS,
    PHOTO_REPLIES,
    SLOTS,
    STRAY_LINES,
    TOPICS,
    Beat,
    Lines,
    Topic,
)

DEFAULT_MESSAGES = 4000
LOCAL_OFFSET = timedelta(hours=1)  # Telegram writes `date` in the exporting machine's local time
END = datetime(2025, 10, 31, 22, 0, tzinfo=UTC)
NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"


@dataclass(frozen=True)
class Person:
    user_id: int
    name: str | None  # display name; None for a deleted account
    register: str  # which lines of `demo_dialogues` they speak

    @property
    def from_id(self) -> str:
        return f"user{self.user_id}"


PERSONA = Person(487201935, "Marco Rossi", "persona")
GIULIA = Person(512330871, "Giulia Conti", "friend")
TOMMI = Person(600142257, "Tommi 🛹", "slang")
PAOLA = Person(298110463, "Avv. Paola Ferri", "formal")
SARAH = Person(731905518, "Sarah Mitchell", "english")
MAMMA = Person(144870022, "Mamma ❤️", "mamma")
DELETED = Person(955001342, None, "friend")
GIORGIO = Person(88213470, "Giorgio Esposito", "friend")
LORENZO = Person(402887119, "Lorenzo Marini", "group")
DAVIDE = Person(377652901, "Davide 👨‍💻 Russo", "group")  # a ZWJ sequence in a name
STEFANO = Person(519004287, "Stefano Gallo", "group")
YASMIN = Person(688320114, "Yasmin ياسمين", "group")  # right-to-left script in a name
GROUP_MEMBERS = (LORENZO, DAVIDE, STEFANO, YASMIN, TOMMI)


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


CHATS = (
    ChatSpec(GIULIA.user_id, GIULIA.name, "personal_chat", 0.22, GIULIA),
    ChatSpec(TOMMI.user_id, TOMMI.name, "personal_chat", 0.13, TOMMI),
    ChatSpec(SARAH.user_id, SARAH.name, "personal_chat", 0.12, SARAH),
    ChatSpec(MAMMA.user_id, MAMMA.name, "personal_chat", 0.10, MAMMA),
    ChatSpec(PAOLA.user_id, PAOLA.name, "personal_chat", 0.05, PAOLA),
    ChatSpec(1766042871, "Calcetto del giovedì ⚽", "private_supergroup", 0.25),
    ChatSpec(DELETED.user_id, None, "personal_chat", 0.03, DELETED),
    ChatSpec(5064471202, "Meteo Bot", "bot_chat", 0.02, session_size=2),
    ChatSpec(PERSONA.user_id, None, "saved_messages", 0.02, session_size=1),
    ChatSpec(
        GIORGIO.user_id, GIORGIO.name, "personal_chat", 0.03, GIORGIO, old_format=True, section="left_chats"
    ),
    ChatSpec(1006503122, "Il Post", "public_channel", 0.03, section="left_chats", session_size=1),
)
MIN_CHAT_MESSAGES = 30  # so that every chat of a small demo export passes ingest's default minimum


def write_demo_export(out: str | Path, messages: int = DEFAULT_MESSAGES, seed: int = 0) -> Path:
    """Write a demo export of about `messages` messages to `out` (atomically); returns the path."""
    if messages < 1:
        raise ValueError("messages must be positive")
    out = Path(out)
    with atomic_file(out) as tmp, tmp.open("wb", buffering=1 << 20) as fh:
        _write_export(fh, messages, seed)
    return out


ABOUT = (
    "Here is the data you requested. Remember: Telegram is ad free, it doesn't use your data for ad "
    "targeting and doesn't sell it to others."
)


def _write_export(fh: BinaryIO, total: int, seed: int) -> None:
    span_days = min(6 * 365, max(240, total // 40))
    start = END - timedelta(days=span_days)
    fh.write(b"{\n" + _field("about", ABOUT, 1) + b",\n")
    fh.write(_field("personal_information", _personal_information(), 1) + b",\n")
    fh.write(_field("contacts", _contacts(), 1) + b",\n")
    for section in ("chats", "left_chats"):
        specs = [spec for spec in CHATS if spec.section == section]
        about = _field("about", "This page lists all chats from this export.", 2)
        fh.write(f' "{section}": {{\n'.encode() + about + b',\n  "list": [\n')
        for index, spec in enumerate(specs):
            rng = random.Random(f"{seed}/{spec.id}")
            quota = max(MIN_CHAT_MESSAGES, round(total * spec.share))
            chat_start = datetime(2019, 3, 1, 9, tzinfo=UTC) if spec.old_format else start
            chat_span = timedelta(days=240) if spec.old_format else END - start
            _write_chat(fh, spec, _chat_messages(spec, rng, quota, chat_start, chat_span))
            fh.write(b",\n" if index < len(specs) - 1 else b"\n")
        fh.write(b"  ]\n }" + (b",\n" if section == "chats" else b"\n"))
    fh.write(b"}\n")


def _write_chat(fh: BinaryIO, spec: ChatSpec, messages: Iterator[dict[str, Any]]) -> None:
    head = {"name": spec.name, "type": spec.type, "id": spec.id}
    if spec.name is None:
        del head["name"]  # saved messages and deleted accounts come without a name
    fh.write(_indent(_pretty(head)[:-2], 3) + b',\n    "messages": [\n')
    first = True
    for message in messages:
        if not first:
            fh.write(b",\n")
        fh.write(_indent(_pretty(message), 5))
        first = False
    fh.write(b"\n    ]\n   }")


def _pretty(value: Any) -> bytes:
    return msgspec.json.format(msgspec.json.encode(value), indent=1)


def _indent(block: bytes, level: int) -> bytes:
    pad = b" " * level
    return pad + block.replace(b"\n", b"\n" + pad)


def _field(key: str, value: Any, level: int) -> bytes:
    return _indent(f'"{key}": '.encode() + _pretty(value), level)


def _personal_information() -> dict[str, Any]:
    return {
        "user_id": PERSONA.user_id,
        "first_name": "Marco",
        "last_name": "Rossi",
        "phone_number": "+39 333 987 6543",
        "username": "@marcorossi",
        "bio": "roma ⚽ pizza 🍕",
    }


def _contacts() -> dict[str, Any]:
    people = [("Giulia", "Conti"), ("Tommaso", "Greco"), ("Paola", "Ferri"), ("Sarah", "Mitchell")]
    people += [("Luca", "Bianchi"), ("Chiara", "Neri"), ("Francesca", "Romano"), ("Matteo", "Esposito")]
    people += [("Lorenzo", "Marini"), ("Stefano", "Gallo"), ("Giorgio", "Esposito")]
    contacts = [
        {
            "user_id": 300000000 + i,
            "first_name": first,
            "last_name": last,
            "phone_number": f"+39 34{i % 10} {1000000 + i * 7919:07d}",
            "date": "2023-05-02T10:00:00",
            "date_unixtime": "1683014400",
        }
        for i, (first, last) in enumerate(people)
    ]
    return {"about": "This page lists all contacts from this export.", "list": contacts}


# --- conversations ------------------------------------------------------------------------------------------

_ALTERNATIVES = re.compile(r"\[([^\[\]]*)\]")  # [a|b|]: one of them
_SLOT = re.compile(r"\{(\w+)\}")  # {place}, {place2}


class Scene:
    """What one conversation names. Each slot is drawn once, when first used, so the place of the contact's
    invitation is the place of Marco's answer and of his goodbye; `{food2}` is a second food, different from
    `{food}` (the other option of a choice)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.values: dict[str, str] = {}

    def value(self, slot: str) -> str:
        if slot not in self.values:
            base = slot.removesuffix("2")
            taken = {self.values.get(base), self.values.get(base + "2")}
            self.values[slot] = self.rng.choice([v for v in SLOTS[base] if v not in taken])
        return self.values[slot]

    def knows(self, template: str) -> bool:
        """Whether every slot of `template` was already named in this conversation."""
        return all(slot in self.values for slot in _SLOT.findall(template))

    def fill(self, template: str) -> str:
        line = _ALTERNATIVES.sub(lambda m: self.rng.choice(m.group(1).split("|")), template)
        line = _SLOT.sub(lambda m: self.value(m.group(1)), line)
        return " ".join(line.split())  # an empty alternative leaves a double space


class _Chat:
    """Builds one chat's messages in time order: ids, timestamps, the per-format message fields."""

    def __init__(self, spec: ChatSpec, rng: random.Random, start: datetime) -> None:
        self.spec, self.rng, self.now = spec, rng, start
        self.next_id = rng.randint(1000, 90000)
        self.last_by: dict[str, int] = {}  # sender from_id -> their latest message id (for replies)
        self.last_question: int | None = None  # a contact message left unanswered in an earlier session
        self.scene = Scene(rng)  # a new one for every conversation

    def message(self, sender: Person | None, text: str | list[Any] = "", **fields: Any) -> dict[str, Any]:
        self.now += timedelta(seconds=self.rng.randint(5, 150))
        msg_id = self.next_id
        self.next_id += 1
        local = (self.now + LOCAL_OFFSET).replace(tzinfo=None).isoformat(timespec="seconds")
        msg: dict[str, Any] = {"id": msg_id, "type": "message", "date": local}
        if not self.spec.old_format:
            msg["date_unixtime"] = str(int(self.now.timestamp()))
            if self.rng.random() < 0.03:
                edited = self.now + timedelta(minutes=self.rng.randint(1, 30))
                msg["edited"] = (edited + LOCAL_OFFSET).replace(tzinfo=None).isoformat(timespec="seconds")
                msg["edited_unixtime"] = str(int(edited.timestamp()))
        if sender is not None:
            msg["from"] = sender.name
            msg["from_id"] = sender.user_id if self.spec.old_format else sender.from_id
            self.last_by[sender.from_id] = msg_id
        msg.update(fields)
        msg["text"] = text
        if not self.spec.old_format:
            msg["text_entities"] = _entities(text)
        return msg

    def service(self, actor: Person | None, action: str, **fields: Any) -> dict[str, Any]:
        msg = self.message(None)
        del msg["text"]
        msg.pop("text_entities", None)
        msg["type"] = "service"
        if actor is not None:
            msg.update(actor=actor.name, actor_id=actor.from_id)
        msg["action"] = action
        msg.update(fields, text="")
        if not self.spec.old_format:
            msg["text_entities"] = []
        return msg

    def wake_up(self) -> None:
        """Conversations start between 8:00 and midnight, local time."""
        hour = (self.now + LOCAL_OFFSET).hour
        if hour < 8:
            self.now += timedelta(hours=8 - hour, minutes=self.rng.randint(0, 240))

    def pause(self, low: float, high: float) -> None:
        self.now += timedelta(seconds=self.rng.uniform(low, high))


def _entities(text: str | list[Any]) -> list[dict[str, Any]]:
    if isinstance(text, str):
        return [{"type": "plain", "text": text}] if text else []
    return [{"type": "plain", "text": part} if isinstance(part, str) else part for part in text if part != ""]


def _chat_messages(
    spec: ChatSpec, rng: random.Random, quota: int, start: datetime, span: timedelta
) -> Iterator[dict[str, Any]]:
    chat = _Chat(spec, rng, start)
    sessions = _session_maker(spec)
    mean_gap = span.total_seconds() / max(1, quota / spec.session_size) - 3900
    written = 0
    if spec.type == "private_supergroup":
        for msg in _group_prehistory(chat):
            written += 1
            yield msg
    while written < quota:
        chat.pause(3900, 3900 + rng.expovariate(1 / max(60, mean_gap)))  # > 60 min: a new conversation
        chat.wake_up()
        chat.scene = Scene(rng)
        for msg in sessions(chat):
            written += 1
            yield msg


def _session_maker(spec: ChatSpec):  # type: ignore[no-untyped-def]
    if spec.type == "private_supergroup":
        return _group_session
    if spec.type == "bot_chat":
        return _bot_session
    if spec.type == "saved_messages":
        return _saved_session
    if spec.type == "public_channel":
        return _channel_session
    assert spec.contact is not None
    contact = spec.contact
    return lambda chat: _personal_session(chat, contact)


def _pick(chat: _Chat, lines: Lines, key: str) -> str | None:
    options = lines.get(key)
    return chat.scene.fill(chat.rng.choice(options)) if options else None


def _persona_line(chat: _Chat, lines: Lines, register: str, lang: str) -> str | None:
    """Marco's line: what he says to this kind of person when there is one, else his general line."""
    if lines.get(register) and (not lines.get(lang) or chat.rng.random() < 0.6):
        return _pick(chat, lines, register)
    return _pick(chat, lines, lang)


def _beat(rng: random.Random, beats: list[Beat], register: str) -> Beat | None:
    options = [beat for beat in beats if register in beat.ask]
    return rng.choice(options) if options else None


def _topics_for(register: str, side: str) -> list[Topic]:
    """The topics in which someone of `register` can say a line of `side` ("openers" or "responses")."""
    return [t for t in TOPICS if any(register in beat.ask for beat in getattr(t, side))]


def _persona_turn(chat: _Chat, line: str, lang: str, reply_to: int | None = None) -> Iterator[dict[str, Any]]:
    """Marco's reply, sometimes split over two messages ("ahah" + the answer) or closed by an emoji."""
    rng = chat.rng
    chat.pause(5, 200)
    fillers = PERSONA_FILLERS_EN if lang == "en" else PERSONA_FILLERS
    if rng.random() < 0.15:
        yield chat.message(PERSONA, rng.choice(fillers))
    fields: dict[str, Any] = {}
    if reply_to is not None and rng.random() < 0.25:
        fields["reply_to_message_id"] = reply_to
    if rng.random() < 0.12 and not any(ch in line for ch in PERSONA_EMOJI):
        line = f"{line} {rng.choice(PERSONA_EMOJI)}"
    yield chat.message(PERSONA, line, **fields)
    if rng.random() < 0.06:
        yield _sticker(chat, PERSONA, rng.choice(["😂", "👍", "💪", "😘"]))


def _contact_turn(chat: _Chat, sender: Person, line: str) -> Iterator[dict[str, Any]]:
    rng = chat.rng
    chat.pause(5, 240)
    if rng.random() < 0.06:
        chat.pause(360, 1800)  # a slow answer: a new turn, same conversation
    roll = rng.random()
    if roll < 0.03:
        yield _photo(chat, sender, caption="")
    elif roll < 0.05:
        yield _voice(chat, sender)
    elif roll < 0.07 and not chat.spec.old_format:
        yield chat.message(sender, [{"type": "bold", "text": line}, ""])  # an entity list ending in ""
        return
    yield chat.message(sender, line)


def _exchange(
    chat: _Chat, beat: Beat, sender: Person, register: str, lang: str, react: float = 0.0
) -> Iterator[dict[str, Any]]:
    """`sender` says the beat's line and Marco answers that line (with probability `react`, just reacts)."""
    yield from _contact_turn(chat, sender, _pick(chat, beat.ask, register) or "?")
    if chat.rng.random() < react:
        answer = _pick(chat, PERSONA_REACTIONS, lang)
    else:
        answer = _persona_line(chat, beat.reply, register, lang)
    if answer is not None:
        yield from _persona_turn(chat, answer, lang, chat.last_by.get(sender.from_id))


def _personal_session(chat: _Chat, contact: Person) -> Iterator[dict[str, Any]]:
    rng, register = chat.rng, contact.register
    lang = "en" if register == "english" else "it"
    roll = rng.random()
    if roll < 0.04:
        yield from _contact_turn(chat, contact, _pick(chat, STRAY_LINES, register) or "?")
        chat.last_question = chat.last_by.get(contact.from_id)
        return
    if roll < 0.07 and not chat.spec.old_format:
        yield _call(chat, rng.choice([PERSONA, contact]))
        return
    if roll < 0.10:
        yield from _media_exchange(chat, contact, lang)
        return
    if chat.last_question is not None and rng.random() < 0.5:
        # Marco answers, hours later, a message from an earlier conversation: a reply across sessions.
        quoted, chat.last_question = chat.last_question, None
        yield chat.message(
            PERSONA, chat.scene.fill(rng.choice(LATE_ANSWERS[lang])), reply_to_message_id=quoted
        )
    if roll < 0.32:
        topics = _topics_for(register, "responses")
        if topics:
            yield from _persona_opened(chat, rng.choice(topics), contact, lang)
            return
    topic = rng.choice(_topics_for(register, "openers"))
    yield from _contact_opened(chat, topic, contact, lang)


def _contact_opened(chat: _Chat, topic: Topic, contact: Person, lang: str) -> Iterator[dict[str, Any]]:
    rng, register = chat.rng, contact.register
    opener = _beat(rng, topic.openers, register)
    assert opener is not None  # `_topics_for` chose a topic with an opener for this register
    yield from _exchange(chat, opener, contact, register, lang)
    follow = _beat(rng, topic.follows, register)
    if follow is None or rng.random() < 0.15:
        return
    if rng.random() < 0.05 and not chat.spec.old_format:
        yield _forward(chat, contact)
    yield from _exchange(chat, follow, contact, register, lang)
    yield from _closing(chat, topic, contact, lang)


def _persona_opened(chat: _Chat, topic: Topic, contact: Person, lang: str) -> Iterator[dict[str, Any]]:
    rng, register = chat.rng, contact.register
    opener = _pick(chat, topic.persona_opener, lang) or _pick(chat, topic.persona_opener, "it") or "oh"
    yield from _persona_turn(chat, opener, lang)
    if rng.random() < 0.08:
        return  # no answer: a conversation with only Marco in it
    response = _beat(rng, topic.responses, register)
    assert response is not None  # `_topics_for` chose a topic with a response for this register
    yield from _exchange(chat, response, contact, register, lang, react=0.06)
    yield from _closing(chat, topic, contact, lang)


def _closing(chat: _Chat, topic: Topic, contact: Person, lang: str) -> Iterator[dict[str, Any]]:
    rng, register = chat.rng, contact.register
    if rng.random() < 0.45:
        closing = None
        if rng.random() < 0.15 and not chat.spec.old_format:
            yield _sticker(chat, contact, rng.choice(["😊", "👋", "❤️", "🤣"]))
        else:
            closing = _beat(rng, CLOSERS, register)
            line = _pick(chat, closing.ask, register) if closing else None
            yield from _contact_turn(chat, contact, line or "ok")
        if rng.random() < 0.6:
            yield from _persona_turn(chat, _goodbye(chat, topic, closing, register, lang), lang)


def _goodbye(chat: _Chat, topic: Topic, closing: Beat | None, register: str, lang: str) -> str:
    """Marco's last word: about what this conversation named (the place, the time...) or an answer to the
    contact's goodbye; now and then a stock one."""
    templates = _register_lines(topic.closer, register, lang)
    if closing is not None:
        templates = templates + _register_lines(closing.reply, register, lang)
    fitting = [line for line in templates if chat.scene.knows(line)]  # never a place nobody named
    if fitting and chat.rng.random() < 0.9:
        return chat.scene.fill(chat.rng.choice(fitting))
    return chat.rng.choice(_register_lines(PERSONA_CLOSERS, register, lang))


def _register_lines(lines: Lines, register: str, lang: str) -> list[str]:
    return lines.get(register) or lines.get(lang) or []


def _media_exchange(chat: _Chat, contact: Person, lang: str) -> Iterator[dict[str, Any]]:
    """A photo (Marco's or the contact's), with or without caption, and the answer to it."""
    rng = chat.rng
    if rng.random() < 0.5:
        yield _photo(chat, contact, caption=rng.choice(PHOTO_CAPTIONS[lang]))
        yield from _persona_turn(chat, _pick(chat, PHOTO_REPLIES, lang) or "wow", lang)
    else:
        yield _photo(chat, PERSONA, caption=rng.choice(PERSONA_CAPTIONS[lang]))
        chat.pause(20, 300)
        yield chat.message(contact, rng.choice(["Che bello!", "Wow 😍", "AHAHAHAH", "Nice!"]))
        if rng.random() < 0.3:
            link = {"type": "link", "text": "https://maps.app.goo.gl/9xQv2ZkYbT4pLm8w6"}
            yield chat.message(PERSONA, [rng.choice(MAP_LINK_TEXTS[lang]), link, ""])
        if rng.random() < 0.2:
            yield _video(chat, PERSONA)


def _photo(chat: _Chat, sender: Person, caption: str) -> dict[str, Any]:
    return chat.message(
        sender,
        caption,
        photo=NOT_INCLUDED,
        photo_file_size=chat.rng.randint(40_000, 400_000),
        width=1280,
        height=960,
    )


def _sticker(chat: _Chat, sender: Person, emoji: str) -> dict[str, Any]:
    return chat.message(
        sender,
        "",
        file=NOT_INCLUDED,
        file_name="sticker.webp",
        file_size=24_318,
        thumbnail=NOT_INCLUDED,
        thumbnail_file_size=5_140,
        media_type="sticker",
        sticker_emoji=emoji,
        width=512,
        height=512,
    )


def _voice(chat: _Chat, sender: Person) -> dict[str, Any]:
    return chat.message(
        sender,
        "",
        file=NOT_INCLUDED,
        file_size=chat.rng.randint(8_000, 90_000),
        media_type="voice_message",
        mime_type="audio/ogg",
        duration_seconds=chat.rng.randint(2, 60),
    )


def _video(chat: _Chat, sender: Person) -> dict[str, Any]:
    return chat.message(
        sender,
        "",
        file="(File exceeds maximum size. Change data exporting settings to download.)",
        file_name="VID_20250614.mp4",
        file_size=2_604_531_712,
        thumbnail=NOT_INCLUDED,
        media_type="video_file",
        mime_type="video/mp4",
        duration_seconds=412,
        width=1920,
        height=1080,
    )


def _forward(chat: _Chat, sender: Person) -> dict[str, Any]:
    news = chat.rng.choice(
        [
            "Roma, chiusa la metro A per lavori nel fine settimana.",
            "Offerta: 2 pizze al prezzo di 1 ogni martedì, chiama il 06 5550 1234!",
            "Allerta meteo gialla per domani su tutto il Lazio.",
        ]
    )
    return chat.message(sender, news, forwarded_from="Il Post", forwarded_from_id="channel1006503122")


def _call(chat: _Chat, caller: Person) -> dict[str, Any]:
    missed = chat.rng.random() < 0.3
    fields: dict[str, Any] = {"discard_reason": "missed" if missed else "hangup"}
    if not missed:
        fields = {"duration_seconds": chat.rng.randint(20, 900), **fields}
    return chat.service(caller, "phone_call", **fields)


def _group_prehistory(chat: _Chat) -> Iterator[dict[str, Any]]:
    """The group's first messages, from before its migration to a supergroup: negative ids, service events."""
    chat.next_id = -120
    yield chat.service(LORENZO, "create_group", title="Calcetto", members=[m.name for m in GROUP_MEMBERS])
    yield chat.message(LORENZO, "raga ho creato il gruppo per il calcetto")
    yield chat.message(PERSONA, "daje 💪")
    yield chat.service(LORENZO, "migrate_to_supergroup")
    chat.next_id = 1
    yield chat.service(LORENZO, "migrate_from_group", title="Calcetto")
    yield chat.service(LORENZO, "edit_group_title", title="Calcetto del giovedì ⚽")
    yield chat.service(LORENZO, "invite_members", members=[PERSONA.name])
    yield chat.service(STEFANO, "boost_apply_premium_gift_2031", boosts=2)  # an action no parser knows


def _group_session(chat: _Chat) -> Iterator[dict[str, Any]]:
    rng = chat.rng
    if rng.random() < 0.02:
        yield chat.service(rng.choice(GROUP_MEMBERS), "pin_message", message_id=chat.next_id - 1)
    if rng.random() < 0.25:
        yield from _group_persona_opened(chat, rng.choice(_topics_for("group", "responses")))
        return
    topic = rng.choice(_topics_for("group", "openers"))
    speakers = rng.sample(GROUP_MEMBERS, 3)
    opener = _beat(rng, topic.openers, "group")
    assert opener is not None  # `_topics_for` chose a topic with a group opener
    if rng.random() < 0.1:
        # the others talk, Marco stays silent
        yield from _contact_turn(chat, speakers[0], _pick(chat, opener.ask, "group") or "raga")
        return
    yield from _exchange(chat, opener, speakers[0], "group", "it")
    follow = _beat(rng, topic.follows, "group")
    if follow is not None:
        yield from _exchange(chat, follow, speakers[1], "group", "it")
    closing = _beat(rng, CLOSERS, "group")
    if closing is not None and rng.random() < 0.4:
        yield from _contact_turn(chat, speakers[2], _pick(chat, closing.ask, "group") or "👍")


def _group_persona_opened(chat: _Chat, topic: Topic) -> Iterator[dict[str, Any]]:
    """Marco asks the group; one to three members answer, and Marco answers the last of them."""
    rng = chat.rng
    yield from _persona_turn(chat, _pick(chat, topic.persona_opener, "it") or "raga?", "it")
    members = rng.sample(GROUP_MEMBERS, rng.randint(1, 3))
    for member in members[:-1]:
        beat = _beat(rng, topic.responses, "group")
        yield from _contact_turn(chat, member, (_pick(chat, beat.ask, "group") if beat else None) or "ok")
    last = _beat(rng, topic.responses, "group")
    assert last is not None  # `_topics_for` chose a topic with a group response
    if rng.random() < 0.7:
        yield from _exchange(chat, last, members[-1], "group", "it")
    else:
        yield from _contact_turn(chat, members[-1], _pick(chat, last.ask, "group") or "ok")


def _bot_session(chat: _Chat) -> Iterator[dict[str, Any]]:
    bot = Person(chat.spec.id, chat.spec.name, "bot")
    yield chat.message(PERSONA, [{"type": "bot_command", "text": "/meteo"}, " roma"])
    chat.pause(1, 2)
    degrees = chat.rng.randint(4, 33)
    yield chat.message(bot, f"☀️ Roma: {degrees}°C, vento debole.", via_bot="@MeteoBot")


def _saved_session(chat: _Chat) -> Iterator[dict[str, Any]]:
    notes = ["lista spesa: latte, pane, uova", "iban affitto da controllare", "password wifi: casa2024!"]
    yield chat.message(PERSONA, chat.rng.choice(notes))


def _channel_session(chat: _Chat) -> Iterator[dict[str, Any]]:
    channel = Person(chat.spec.id, chat.spec.name, "channel")
    msg = chat.message(
        channel, [{"type": "bold", "text": "Le notizie di oggi"}, "\nIl punto sulla giornata.", ""]
    )
    msg["from_id"] = f"channel{chat.spec.id}"
    msg["reactions"] = [{"type": "emoji", "count": chat.rng.randint(1, 400), "emoji": "👍"}]
    yield msg
