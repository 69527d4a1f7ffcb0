"""Reading WhatsApp "Export chat" files (`_chat.txt`, `WhatsApp Chat with X.txt`, or the `.zip` the phone
shares, with or without media) into the same `Export` the Telegram reader gives.

    is_whatsapp_export(path) -> bool     by content: a zip, or text (not JSON) with a WhatsApp message line
                                          among its first 20 lines
    read_whatsapp_export(path, timezone) -> Export

Line shapes (every locale's date order: day/month is inferred from the file, year-first when it has 4 digits):

    [12/05/2023, 10:00:00] Alice: text        iOS (seconds optional, U+200E before attachments and system
                                               lines, "~ Name" / "~\u202fName" for people not in contacts)
    12/05/23, 10:00 - Alice: text             Android (24 h or "10:00\u202fpm")
    continuation lines                         belong to the message above (multi-line messages)

System lines (encryption notice, joined, left, added, created group, security code changes, ...) have no
sender and are stored as `service` rows; media become kinds like Telegram's media messages (`photo`,
`voice_message`, ... or `media` for Android's `<Media omitted>`), their caption as text; deleted messages
are kind `deleted` (no text); a `<This message was edited>` marker is removed and recorded as `action =
"edited"`; polls and locations become kinds `poll` / `location` (no text, like Telegram's).

Ids: WhatsApp exports have none. Senders get `wa<hash of the name>` (the same name is the same person across
chats and exports); a chat gets `whatsapp<hash>` of its name (taken from the file name WhatsApp gives the
export) or, without one, of its participants; a message gets `minute * 16384 + its rank within that minute`
(local time), stable across two exports of the same chat, so that merging them keeps each message once.

Everything runs on whole Arrow columns (RE2 regexes, numpy dates): a million lines take a few seconds.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import ChatLikeMeError, input_error
from ingest.telegram.desktop import TABLE_SCHEMA, ChatInfo, Export

SENDER_PREFIX = "wa"
CHAT_PREFIX = "whatsapp"
_RANK_BITS = 14  # messages per minute a chat may hold (ids must stay below 2**41 for merge_exports)
_MIN_YEAR, _MAX_YEAR = 1970, 2199
_SPACE = r"[ \x{202F}\x{A0}]"

# One message line: date, time, optional am/pm, then "] " (iOS) or " - " (Android), then the rest.
_HEADER = (
    r"^[\x{200E}\x{200F}\x{FEFF}]*\[?"
    r"(?P<a>\d{1,4})[./-](?P<b>\d{1,2})[./-](?P<c>\d{1,4})\.?,?" + _SPACE + r"{1,2}"
    r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:[:.](?P<second>\d{2}))?"
    r"(?:" + _SPACE + r"?(?P<ampm>[AaPp]\.?" + _SPACE + r"?[Mm]\.?))?"
    r"(?:\]" + _SPACE + r"?| - )(?P<rest>.*)$"
)
_HEADER_PY = re.compile(
    _HEADER.replace(r"\x{202F}", "\u202f")
    .replace(r"\x{A0}", "\xa0")
    .replace(r"\x{200E}", "\u200e")
    .replace(r"\x{200F}", "\u200f")
    .replace(r"\x{FEFF}", "\ufeff")
)
_SENDER = r"^(?P<name>[^:\x{200E}][^:]{0,200}): (?P<text>.*)$"
_MARKS = r"[\x{200E}\x{200F}\x{202A}-\x{202E}\x{2066}-\x{2069}]"
# Android system lines that contain ": " (a quoted subject or description): not "Name: text".
_SYSTEM_NAME = r"\bchanged (?:the subject|the group|this group)|\bcreated group\b|\badded\b|\bremoved\b"
_SYSTEM_ACTIONS = [  # (regex on the system line, action)
    (r"end-to-end encrypted", "encryption_notice"),
    (r"security code", "security_code_changed"),
    (r"created (?:the )?group", "create_group"),
    (r"joined using|joined from the community|\bjoined\b", "join_group_by_link"),
    (r"\badded\b", "invite_members"),
    (r"\bleft\b|\bremoved\b", "remove_members"),
    (r"changed (?:the subject|the group name)", "edit_group_title"),
    (r"changed (?:this group's icon|the group icon)|deleted this group's icon", "edit_group_photo"),
    (r"missed (?:voice|video) call|(?:voice|video) call", "phone_call"),
    (r"changed (?:their|to) phone number|changed their phone number", "phone_number_changed"),
    (r"disappearing messages", "disappearing_messages"),
    (r"pinned a message", "pin_message"),
]
_DELETED = r"^(?:This message was deleted|You deleted this message)\.?$"
_EDITED = r"\s*<This message was edited>\s*$"
_POLL = r"^POLL:\n"
_LOCATION = r"^(?:[Ll]ocation: https?://\S+|[Ll]ive location shared\.?)\s*$"
_OMITTED = {  # iOS "<kind> omitted" (no media in the export) and Android's "<Media omitted>"
    "image": "photo",
    "video": "video_file",
    "audio": "voice_message",
    "sticker": "sticker",
    "GIF": "animation",
    "document": "file",
    "Contact card": "contact",
    "video note": "video_message",
}
_SPECIAL = (
    r"^(?:<|This message|You deleted|POLL:|[Ll]ocation: |[Ll]ive location)| omitted$|<attached: "
    r"|\(file attached\)|<This message was edited>"
)
_ATTACHED = r"^(?:.*?)<attached: (?P<ios>[^>\n]+)>|^(?P<android>[^\n]+?\.\w{1,5}) \(file attached\)"
_FILE_KINDS = [  # (regex on an attached file's name, kind), first match wins
    (r"(?i)^STK-|-STICKER-|\.webp$", "sticker"),
    (r"(?i)^PTT-|-AUDIO-|\.opus$", "voice_message"),
    (r"(?i)-GIF-|^VID-.*\.gif$|\.gif$", "animation"),
    (r"(?i)^IMG-|-PHOTO-|\.(?:jpe?g|png|heic)$", "photo"),
    (r"(?i)^VID-|-VIDEO-|\.(?:mp4|mov|3gp)$", "video_file"),
    (r"(?i)^AUD-|\.(?:mp3|m4a|aac|ogg|wav)$", "audio_file"),
    (r"(?i)\.vcf$", "contact"),
]
_FILE_NAME = re.compile(
    r"^(?:WhatsApp[ -]?Chat(?: with| mit| con| avec| met| com| z| -)?|Chat de WhatsApp con|Chat WhatsApp con)"
    r"\s*(?:-\s*)?",
    re.IGNORECASE,
)


def is_whatsapp_export(path: str | Path) -> bool:
    """True for a zip, or a text file (not JSON) with a WhatsApp message line among its first 20 lines."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    if head.startswith(b"PK\x03\x04"):
        return True
    lines = [line for line in head.decode("utf-8", "replace").splitlines() if line.strip()]
    if lines and lines[0].lstrip().startswith("{"):
        return False  # JSON (a Telegram export)
    return any(_HEADER_PY.match(line.lstrip("\ufeff")) for line in lines[:20])


