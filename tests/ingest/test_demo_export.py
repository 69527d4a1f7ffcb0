"""The demo persona answers the conversation: his replies reuse what it names and rarely repeat verbatim.

A context-aware evaluation (does the model answer *this* conversation?) can only tell models apart on data
where the persona's replies depend on their context; these tests keep the demo export that way.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from pathlib import Path

import pytest

from ingest.demo_dialogues import CLOSERS, SLOTS, TOPICS, Beat
from ingest.demo_export import Scene, write_demo_export

# a word of a reply that fits any conversation
FILLER_WORD = re.compile(r"ahah\w*|ok|daje|boh|vabbè|top|ci|sta|si|bella|cool|yes|perfect|a|dopo")


def _beats() -> list[Beat]:
    return [beat for t in TOPICS for side in (t.openers, t.follows, t.responses) for beat in side] + CLOSERS


def _lang(register: str) -> str:
    return "en" if register == "english" else "it"


def _templates() -> list[str]:
    lines = [
        line for beat in _beats() for side in (beat.ask, beat.reply) for ls in side.values() for line in ls
    ]
    return lines + [
        line for t in TOPICS for ls in (*t.closer.values(), *t.persona_opener.values()) for line in ls
    ]


def test_marco_answers_every_line_a_contact_can_say():
    for beat in _beats():
        for register in beat.ask:
            assert beat.reply.get(register) or beat.reply.get(_lang(register)), (register, beat.ask)


def test_templates_name_known_slots_and_close_their_brackets():
    for line in _templates():
        for slot in re.findall(r"\{(\w+)\}", line):
            assert slot.removesuffix("2") in SLOTS, line
        bare = re.sub(r"\[[^\[\]]*\]", "", re.sub(r"\{\w+\}", "", line))
        assert not set("[]{}") & set(bare), line


def test_a_conversation_names_each_value_once():
    scene = Scene(random.Random(3))
    assert not scene.knows("ci vediamo {place}")
    ask = scene.fill("Stasera {food} o {food2}?")
    food, other = scene.values["food"], scene.values["food2"]
    assert food != other and ask == f"Stasera {food} o {other}?"
    assert scene.fill("[daje |]{food}") in (food, f"daje {food}")
    assert scene.knows("{food} o {food2}") and not scene.knows("{food} {place}")


CHOICE = re.compile(r"\{(\w+)\} or? \{\1(2)\}")  # "{food} o {food2}?", "{en_place} or {en_place2}?"


@pytest.mark.parametrize("seed", range(20))
def test_a_choice_is_answered_with_one_of_the_options(seed: int):
    rng = random.Random(seed)
    choices = [
        (beat, register, line, match.group(1))
        for beat in _beats()
        for register, lines in beat.ask.items()
        for line in lines
        if (match := CHOICE.search(line))
    ]
    assert len(choices) >= 5
    for beat, register, line, slot in choices:
        scene = Scene(rng)
        scene.fill(line)
        reply = scene.fill(rng.choice(beat.reply.get(register) or beat.reply[_lang(register)]))
        assert scene.values[slot] in reply or scene.values[slot + "2"] in reply, (line, reply)


# --- the export, through ingest (`demo_data`: 1,500 messages, seed 0) ------------------------------------


def _norm(text: str) -> str:
    kept = "".join(ch for ch in text.lower() if unicodedata.category(ch)[0] in "LNZ")
    return " ".join(kept.split())


def _is_filler(text: str) -> bool:
    return all(FILLER_WORD.fullmatch(word) for word in _norm(text).split())


def _samples(sft_dir: Path, *splits: str) -> list[list[dict]]:
    paths = [sft_dir / f"{split}.jsonl" for split in splits]
    return [json.loads(line)["messages"] for path in paths if path.exists() for line in path.open()]


def _content_words(text: str) -> set[str]:
    return {word for word in re.findall(r"\w+", text.lower()) if len(word) >= 4}


def _overlap(reply: str, context: list[dict]) -> float:
    words, seen = _content_words(reply), _content_words(" ".join(m["content"] for m in context))
    return len(words & seen) / len(words | seen) if words | seen else 0.0


def test_few_replies_are_fillers_or_repeats(demo_data):
    replies = [sample[-1]["content"] for sample in _samples(demo_data.sft_dir, "train")]
    assert sum(map(_is_filler, replies)) / len(replies) < 0.1
    assert len({_norm(reply) for reply in replies}) / len(replies) > 0.8


def test_held_out_replies_are_rarely_training_replies_verbatim(demo_data):
    seen = {
        _norm(m["content"])
        for s in _samples(demo_data.sft_dir, "train")
        for m in s
        if m["role"] == "assistant"
    }
    held_out = [sample[-1]["content"] for sample in _samples(demo_data.sft_dir, "eval", "test")]
    assert len(held_out) >= 20
    assert sum(_norm(reply) in seen for reply in held_out) / len(held_out) < 0.35


def test_replies_reuse_the_words_of_their_own_conversation(demo_data):
    samples = _samples(demo_data.sft_dir, "train")
    contexts = [sample[1:-1][-4:] for sample in samples]
    shuffled = contexts[1:] + contexts[:1]
    own = sum(_overlap(s[-1]["content"], c) for s, c in zip(samples, contexts, strict=True))
    other = sum(_overlap(s[-1]["content"], c) for s, c in zip(samples, shuffled, strict=True))
    assert own > 4 * other


def test_marco_writes_english_to_sarah(tmp_path: Path):
    export = json.loads(write_demo_export(tmp_path / "result.json", messages=1500).read_text())
    sarah = next(c for c in export["chats"]["list"] if c.get("name") == "Sarah Mitchell")
    texts = [
        m["text"] for m in sarah["messages"] if m.get("from") == "Marco Rossi" and isinstance(m["text"], str)
    ]
    italian = re.compile(r"\b(stasera|ci sta|scusa|guarda|allora|perfetto|mamma|domani|ieri)\b")
    assert texts and not [text for text in texts if italian.search(text)]
