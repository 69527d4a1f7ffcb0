"""Reading Telegram Desktop JSON exports (`result.json`) of every layout and format era into one table.

Both layouts: a single chat (`{"name", "type", "id", "messages"}`) and a full account export
(`{"personal_information", "contacts", "chats": {"list"}, "left_chats": {"list"}, ...}`). Every era:
integer `from_id` (2019-2020), no `date_unixtime` / `text_entities` (before ~2022), text as a list of
strings and entity objects, null senders (deleted accounts), negative ids (history from before a group
became a supergroup), and fields or service actions nobody has seen yet (ignored, never an error).

Speed and memory matter: real exports reach hundreds of MB. The file is memory-mapped and decoded with
msgspec into typed Structs that name only the fields we use (everything else is skipped by the decoder
without building Python objects). Each chat's `messages` array is kept as a raw slice of the file on the
first pass and decoded on its own afterwards, so at most one chat's messages exist as Python objects at a
time; they are turned into Arrow columns right away.
"""

from __future__ import annotations

import contextlib
import gc
import mmap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import ChatLikeMeError, input_error
from core.schema import MESSAGES_SCHEMA

# --- the typed view of the JSON (only the fields we read) -------------------------------------------------


class TextPart(msgspec.Struct, gc=False):
    """One piece of a formatted text: {"type": "bold", "text": "..."} (also link, mention, plain, ...)."""

    type: str = "plain"
    text: str = ""


Text = str | list[str | TextPart]
NO_VALUE = msgspec.Raw(b"")


class Message(msgspec.Struct, gc=False):
    id: int
    type: str = "message"  # "message" | "service" | "unsupported" | anything newer
    date_unixtime: int | None = None  # a string of digits in the file; decoded leniently (strict=False)
    sender: str | None = msgspec.field(name="from", default=None)
    from_id: str | int | None = None
    text: Text = ""
    media_type: str | None = None
    sticker_emoji: str | None = None
    photo: str | None = None
    file: str | None = None
    reply_to_message_id: int | None = None
    forwarded_from: str | msgspec.UnsetType | None = msgspec.UNSET  # present (even null) = forwarded
    saved_from: str | msgspec.UnsetType | None = msgspec.UNSET
    action: str | None = None
    actor: str | None = None
    actor_id: str | int | None = None
    # Payloads whose presence is all we need (msgspec.Raw: kept as bytes, never decoded; empty = absent).
    poll: msgspec.Raw = NO_VALUE
    location_information: msgspec.Raw = NO_VALUE
    contact_information: msgspec.Raw = NO_VALUE
    game_title: msgspec.Raw = NO_VALUE
    todo_list: msgspec.Raw = NO_VALUE


class MessageDate(msgspec.Struct, gc=False):
    """Old exports have no `date_unixtime`: their chats are read a second time for the local `date`."""

    date: str = ""


class RawChat(msgspec.Struct, gc=False):
    id: int | str | None = None
    name: str | None = None
    type: str = "unknown"
    messages: msgspec.Raw = msgspec.Raw(b"[]")  # decoded later, one chat at a time


class ChatList(msgspec.Struct, gc=False):
    chats: list[RawChat] = msgspec.field(name="list", default_factory=list)


class PersonalInformation(msgspec.Struct, gc=False):
    user_id: int | None = None
    first_name: str | None = None
    last_name: str | None = None


class Contact(msgspec.Struct, gc=False):
    first_name: str | None = None
    last_name: str | None = None


class ContactList(msgspec.Struct, gc=False):
    contacts: list[Contact] = msgspec.field(name="list", default_factory=list)


class ExportFile(msgspec.Struct, gc=False):
    """Both layouts at once: a full export has `chats`/`left_chats`, a single-chat export has `messages`."""

    personal_information: PersonalInformation | None = None
    contacts: ContactList | None = None
    chats: ChatList | None = None
    left_chats: ChatList | None = None
    id: int | str | None = None
    name: str | None = None
    type: str = "unknown"
    messages: msgspec.Raw = NO_VALUE