def read_whatsapp_export(path: str | Path, timezone: str = "UTC") -> Export:
    """Parse one WhatsApp chat export (text or zip); dates are local to `timezone`."""
    path = Path(path)
    raw, name_hint = _chat_bytes(path)
    lines = _lines(path, raw)
    try:
        table, chat_name, chat_type, participants = _parse(lines, name_hint)
    except ChatLikeMeError as exc:
        raise input_error(path, str(exc)) from None
    chat_id = table["chat_id"][0].as_py() if table.num_rows else f"{CHAT_PREFIX}{_hash(chat_name or '')}"
    table = _localize(path, table, timezone)
    return Export(
        path, None, None, [ChatInfo(chat_id, chat_type, chat_name, table.num_rows)], table, participants
    )


def _lines(path: Path, raw: bytes) -> pa.LargeStringArray:
    """The file's lines as one Arrow array over the bytes (no Python string per line); trailing blank
    lines removed. Not UTF-8: an error naming the first bad line."""
    data = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    newlines = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    offsets = np.concatenate([[0], newlines + 1, [len(data)]]).astype(np.int64)
    if offsets[-2] == len(data):  # the file ends with a newline: no empty last line
        offsets = offsets[:-1]
    lines = pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        lines.validate(full=True)
    except pa.ArrowInvalid:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise input_error(path, f"line {line}: not UTF-8 text (a WhatsApp export is UTF-8)") from None
        raise input_error(path, "not UTF-8 text (a WhatsApp export is UTF-8)") from None
    lines = pc.utf8_rtrim(lines, characters="\r\n")
    blank = pc.equal(pc.utf8_trim_whitespace(lines), "").to_numpy(zero_copy_only=False)
    used = len(blank) - int(np.argmax(~blank[::-1])) if (~blank).any() else 0
    if used == 0:
        raise input_error(path, "empty file, not a WhatsApp chat export")
    return lines.slice(0, used)


