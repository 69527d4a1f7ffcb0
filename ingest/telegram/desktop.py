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
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import ChatLikeMeError, input_error
from core.schema import ENTITY_TYPE, MESSAGES_SCHEMA, OPTIONAL_COLUMNS
from ingest.fork_map import can_fork, fork_map
from ingest.pii import url_has_secret

# --- the typed view of the JSON (only the fields we read) -------------------------------------------------


class TextPart(msgspec.Struct, gc=False):
    """One piece of a formatted text: {"type": "bold", "text": "..."} (also link, mention, plain, ...)."""

    type: str = "plain"
    text: str = ""
    href: str | None = None  # text_link only


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
    phone_number: str | None = None


class Contact(msgspec.Struct, gc=False):
    first_name: str | None = None
    last_name: str | None = None
    phone_number: str | None = None


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
_RAW_LIST_DECODER = msgspec.json.Decoder(list[msgspec.Raw])
PARALLEL_MIN_BYTES = 16_000_000  # below this, forking a second process costs more than it saves

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

# Text entities that are personal data by Telegram's own account: kept in the `entities` column, masked
# whatever the PII rules think (text_link only when its target is a private link, see `_private_link`).
PII_ENTITY_TYPES = frozenset({"phone", "email", "mention", "mention_name", "bank_card", "text_link"})
_PRIVATE_LINK = re.compile(r"^(?:https?://)?(?:t\.me|telegram\.me|telegram\.dog)/|^tg://", re.IGNORECASE)

# What every reader gives: the stored message table without `is_persona` (known only once the persona is)
# and without the optional columns (core.schema.OPTIONAL_COLUMNS); READ_SCHEMA: with them, as merged.
TABLE_SCHEMA = pa.schema(
    [f for f in MESSAGES_SCHEMA if f.name != "is_persona" and f.name not in OPTIONAL_COLUMNS]
)
READ_SCHEMA = pa.schema([f for f in MESSAGES_SCHEMA if f.name != "is_persona"])


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
    messages: pa.Table  # TABLE_SCHEMA (+ optional columns: READ_SCHEMA for Telegram), in file order
    contact_names: list[str] = field(default_factory=list)  # from the export's contact list
    phone_numbers: list[str] = field(default_factory=list)  # the owner's, then the contacts' (PII regions)


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
    path: str | Path,
    timezone: str = "UTC",
    progress: Callable[[int], None] | None = None,
    workers: int = 0,
) -> Export:
    """Parse one export file. `timezone` interprets the local `date` of messages without `date_unixtime`.

    `progress(n_bytes)` is called as chats are decoded (for a progress bar over the file size).
    `workers`: 2 decodes in this process and a forked one, 1 in this process only, 0 (default) picks 2 for
    exports over 16 MB on machines with two or more CPUs.
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
            return _read_mapped(path, mapped, timezone, progress, workers)
    finally:
        mapped.madvise(mmap.MADV_DONTNEED)
        # After an error its traceback may still reference slices of the file: then the map is closed
        # when they are collected.
        with contextlib.suppress(BufferError):
            mapped.close()


def _read_mapped(
    path: Path,
    data: mmap.mmap,
    timezone: str,
    progress: Callable[[int], None] | None,
    workers: int,
) -> Export:
    export = _decode(path, data)
    raw_chats = _raw_chats(path, export)
    owner = export.personal_information
    owner_id = f"user{owner.user_id}" if owner and owner.user_id is not None else None
    owner_name = " ".join(filter(None, [owner.first_name, owner.last_name])) if owner else None
    # The first pass touched every page of the file; the decoded chats only reference their slices.
    _drop_pages(data)
    keys = [chat_key(chat.id, chat.type, chat.name) for chat in raw_chats]
    chats = [(i, chat, key) for i, (chat, key) in enumerate(zip(raw_chats, keys, strict=True))]
    tables = _decode_chats(path, chats, timezone, data, progress, workers)
    infos = [ChatInfo(key, chat.type, chat.name, tables[i].num_rows) for i, chat, key in chats]
    messages = pa.concat_tables([tables[i] for i, _, _ in chats]) if chats else READ_SCHEMA.empty_table()
    contacts = [
        " ".join(filter(None, [c.first_name, c.last_name]))
        for c in (export.contacts.contacts if export.contacts else [])
    ]
    phones = [owner.phone_number] if owner else []
    phones += [c.phone_number for c in (export.contacts.contacts if export.contacts else [])]
    names = [c for c in contacts if c]
    return Export(path, owner_id, owner_name or None, infos, messages, names, [p for p in phones if p])


@dataclass
class _Part:
    """A chat's messages to decode: all of them, or one half of a chat too big for one process."""

    index: int  # the chat's position in the export
    chat: RawChat
    key: str
    raws: list[msgspec.Raw] | None = None  # a split chat's messages, each as raw JSON
    start: int = 0
    stop: int = 0

    @property
    def size(self) -> int:
        if self.raws is None:
            return len(self.chat.messages)
        return sum(len(r) for r in self.raws[self.start : self.stop])

    def messages_json(self) -> msgspec.Raw | bytes:
        if self.raws is None:
            return self.chat.messages
        return b"[" + b",".join(self.raws[self.start : self.stop]) + b"]"


