"""The ingest stage: Telegram or WhatsApp exports -> `DIR/messages.parquet` -> conversations -> `sft/*.jsonl`.

    ingest(exports, out_dir, config) -> out_dir     (used by `chatlikeme ingest` and the Prefect flow)
    list_chats(export, persona)      -> ChatListing (used by `chatlikeme chats`)

Output directory (written atomically: it appears complete or not at all):

    messages.parquet          every message of every export, normalized (core.schema.MESSAGES_SCHEMA)
    sft/train.jsonl           core.schema.SftSample per line (PII masked)
    sft/eval.jsonl            the sessions of each chat just before its test sessions (checkpoint selection)
    sft/onpolicy.jsonl        training sessions kept out of SFT (kto-data's on-policy prompts; may be absent)
    sft/test.jsonl            the most recent sessions of each chat (the final evaluation; may be empty)
    chats.json                the persona and the training chats with their prompts (core.schema.ChatList)
    private/pii_mapping.json  pseudonym -> original values (mode 0600; never part of the dataset)
    config.yaml               the resolved IngestConfig
    report.json, report.md, *.png
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.chats import write_chat_list
from core.errors import ChatLikeMeError
from core.io import atomic_dir
from core.schema import MESSAGES_SCHEMA, Windowing, with_optional_columns
from ingest.config import IngestConfig
from ingest.conversations import (
    DUPLICATE,
    Turns,
    Windows,
    build_turns,
    chat_filter,
    plan_windows,
    render_content,
    select_messages,
)
from ingest.persona import Persona, resolve_persona
from ingest.phones import export_regions
from ingest.pii import PiiMasker, common_words, first_name, mentioned_names, name_tokens
from ingest.samples import (
    SPLITS,
    Deduplicator,
    Namer,
    SampleBuilder,
    onpolicy_sessions,
    reply_lengths,
    split_sessions,
    write_samples,
)
from ingest.telegram.desktop import (
    GROUP_TYPES,
    PERSONAL_TYPES,
    READ_SCHEMA,
    Export,
    gc_paused,
    read_export,
    system_allocator,
)
from ingest.whatsapp_export import is_whatsapp_export, read_whatsapp_export

__all__ = ["ChatListing", "IngestConfig", "ingest", "list_chats", "read_messages"]


def ingest(exports: list[Path], out_dir: Path, config: IngestConfig) -> Path:
    """Run the whole ingest stage; returns `out_dir`. Bad input raises `ChatLikeMeError` (nothing written)."""
    if not exports:
        raise ChatLikeMeError("no export given")
    config = config.validated("ingest config")  # a config built in Python is checked like a file's
    _check_timezone(config.timezone)
    clock = Stopwatch()
    where = ", ".join(str(p) for p in exports)
    # The parquet file is written by a thread while the conversations are built (Arrow works without the GIL).
    with gc_paused(), system_allocator(), atomic_dir(out_dir) as tmp, ThreadPoolExecutor(1) as background:
        parsed, messages, merge_counts = read_messages(exports, config.timezone, config.parse_workers)
        persona = resolve_persona(parsed, messages, config.persona)
        messages = _with_persona(messages, persona)
        parquet = background.submit(_write_messages, messages, tmp / "messages.parquet")
        clock.lap("read")

        selected, dropped = select_messages(messages, config)
        dropped += merge_counts  # messages present in several exports
        if selected.num_rows == 0:
            raise ChatLikeMeError(f"{where}: no usable message left after the filters ({_summary(dropped)})")
        kept = render_content(selected)
        masker = None
        if config.mask_pii:
            masker = pii_masker(parsed, messages, persona, config)
            kept.content = masker.mask_array(kept.content, kept.table["entities"].combine_chunks())
        clock.lap("select and mask")

        turns, turn_counts = build_turns(kept, config)
        windows, window_counts = plan_windows(turns, kept, config)
        persona_name = config.persona_name or first_name(persona.name) or "the user"
        builder = SampleBuilder(turns, kept, windows, persona.id, Namer(config, persona_name, masker))
        split_windows = split_sessions(turns, windows, config.eval_fraction, config.test_fraction)
        train_rows, onpolicy_rows = onpolicy_sessions(
            turns, windows, split_windows[0], config.onpolicy_fraction
        )
        split_windows = (train_rows, *split_windows[1:])
        dedup = Deduplicator()  # shared: a sample already written to an older split is not repeated
        written = {
            split: write_samples(tmp / "sft" / f"{split}.jsonl", builder, rows, dedup)
            for split, rows in zip(SPLITS, split_windows, strict=True)
        }  # every split's file is written, empty or not: later stages can rely on it
        if config.onpolicy_fraction > 0:  # kept out of SFT: kto-data samples the SFT model on these prompts
            written["onpolicy"] = write_samples(tmp / "sft" / "onpolicy.jsonl", builder, onpolicy_rows, dedup)
        if len(written["train"]) == 0:
            raise ChatLikeMeError(
                f"{where}: no training sample could be built (persona {persona.id} never answers a contact "
                f"in the selected chats; {_summary(dropped)})"
            )
        if dedup.duplicates:
            window_counts["duplicate samples removed"] = dedup.duplicates
        samples_per_chat = _samples_per_chat(turns, windows, written)
        write_chat_list(tmp, builder.chat_list(written["train"], samples_per_chat, _windowing(config)))
        if masker is not None:
            masker.write_mapping(tmp / "private" / "pii_mapping.json")
        config.save_yaml(tmp / "config.yaml")
        parquet.result()
        clock.lap("samples")

        from ingest.report import IngestStats, write_ingest_report  # matplotlib: only now

        stats = IngestStats(
            exports=[str(p) for p in exports],
            chats=[chat for export in parsed for chat in export.chats],
            persona=persona,
            persona_prompt_name=persona_name,
            messages=messages,
            kept=kept,
            dropped=dropped,
            rules=kept.rules + turn_counts + window_counts,
            pii=dict(masker.counts) if masker else None,
            pii_regions=masker.phones.regions if masker else None,
            train_replies=reply_lengths(windows, written["train"], turns),
            samples_per_chat=samples_per_chat,
            seconds=clock.seconds,
        )
        write_ingest_report(tmp, stats, config)
    return out_dir


def _check_timezone(name: str) -> None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ChatLikeMeError(
            f"--timezone {name!r}: unknown time zone (use a name like Europe/Rome)"
        ) from None


class Stopwatch:
    """Seconds spent per step, for the report."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = round(now - self._last, 3)
        self._last = now