def _chat_bytes(path: Path) -> tuple[bytes, str | None]:
    """The chat text and the chat name from the file name(s) WhatsApp gave the export (media ignored)."""
    try:
        with path.open("rb") as fh:
            is_zip = fh.read(4) == b"PK\x03\x04"
            if not is_zip:
                fh.seek(0)
                return fh.read(), _name_from_file(path.name)
    except OSError as exc:
        raise input_error(path, f"cannot read: {exc.strerror}") from None
    try:  # only the chat text is read: a zip with media can be large
        with zipfile.ZipFile(path) as archive:
            names = [i.filename for i in archive.infolist() if not i.is_dir()]
            texts = [n for n in names if n.lower().endswith(".txt") and "/" not in n.strip("/")]
            chosen = next((n for n in texts if n == "_chat.txt"), None) or (
                texts[0] if len(texts) == 1 else None
            )
            if chosen is None:
                found = ", ".join(texts[:5]) or "none"
                raise input_error(
                    path, f"a zip but not a WhatsApp chat export: no single chat .txt inside ({found})"
                )
            raw = archive.read(chosen)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,  # a deflated member whose bytes were damaged
        NotImplementedError,
        EOFError,
        OSError,
        ValueError,
    ) as exc:
        raise input_error(path, f"unreadable zip file ({exc})") from None
    hint = _name_from_file(chosen) or _name_from_file(path.name)
    return raw, hint


def _name_from_file(file_name: str) -> str | None:
    stem = Path(file_name).stem.strip()
    if not stem or stem == "_chat" or not _FILE_NAME.match(stem):
        return None
    return _FILE_NAME.sub("", stem, count=1).strip() or None


def _hash(value: str) -> str:
    return hashlib.blake2b(value.encode(), digest_size=6).hexdigest()


