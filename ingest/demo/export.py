"""A realistic synthetic Telegram Desktop export (full-account layout), deterministic for a seed.

`chatlikeme demo-export --out FILE [--messages N] [--seed S] [--persona it|en]` writes it; the tests, the
README demo and the ingest benchmark all run on it. Who the people are and what they say comes from a persona
module of `ingest.demo.personas` (Marco, Italian, by default: `ingest.demo.dialogues`; Emma, English:
`ingest.demo.personas.en`); this generator, shared by both, turns conversations into the exact JSON Telegram
Desktop writes, including the awkward parts of real exports: text as entity lists ending in "", stickers,
photos with and without captions, voice messages, a video over 2^31 bytes, replies (some to a message of an
earlier conversation), forwards, service messages (calls, group events, an action no parser knows), a deleted
account (null names), a 2019 chat in the old format (integer `from_id`, no `date_unixtime`/`text_entities`), a
migrated group with negative ids, names with emoji, ZWJ sequences and right-to-left script, phone numbers /
e-mails / IBANs in the text, and unknown fields.

The file is streamed chat by chat, one message at a time: a million messages take seconds and little memory.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from core.io import atomic_file
from ingest.demo.dialogues import SLOTS, Beat, Lines, Topic
from ingest.demo.personas import ChatSpec, DemoPersona, Person, demo_persona

DEFAULT_MESSAGES = 4000  # the Italian persona's; each persona has its own default
LOCAL_OFFSET = timedelta(hours=1)  # Telegram writes `date` in the exporting machine's local time
END = datetime(2025, 10, 31, 22, 0, tzinfo=UTC)
NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"


MIN_CHAT_MESSAGES = 30  # so that every chat of a small demo export passes ingest's default minimum


def write_demo_export(
    out: str | Path, messages: int | None = None, seed: int = 0, persona: str = "it"
) -> Path:
    """Write a demo export of about `messages` messages (default: the persona's) of the demo persona `persona`
    ("it": Marco, "en": Emma) to `out` (atomically); returns the path."""
    pack = demo_persona(persona)
    messages = pack.default_messages if messages is None else messages
    if messages < 1:
        raise ValueError("messages must be positive")
    out = Path(out)
    with atomic_file(out) as tmp, tmp.open("wb", buffering=1 << 20) as fh:
        _write_export(fh, messages, seed, pack)
    return out


ABOUT = (
    "Here is the data you requested. Remember: Telegram is ad free, it doesn't use your data for ad "
    "targeting and doesn't sell it to others."
)


def _write_export(fh: BinaryIO, total: int, seed: int, pack: DemoPersona) -> None:
    span_days = min(6 * 365, max(240, total // 40))
    start = END - timedelta(days=span_days)
    fh.write(b"{\n" + _field("about", ABOUT, 1) + b",\n")
    fh.write(_field("personal_information", pack.personal_information, 1) + b",\n")
    fh.write(_field("contacts", _contacts(pack), 1) + b",\n")
    for section in ("chats", "left_chats"):
        specs = [spec for spec in pack.chats if spec.section == section]
        about = _field("about", "This page lists all chats from this export.", 2)
        fh.write(f' "{section}": {{\n'.encode() + about + b',\n  "list": [\n')
        for index, spec in enumerate(specs):
            rng = random.Random(f"{seed}/{spec.id}")
            quota = max(MIN_CHAT_MESSAGES, round(total * spec.share))
            chat_start = datetime(2019, 3, 1, 9, tzinfo=UTC) if spec.old_format else start
            chat_span = timedelta(days=240) if spec.old_format else END - start
            _write_chat(fh, spec, _chat_messages(pack, spec, rng, quota, chat_start, chat_span))
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


def _contacts(pack: DemoPersona) -> dict[str, Any]:
    contacts = [
        {
            "user_id": 300000000 + i,
            "first_name": first,
            "last_name": last,
            "phone_number": pack.phone(i),
            "date": "2023-05-02T10:00:00",
            "date_unixtime": "1683014400",
        }
        for i, (first, last) in enumerate(pack.contact_names)
    ]
    return {"about": "This page lists all contacts from this export.", "list": contacts}


# --- conversations ------------------------------------------------------------------------------------------

_ALTERNATIVES = re.compile(r"\[([^\[\]]*)\]")  # [a|b|]: one of them
_SLOT = re.compile(r"\{(\w+)\}")  # {place}, {place2}


class Scene:
    """What one conversation names. Each slot is drawn once, when first used, so the place of the contact's
    invitation is the place of the persona's answer and goodbye; `{food2}` is a second food, different from
    `{food}` (the other option of a choice)."""

    def __init__(self, rng: random.Random, slots: dict[str, list[str]] = SLOTS) -> None:
        self.rng, self.slots = rng, slots
        self.values: dict[str, str] = {}

    def value(self, slot: str) -> str:
        if slot not in self.values:
            base = slot.removesuffix("2")
            taken = {self.values.get(base), self.values.get(base + "2")}
            self.values[slot] = self.rng.choice([v for v in self.slots[base] if v not in taken])
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

    def __init__(self, pack: DemoPersona, spec: ChatSpec, rng: random.Random, start: datetime) -> None:
        self.pack, self.spec, self.rng, self.now = pack, spec, rng, start
        self.persona = pack.persona
        self.next_id = rng.randint(1000, 90000)
        self.last_by: dict[str, int] = {}  # sender from_id -> their latest message id (for replies)
        self.last_question: int | None = None  # a contact message left unanswered in an earlier session
        self.scene = Scene(rng, pack.slots)  # a new one for every conversation

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
    pack: DemoPersona, spec: ChatSpec, rng: random.Random, quota: int, start: datetime, span: timedelta
) -> Iterator[dict[str, Any]]:
    chat = _Chat(pack, spec, rng, start)
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
        chat.scene = Scene(rng, pack.slots)
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
    """The persona's line: what they say to this kind of person when there is one, else their general line."""
    if lines.get(register) and (not lines.get(lang) or chat.rng.random() < 0.6):
        return _pick(chat, lines, register)
    return _pick(chat, lines, lang)


def _beat(rng: random.Random, beats: list[Beat], register: str) -> Beat | None:
    options = [beat for beat in beats if register in beat.ask]
    return rng.choice(options) if options else None


def _topics_for(chat: _Chat, register: str, side: str) -> list[Topic]:
    """The topics in which someone of `register` can say a line of `side` ("openers" or "responses")."""
    return [t for t in chat.pack.topics if any(register in beat.ask for beat in getattr(t, side))]


def _persona_turn(chat: _Chat, line: str, lang: str, reply_to: int | None = None) -> Iterator[dict[str, Any]]:
    """The persona's reply, sometimes split over two messages ("ahah" + the answer) or closed by an emoji;
    with the persona's own style rules (`DemoPersona.split`, `tail`, `sign_off`, `plain`) where it has
    them."""
    rng, pack = chat.rng, chat.pack
    chat.pause(5, 200)
    if rng.random() < 0.15:
        yield chat.message(pack.persona, rng.choice(pack.fillers[lang]))
    fields: dict[str, Any] = {}
    if reply_to is not None and rng.random() < 0.25:
        fields["reply_to_message_id"] = reply_to
    register = chat.spec.contact.register if chat.spec.contact else "group"
    plain = register in pack.plain
    if rng.random() < 0.12 and not any(ch in line for ch in pack.emoji):
        emoji = rng.choice(pack.emoji)
        line = line if plain else f"{line} {emoji}"
    if pack.tail and rng.random() < pack.tail and not line.endswith(("x", "!", "?")) and not plain:
        line = f"{line}{rng.choice(pack.tails)}"  # "haha", "tbh"... at the end of a line
    chance, sign = pack.sign_off.get(register, (0.0, ""))
    if chance and rng.random() < chance and not line.endswith(("x", "!", "?")):
        line = f"{line}{sign}"
    if pack.split and ", " in line and rng.random() < pack.split:
        head, line = line.split(", ", 1)  # she sends the first part, then the rest
        yield chat.message(pack.persona, head)
        chat.pause(2, 25)
    yield chat.message(pack.persona, line, **fields)
    if rng.random() < 0.06 and not plain:
        yield _sticker(chat, pack.persona, rng.choice(pack.persona_stickers))


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
    """`sender` says the beat's line and the persona answers that line (with probability `react`, just
    reacts)."""
    yield from _contact_turn(chat, sender, _pick(chat, beat.ask, register) or "?")
    if chat.rng.random() < react:
        answer = _pick(chat, chat.pack.reactions, lang)
    else:
        answer = _persona_line(chat, beat.reply, register, lang)
    if answer is not None:
        yield from _persona_turn(chat, answer, lang, chat.last_by.get(sender.from_id))


def _personal_session(chat: _Chat, contact: Person) -> Iterator[dict[str, Any]]:
    rng, register = chat.rng, contact.register
    lang = chat.pack.lang_of(register)
    roll = rng.random()
    if roll < 0.04:
        yield from _contact_turn(chat, contact, _pick(chat, chat.pack.stray_lines, register) or "?")
        chat.last_question = chat.last_by.get(contact.from_id)
        return
    if roll < 0.07 and not chat.spec.old_format:
        yield _call(chat, rng.choice([chat.persona, contact]))
        return
    if roll < 0.10:
        yield from _media_exchange(chat, contact, lang)
        return
    if chat.last_question is not None and rng.random() < 0.5:
        # The persona answers, hours later, a message from an earlier conversation: a reply across sessions.
        quoted, chat.last_question = chat.last_question, None
        yield chat.message(
            chat.persona,
            chat.scene.fill(rng.choice(chat.pack.late_answers[lang])),
            reply_to_message_id=quoted,
        )
    if roll < 0.32:
        topics = _topics_for(chat, register, "responses")
        if topics:
            yield from _persona_opened(chat, rng.choice(topics), contact, lang)
            return
    topic = rng.choice(_topics_for(chat, register, "openers"))
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
    opener = (
        _pick(chat, topic.persona_opener, lang) or _pick(chat, topic.persona_opener, chat.pack.lang) or "oh"
    )
    yield from _persona_turn(chat, opener, lang)
    if rng.random() < 0.08:
        return  # no answer: a conversation with only the persona in it
    response = _beat(rng, topic.responses, register)
    assert response is not None  # `_topics_for` chose a topic with a response for this register
    yield from _exchange(chat, response, contact, register, lang, react=0.06)
    yield from _closing(chat, topic, contact, lang)


def _closing(chat: _Chat, topic: Topic, contact: Person, lang: str) -> Iterator[dict[str, Any]]:
    rng, register = chat.rng, contact.register
    if rng.random() < 0.45:
        closing = None
        if rng.random() < 0.15 and not chat.spec.old_format:
            yield _sticker(chat, contact, rng.choice(chat.pack.contact_stickers))
        else:
            closing = _beat(rng, chat.pack.closers, register)
            line = _pick(chat, closing.ask, register) if closing else None
            yield from _contact_turn(chat, contact, line or "ok")
        if rng.random() < 0.6:
            yield from _persona_turn(chat, _goodbye(chat, topic, closing, register, lang), lang)


def _goodbye(chat: _Chat, topic: Topic, closing: Beat | None, register: str, lang: str) -> str:
    """The persona's last word: about what this conversation named (the place, the time...) or an answer to
    the contact's goodbye; now and then a stock one."""
    templates = _register_lines(topic.closer, register, lang)
    if closing is not None:
        templates = templates + _register_lines(closing.reply, register, lang)
    fitting = [line for line in templates if chat.scene.knows(line)]  # never a place nobody named
    if fitting and chat.rng.random() < 0.9:
        return chat.scene.fill(chat.rng.choice(fitting))
    return chat.rng.choice(_register_lines(chat.pack.persona_closers, register, lang))


def _register_lines(lines: Lines, register: str, lang: str) -> list[str]:
    return lines.get(register) or lines.get(lang) or []


def _media_exchange(chat: _Chat, contact: Person, lang: str) -> Iterator[dict[str, Any]]:
    """A photo (the persona's or the contact's), with or without caption, and the answer to it."""
    rng, pack = chat.rng, chat.pack
    if rng.random() < 0.5:
        yield _photo(chat, contact, caption=rng.choice(pack.photo_captions[lang]))
        yield from _persona_turn(chat, _pick(chat, pack.photo_replies, lang) or "wow", lang)
    else:
        yield _photo(chat, pack.persona, caption=rng.choice(pack.persona_captions[lang]))
        chat.pause(20, 300)
        yield chat.message(contact, rng.choice(pack.photo_comments))
        if rng.random() < 0.3:
            link = {"type": "link", "text": "https://maps.app.goo.gl/9xQv2ZkYbT4pLm8w6"}
            yield chat.message(pack.persona, [rng.choice(pack.map_link_texts[lang]), link, ""])
        if rng.random() < 0.2:
            yield _video(chat, pack.persona)


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
    news = chat.rng.choice(chat.pack.forwards)
    channel_id, channel_name, _, _ = chat.pack.channel
    return chat.message(sender, news, forwarded_from=channel_name, forwarded_from_id=f"channel{channel_id}")


def _call(chat: _Chat, caller: Person) -> dict[str, Any]:
    missed = chat.rng.random() < 0.3
    fields: dict[str, Any] = {"discard_reason": "missed" if missed else "hangup"}
    if not missed:
        fields = {"duration_seconds": chat.rng.randint(20, 900), **fields}
    return chat.service(caller, "phone_call", **fields)


def _group_prehistory(chat: _Chat) -> Iterator[dict[str, Any]]:
    """The group's first messages, from before its migration to a supergroup: negative ids, service events."""
    start, members = chat.pack.group_start, chat.pack.group_members
    creator, title = start.creator, start.first_title
    chat.next_id = -120
    yield chat.service(creator, "create_group", title=title, members=[m.name for m in members])
    yield chat.message(creator, start.first_line)
    yield chat.message(chat.persona, start.persona_line)
    yield chat.service(creator, "migrate_to_supergroup")
    chat.next_id = 1
    yield chat.service(creator, "migrate_from_group", title=title)
    yield chat.service(creator, "edit_group_title", title=chat.spec.name)
    yield chat.service(creator, "invite_members", members=[chat.persona.name])
    yield chat.service(start.booster, "boost_apply_premium_gift_2031", boosts=2)  # an action no parser knows


def _group_session(chat: _Chat) -> Iterator[dict[str, Any]]:
    rng = chat.rng
    if rng.random() < 0.02:
        yield chat.service(rng.choice(chat.pack.group_members), "pin_message", message_id=chat.next_id - 1)
    if rng.random() < 0.25:
        yield from _group_persona_opened(chat, rng.choice(_topics_for(chat, "group", "responses")))
        return
    topic = rng.choice(_topics_for(chat, "group", "openers"))
    speakers = rng.sample(chat.pack.group_members, 3)
    lang = chat.pack.lang_of("group")
    opener = _beat(rng, topic.openers, "group")
    assert opener is not None  # `_topics_for` chose a topic with a group opener
    if rng.random() < 0.1:
        # the others talk, the persona stays silent
        yield from _contact_turn(
            chat, speakers[0], _pick(chat, opener.ask, "group") or chat.pack.group_fallback
        )
        return
    yield from _exchange(chat, opener, speakers[0], "group", lang)
    follow = _beat(rng, topic.follows, "group")
    if follow is not None:
        yield from _exchange(chat, follow, speakers[1], "group", lang)
    closing = _beat(rng, chat.pack.closers, "group")
    if closing is not None and rng.random() < 0.4:
        yield from _contact_turn(chat, speakers[2], _pick(chat, closing.ask, "group") or "👍")


def _group_persona_opened(chat: _Chat, topic: Topic) -> Iterator[dict[str, Any]]:
    """The persona asks the group; one to three members answer, and the persona answers the last of them."""
    rng, lang = chat.rng, chat.pack.lang_of("group")
    fallback = chat.pack.group_fallback + "?"
    yield from _persona_turn(chat, _pick(chat, topic.persona_opener, lang) or fallback, lang)
    members = rng.sample(chat.pack.group_members, rng.randint(1, 3))
    for member in members[:-1]:
        beat = _beat(rng, topic.responses, "group")
        yield from _contact_turn(chat, member, (_pick(chat, beat.ask, "group") if beat else None) or "ok")
    last = _beat(rng, topic.responses, "group")
    assert last is not None  # `_topics_for` chose a topic with a group response
    if rng.random() < 0.7:
        yield from _exchange(chat, last, members[-1], "group", lang)
    else:
        yield from _contact_turn(chat, members[-1], _pick(chat, last.ask, "group") or "ok")


def _bot_session(chat: _Chat) -> Iterator[dict[str, Any]]:
    bot = Person(chat.spec.id, chat.spec.name, "bot")
    command, argument, answer, via = chat.pack.bot
    yield chat.message(chat.persona, [{"type": "bot_command", "text": command}, argument])
    chat.pause(1, 2)
    degrees = chat.rng.randint(4, 33)
    yield chat.message(bot, answer.format(degrees=degrees), via_bot=via)


def _saved_session(chat: _Chat) -> Iterator[dict[str, Any]]:
    yield chat.message(chat.persona, chat.rng.choice(chat.pack.saved_notes))


def _channel_session(chat: _Chat) -> Iterator[dict[str, Any]]:
    channel = Person(chat.spec.id, chat.spec.name, "channel")
    _, _, headline, body = chat.pack.channel
    msg = chat.message(channel, [{"type": "bold", "text": headline}, body, ""])
    msg["from_id"] = f"channel{chat.spec.id}"
    msg["reactions"] = [{"type": "emoji", "count": chat.rng.randint(1, 400), "emoji": "👍"}]
    yield msg