def read_messages(
    exports: list[Path], timezone: str = "UTC", workers: int = 0
) -> tuple[list[Export], pa.Table, Counter[str]]:
    """Parse every export (Telegram JSON or WhatsApp chat, told apart by content; with a progress bar over
    their bytes) and merge them without duplicates."""
    from tqdm import tqdm

    total = sum(Path(p).stat().st_size for p in exports if Path(p).is_file())
    parsed = []
    with tqdm(
        total=total, unit="B", unit_scale=True, desc="reading exports", disable=None, leave=False
    ) as bar:
        for path in exports:
            if is_whatsapp_export(path):
                parsed.append(read_whatsapp_export(path, timezone))
                bar.update(Path(path).stat().st_size)
            else:
                parsed.append(read_export(path, timezone, progress=bar.update, workers=workers))
    messages, counts = merge_exports(parsed)
    return parsed, messages, counts


def merge_exports(exports: list[Export]) -> tuple[pa.Table, Counter[str]]:
    """One table for all exports: a message present twice (same chat and id) is kept once, from the newest
    export; rows sorted by chat, then time. Each chat takes its name from the newest export."""
    newest_first = sorted(exports, key=_newest_message)  # oldest export first, newest last
    table = pa.concat_tables([with_optional_columns(e.messages, READ_SCHEMA) for e in newest_first])
    counts: Counter[str] = Counter()
    if table.num_rows == 0:
        return table, counts
    chats = pc.dictionary_encode(table["chat_id"]).combine_chunks()
    chat = chats.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    key = (chat << 42) + table["message_id"].to_numpy() + (1 << 41)
    if not _increasing(key, strict=True):  # else (the usual single export) no message can repeat
        order = np.argsort(key, kind="stable")
        duplicate = np.zeros(len(key), bool)
        duplicate[order[:-1]] = (
            key[order[1:]] == key[order[:-1]]
        )  # an earlier copy: a later export has it too
        if duplicate.any():
            counts[DUPLICATE] = int(duplicate.sum())
            table = table.filter(pa.array(~duplicate))
            chat = chat[~duplicate]
    seconds = table["timestamp"].combine_chunks().cast(pa.int64()).to_numpy() // 1_000_000
    by_time = (chat << 40) + (seconds - seconds.min())
    if not _increasing(by_time, strict=False):
        order = np.argsort(by_time, kind="stable")
        table, chat = table.take(pa.array(order)), chat[order]
    return _newest_chat_names(table, chats.dictionary, chat), counts


def _increasing(values: np.ndarray, strict: bool) -> bool:
    steps = np.diff(values)
    return bool((steps > 0).all() if strict else (steps >= 0).all())


def _newest_message(export: Export) -> int:
    ts = export.messages["timestamp"]
    newest = pc.max(ts).as_py() if len(ts) else None
    return int(newest.timestamp()) if newest else 0