def _parse(all_lines: pa.Array, name_hint: str | None) -> tuple[pa.Table, str | None, str, list[str]]:
    fields = pc.extract_regex(all_lines, _HEADER)
    header = pc.is_valid(fields).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(header)
    if len(starts) == 0 or not header[0]:
        first_bad = 1 if len(starts) == 0 else int(np.flatnonzero(~header)[0]) + 1
        shown = all_lines[first_bad - 1].as_py()[:60]
        raise ChatLikeMeError(
            f"line {first_bad}: not a WhatsApp message line ({shown!r}); expected '[date, time] Name: text' "
            "or 'date, time - Name: text'"
        )
    heads = fields.filter(pa.array(header))
    rest = heads.field("rest")
    local_us = _local_times(heads, starts)

    # sender and first line of text; system lines have no sender
    split = pc.extract_regex(rest, _SENDER)
    system_name = pc.fill_null(pc.match_substring_regex(split.field("name"), _SYSTEM_NAME), False)
    real_sender = pc.and_(pc.is_valid(split), pc.invert(system_name))
    names = pc.if_else(real_sender, split.field("name"), pa.scalar(None, pa.large_string()))
    first_text = pc.if_else(real_sender, split.field("text"), rest)
    marked = pc.fill_null(pc.starts_with(first_text, "\u200e"), False)

    # message bodies: the header's text, then its continuation lines
    per_line = _line_bodies(all_lines, header, first_text)
    offsets = pa.array(np.append(starts, len(all_lines)).astype(np.int64))
    text = pc.binary_join(
        pa.LargeListArray.from_arrays(offsets, per_line), pa.scalar("\n", pa.large_string())
    )
    text = pc.utf8_rtrim_whitespace(text)
    if pc.any(pc.match_substring_regex(text, _MARKS)).as_py():  # iOS: U+200E before media, system lines
        text = pc.replace_substring_regex(text, _MARKS, "")

    kind, text, edited = _kinds(text)
    # iOS marks system lines (and media lines, already recognised) with U+200E after "Name: "
    is_system = pc.or_(pc.invert(real_sender), pc.and_(marked, pc.equal(kind, "text")))
    kind = pc.if_else(is_system, "service", kind)
    action = _actions(text, is_system, edited)

    clean = pc.utf8_trim(pc.replace_substring_regex(names, _MARKS, ""), "~ \u202f\u00a0\t")
    clean = pc.if_else(is_system, pa.scalar(None, pa.large_string()), clean)
    clean = pc.if_else(pc.equal(clean, ""), pa.scalar(None, pa.large_string()), clean)
    sender_ids = _sender_ids(clean)

    participants = sorted(set(pc.unique(clean).to_pylist()) - {None})
    group_events = pc.is_in(
        action,
        pa.array(
            [
                "create_group",
                "invite_members",
                "remove_members",
                "join_group_by_link",
                "edit_group_title",
                "edit_group_photo",
            ]
        ),
    )
    subject = _group_subject(text, is_system)
    is_group = len(participants) > 2 or bool(pc.any(group_events).as_py()) or subject is not None
    chat_type = "private_group" if is_group else "personal_chat"
    chat_name = name_hint or subject or (" & ".join(participants) if participants else None)
    chat_key = name_hint or subject or "\n".join(participants)
    chat_id = f"{CHAT_PREFIX}{_hash(chat_key.casefold())}"

    n = len(starts)
    table = pa.table(
        {
            "chat_id": _constant(chat_id, n),
            "chat_type": _constant(chat_type, n),
            "chat_name": _constant(chat_name, n),
            "message_id": pa.array(_message_ids(local_us, starts), pa.int64()),
            "timestamp": pa.array(local_us, pa.timestamp("us")),
            "sender_id": sender_ids,
            "sender_name": clean.cast(pa.string()),
            "text": text.cast(pa.string()),
            "kind": kind.cast(pa.string()),
            "reply_to": pa.nulls(n, pa.int64()),
            "forwarded": pa.array(np.zeros(n, bool)),
            "action": action.cast(pa.string()),
        }
    )
    return table, chat_name, chat_type, participants


def _constant(value: str | None, n: int) -> pa.Array:
    return pc.take(pa.array([value], pa.string()), pa.array(np.zeros(n, np.int32)))


def _line_bodies(all_lines: pa.Array, header: np.ndarray, head_text: pa.Array) -> pa.Array:
    """Every line's contribution to its message: a header line its text, a continuation line itself."""
    mask = pa.array(header)
    return pc.replace_with_mask(all_lines, mask, head_text.cast(pa.large_string()))


def _local_times(heads: pa.StructArray, starts: np.ndarray) -> np.ndarray:
    """Local wall-clock times (microseconds, no zone) of the message lines; day/month order inferred."""

    def ints(name: str, default: int | None = None) -> np.ndarray:
        column = heads.field(name)
        if default is not None:
            column = pc.fill_null(
                pc.if_else(pc.equal(column, ""), pa.scalar(None, column.type), column), str(default)
            )
        return pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False)

    a, b, c = ints("a"), ints("b"), ints("c")
    a_len = pc.utf8_length(heads.field("a")).to_numpy(zero_copy_only=False)
    c_len = pc.utf8_length(heads.field("c")).to_numpy(zero_copy_only=False)
    hour, minute, second = ints("hour"), ints("minute"), ints("second", 0)
    if (a_len > 2).any():  # year first: yyyy/mm/dd
        if not (a_len > 2).all():
            _fail(starts, a_len <= 2, "mixes year-first and year-last dates")
        year, month, day = a, b, c
    else:
        if (c_len == 3).any() or (c_len == 1).any():
            _fail(starts, (c_len == 3) | (c_len == 1), "a year must have 2 or 4 digits")
        year = np.where(c < 100, c + 2000, c)
        day_first, month_first = (a > 12).any(), (b > 12).any()
        if day_first and month_first:
            _fail(starts, b > 12, "the dates fit neither day/month nor month/day order")
        if not day_first and not month_first:  # ambiguous: the order in which time moves forward
            day_first = _backwards(year, b, a) <= _backwards(year, a, b)
        day, month = (a, b) if day_first else (b, a)
    ampm = pc.utf8_lower(pc.fill_null(heads.field("ampm"), "")).to_numpy(zero_copy_only=False)
    twelve = ampm != ""
    pm = np.char.startswith(ampm.astype(str), "p") if twelve.any() else np.zeros(len(a), bool)
    bad = ((year < _MIN_YEAR) | (year > _MAX_YEAR), "year out of range")
    _check(starts, *bad)
    _check(starts, (month < 1) | (month > 12), "no such month")
    _check(starts, (day < 1) | (day > _days_in_month(year, np.clip(month, 1, 12))), "no such day")
    _check(starts, twelve & ((hour < 1) | (hour > 12)), "no such hour on a 12-hour clock")
    hour = np.where(twelve, hour % 12 + np.where(pm, 12, 0), hour)
    _check(starts, (hour > 23) | (minute > 59) | (second > 59), "no such time")
    days = _days_from_civil(year, month, day)
    return ((days * 86400 + hour * 3600 + minute * 60 + second) * 1_000_000).astype(np.int64)


