"""Sample windows -> SFT lines (`core.schema.SftSample` JSON), the time-based train/eval/test split, dedup.

A sample is a system prompt ("You are Marco, chatting with Giulia. ..."), then the window's turns: the
persona's own turns are `assistant`, everyone else's are `user` with the speaker in `name`. Chat templates
ignore `name`, so in group chats the speaker is also written in the text ("Lorenzo: chi c'è giovedì?").
The persona's own forwards and captionless media are context, never something to learn: they appear as
`user` turns marked "(you)". A message the persona replied to that lies before the window comes first,
marked "[earlier message]".

Everything is built on whole Arrow string arrays: each turn is JSON-encoded once (a "fragment"), and a
sample's `messages` is its turns' fragments joined, however many windows share a turn. The lines are
byte-for-byte what msgspec would write for the same `SftSample`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.io import write_jsonl
from core.prompts import DELETED_ACCOUNT, group_system_prompt, persona_system_prompt
from core.schema import ChatEntry, ChatList, ChatMessage, Windowing
from ingest.config import IngestConfig
from ingest.conversations import Kept, Turns, Windows, starts_of_runs
from ingest.pii import PiiMasker, first_name
from ingest.telegram.desktop import GROUP_TYPES

_STR = pa.large_string()  # 64-bit offsets: a million-message export makes more than 2 GB of sample text
_encode = msgspec.json.Encoder().encode


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


class SampleBuilder:
    """Renders the windows' samples: one turn fragment per turn, joined per window on demand."""

    def __init__(self, turns: Turns, kept: Kept, windows: Windows, persona_id: str, namer: Namer) -> None:
        self.turns, self.kept, self.windows, self.namer = turns, kept, windows, namer
        self.chat_type, self.chat_name = _chat_info(kept.table, turns)
        self.group = np.array([t in GROUP_TYPES for t in self.chat_type], bool)
        self.labels = [namer(name) for name in _display_names(kept.table, turns.sender_ids)]
        self.persona = turns.sender_ids.index(persona_id) if persona_id in turns.sender_ids else -1
        self.fragments = _turn_fragments(turns, self.group, self.labels, self.persona, namer.persona)
        self.contacts = self._contacts()
        # Per chat, the system message of its one-to-one samples (group samples name their own speakers).
        self.chat_system = [_system(persona_system_prompt(namer.persona, c)) for c in self.contacts]
        self.chat = turns.chat[windows.start]

    def __len__(self) -> int:
        return len(self.windows)

    def messages(self, rows: np.ndarray) -> pa.Array:
        """The `messages` JSON array of the samples at `rows` (window numbers)."""
        start, end = self.windows.start[rows], self.windows.end[rows]
        body = pc.binary_join(_ranges(self.fragments, start, end), pa.scalar(",", _STR))
        return _concat("[", self._systems(rows), self._quotes(rows), body, "]")

    def lines(self, rows: np.ndarray, messages: pa.Array) -> pa.Array:
        """Whole JSON lines (no newline): `messages` of the samples at `rows` and their ids."""
        return _concat('{"messages":', messages, _meta(self.turns, self.windows, rows, self.chat_type))

    def _contacts(self) -> list[str]:
        """Per chat, the one-to-one contact: the person other than the persona who wrote most turns (else the
        chat's name)."""
        turns, contacts = self.turns, []
        for c in range(len(turns.chat_ids)):
            others = turns.sender[(turns.chat == c) & (turns.sender != self.persona)]
            if len(others):
                contacts.append(self.labels[int(np.bincount(others).argmax())])
            else:
                contacts.append(self.namer(self.chat_name[c]))
        return contacts

    def _participants(self, window: int) -> list[str]:
        """The people other than the persona who speak in a sample, in order of appearance."""
        speakers = self.turns.sender[self.windows.start[window] : self.windows.end[window] + 1].tolist()
        return [self.labels[s] for s in dict.fromkeys(speakers) if s != self.persona]

    def chat_list(
        self, rows: np.ndarray, samples: dict[str, dict[str, int]], windowing: Windowing
    ) -> ChatList:
        """The chats of the training samples at `rows` with their training prompts, most samples first
        (`samples`: chat id -> samples written per split). A group's prompt is its most frequent one."""
        persona = self.namer.persona
        group_people: dict[int, Counter[tuple[str, ...]]] = {}
        for w in rows[self.group[self.chat[rows]]].tolist():
            group_people.setdefault(int(self.chat[w]), Counter())[tuple(self._participants(w))] += 1
        entries = []
        for c in sorted(set(self.chat[rows].tolist())):
            chat_id = self.turns.chat_ids[c]
            group = bool(self.group[c])
            if group:
                name, people = self.chat_name[c] or "group", list(group_people[c].most_common(1)[0][0])
                prompt = group_system_prompt(persona, name, people)
            else:
                name, people = self.contacts[c], []
                prompt = persona_system_prompt(persona, name)
            counts = samples.get(chat_id, {})
            entries.append(ChatEntry(chat_id, self.chat_type[c], name, prompt, group, people, counts))
        entries.sort(key=lambda entry: -entry.samples.get("train", 0))
        persona_id = self.turns.sender_ids[self.persona] if self.persona >= 0 else ""
        return ChatList(persona, persona_id, entries, windowing)

    def _systems(self, rows: np.ndarray) -> pa.Array:
        """Each sample's system message (and the comma after it); group samples name their speakers."""
        chat = self.chat[rows]
        system = pc.take(pa.array(self.chat_system, _STR), pa.array(chat, pa.int64()))
        group_rows = np.flatnonzero(self.group[chat])
        if len(group_rows) == 0:
            return system
        texts = []
        for w in rows[group_rows].tolist():
            name = self.chat_name[int(self.chat[w])] or "group"
            texts.append(_system(group_system_prompt(self.namer.persona, name, self._participants(w))))
        return _replace_rows(system, group_rows, texts)

    def _quotes(self, rows: np.ndarray) -> pa.Array:
        """The replied-to messages shown first in some samples ("" for others), each followed by a comma."""
        with_quotes = [i for i, w in enumerate(rows.tolist()) if w in self.windows.quotes]
        empty = pa.array([""] * len(rows), _STR)
        if not with_quotes:
            return empty
        texts = []
        for i in with_quotes:
            w = int(rows[i])
            in_group = bool(self.group[self.chat[w]])
            texts.append("".join(self._quote(row, in_group) + "," for row in self.windows.quotes[w]))
        return _replace_rows(empty, np.array(with_quotes), texts)

    def _quote(self, row: int, in_group: bool) -> str:
        sender = self.turns.sender_ids.index(self.kept.table["sender_id"][row].as_py())
        content = self.kept.content[row].as_py()
        if sender == self.persona:
            persona = self.namer.persona
            return _encode(
                ChatMessage("user", f"[earlier message] {persona} (you): {content}", persona)
            ).decode()
        label = self.labels[sender]
        text = f"{label}: {content}" if in_group else content
        return _encode(ChatMessage("user", f"[earlier message] {text}", label)).decode()