def _newest_chat_names(table: pa.Table, chat_ids: pa.Array, chat: np.ndarray) -> pa.Table:
    names = table["chat_name"].combine_chunks()
    # the last row of each chat in concatenation order came from the newest export that has the chat
    last = np.zeros(len(chat_ids), np.int64)
    last[chat] = np.arange(len(chat))
    per_chat = pc.take(names, pa.array(last))
    if pc.all(pc.equal(pc.take(per_chat, pa.array(chat)), names)).as_py() is not False:
        return table
    return table.set_column(
        table.schema.get_field_index("chat_name"), "chat_name", pc.take(per_chat, pa.array(chat))
    )


def _with_persona(messages: pa.Table, persona: Persona) -> pa.Table:
    columns = {name: messages[name] for name in messages.column_names}
    if persona.aliases:  # the persona's WhatsApp sender ids (matched by name) become their one id
        alias = pc.fill_null(pc.is_in(messages["sender_id"], pa.array(persona.aliases)), False)
        columns["sender_id"] = pc.if_else(alias, persona.id, messages["sender_id"])
    is_persona = pc.fill_null(pc.equal(columns["sender_id"], persona.id), False)
    columns["is_persona"] = is_persona
    return pa.table({f.name: columns[f.name] for f in MESSAGES_SCHEMA}, schema=MESSAGES_SCHEMA)


