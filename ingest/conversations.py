"""Messages -> kept messages -> turns -> sessions -> sample windows, every rule counted.

    select_messages   which messages can be used at all (chat type, service, empty, too-small chats, ...)
    render_content    what each kept message says in a sample: stickers become their emoji, media without a
                      caption a placeholder (`[photo]`), forwards are marked; which messages may be a target
    build_turns       consecutive messages of one sender within the turn window form a turn; a silence
                      over the session gap starts a new session
    plan_windows      samples: windows of turns ending on a persona turn, within max_turns / max_chars

Everything runs on whole columns (numpy / Arrow): a million messages take a fraction of a second. Only the
window planning walks over sessions in Python, with plain integer lists.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.config import IngestConfig
from ingest.telegram.desktop import GROUP_TYPES, PERSONAL_TYPES, PLACEHOLDERS

_US_PER_MINUTE = 60_000_000

DUPLICATE = "duplicate (same message in several exports or chats)"
CHAT_TYPE_REASONS = {
    "bot_chat": "bot chat",
    "saved_messages": "saved messages (notes to self)",
    "replies": "replies chat",
    "private_channel": "channel",
    "public_channel": "channel",
}


@dataclass
class Kept:
    """The usable messages, sorted by chat and time, with what they contribute to samples."""

    table: pa.Table  # the input columns, filtered
    content: pa.Array  # the text a sample shows for each message
    target: np.ndarray  # bool: may be (part of) a persona reply to learn
    rules: Counter[str]  # content rules applied, by rule


@dataclass
class Turns:
    """One row per turn (consecutive messages of one sender), in chat and time order."""

    chat: np.ndarray  # int32 position in `chat_ids`
    chat_ids: list[str]
    session: np.ndarray  # int64, global session number (increasing)
    session_in_chat: np.ndarray  # int64, session number within its chat (0 = oldest)
    first_row: np.ndarray  # int64, first message (row of `Kept.table`)
    sender: np.ndarray  # int32 position in `sender_ids`
    sender_ids: list[str]
    persona: np.ndarray  # bool
    target: np.ndarray  # bool: a persona turn made of the persona's own words, within max_chars
    content: pa.Array  # messages joined by newlines (context turns cut to max_chars // 2)
    chars: np.ndarray  # int64 length of `content`
    start_us: np.ndarray  # int64 timestamp of the first message

    def __len__(self) -> int:
        return len(self.chat)


@dataclass
class Windows:
    """Samples to build: turns `start`..`end` (inclusive) of one session, ending on a persona turn."""

    start: np.ndarray  # int64 turn
    end: np.ndarray  # int64 turn
    in_session: np.ndarray  # int64: 0 for the first window of its session, 1 for the next, ...
    quotes: dict[int, list[int]]  # window -> rows of `Kept.table` it replied to, shown before the turns

    def __len__(self) -> int:
        return len(self.start)


# --- selection ----------------------------------------------------------------------------------------------


def select_messages(table: pa.Table, config: IngestConfig) -> tuple[pa.Table, Counter[str]]:
    """The messages samples can be built from, and how many were dropped, by reason."""
    n = table.num_rows
    reason = np.zeros(n, np.int16)
    labels: list[str] = [""]

    def drop(mask: np.ndarray, label: str) -> None:
        hit = mask & (reason == 0)
        if hit.any():
            if label not in labels:
                labels.append(label)
            reason[hit] = labels.index(label)

    chats = pc.dictionary_encode(_col(table, "chat_id"))
    chat_code = chats.indices.to_numpy(zero_copy_only=False)
    for label, chat_mask in _chat_reasons(table, chats, config).items():
        drop(chat_mask[chat_code], label)
    kind = _col(table, "kind")
    drop(pc.equal(kind, "service").to_numpy(zero_copy_only=False), "service message")
    drop(pc.equal(kind, "unsupported").to_numpy(zero_copy_only=False), "unsupported message")
    drop(pc.equal(kind, "deleted").to_numpy(zero_copy_only=False), "deleted message (WhatsApp)")
    drop(pc.is_null(_col(table, "sender_id")).to_numpy(zero_copy_only=False), "no sender (channel post)")
    blank = pc.equal(pc.utf8_trim_whitespace(_col(table, "text")), "")
    drop(pc.and_(blank, pc.equal(kind, "text")).to_numpy(zero_copy_only=False), "empty message")
    persona = _col(table, "is_persona").to_numpy(zero_copy_only=False)
    usable = reason == 0
    counts = np.bincount(chat_code[usable], minlength=len(chats.dictionary))
    drop((counts < config.min_messages)[chat_code], "chat below --min-messages")
    usable = reason == 0
    persona_counts = np.bincount(chat_code[usable & persona], minlength=len(chats.dictionary))
    drop((persona_counts == 0)[chat_code], "no persona message in the chat")
    dropped = Counter({labels[code]: int(c) for code, c in enumerate(np.bincount(reason)) if code and c})
    return table.filter(pa.array(reason == 0)), dropped


def _chat_reasons(table: pa.Table, chats: pa.DictionaryArray, config: IngestConfig) -> dict[str, np.ndarray]:
    """Per chat (dictionary position): the chat-level reasons to skip it, as boolean masks."""
    first = np.unique(chats.indices.to_numpy(zero_copy_only=False), return_index=True)[1]
    ids = chats.dictionary.to_pylist()
    types = pc.take(_col(table, "chat_type"), pa.array(first)).to_pylist()
    names = pc.take(_col(table, "chat_name"), pa.array(first)).to_pylist()
    skip = chat_filter(config)
    masks: dict[str, np.ndarray] = {}
    for pos, (chat_id, chat_type, name) in enumerate(zip(ids, types, names, strict=True)):
        label = skip(chat_id, chat_type, name)
        if label is not None:
            masks.setdefault(label, np.zeros(len(ids), bool))[pos] = True
    return masks


def chat_filter(config: IngestConfig) -> Callable[[str, str, str | None], str | None]:
    """`skip(chat_id, chat_type, name)`: why a chat is not used with this config (None: it is used)."""
    wanted = {c.casefold() for c in config.chats}
    unwanted = {c.casefold() for c in config.exclude_chats}

    def skip(chat_id: str, chat_type: str, name: str | None) -> str | None:
        keys = {chat_id.casefold(), (name or "").casefold()}
        if chat_type in GROUP_TYPES and not config.groups:
            return "group chat (use --groups)"
        if chat_type not in GROUP_TYPES and chat_type not in PERSONAL_TYPES:
            return CHAT_TYPE_REASONS.get(chat_type, f"{chat_type} chat")
        if (wanted and not keys & wanted) or keys & unwanted:
            return "chat not selected (--chat / --exclude-chat)"
        return None

    return skip


def _col(table: pa.Table, name: str) -> pa.Array:
    return table[name].combine_chunks()


# --- content rules ------------------------------------------------------------------------------------------


def render_content(table: pa.Table) -> Kept:
    """What each message shows in a sample, and whether it may be a persona target."""
    kind = _col(table, "kind")
    text = _col(table, "text")
    forwarded = _col(table, "forwarded")
    is_text = pc.equal(kind, "text")
    has_text = pc.invert(pc.equal(pc.utf8_trim_whitespace(text), ""))
    placeholder = pc.and_(pc.invert(is_text), pc.invert(has_text))
    kinds = pc.dictionary_encode(kind)
    labels = pa.array([PLACEHOLDERS.get(k, f"[{k.replace('_', ' ')}]") for k in kinds.dictionary.to_pylist()])
    content = pc.if_else(placeholder, pc.take(labels, kinds.indices), text)
    content = pc.if_else(forwarded, pc.binary_join_element_wise("[forwarded] ", content, ""), content)
    persona = _col(table, "is_persona")
    target = pc.and_(persona, pc.invert(pc.or_(forwarded, placeholder)))

    rules: Counter[str] = Counter()
    sticker = pc.equal(kind, "sticker")
    rules["sticker -> its emoji"] = _count(pc.and_(sticker, has_text))
    rules["media without caption -> placeholder (context only)"] = _count(placeholder)
    rules["caption kept as text"] = _count(pc.and_(pc.invert(pc.or_(is_text, sticker)), has_text))
    rules["forwarded -> context only"] = _count(forwarded)
    return Kept(table, content, target.to_numpy(zero_copy_only=False), +rules)


def _count(mask: pa.Array) -> int:
    return int(pc.sum(mask).as_py() or 0)


# --- turns and sessions -------------------------------------------------------------------------------------


def build_turns(kept: Kept, config: IngestConfig) -> tuple[Turns, Counter[str]]:
    """Group messages into turns and sessions; returns the turns and the turn-level rule counts."""
    table = kept.table
    n = table.num_rows
    chats = pc.dictionary_encode(_col(table, "chat_id"))
    chat = chats.indices.to_numpy(zero_copy_only=False).astype(np.int32)
    senders = pc.dictionary_encode(_col(table, "sender_id"))
    sender = senders.indices.to_numpy(zero_copy_only=False)
    ts = _col(table, "timestamp").cast(pa.int64()).to_numpy(zero_copy_only=False)
    persona = _col(table, "is_persona").to_numpy(zero_copy_only=False)
    target = kept.target

    gap = np.diff(ts, prepend=ts[:1])
    new_chat = starts_of_runs(chat)
    new_session = new_chat | (gap > config.session_gap_minutes * _US_PER_MINUTE)
    new_turn = (
        new_session
        | starts_of_runs(sender)
        | (gap > config.turn_window_minutes * _US_PER_MINUTE)
        | (persona & starts_of_runs(target))  # the persona's own words and their forwards/media never mix
    )
    session = np.cumsum(new_session) - 1
    chat_start_session = session[np.flatnonzero(new_chat)][np.cumsum(new_chat) - 1]
    starts = np.flatnonzero(new_turn)
    offsets = pa.array(np.append(starts, n).astype(np.int32))
    joined = (
        pc.binary_join(pa.ListArray.from_arrays(offsets, kept.content), "\n")
        if n
        else pa.array([], pa.string())
    )
    content, chars, target_turn, counts = _fit_turns(joined, target[starts], config.max_chars)
    turns = Turns(
        chat=chat[starts],
        chat_ids=chats.dictionary.to_pylist(),
        session=session[starts],
        session_in_chat=(session - chat_start_session)[starts],
        first_row=starts,
        sender=sender[starts].astype(np.int32),
        sender_ids=senders.dictionary.to_pylist(),
        persona=persona[starts],
        target=target_turn,
        content=content,
        chars=chars,
        start_us=ts[starts],
    )
    counts["turns"] = len(turns)
    counts["persona turns"] = int(turns.persona.sum())
    counts["persona turns to learn"] = int(turns.target.sum())
    return turns, counts


def starts_of_runs(values: np.ndarray) -> np.ndarray:
    """True where a value differs from the previous one (and at the first position): run starts."""
    out = np.ones(len(values), bool)
    out[1:] = values[1:] != values[:-1]
    return out


def _fit_turns(
    joined: pa.Array, target: np.ndarray, max_chars: int
) -> tuple[pa.Array, np.ndarray, np.ndarray, Counter[str]]:
    """Persona turns over max_chars are no target; context turns over max_chars // 2 keep their end."""
    counts: Counter[str] = Counter()
    length = pc.utf8_length(joined).to_numpy(zero_copy_only=False)
    too_long = target & (length > max_chars)
    if too_long.any():
        counts["persona turns over --max-chars (context only)"] = int(too_long.sum())
        target = target & ~too_long
    limit = max(1, max_chars // 2)
    cut = ~target & (length > limit)
    if cut.any():
        counts["context turns cut to max_chars/2"] = int(cut.sum())
        tail = pc.utf8_slice_codeunits(joined, start=-(limit - 1))
        joined = pc.if_else(pa.array(cut), pc.binary_join_element_wise("…", tail, ""), joined)
        length = np.where(cut, limit, length)
    return joined, length.astype(np.int64), target, counts


# --- windows ------------------------------------------------------------------------------------------------


def plan_windows(turns: Turns, kept: Kept, config: IngestConfig) -> tuple[Windows, Counter[str]]:
    """Sample windows: every persona target turn ends a window or sits inside one, within the limits.

    A session that fits the limits is one window (all of it up to its last persona reply): the common case,
    computed for all sessions at once. Longer sessions become sliding windows: each starts as early as the
    limits allow before the first reply it has to cover and extends over as many later replies as fit.
    """
    counts: Counter[str] = Counter()
    n = len(turns)
    if n == 0:
        empty = np.zeros(0, np.int64)
        return Windows(empty, empty, empty, {}), counts
    cum_chars = np.concatenate([[0], np.cumsum(turns.chars)])
    cum_assistant = np.concatenate([[0], np.cumsum(turns.target)])
    session_start = np.flatnonzero(starts_of_runs(turns.session))
    session_end = np.append(session_start[1:], n)  # exclusive
    last_target = np.maximum.reduceat(np.where(turns.target, np.arange(n), -1), session_start)
    has_target = last_target >= 0
    counts["sessions without a persona reply"] = int((~has_target).sum())
    fits = has_target & (last_target - session_start + 1 <= config.max_turns)
    fits &= cum_chars[last_target + 1] - cum_chars[session_start] <= config.max_chars
    starts, ends = [session_start[fits]], [last_target[fits]]
    for a, b in zip(
        session_start[has_target & ~fits].tolist(), session_end[has_target & ~fits].tolist(), strict=True
    ):
        more_starts, more_ends = _slide(
            turns.target[a:b], turns.chars[a:b], config.max_turns, config.max_chars
        )
        starts.append(more_starts + a)
        ends.append(more_ends + a)
    start, end = np.concatenate(starts), np.concatenate(ends)
    order = np.argsort(start, kind="stable")
    start, end = start[order], end[order]
    no_contact = cum_assistant[end + 1] - cum_assistant[start] == end - start + 1
    if no_contact.any():
        counts["persona turns with no contact turn before them"] = int(
            (cum_assistant[end + 1] - cum_assistant[start])[no_contact].sum()
        )
        start, end = start[~no_contact], end[~no_contact]
    quotes = _window_quotes(turns, kept, start, end) if config.reply_context else {}
    counts["reply contexts added"] = sum(len(q) for q in quotes.values())
    counts["windows"] = len(start)
    first = starts_of_runs(turns.session[start])
    index = np.arange(len(start))
    in_session = index - np.maximum.accumulate(np.where(first, index, 0))
    counts["sessions split into several windows"] = int((in_session == 1).sum())
    return Windows(start, end, in_session, quotes), +counts


def _slide(
    target: np.ndarray, chars: np.ndarray, max_turns: int, max_chars: int
) -> tuple[np.ndarray, np.ndarray]:
    """Windows over one long session (turn positions relative to the session)."""
    cum = [0, *np.cumsum(chars).tolist()]
    targets = np.flatnonzero(target).tolist()
    starts, ends = [], []
    i = 0
    while i < len(targets):
        end = targets[i]
        start = max(0, end - max_turns + 1)
        while cum[end + 1] - cum[start] > max_chars:
            start += 1
        j = i
        while j + 1 < len(targets):
            nxt = targets[j + 1]
            if nxt - start + 1 > max_turns or cum[nxt + 1] - cum[start] > max_chars:
                break
            j += 1
        starts.append(start)
        ends.append(targets[j])
        i = j + 1
    return np.array(starts, np.int64), np.array(ends, np.int64)


def _window_quotes(turns: Turns, kept: Kept, start: np.ndarray, end: np.ndarray) -> dict[int, list[int]]:
    """Per window, the messages its persona replies answered that lie before the window (at most 2)."""
    quote_turn, quote_row = _reply_targets(turns, kept)
    turn = np.flatnonzero((quote_turn >= 0) & turns.target)
    window = np.searchsorted(start, turn, side="right") - 1  # the last window starting at or before the turn
    pairs = []
    while len(turn):  # earlier windows of the same session may hold the turn too (sliding windows overlap)
        inside = (window >= 0) & (turns.session[start[window]] == turns.session[turn])
        turn, window = turn[inside], window[inside]
        holds = (end[window] >= turn) & (quote_turn[turn] < start[window])
        pairs += zip(window[holds].tolist(), quote_row[turn[holds]].tolist(), strict=True)
        window = window - 1
    quotes: dict[int, list[int]] = {}
    for w, row in sorted(pairs):
        rows = quotes.setdefault(w, [])
        if row not in rows and len(rows) < 2:
            rows.append(row)
    return quotes


def _reply_targets(turns: Turns, kept: Kept) -> tuple[np.ndarray, np.ndarray]:
    """Per turn: the earliest turn one of its messages replies to (or -1), and that message's row."""
    table = kept.table
    n = table.num_rows
    quote_turn = np.full(len(turns), -1, np.int64)
    quote_row = np.full(len(turns), -1, np.int64)
    reply_to = _col(table, "reply_to")
    rows = np.flatnonzero(pc.is_valid(reply_to).to_numpy(zero_copy_only=False))
    if len(rows) == 0:
        return quote_turn, quote_row
    # (chat, message id) -> row, by binary search over the sorted keys of every kept message
    chat = turns.chat.repeat(np.diff(np.append(turns.first_row, n))).astype(np.int64)
    keys = (chat << 42) + _col(table, "message_id").to_numpy(zero_copy_only=False) + (1 << 41)
    order = np.argsort(keys, kind="stable")
    wanted = (chat[rows] << 42) + pc.take(reply_to, pa.array(rows)).to_numpy(zero_copy_only=False) + (1 << 41)
    pos = np.searchsorted(keys, wanted, sorter=order).clip(max=n - 1)
    found = keys[order[pos]] == wanted
    replied_row, replying_row = order[pos][found], rows[found]
    turn_of_row = np.searchsorted(turns.first_row, np.arange(n), side="right") - 1
    replied_turn, replying_turn = turn_of_row[replied_row], turn_of_row[replying_row]
    # per replying turn keep the earliest replied-to turn: assign in decreasing order, the last write wins
    order_by_turn = np.lexsort((-replied_turn, replying_turn))
    quote_turn[replying_turn[order_by_turn]] = replied_turn[order_by_turn]
    quote_row[replying_turn[order_by_turn]] = replied_row[order_by_turn]
    return quote_turn, quote_row