_EXPORT_DECODER = msgspec.json.Decoder(ExportFile)
_MESSAGES_DECODER = msgspec.json.Decoder(list[Message], strict=False)
_DATES_DECODER = msgspec.json.Decoder(list[MessageDate])

# --- what reading an export gives ------------------------------------------------------------------------

# Chat types whose ids are user ids ("user123" in from_id), group ids ("chat123") or channel ids
# ("channel123"). Telegram numbers these independently: the prefix makes a chat id unique in an export.
_PEER_PREFIX = {
    "personal_chat": "user",
    "bot_chat": "user",
    "saved_messages": "user",
    "replies": "user",
    "private_group": "chat",
}
GROUP_TYPES = frozenset({"private_group", "private_supergroup", "public_supergroup"})
PERSONAL_TYPES = frozenset({"personal_chat"})

# Media without a caption become a short placeholder: context for the next reply, never a reply to learn.
PLACEHOLDERS = {
    "photo": "[photo]",
    "sticker": "[sticker]",
    "animation": "[GIF]",
    "video_file": "[video]",
    "video_message": "[video message]",
    "voice_message": "[voice message]",
    "audio_file": "[audio]",
    "file": "[file]",
    "poll": "[poll]",
    "location": "[location]",
    "contact": "[contact]",
    "game": "[game]",
    "todo_list": "[to-do list]",
}

# What reading gives: the stored message table without `is_persona` (known only once the persona is).
TABLE_SCHEMA = pa.schema([f for f in MESSAGES_SCHEMA if f.name != "is_persona"])


@dataclass
class ChatInfo:
    chat_id: str  # "user123", "chat123", "channel123": unique across an export
    type: str
    name: str | None
    messages: int


@dataclass
class Export:
    """One export file, normalized: its owner (full exports only), chats, messages and known people."""

    path: Path
    owner_id: str | None  # "user<personal_information.user_id>"
    owner_name: str | None
    chats: list[ChatInfo]
    messages: pa.Table  # TABLE_SCHEMA, in file order
    contact_names: list[str] = field(default_factory=list)  # from the export's contact list


def chat_key(raw_id: int | str | None, chat_type: str, name: str | None) -> str:
    """The chat id used everywhere downstream: Telegram's id with its peer-kind prefix (`user123`)."""
    if raw_id is None:
        return f"name:{name or 'unnamed'}"
    return f"{_PEER_PREFIX.get(chat_type, 'channel')}{raw_id}"


def sender_key(from_id: str | int | None) -> str | None:
    """`from_id` as a string: 2019-2020 exports wrote a bare integer user id."""
    if from_id is None or from_id.__class__ is str:
        return from_id  # type: ignore[return-value]
    return f"user{from_id}"


def read_export(
    path: str | Path, timezone: str = "UTC", progress: Callable[[int], None] | None = None
) -> Export:
    """Parse one export file. `timezone` interprets the local `date` of messages without `date_unixtime`.

    `progress(n_bytes)` is called as chats are decoded (for a progress bar over the file size).
    """
    path = Path(path)
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise input_error(path, f"cannot read: {exc.strerror}") from None
    with fh:
        if path.stat().st_size == 0:
            raise input_error(path, "empty file, not a Telegram export")
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        with gc_paused():
            return _read_mapped(path, mapped, timezone, progress)
    finally:
        mapped.madvise(mmap.MADV_DONTNEED)
        with contextlib.suppress(
            BufferError
        ):  # after an error, its traceback may still hold slices of the file
            mapped.close()