def _chat_info(table: pa.Table, turns: Turns) -> tuple[list[str], list[str | None]]:
    """Per chat (as numbered in `turns`): type and name."""
    first_turn = np.searchsorted(turns.chat, np.arange(len(turns.chat_ids)))
    rows = pa.array(turns.first_row[first_turn], pa.int64())
    return table["chat_type"].take(rows).to_pylist(), table["chat_name"].take(rows).to_pylist()


def _display_names(table: pa.Table, sender_ids: list[str]) -> list[str | None]:
    """Each sender's display name (the last one they used: people rename themselves)."""
    encoded = pc.dictionary_encode(table["sender_id"].combine_chunks())
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    last = len(codes) - 1 - np.unique(codes[::-1], return_index=True)[1]
    by_id = dict(
        zip(
            encoded.dictionary.to_pylist(), table["sender_name"].take(pa.array(last)).to_pylist(), strict=True
        )
    )
    return [by_id.get(sid) for sid in sender_ids]


def _turn_fragments(
    turns: Turns, group: np.ndarray, labels: list[str], persona: int, persona_name: str
) -> pa.Array:
    """Each turn as the JSON of its chat message, e.g. {"role":"user","content":"ciao","name":"Giulia"}."""
    n_senders = len(labels)
    prefixes, suffixes = [], []
    for kind in ("assistant", "persona context", "group", "personal"):
        for code in range(n_senders):
            label = persona_name if kind == "persona context" else labels[code]
            name_field = '","name":' + _encode(label).decode() + "}"
            if kind == "assistant":
                prefixes.append('{"role":"assistant","content":"')
                suffixes.append('"}')
            elif kind == "persona context":  # the persona's forward or media: context, never a reply to learn
                prefixes.append('{"role":"user","content":"' + _json_body(f"{label} (you): "))
                suffixes.append(name_field)
            elif kind == "group":
                prefixes.append('{"role":"user","content":"' + _json_body(f"{label}: "))
                suffixes.append(name_field)
            else:
                prefixes.append('{"role":"user","content":"')
                suffixes.append(name_field)
    kind = np.where(turns.target, 0, np.where(turns.sender == persona, 1, np.where(group[turns.chat], 2, 3)))
    variant = pa.array(kind * n_senders + turns.sender, pa.int64())
    prefix = pc.take(pa.array(prefixes, _STR), variant)
    suffix = pc.take(pa.array(suffixes, _STR), variant)
    return _concat(prefix, json_string_bodies(turns.content), suffix)