def _check(starts: np.ndarray, bad: np.ndarray, problem: str) -> None:
    if bad.any():
        _fail(starts, bad, problem)


def _fail(starts: np.ndarray, bad: np.ndarray, problem: str) -> None:
    raise ChatLikeMeError(
        f"line {int(starts[np.flatnonzero(bad)[0]]) + 1}: unreadable date or time: {problem}"
    )


def _backwards(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> int:
    """How often the date goes back in time, read with this order (invalid dates count as going back)."""
    valid = (month >= 1) & (month <= 12) & (day >= 1)
    key = year * 10000 + np.clip(month, 0, 99) * 100 + day
    return int((np.diff(key) < 0).sum() + (~valid).sum() * 2)


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    lengths = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    return lengths[month] + ((month == 2) & leap)


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 (Howard Hinnant's algorithm, vectorised)."""
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _message_ids(local_us: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """minute * 2**14 + rank of the message within its minute (file order): stable across exports."""
    minute = local_us // 60_000_000
    order = np.argsort(minute, kind="stable")
    sorted_minutes = minute[order]
    new_group = np.ones(len(order), bool)
    new_group[1:] = sorted_minutes[1:] != sorted_minutes[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(order)), 0))
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order)) - group_start
    if (rank >= 1 << _RANK_BITS).any():
        _fail(starts, rank >= 1 << _RANK_BITS, f"more than {1 << _RANK_BITS} messages in one minute")
    return (minute << _RANK_BITS) + rank