def _read_mapped(
    path: Path, data: mmap.mmap, timezone: str, progress: Callable[[int], None] | None
) -> Export:
    export = _decode(path, data)
    raw_chats = _raw_chats(path, export)
    owner = export.personal_information
    owner_id = f"user{owner.user_id}" if owner and owner.user_id is not None else None
    owner_name = " ".join(filter(None, [owner.first_name, owner.last_name])) if owner else None
    # The first pass touched every page of the file; the decoded chats only reference their slices.
    _drop_pages(data)
    tables, chats = [], []
    for chat in raw_chats:
        key = chat_key(chat.id, chat.type, chat.name)
        table = _decode_chat(path, chat, key, timezone)
        chats.append(ChatInfo(key, chat.type, chat.name, table.num_rows))
        tables.append(table)
        if progress is not None:
            progress(len(chat.messages))
        _drop_pages(data)
    messages = pa.concat_tables(tables) if tables else TABLE_SCHEMA.empty_table()
    contacts = [
        " ".join(filter(None, [c.first_name, c.last_name]))
        for c in (export.contacts.contacts if export.contacts else [])
    ]
    return Export(path, owner_id, owner_name or None, chats, messages, [c for c in contacts if c])


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic objects are created.

    Otherwise every few thousand allocations it re-walks all the lists built so far: decoding and
    column building get 2-5x slower. Nothing created here forms reference cycles.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _drop_pages(data: mmap.mmap) -> None:
    """Let the kernel drop the mapped file's pages from our resident memory (they reload on access)."""
    data.madvise(mmap.MADV_DONTNEED)


def _decode(path: Path, data: mmap.mmap) -> ExportFile:
    try:
        return _EXPORT_DECODER.decode(data)
    except msgspec.ValidationError as exc:
        if "Expected `object`" in str(exc) and "at `$" not in str(exc):
            raise input_error(path, "not a Telegram Desktop export (the JSON is not an object)") from None
        raise input_error(path, f"not a Telegram Desktop export: {exc}") from None
    except msgspec.DecodeError as exc:
        raise input_error(path, f"not valid JSON ({_json_problem(exc)})") from None


def _json_problem(exc: msgspec.DecodeError) -> str:
    text = str(exc)
    if "truncated" in text:
        return "truncated: the file ends in the middle of the data; re-export or copy it again"
    return text.removeprefix("JSON is malformed: ")


def _raw_chats(path: Path, export: ExportFile) -> list[RawChat]:
    if len(export.messages):  # single-chat layout
        return [RawChat(export.id, export.name, export.type, export.messages)]
    if export.chats is None and export.left_chats is None:
        raise input_error(
            path,
            "not a Telegram Desktop export: no 'messages' (single chat) and no 'chats' (full account); "
            "export with Telegram Desktop > Settings > Advanced > Export Telegram data, format JSON",
        )
    return [
        *(export.chats.chats if export.chats else []),
        *(export.left_chats.chats if export.left_chats else []),
    ]


def _decode_chat(path: Path, chat: RawChat, key: str, timezone: str) -> pa.Table:
    try:
        messages = _MESSAGES_DECODER.decode(chat.messages)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise input_error(path, f"chat {chat.name or key!r}: unexpected message data: {exc}") from None
    try:
        return _columns(messages, key, chat.type, chat.name, lambda: _local_dates(chat.messages, timezone))
    except ChatLikeMeError as exc:
        raise input_error(path, f"chat {chat.name or key!r}: {exc}") from None