def _system(prompt: str) -> str:
    return _encode(ChatMessage("system", prompt)).decode() + ","


def _meta(turns: Turns, windows: Windows, rows: np.ndarray, chat_type: list[str]) -> pa.Array:
    """`,"id":"<chat>/<session>/<window>","chat_id":...,"chat_type":...,"session":N}` per sample (the JSON
    after `messages`)."""
    start = windows.start[rows]
    chat = pa.array(turns.chat[start], pa.int64())
    chat_body = pc.take(pa.array([_json_body(c) for c in turns.chat_ids], _STR), chat)
    type_json = pc.take(pa.array([_encode(t).decode() for t in chat_type], _STR), chat)
    session_number = turns.session_in_chat[start]
    session = pc.cast(pa.array(session_number), _STR)
    window = pc.cast(pa.array(windows.in_session[rows]), _STR)
    # like msgspec (SftSample omits defaults), session 0 is left out
    session_field = pc.if_else(
        pa.array(session_number == 0), pa.scalar("", _STR), _concat(',"session":', session)
    )
    return _concat(
        ',"id":"', chat_body, "/", session, "/", window,
        '","chat_id":"', chat_body, '","chat_type":', type_json, session_field, "}",
    )  # fmt: skip


# --- JSON on whole arrays -----------------------------------------------------------------------------------

_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'
_RARE_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


def json_string_bodies(texts: pa.Array) -> pa.Array:
    """JSON string escaping of every string (the part between the quotes), exactly as msgspec does it."""
    out = texts.cast(_STR)
    rows = _matching_rows(texts, _NEEDS_ESCAPE)
    if len(rows) == 0:
        return out
    escaped = texts.take(pa.array(rows)).cast(_STR)  # only the strings that need it (a minority)
    for raw, replacement in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        escaped = pc.replace_substring(escaped, raw, replacement)
    rare = _matching_rows(escaped, _RARE_CONTROL)
    if len(rare):  # \b, \f and \u00XX escapes: rare enough for Python
        originals = texts.take(pa.array(rows[rare])).to_pylist()
        escaped = _replace_rows(escaped, rare, [_json_body(t) for t in originals])
    return _replace_rows(out, rows, escaped)


def _matching_rows(texts: pa.Array, pattern: str) -> np.ndarray:
    return np.flatnonzero(pc.fill_null(pc.match_substring_regex(texts, pattern), False).to_numpy(False))


def _json_body(text: str) -> str:
    return _encode(text).decode()[1:-1]


def _concat(*parts: str | pa.Array) -> pa.Array:
    """Element-wise string concatenation; plain strings are repeated for every row."""
    args = [pa.scalar(p, _STR) if isinstance(p, str) else p.cast(_STR) for p in parts]
    return pc.binary_join_element_wise(*args, pa.scalar("", _STR))


def _ranges(values: pa.Array, start: np.ndarray, end: np.ndarray) -> pa.Array:
    """A list per range: values[start[i]..end[i]] (inclusive), without a Python loop."""
    lengths = end - start + 1
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    index = np.arange(offsets[-1]) - np.repeat(offsets[:-1] - start, lengths)
    return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), values.take(pa.array(index)))


def _replace_rows(values: pa.Array, rows: np.ndarray, replacements: list[str] | pa.Array) -> pa.Array:
    mask = np.zeros(len(values), bool)
    mask[rows] = True
    return pc.replace_with_mask(values, pa.array(mask), pa.array(replacements, values.type))


# --- split, dedup, writing --------------------------------------------------------------------------------


SPLITS = ("train", "eval", "test")  # written in this order: dedup keeps a sample's first (oldest) split


