"""The demo personas answer the conversation: their replies reuse what it names and rarely repeat verbatim.

A context-aware evaluation (does the model answer *this* conversation?) can only tell models apart on data
where the persona's replies depend on their context; these tests keep both demo exports that way (Marco,
Italian, and Emma, English), so that nothing is tuned to one persona.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from pathlib import Path

import pytest

from ingest.demo.dialogues import Beat
from ingest.demo.export import Scene, write_demo_export
from ingest.demo.personas import PERSONAS, DemoPersona, demo_persona

# a word of a reply that fits any conversation
FILLER_WORD = re.compile(
    r"ahah\w*|ok|daje|boh|vabbè|top|ci|sta|si|bella|cool|yes|perfect|a|dopo"  # Marco
    r"|haha\w*|lol|omg|ahh|oh|god|x|xx|yay|see|you|well|fair|enough|thanks"  # Emma
)
PACKS = [demo_persona(name) for name in PERSONAS]
parametrize_packs = pytest.mark.parametrize("pack", PACKS, ids=PERSONAS)


def _beats(pack: DemoPersona) -> list[Beat]:
    sides = [side for t in pack.topics for side in (t.openers, t.follows, t.responses)]
    return [beat for side in sides for beat in side] + pack.closers


def _templates(pack: DemoPersona) -> list[str]:
    lines = [
        line
        for beat in _beats(pack)
        for side in (beat.ask, beat.reply)
        for ls in side.values()
        for line in ls
    ]
    return lines + [
        line for t in pack.topics for ls in (*t.closer.values(), *t.persona_opener.values()) for line in ls
    ]


@parametrize_packs
def test_the_persona_answers_every_line_a_contact_can_say(pack: DemoPersona):
    for beat in _beats(pack):
        for register in beat.ask:
            assert beat.reply.get(register) or beat.reply.get(pack.lang_of(register)), (register, beat.ask)


@parametrize_packs
def test_every_contact_and_the_group_can_open_a_conversation(pack: DemoPersona):
    registers = {spec.contact.register for spec in pack.chats if spec.contact} | {"group"}
    for register in registers:
        assert any(register in beat.ask for t in pack.topics for beat in t.openers), register


@parametrize_packs
def test_templates_name_known_slots_and_close_their_brackets(pack: DemoPersona):
    for line in _templates(pack):
        for slot in re.findall(r"\{(\w+)\}", line):
            assert slot.removesuffix("2") in pack.slots, line
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


@parametrize_packs
@pytest.mark.parametrize("seed", range(20))
def test_a_choice_is_answered_with_one_of_the_options(pack: DemoPersona, seed: int):
    rng = random.Random(seed)
    choices = [
        (beat, register, line, match.group(1))
        for beat in _beats(pack)
        for register, lines in beat.ask.items()
        for line in lines
        if (match := CHOICE.search(line))
    ]
    assert len(choices) >= 5
    for beat, register, line, slot in choices:
        scene = Scene(rng, pack.slots)
        scene.fill(line)
        reply = scene.fill(rng.choice(beat.reply.get(register) or beat.reply[pack.lang_of(register)]))
        assert scene.values[slot] in reply or scene.values[slot + "2"] in reply, (line, reply)


# --- the exports, through ingest (`demo_data`: Marco, 1,500 messages; `demo_data_en`: Emma, 8,000) --------


@pytest.fixture(params=PERSONAS)
def persona_data(request: pytest.FixtureRequest):
    return request.getfixturevalue("demo_data" if request.param == "it" else "demo_data_en")


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


def test_few_replies_are_fillers_or_repeats(persona_data):
    replies = [sample[-1]["content"] for sample in _samples(persona_data.sft_dir, "train")]
    assert sum(map(_is_filler, replies)) / len(replies) < 0.1
    assert len({_norm(reply) for reply in replies}) / len(replies) > 0.8


def test_held_out_replies_are_rarely_training_replies_verbatim(persona_data):
    seen = {
        _norm(m["content"])
        for s in _samples(persona_data.sft_dir, "train")
        for m in s
        if m["role"] == "assistant"
    }
    held_out = [sample[-1]["content"] for sample in _samples(persona_data.sft_dir, "eval", "test")]
    assert len(held_out) >= 20
    assert sum(_norm(reply) in seen for reply in held_out) / len(held_out) < 0.35


def test_replies_reuse_the_words_of_their_own_conversation(persona_data):
    samples = _samples(persona_data.sft_dir, "train")
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


def _emma_lines(export: dict, chat_name: str) -> list[str]:
    chat = next(c for c in export["chats"]["list"] if c.get("name") == chat_name)
    return [
        m["text"] for m in chat["messages"] if m.get("from") == "Emma Clarke" and isinstance(m["text"], str)
    ]


def test_emma_has_her_own_style(demo_data_en):
    export = json.loads(demo_data_en.export.read_text())
    assert export["personal_information"]["first_name"] == "Emma"
    to_friends = [t for name in ("Priya Shah", "Jake 🍺") for t in _emma_lines(export, name) if t]
    assert len(to_friends) > 200
    names = re.compile("|".join(demo_persona("en").slots["friend"]))  # the only capitals: names, CAPS
    shouting = [t for t in to_friends if names.sub("", t)[:1].isupper() or re.search(r"\bI\b", t)]
    assert not shouting  # lowercase, "i" too
    assert not [t for t in to_friends if "'" in t]  # "dont", "im", "cant"
    assert sum(t.endswith(" x") for t in to_friends) / len(to_friends) > 0.05  # a kiss for her friends
    assert sum(t.endswith("xx") for t in _emma_lines(export, "Mum 💕")) > 20
    # to her manager she writes properly: capitals, full words
    to_manager = [t for t in _emma_lines(export, "David Hughes") if t]
    assert sum(t[0].isupper() for t in to_manager) / len(to_manager) > 0.5
    italian = re.compile(r"\b(ahah|daje|boh|stasera|ci sta|allora)\b")
    assert not [t for t in to_friends if italian.search(t)]