def _kinds(text: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(kind, text without markers or media lines, edited) of every message. One regex finds the few
    messages that may be special; only those go through the detailed ones."""
    n = len(text)
    rows = np.flatnonzero(pc.match_substring_regex(text, _SPECIAL).to_numpy(zero_copy_only=False))
    edited = np.zeros(n, bool)
    if len(rows) == 0:
        return pc.take(pa.array(["text"]), pa.array(np.zeros(n, np.int8))), text, pa.array(edited)
    kinds, texts, edits = _special_kinds(text.take(pa.array(rows)))
    labels = ["text", *sorted(set(kinds.tolist()) - {"text"})]
    codes = np.zeros(n, np.int8)
    codes[rows] = [labels.index(k) for k in kinds.tolist()]
    edited[rows] = edits
    mask = np.zeros(n, bool)
    mask[rows] = True
    text = pc.replace_with_mask(text, pa.array(mask), texts.cast(text.type))
    return pc.take(pa.array(labels), pa.array(codes)), text, pa.array(edited)


def _special_kinds(text: pa.Array) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    edited = pc.match_substring_regex(text, _EDITED)
    text = pc.replace_substring_regex(text, _EDITED, "")
    n = len(text)
    kind = np.full(n, "text", dtype=object)
    keep_text = np.ones(n, bool)

    def mark(mask: pa.Array, value: str, keep: bool = False) -> np.ndarray:
        hit = pc.fill_null(mask, False).to_numpy(zero_copy_only=False) & (kind == "text")
        kind[hit] = value
        if not keep:
            keep_text[hit] = False
        return hit

    mark(pc.match_substring_regex(text, _DELETED), "deleted")
    mark(pc.match_substring_regex(text, _POLL), "poll")
    mark(pc.match_substring_regex(text, _LOCATION), "location")
    mark(pc.match_substring_regex(text, r"^<Media omitted>$"), "media")
    for word, value in _OMITTED.items():
        mark(pc.match_substring_regex(text, rf"^{re.escape(word)} omitted$"), value)
    attached = pc.extract_regex(text, _ATTACHED)
    has_file = pc.is_valid(attached).to_numpy(zero_copy_only=False) & (kind == "text")
    if has_file.any():
        rows = np.flatnonzero(has_file)
        picked = attached.take(pa.array(rows))
        files = pc.coalesce(
            pc.if_else(
                pc.equal(picked.field("ios"), ""), pa.scalar(None, pa.large_string()), picked.field("ios")
            ),
            picked.field("android"),
        )
        file_kind = np.full(len(rows), "file", dtype=object)
        for pattern, value in reversed(_FILE_KINDS):  # first listed wins
            file_kind[
                pc.fill_null(pc.match_substring_regex(files, pattern), False).to_numpy(zero_copy_only=False)
            ] = value
        kind[rows] = file_kind
        # the caption: whatever follows the attachment line
        caption = pc.replace_substring_regex(text.take(pa.array(rows)), r"^[^\n]*\n?", "", max_replacements=1)
        mask = np.zeros(n, bool)
        mask[rows] = True
        text = pc.replace_with_mask(text, pa.array(mask), caption)
    text = pc.if_else(pa.array(keep_text), text, "")
    return kind, text, edited.to_numpy(zero_copy_only=False)


def _actions(text: pa.Array, is_system: pa.Array, edited: pa.Array) -> pa.Array:
    action = np.full(len(text), None, dtype=object)
    system = is_system.to_numpy(zero_copy_only=False)
    action[pc.fill_null(edited, False).to_numpy(zero_copy_only=False) & ~system] = "edited"
    if system.any():
        rows = np.flatnonzero(system)
        lines = text.take(pa.array(rows))
        found = np.full(len(rows), "whatsapp_system", dtype=object)
        for pattern, value in reversed(_SYSTEM_ACTIONS):
            found[
                pc.match_substring_regex(lines, pattern, ignore_case=True).to_numpy(zero_copy_only=False)
            ] = value
        action[rows] = found
    return pa.array(action, pa.string())


def _group_subject(text: pa.Array, is_system: pa.Array) -> str | None:
    """The group's name from 'created group "X"' or 'changed the subject ... to "X"' (the latest)."""
    lines = text.filter(is_system)
    if len(lines) == 0:
        return None
    found = pc.extract_regex(
        lines, r"(?:created group|changed the subject (?:from \".*\" )?to) \"(?P<s>.*)\""
    )
    subjects = pc.drop_null(found).field("s").to_pylist() if found.null_count < len(found) else []
    return subjects[-1] if subjects else None


def _sender_ids(names: pa.Array) -> pa.Array:
    encoded = pc.dictionary_encode(names)
    ids = pa.array(
        [f"{SENDER_PREFIX}{_hash(str(name).casefold())}" for name in encoded.dictionary.to_pylist()],
        pa.string(),
    )
    return pc.take(ids, encoded.indices)


def sender_id_for(name: str) -> str:
    """The sender id a WhatsApp name gets (as it appears in the file, without `~`)."""
    return f"{SENDER_PREFIX}{_hash(name.casefold())}"


def _localize(path: Path, table: pa.Table, timezone: str) -> pa.Table:
    local = table["timestamp"].combine_chunks()
    try:
        zoned = pc.assume_timezone(local, timezone, ambiguous="earliest", nonexistent="earliest")
    except pa.ArrowInvalid:
        raise input_error(path, f"unknown time zone {timezone!r} (use a name like Europe/Rome)") from None
    table = table.set_column(table.schema.get_field_index("timestamp"), "timestamp", zoned)
    return table.cast(TABLE_SCHEMA)