def split_sessions(
    turns: Turns, windows: Windows, eval_fraction: float, test_fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window numbers of train, eval and test, by session: in every chat the most recent `test_fraction`
    of the sessions -> test, the `eval_fraction` just before them -> eval, the older rest -> train."""
    window_session = turns.session[windows.start]
    sessions, first = np.unique(window_session, return_index=True)
    chat = turns.chat[windows.start[first]]  # sessions are numbered chat by chat, oldest first
    chat_starts = np.flatnonzero(starts_of_runs(chat))
    per_chat = np.diff(np.append(chat_starts, len(sessions)))
    latest = turns.start_us[windows.start[first]][chat_starts + per_chat - 1]  # each chat's newest session
    n_eval, n_test = _held_out_counts(per_chat, latest, eval_fraction, test_fraction)
    # rank 1 is the chat's newest session: test takes the newest ranks, eval the ones right after
    rank = np.repeat(chat_starts + per_chat, per_chat) - np.arange(len(sessions))
    split = np.where(rank <= np.repeat(n_test, per_chat), 2, 0)
    split[(split == 0) & (rank <= np.repeat(n_test + n_eval, per_chat))] = 1
    window_split = split[np.searchsorted(sessions, window_session)]
    train, evaluation, test = (np.flatnonzero(window_split == k) for k in range(3))
    return train, evaluation, test


def onpolicy_sessions(
    turns: Turns, windows: Windows, train: np.ndarray, fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """The train windows split in two by session: (still train, on-policy). In every chat `fraction` of its
    training sessions, spread evenly over time, become the on-policy slice (`sft/onpolicy.jsonl`): prompts
    SFT never trains on, where `kto-data` samples the SFT model. Every chat keeps a training session."""
    if fraction <= 0 or not len(train):
        return train, np.zeros(0, np.int64)
    window_session = turns.session[windows.start[train]]
    sessions, first = np.unique(window_session, return_index=True)
    chat = turns.chat[windows.start[train[first]]]
    chat_starts = np.flatnonzero(starts_of_runs(chat))
    per_chat = np.diff(np.append(chat_starts, len(sessions)))
    position = np.arange(len(sessions)) - np.repeat(chat_starts, per_chat)  # 0 = the chat's oldest
    n_on = np.minimum(_round_half_up(per_chat * fraction), per_chat - 1)
    n_on, per = np.repeat(n_on, per_chat), np.repeat(per_chat, per_chat)
    # Evenly spread: the session at position i is picked when floor((i+1)·n/N) steps up from floor(i·n/N).
    picked = (position + 1) * n_on // np.maximum(per, 1) > position * n_on // np.maximum(per, 1)
    on = picked[np.searchsorted(sessions, window_session)]
    return train[~on], train[on]


def _held_out_counts(
    per_chat: np.ndarray, latest: np.ndarray, eval_fraction: float, test_fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per chat, how many of its newest sessions go to eval and to test.

    Every chat keeps at least one training session. When sessions are few, eval is served before test:
    SFT cannot pick a checkpoint without eval samples, while an empty test split is allowed (and reported).
    """
    n_eval = np.minimum(_round_half_up(per_chat * eval_fraction), per_chat - 1)
    n_test = np.minimum(_round_half_up(per_chat * test_fraction), per_chat - 1 - n_eval)
    # A small export where every chat's share rounds to 0 still gets one session per held-out split: from
    # the chat with the most recent session among those that keep a training session after giving it.
    for counts, fraction in ((n_eval, eval_fraction), (n_test, test_fraction)):
        can_give = per_chat - n_eval - n_test >= 2
        if fraction > 0 and counts.sum() == 0 and can_give.any():
            counts[np.flatnonzero(can_give)[np.argmax(latest[can_give])]] += 1
    return n_eval, n_test


def _round_half_up(values: np.ndarray) -> np.ndarray:
    return np.floor(values + 0.5).astype(np.int64)


class Deduplicator:
    """Remembers every sample written so far; `new(messages)` tells which samples were never seen.

    Samples are compared by a 128-bit BLAKE2 digest of their `messages` JSON: equal digests of different
    texts would take about 2**64 samples to happen by chance.
    """

    def __init__(self) -> None:
        self.seen: set[bytes] = set()
        self.duplicates = 0

    def new(self, messages: pa.Array) -> np.ndarray:
        seen = self.seen
        digests = [
            hashlib.blake2b(m, digest_size=16).digest() for m in messages.cast(pa.large_binary()).to_pylist()
        ]
        keep = np.fromiter((d not in seen and not seen.add(d) for d in digests), bool, len(digests))
        self.duplicates += len(keep) - int(keep.sum())
        return keep


def write_samples(
    path: Path, builder: SampleBuilder, rows: np.ndarray, dedup: Deduplicator, chunk: int = 20_000
) -> np.ndarray:
    """Write the samples at `rows` as JSON lines, a chunk at a time (bounded memory); returns the rows
    written (duplicates are skipped)."""
    written: list[np.ndarray] = [np.zeros(0, np.int64)]

    def lines() -> Iterator[msgspec.Raw]:
        for begin in range(0, len(rows), chunk):
            part = rows[begin : begin + chunk]
            messages = builder.messages(part)
            keep = dedup.new(messages)
            written.append(part[keep])
            yield from map(
                msgspec.Raw, builder.lines(part[keep], messages.filter(pa.array(keep))).to_pylist()
            )

    write_jsonl(path, lines())
    return np.concatenate(written)


def reply_lengths(windows: Windows, rows: np.ndarray, turns: Turns) -> np.ndarray:
    """Characters of every persona reply the samples at `rows` teach (each reply once)."""
    covered = np.zeros(len(turns) + 1, np.int64)
    np.add.at(covered, windows.start[rows], 1)
    np.add.at(covered, windows.end[rows] + 1, -1)
    taught = (np.cumsum(covered)[:-1] > 0) & turns.target
    return turns.chars[taught]
