"""The SFT data as the KTO dataset sees it: the positives (every persona reply with the conversation before
it as its prompt, deduplicated and capped), the other speakers' turns and each chat's language."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from align.kto_data.config import ONPOLICY_FILE, SPLITS, KTODataConfig
from align.negatives import OtherTurn, Slot, Split
from align.negatives.text import detect_language, normalize
from core.errors import input_error
from core.io import read_jsonl
from core.schema import ChatMessage, SftSample


def find_sft_dir(path: Path) -> Path:
    """The directory holding train.jsonl/eval.jsonl (DIR/sft, or DIR itself)."""
    for candidate in (path, path / "sft"):
        if (candidate / "train.jsonl").is_file():
            return candidate
    raise input_error(path, "not an SFT data directory (no train.jsonl; expected `ingest`'s DIR/sft)")


def read_split(sft_dir: Path, split: Split) -> list[SftSample]:
    path = sft_dir / f"{split}.jsonl"
    if split == "eval" and not path.exists():
        raise input_error(path, "missing: the SFT data has no eval split")
    return read_jsonl(path, SftSample)


def chat_languages(samples: list[SftSample], setting: str) -> tuple[str, dict[str, str]]:
    """The persona's language and each chat's (a chat with too little text takes the persona's)."""
    persona = [m.content for s in samples for m in s.messages if m.role == "assistant"]
    if setting != "auto":
        return setting, defaultdict(lambda: setting)
    persona_language = detect_language(persona)
    texts: dict[str, list[str]] = defaultdict(list)
    for sample in samples:
        texts[sample.chat_id].extend(m.content for m in sample.messages if m.role != "system")
    languages = {chat: detect_language(chat_texts, persona_language) for chat, chat_texts in texts.items()}
    return persona_language, defaultdict(lambda: persona_language, languages)


def trim_prompt(messages: list[ChatMessage], max_turns: int | None) -> tuple[ChatMessage, ...]:
    system = [m for m in messages if m.role == "system"]
    turns = [m for m in messages if m.role != "system"]
    return tuple(system + (turns[-max_turns:] if max_turns else turns))


def persona_slots(
    samples: list[SftSample], languages: dict[str, str], config: KTODataConfig, split: Split
) -> tuple[list[Slot], dict[str, int]]:
    """Every persona reply with its own context, deduplicated, capped per session and per split."""
    best: dict[tuple, tuple[int, Slot]] = {}
    stats: Counter[str] = Counter()
    for sample in samples:
        for i, message in enumerate(sample.messages):
            if message.role != "assistant" or not normalize(message.content):
                continue
            stats["persona_turns"] += 1
            before = sample.messages[:i]
            if not any(m.role == "user" for m in before):
                stats["skipped_no_preceding_message"] += 1
                continue
            slot = Slot(
                prompt=trim_prompt(before, config.max_prompt_turns),
                reply=message.content,
                sample_id=sample.id,
                chat_id=sample.chat_id,
                session=sample.session,
                language=languages[sample.chat_id],
            )
            # Overlapping windows repeat a reply: keep it once, with its longest context.
            key = (sample.chat_id, sample.session, normalize(slot.last_message), normalize(slot.reply))
            if key not in best or len(before) > best[key][0]:
                best[key] = (len(before), slot)
    stats["duplicate_turns"] = stats["persona_turns"] - stats["skipped_no_preceding_message"] - len(best)

    rng = random.Random(f"{config.seed}/{split}/positives")
    sessions: dict[tuple, list[Slot]] = defaultdict(list)
    for _, slot in best.values():
        sessions[(slot.chat_id, slot.session)].append(slot)
    slots = []
    for session_slots in sessions.values():
        keep = min(len(session_slots), config.max_positives_per_session)
        slots += rng.sample(session_slots, keep) if keep < len(session_slots) else session_slots
    stats["capped_per_session"] = len(best) - len(slots)
    cap = config.max_train_positives if split == "train" else config.max_eval_positives
    if cap is not None and len(slots) > cap:
        stats["capped_per_split"] = len(slots) - cap
        slots = rng.sample(slots, cap)
    stats["positives"] = len(slots)
    return slots, dict(stats)


def other_turns(samples: list[SftSample], languages: dict[str, str]) -> list[OtherTurn]:
    """Other speakers' messages, once each (the material of contamination and of the judge's other class)."""
    seen: set[str] = set()
    turns = []
    for sample in samples:
        for message in sample.messages:
            key = normalize(message.content)
            if message.role == "user" and key and key not in seen:
                seen.add(key)
                turns.append(OtherTurn(message.content, sample.id, sample.chat_id, languages[sample.chat_id]))
    return turns


def persona_replies(samples: list[SftSample]) -> list[str]:
    """Every assistant turn of the samples, once each, in order."""
    turns = (m.content for sample in samples for m in sample.messages if m.role == "assistant")
    return list(dict.fromkeys(turns))


@dataclass
class SftData:
    """The SFT data as the KTO dataset sees it: per split, the positives and the other speakers' turns."""

    samples: dict[Split, list[SftSample]]
    persona_language: str
    languages: dict[str, str]  # chat id -> the language of its template bank
    positives: dict[Split, list[Slot]]
    positive_stats: dict[Split, dict[str, int]]
    other_turns: dict[Split, list[OtherTurn]]
    persona_replies: dict[Split, list[str]]  # every assistant turn of the split, deduplicated, in order
    real_replies: set[str]  # every persona reply of both splits, normalised: no negative may equal one
    # the persona's replies of sft/onpolicy.jsonl (training sessions SFT never saw), train only
    onpolicy: dict[Split, list[Slot]] = field(default_factory=lambda: {"train": [], "eval": []})


def load_sft_data(sft_dir: Path, config: KTODataConfig) -> SftData:
    samples = {split: read_split(sft_dir, split) for split in SPLITS}
    persona_language, languages = chat_languages(samples["train"] + samples["eval"], config.language)
    positives, positive_stats = {}, {}
    for split in SPLITS:
        positives[split], positive_stats[split] = persona_slots(samples[split], languages, config, split)
    if not positives["train"]:
        raise input_error(
            sft_dir / "train.jsonl", "no persona reply (an assistant turn after a user turn) to learn from"
        )
    persona = {split: persona_replies(samples[split]) for split in SPLITS}
    real_replies = {normalize(reply) for split in SPLITS for reply in persona[split]}
    others = {split: other_turns(samples[split], languages) for split in SPLITS}
    onpolicy: dict[Split, list[Slot]] = {"train": [], "eval": []}
    if (sft_dir / ONPOLICY_FILE).is_file():
        held_out = read_jsonl(sft_dir / ONPOLICY_FILE, SftSample)
        _, held_languages = chat_languages(held_out, persona_language)
        languages = defaultdict(lambda: persona_language, {**held_languages, **languages})
        onpolicy["train"] = persona_slots(held_out, languages, config, "train")[0]
    return SftData(
        samples,
        persona_language,
        languages,
        positives,
        positive_stats,
        others,
        persona,
        real_replies,
        onpolicy,
    )