def _columns(
    messages: list[Message], key: str, chat_type: str, name: str | None, local_dates: Callable[[], pa.Array]
) -> pa.Table:
    """One chat's messages as Arrow columns: one list comprehension per field, no per-message dicts."""
    n = len(messages)
    texts = pa.array(
        [m.text if m.text.__class__ is str else flatten_text(m.text) for m in messages],  # type: ignore[arg-type]
        pa.string(),
    )
    kinds = _kinds(messages, texts)
    sender_ids = [m.from_id for m in messages]
    senders = [m.sender for m in messages]
    for i in pc.indices_nonzero(pc.equal(kinds, "service")).to_pylist():
        # A service message names its sender "actor": keep it, so that calls count as someone's.
        if sender_ids[i] is None:
            sender_ids[i], senders[i] = messages[i].actor_id, messages[i].actor
    try:
        sender_array = pa.array(sender_ids, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # 2019-2020 exports: bare integer user ids
        sender_array = pa.array([sender_key(s) for s in sender_ids], pa.string())
    unset = msgspec.UNSET
    return pa.table(
        {
            "chat_id": pa.array([key] * n, pa.string()),
            "chat_type": pa.array([chat_type] * n, pa.string()),
            "chat_name": pa.array([name] * n, pa.string()),
            "message_id": pa.array([m.id for m in messages], pa.int64()),
            "timestamp": _timestamps(messages, local_dates),
            "sender_id": sender_array,
            "sender_name": pa.array(senders, pa.string()),
            "text": _sticker_emoji(messages, kinds, texts),
            "kind": kinds,
            "reply_to": pa.array([m.reply_to_message_id for m in messages], pa.int64()),
            "forwarded": pa.array(
                [m.forwarded_from is not unset or m.saved_from is not unset for m in messages], pa.bool_()
            ),
            "action": pa.array([m.action for m in messages], pa.string()),
        },
        schema=TABLE_SCHEMA,
    )


def _kinds(messages: list[Message], texts: pa.Array) -> pa.Array:
    """text / sticker / photo / voice_message / ... / service / unsupported, one per message."""
    kind = pa.array(
        [
            m.media_type or ("photo" if m.photo is not None else "file" if m.file is not None else None)
            if m.type == "message"
            else m.type
            for m in messages
        ],
        pa.string(),
    )
    # Polls, locations, contacts, ... have an empty text: look for them only there.
    rare_rows = pc.indices_nonzero(pc.and_(pc.is_null(kind), pc.equal(texts, ""))).to_pylist()
    rare = {i: k for i in rare_rows if (k := _rare_kind(messages[i])) is not None}
    if rare:
        mask = np.zeros(len(messages), bool)
        mask[list(rare)] = True
        kind = pc.replace_with_mask(kind, pa.array(mask), pa.array(list(rare.values()), pa.string()))
    return pc.fill_null(kind, "text")


def _sticker_emoji(messages: list[Message], kinds: pa.Array, texts: pa.Array) -> pa.Array:
    """A sticker says its emoji (its `text` is empty)."""
    rows = pc.indices_nonzero(pc.and_(pc.equal(kinds, "sticker"), pc.equal(texts, ""))).to_pylist()
    emoji = {i: messages[i].sticker_emoji for i in rows if messages[i].sticker_emoji}
    if not emoji:
        return texts
    mask = np.zeros(len(texts), bool)
    mask[list(emoji)] = True
    return pc.replace_with_mask(texts, pa.array(mask), pa.array(list(emoji.values()), pa.string()))


def flatten_text(text: Text) -> str:
    """A text given as a list of strings and entity objects, as the plain string a person reads."""
    if isinstance(text, str):
        return text
    return "".join(part if isinstance(part, str) else part.text for part in text)


def _timestamps(messages: list[Message], local_dates: Callable[[], pa.Array]) -> pa.Array:
    exact = pa.array([m.date_unixtime for m in messages], pa.int64())
    exact = pc.multiply(exact, 1_000_000).cast(pa.timestamp("us", tz="UTC"))
    return exact if exact.null_count == 0 else pc.coalesce(exact, local_dates())


def _local_dates(raw_messages: msgspec.Raw, timezone: str) -> pa.Array:
    """The `date` of every message (local time, no zone), interpreted in `timezone`."""
    dates = pa.array([m.date for m in _DATES_DECODER.decode(raw_messages)], pa.string())
    local = pc.strptime(dates, "%Y-%m-%dT%H:%M:%S", "s", error_is_null=True)
    if local.null_count:
        bad = dates[pc.index(pc.is_null(local), True).as_py()].as_py()
        raise ChatLikeMeError(f"a message has no date_unixtime and an unreadable date ({bad!r})")
    try:
        zoned = pc.assume_timezone(local, timezone, ambiguous="earliest", nonexistent="earliest")
    except pa.ArrowInvalid:
        raise ChatLikeMeError(f"unknown time zone {timezone!r} (use a name like Europe/Rome)") from None
    return zoned.cast(pa.timestamp("us", tz="UTC"))


def _rare_kind(m: Message) -> str | None:
    for kind, payload in (
        ("poll", m.poll),
        ("location", m.location_information),
        ("contact", m.contact_information),
        ("game", m.game_title),
        ("todo_list", m.todo_list),
    ):
        if len(payload) and bytes(payload) != b"null":
            return kind
    return None


def read_exports(paths: Iterable[str | Path], timezone: str = "UTC") -> list[Export]:
    return [read_export(p, timezone) for p in paths]
