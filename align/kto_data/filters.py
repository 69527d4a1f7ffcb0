"""What keeps a row: negatives cut to their real reply's length, and empties, duplicates, copies of their own
prompt's real reply and persona-like negatives dropped (each drop counted)."""

from __future__ import annotations

from collections import Counter, defaultdict
from difflib import SequenceMatcher

import msgspec

from align.negatives import Slot, get_strategy
from align.negatives.text import normalize, trim_to_sentence
from align.style import PersonaJudge
from core.schema import ChatMessage, KtoRow


def slot_places(slots: list[Slot]) -> dict[tuple[str, bytes], str]:
    return {(s.sample_id, msgspec.json.encode(list(s.prompt))): s.reply for s in slots}


def source_reply(row: KtoRow, replies_by_place: dict[tuple[str, int], str]) -> str | None:
    """The real reply that a negative stands in for (None for rows not made from an SFT reply)."""
    return replies_by_place.get((row.sample_id, msgspec.json.encode(row.prompt)))


def cut_to_length(
    rows: list[KtoRow], sources: dict, ratio: float, min_chars: int, cut: Counter[str]
) -> list[KtoRow]:
    """Synthetic negatives cut to at most `ratio` times their real reply's length (`min_chars` at least).
    Votes and rows picked by a judge of their own stay whole (their length is part of the verdict)."""
    out = []
    for row in rows:
        real = source_reply(row, sources)
        text = row.completion[0].content
        limit = max(min_chars, round(ratio * len(real or "")))
        if row.label or real is None or _judged_already(row.strategy) or len(text) <= limit:
            out.append(row)
            continue
        shorter = trim_to_sentence(text, limit, mark_cut=False)
        out.append(msgspec.structs.replace(row, completion=[ChatMessage("assistant", shorter)]))
        cut[row.strategy] += 1
    return out


def keep_rows(
    rows: list[KtoRow], sources: dict, max_similarity: float
) -> tuple[list[KtoRow], dict[str, Counter[str]]]:
    """Rows without empties, negatives equal or near to their own prompt's real reply, duplicates (drops
    counted). A real reply of another conversation may be a negative: the persona's words, wrong place."""
    kept, seen = [], set()
    dropped: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        text = normalize(row.completion[0].content)
        key = (msgspec.json.encode(row.prompt), text)
        reason = None
        if not text:
            reason = "empty"
        elif not row.label and text == normalize(source_reply(row, sources) or ""):
            reason = "equals its real reply"
        elif not row.label and similarity(text, source_reply(row, sources)) >= max_similarity:
            reason = "near-copy of its real reply"
        if reason is None and key in seen:
            reason = "duplicate"
        if reason:
            dropped[row.strategy][reason] += 1
            continue
        seen.add(key)
        kept.append(row)
    return kept, dropped


def drop_persona_like(
    rows: list[KtoRow], judge: PersonaJudge, max_probability: float, dropped: dict[str, Counter[str]]
) -> list[KtoRow]:
    """Synthetic negatives the persona judge finds persona-like are dropped: a negative that reads like the
    persona teaches KTO to avoid the persona's own voice. People's judgements (votes) are kept as they are."""
    judged = [i for i, row in enumerate(rows) if not row.label and not _judged_already(row.strategy)]
    if not judged:
        return rows
    scores = judge.persona_probability([rows[i].completion[0].content for i in judged])
    persona_like = {i for i, score in zip(judged, scores, strict=True) if score >= max_probability}
    for i in persona_like:
        dropped[rows[i].strategy]["judged persona-like"] += 1
    return [row for i, row in enumerate(rows) if i not in persona_like]


def _judged_already(name: str) -> bool:
    strategy = get_strategy(name)
    return strategy.human or strategy.judged


def similarity(normalized: str, source: str | None) -> float:
    if source is None:
        return 0.0
    return SequenceMatcher(None, normalized, normalize(source), autojunk=False).ratio()