def _decode_chats(
    path: Path,
    chats: list[tuple[int, RawChat, str]],
    timezone: str,
    data: mmap.mmap,
    progress: Callable[[int], None] | None,
    workers: int,
) -> dict[int, pa.Table]:
    """The message table of each chat (by its position in the export), in two processes for big exports."""
    parts = _parts(chats, workers)
    weights = [part.size for part in parts]
    decode = _PartDecoder(path, timezone, data)
    if len(parts) > 1 and _parallel(workers, sum(weights)):
        # pyarrow imports pandas (when installed) on its first conversion of Python objects: let that happen
        # once, here, rather than in both processes.
        pa.array([0])
        part_tables = fork_map(decode, parts, weights, progress)
    else:
        part_tables = []
        for part, weight in zip(parts, weights, strict=True):
            part_tables.append(decode(part))
            if progress is not None:
                progress(weight)
    by_chat: dict[int, list[pa.Table]] = {}
    for part, table in zip(parts, part_tables, strict=True):
        by_chat.setdefault(part.index, []).append(table)
    return {index: pa.concat_tables(tables) for index, tables in by_chat.items()}


def _parts(chats: list[tuple[int, RawChat, str]], workers: int) -> list[_Part]:
    """One part per chat; a chat with more than half of all the bytes is cut in two (for two processes)."""
    total = sum(len(chat.messages) for _, chat, _ in chats)
    parts = []
    for index, chat, key in chats:
        if _parallel(workers, total) and 2 * len(chat.messages) > total:
            raws = _RAW_LIST_DECODER.decode(chat.messages)
            half = len(raws) // 2
            parts += [_Part(index, chat, key, raws, 0, half), _Part(index, chat, key, raws, half, len(raws))]
        else:
            parts.append(_Part(index, chat, key))
    return parts


def _parallel(workers: int, total_bytes: int) -> bool:
    if workers == 0:
        return total_bytes >= PARALLEL_MIN_BYTES and can_fork()
    return workers >= 2 and can_fork()


class _PartDecoder:
    """Decodes one `_Part` into its Arrow table, in this process or in the forked one."""

    def __init__(self, path: Path, timezone: str, data: mmap.mmap) -> None:
        self.path, self.timezone, self.data = path, timezone, data

    def __call__(self, part: _Part) -> pa.Table:
        table = _decode_chat(self.path, part.chat, part.key, self.timezone, part.messages_json(), part.start)
        _drop_pages(self.data)
        return table


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


@contextlib.contextmanager
def system_allocator() -> Iterator[None]:
    """Let Arrow allocate with the C library's malloc while ingesting (the previous pool afterwards).

    Ingest allocates and frees hundreds of MB in big blocks. Arrow's default pool (mimalloc) hands freed
    pages back to the kernel and faults them in again: measured on the 1M-message benchmark, malloc halves
    the system time (1.3 s -> 0.6 s) for the same peak memory.
    """
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


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


def _decode_chat(
    path: Path, chat: RawChat, key: str, timezone: str, raw: msgspec.Raw | bytes, first: int = 0
) -> pa.Table:
    """`raw`: the chat's messages (a JSON array), or a slice of them starting with message number `first`."""
    try:
        messages = _MESSAGES_DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        problem = _relocated(str(exc), first)
        raise input_error(path, f"chat {chat.name or key!r}: unexpected message data: {problem}") from None
    try:
        return _columns(messages, key, chat.type, chat.name, lambda: _local_dates(raw, timezone))
    except ChatLikeMeError as exc:
        raise input_error(path, f"chat {chat.name or key!r}: {exc}") from None


def _relocated(error: str, first: int) -> str:
    """msgspec's "... - at `$[3].id`" for a slice of messages, as a position in the chat's `messages`."""
    problem, _, where = error.partition(" - at `")
    if not where:
        return error
    where = re.sub(r"^\$\[(\d+)\]", lambda m: f"$.messages[{int(m.group(1)) + first}]", where.rstrip("`"))
    return f"{problem} - at `{where}`"


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
            "entities": pa.array(
                [None if m.text.__class__ is str else pii_entities(m.text) for m in messages],  # type: ignore[arg-type]
                pa.list_(ENTITY_TYPE),
            ),
        },
        schema=READ_SCHEMA,
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


def pii_entities(text: Text) -> list[dict[str, str]] | None:
    """The personal-data entities of a text given as a list (`PII_ENTITY_TYPES`), or None when it has none."""
    found = None
    for part in text:
        if part.__class__ is str or part.type not in PII_ENTITY_TYPES or not part.text:  # type: ignore[union-attr]
            continue
        if part.type == "text_link" and not _private_link(part.href):  # type: ignore[union-attr]
            continue
        if found is None:
            found = []
        found.append({"type": part.type, "text": part.text})  # type: ignore[union-attr]
    return found


def _private_link(href: str | None) -> bool:
    """A text_link to a Telegram address (t.me/..., tg://) or to a URL carrying a secret."""
    if not href:
        return False
    return bool(_PRIVATE_LINK.search(href)) or url_has_secret(href)


def _timestamps(messages: list[Message], local_dates: Callable[[], pa.Array]) -> pa.Array:
    exact = pa.array([m.date_unixtime for m in messages], pa.int64())
    exact = pc.multiply(exact, 1_000_000).cast(pa.timestamp("us", tz="UTC"))
    return exact if exact.null_count == 0 else pc.coalesce(exact, local_dates())


def _local_dates(raw_messages: msgspec.Raw | bytes, timezone: str) -> pa.Array:
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