def _write_messages(messages: pa.Table, path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(messages, path, compression="zstd", compression_level=1)
    path.chmod(0o600)  # the original, unmasked text


def pii_masker(
    exports: list[Export], messages: pa.Table, persona: Persona, config: IngestConfig
) -> PiiMasker:
    """The masker of this ingest: the export's names, `pii_keep_words`, the phone regions (set or guessed)."""
    names = _third_party_names(exports, messages, persona, config)
    others = _other_people_names(messages, names, persona, config, exports)
    others = [n for n in others if n not in common_words(messages["text"], others)]
    regions = config.pii_regions or export_regions(exports, messages)
    return PiiMasker(names, config.pii_keep_words, regions, others)


def _third_party_names(
    exports: list[Export], messages: pa.Table, persona: Persona, config: IngestConfig
) -> list[str]:
    """Every name the export knows for people other than the persona: senders of personal and group chats,
    names of personal chats, the contact list."""
    people_chats = pc.is_in(messages["chat_type"], pa.array(sorted(PERSONAL_TYPES | GROUP_TYPES)))
    others = pc.and_(people_chats, pc.invert(messages["is_persona"]))
    names = set(pc.unique(pc.filter(messages["sender_name"], others)).to_pylist())
    names |= {c.name for e in exports for c in e.chats if c.type in PERSONAL_TYPES and c.name}
    names |= {name for export in exports for name in export.contact_names}
    own = _own_name_tokens(exports, persona, config)
    tokens = {t for name in names if name for t in name_tokens(name)}
    return sorted(t for t in tokens if t.casefold() not in own)


def _other_people_names(
    messages: pa.Table, known: list[str], persona: Persona, config: IngestConfig, exports: list[Export]
) -> list[str]:
    """The name tokens of the other people of the export (senders of any other chat, `mention_name`
    entities), not already `known`: masked in text only when written with a capital."""
    people = pc.and_(pc.invert(messages["is_persona"]), pc.starts_with(messages["sender_id"], "user"))
    names = set(pc.unique(pc.filter(messages["sender_name"], pc.fill_null(people, False))).to_pylist())
    names |= mentioned_names(messages["entities"])
    skip = _own_name_tokens(exports, persona, config) | {k.casefold() for k in known}
    return sorted({t for name in names if name for t in name_tokens(name) if t.casefold() not in skip})


def _own_name_tokens(exports: list[Export], persona: Persona, config: IngestConfig) -> set[str]:
    own = {t.casefold() for t in name_tokens(persona.name)}
    own |= {t.casefold() for e in exports for t in name_tokens(e.owner_name)}
    return own | {t.casefold() for t in name_tokens(config.persona_name)}


def _windowing(config: IngestConfig) -> Windowing:
    return Windowing(
        config.max_turns, config.max_chars, config.session_gap_minutes, config.turn_window_minutes
    )


def _samples_per_chat(
    turns: Turns, windows: Windows, written: dict[str, np.ndarray]
) -> dict[str, dict[str, int]]:
    """Chat id -> samples written per split, e.g. {"train": 120, "eval": 14, "test": 12} (chats with any)."""
    n = len(turns.chat_ids)
    chat = turns.chat[windows.start]
    counts = {split: np.bincount(chat[rows], minlength=n) for split, rows in written.items()}
    return {
        chat_id: {split: int(count[c]) for split, count in counts.items()}
        for c, chat_id in enumerate(turns.chat_ids)
        if any(count[c] for count in counts.values())
    }


def _summary(counts: Counter[str]) -> str:
    return ", ".join(f"{reason}: {n}" for reason, n in counts.most_common()) or "the export has no messages"


# --- chats --------------------------------------------------------------------------------------------------


@dataclass
class ChatListing:
    persona: Persona | None  # None when the export does not say whose it is and no --persona was given
    rows: list[dict[str, object]]  # chat_id, type, name, messages, persona_messages, first, last


def list_chats(export: Path, persona: str | None = None, timezone: str = "UTC") -> ChatListing:
    """The chats of an export with their message counts, and how many messages are the persona's."""
    with gc_paused(), system_allocator():
        parsed, messages, _ = read_messages([export], timezone)
        try:
            who: Persona | None = resolve_persona(parsed, messages, persona)
        except ChatLikeMeError:
            if persona:
                raise
            who = None
        grouped = messages.group_by("chat_id", use_threads=False).aggregate(
            [("message_id", "count"), ("timestamp", "min"), ("timestamp", "max")]
        )
        stats = {row["chat_id"]: row for row in grouped.to_pylist()}
        persona_counts: dict[str, int] = {}
        if who is not None:
            mine = messages.filter(pc.fill_null(pc.equal(messages["sender_id"], who.id), False))
            counted = mine.group_by("chat_id", use_threads=False).aggregate([("message_id", "count")])
            persona_counts = {r["chat_id"]: r["message_id_count"] for r in counted.to_pylist()}
        usage = _chat_usage(messages, who, persona)
        rows = []
        for chat in parsed[0].chats:
            if chat.chat_id in {r["chat_id"] for r in rows}:
                continue  # two chats sharing an id are one chat
            row = stats.get(chat.chat_id, {})
            rows.append(
                {
                    "chat_id": chat.chat_id,
                    "type": chat.type,
                    "name": chat.name,
                    "messages": int(row.get("message_id_count", 0)),
                    "persona_messages": persona_counts.get(chat.chat_id, 0) if who else None,
                    "first": row.get("timestamp_min"),
                    "last": row.get("timestamp_max"),
                    **usage(chat.chat_id, chat.type, chat.name),
                }
            )
    return ChatListing(who, rows)


def _chat_usage(
    messages: pa.Table, who: Persona | None, requested: str | None
) -> Callable[[str, str, str | None], dict[str, object]]:
    """`usage(chat_id, type, name)`: whether `ingest` (default config) uses the chat, why not, and the exact
    flags that would make it use this chat (None: no flag can: channels, bots, saved messages)."""
    config = IngestConfig()
    kind, text = messages["kind"], messages["text"]
    blank = pc.and_(pc.equal(kind, "text"), pc.equal(pc.utf8_trim_whitespace(text), ""))
    usable = pc.and_(
        pc.and_(
            pc.invert(pc.is_in(kind, pa.array(["service", "unsupported"]))),
            pc.is_valid(messages["sender_id"]),
        ),
        pc.invert(pc.fill_null(blank, False)),
    )
    table = messages.select(["chat_id", "sender_id"]).filter(pc.fill_null(usable, False))
    counts = table.group_by(["chat_id", "sender_id"], use_threads=False).aggregate([([], "count_all")])
    senders: dict[str, Counter[str]] = {}
    for row in counts.to_pylist():
        senders.setdefault(row["chat_id"], Counter())[row["sender_id"]] = row["count_all"]
    skip = chat_filter(IngestConfig(groups=True))

    def usage(chat_id: str, chat_type: str, name: str | None) -> dict[str, object]:
        never = skip(chat_id, chat_type, name)
        if never is not None:
            return {"used": False, "why_not": never, "include": None}
        chat_senders = senders.get(chat_id, Counter())
        total = sum(chat_senders.values())
        reasons, flags = [], []
        persona_id = who.id if who and requested else None
        if who is None or not chat_senders.get(who.id):
            others = [sid for sid, _ in chat_senders.most_common() if who is None or sid != who.id]
            if not others:
                return {"used": False, "why_not": "no usable message", "include": None}
            reasons.append("no persona messages" if who else "persona unknown (single-chat export)")
            persona_id = others[0]  # its most active sender
        if chat_type in GROUP_TYPES:
            reasons.append("group chat")
            flags.append("--groups")
        if total < config.min_messages:
            reasons.append(f"too few messages ({total} usable < {config.min_messages})")
            flags += ["--min-messages", str(total)]
        flags = [*(["--persona", persona_id] if persona_id else []), *flags, "--chat", chat_id]
        return {"used": not reasons, "why_not": "; ".join(reasons) or None, "include": " ".join(flags)}

    return usage
