"""One test per negative strategy: its rows differ from the real reply in the way the strategy means."""

from __future__ import annotations

import random
from collections import Counter

from kto_samples import context_for, slots_of

from align.negatives import OtherTurn, Slot, get_strategy
from align.negatives.base_sampling import BaseSamplingOptions
from align.negatives.base_sampling import generation as base_generation
from align.negatives.contamination import usable_turns
from align.negatives.contextual_templates import topic_of
from align.negatives.corruption import delete_words, insert_words, shuffle_words
from align.negatives.off_persona import OffPersonaOptions
from align.negatives.paraphrase import ParaphraseOptions
from align.negatives.paraphrase import generation as paraphrase_generation
from align.negatives.policy_samples import sft_generation
from align.negatives.text import detect_language, normalize, strip_tone, template_bank
from align.style import EMOJI, LAUGHTER
from core.schema import ChatMessage

IT, EN = template_bank("it"), template_bank("en")


def build(name: str, slots: list, **context) -> list:
    return get_strategy(name).build(slots, context_for(name, slots, **context))


def source_of(row, slots) -> object:
    return next(s for s in slots if s.sample_id == row.sample_id and list(s.prompt) == row.prompt)


def test_language_detection_and_banks() -> None:
    assert detect_language(["ahah sì dai, ci vediamo domani", "non so se vengo"]) == "it"
    assert detect_language(["lol yeah, see you tomorrow", "i don't know if i can"]) == "en"
    assert detect_language(["🙂🙂"], default="it") == "it"
    assert template_bank("fr").language == "en"  # no French bank: English stands in
    slots = slots_of()
    assert {s.language for s in slots} == {"it", "en"}
    assert all(s.language == "en" for s in slots if s.chat_id == "user200")


def test_corruption_operations() -> None:
    rng = random.Random(0)
    text = "ahah sì dai per pizza ci sto"
    shuffled = shuffle_words(text, IT, rng)
    assert shuffled != text and Counter(shuffled.split()) == Counter(text.split())
    assert shuffle_words("ok ok", IT, rng) is None
    inserted = insert_words(text, IT, rng).split()
    assert len(inserted) > len(text.split())
    assert Counter(inserted) - Counter(text.split())  # the new words are the bank's padding
    deleted = delete_words(text, IT, rng)
    assert len(deleted.split()) < len(text.split()) and set(deleted.split()) <= set(text.split())
    assert delete_words("ok dai", IT, rng) is None
    assert strip_tone("siiii daje 😂😂 ahahah!!! :)") == "si daje !"


def test_corruption_strips_the_voice_and_often_forces_formality() -> None:
    slots = slots_of()
    rows = build("corruption", slots)
    assert len(rows) >= 0.9 * len(slots)
    formal = 0
    for row in rows:
        text, source = row.completion[0].content, source_of(row, slots)
        assert normalize(text) != normalize(source.reply)
        assert not EMOJI.search(text) and not LAUGHTER.search(text)
        assert row.label is False and row.strategy == "corruption"
        if "formalize" in row.detail:
            formal += 1
            bank = source.bank
            assert text[0].isupper() and text.rstrip()[-1] in ".!?"
            openers = [o.split("{")[0].strip(" ,") for o in bank.openers]
            assert any(text.startswith(o) for o in openers) or any(text.endswith(c) for c in bank.closers)
    assert formal >= len(rows) // 2


def test_contamination_uses_other_voices_in_the_same_language() -> None:
    slots = slots_of()
    ctx = context_for("contamination", slots)
    rows = get_strategy("contamination").build(slots, ctx)
    turns = {t.text: t for t in ctx.other_turns}
    kinds = Counter()
    for row in rows:
        text, source = row.completion[0].content, source_of(row, slots)
        if text in source.bank.formal_phrases:
            kinds["stock"] += 1
        else:
            kinds["other speaker"] += 1
            turn = turns[text]
            assert turn.sample_id != source.sample_id  # from another conversation
            assert turn.language == source.language
            assert text not in [m.content for m in source.prompt]
    assert kinds["stock"] > 0 and kinds["other speaker"] > 0


def test_contamination_skips_media_markers_and_one_word_messages() -> None:
    texts = ["[photo]\nfame chimica zio", "[forwarded] Offerta: 2 pizze", "Hai preso la medicina?", "Quando?"]
    turns = [OtherTurn(text, f"c/{i}/0", "c", "it") for i, text in enumerate(texts)]
    assert [t.text for t in usable_turns(turns, min_words=2)] == ["Hai preso la medicina?"]


def test_paraphrase_makes_the_reply_longer_and_professional() -> None:
    slots = slots_of()
    rows = build("paraphrase", slots)
    assert len(rows) == len(slots)
    for row in rows:
        text, source = row.completion[0].content, source_of(row, slots)
        assert len(text) > len(source.reply) + 15
        fixed_parts = [
            [part.strip() for part in t.split("{reply}") if part.strip() and "{contact}" not in part]
            for t in source.bank.paraphrase_templates
        ]
        assert any(all(part in text for part in parts) for parts in fixed_parts if parts)
        if row.detail.startswith("neutralised"):
            assert not EMOJI.search(text)


def test_paraphrase_with_a_model_uses_good_rewrites_only() -> None:
    slots = slots_of()[:2]
    spec = paraphrase_generation(slots, ParaphraseOptions(use_model=True))
    assert spec.model == "base" and slots[0].reply in spec.prompts[0][-1].content
    assert paraphrase_generation(slots, ParaphraseOptions()) is None
    rewrite = "Gentile Lorenzo, la ringrazio: confermo con piacere la mia partecipazione all'evento."
    options = ParaphraseOptions(use_model=True)
    rows = build("paraphrase", slots, options=options, generated=[rewrite, slots[1].reply])
    assert rows[0].completion[0].content == rewrite and rows[0].detail == "model rewrite"
    assert rows[1].detail != "model rewrite"  # repeating the reply is no paraphrase: a template instead


def test_contextual_templates_fill_a_generic_schema_with_the_prompts_words() -> None:
    slots = slots_of()
    rows = build("contextual_templates", slots)
    assert len(rows) == len(slots)
    for row in rows:
        text, source = row.completion[0].content, source_of(row, slots)
        topic = row.detail.removeprefix("topic: ")
        assert topic in text
        assert topic in source.last_message.casefold() or topic == source.bank.fallback_topic
        heads = [t.split("{topic}")[0].strip() for t in source.bank.topic_templates]
        assert any(text.startswith(head) for head in heads)  # the schema, in the chat's language
        assert normalize(text) != normalize(source.reply)


def test_the_topic_is_a_specific_word_of_the_prompt() -> None:
    def topic(message: str, reply: str, language: str = "it") -> str:
        slot = Slot((ChatMessage("user", message),), reply, "c/0/0", "c", 0, language)
        common = Counter({"devo": 50, "stasera": 40, "sentito": 30})
        return topic_of(slot, 3, common, random.Random(0))

    assert topic("Quanto ti devo per i biglietti?", "tranqui") == "biglietti"  # "devo" is everywhere
    assert topic("We're at the pub at 8!", "cool 👍", "en") == "pub"  # not "We're"
    assert topic("Hai sentito di <PERSON_1>?", "chi??") == "sentito"  # never a pseudonym
    assert topic("Pizza stasera?", "daje") == "pizza"
    assert topic("Fatto! Controlla.", "ok") == "controlla"
    assert topic("Hai visto Giorgio?", "no") == "Giorgio"
    assert topic("Stasera cinema?", "daje cinema 🔥") == "cinema"  # the word both talk about
    assert topic("ok", "ok") == IT.fallback_topic


def test_base_sampling_asks_the_base_model_with_aggressive_sampling() -> None:
    slots = slots_of()[:3]
    spec = base_generation(slots, BaseSamplingOptions())
    assert spec.model == "base" and spec.prompts == [list(s.prompt) for s in slots]
    assert spec.sampling.temperature > 1 and spec.sampling.top_p < 1
    long = "Thank you for your message. " * 20
    rows = build("base_sampling", slots, generated=[long, "", "Certainly! I am happy to help."])
    assert [row.sample_id for row in rows] == [slots[0].sample_id, slots[2].sample_id]  # empty reply dropped
    assert len(rows[0].completion[0].content) <= BaseSamplingOptions().max_chars
    assert rows[0].completion[0].content.endswith(".")  # cut at a sentence end


def test_off_persona_keeps_only_sft_replies_a_judge_still_tells_from_the_persona() -> None:
    slots = slots_of()
    chosen = slots[:6]
    options = OffPersonaOptions(samples_per_prompt=2)
    spec = sft_generation(chosen, options)
    assert spec.model == "sft" and len(spec.prompts) == 12 and spec.prompts[0] == spec.prompts[1]
    # An SFT model that writes exactly like the persona (its replies are the persona's own, of other prompts),
    # and one that writes like a formal assistant: only the second is told apart from the persona.
    in_voice = [s.reply for s in slots[6:12]]
    formal = [
        "La ringrazio per il messaggio, le farò sapere quanto prima la mia disponibilità.",
        "Certamente. Resto a disposizione per qualsiasi ulteriore chiarimento in merito.",
        "Thank you for reaching out. I will consider your proposal carefully.",
        "As an AI assistant, I do not have personal plans, but I can help you organise.",
        "Gentile Lorenzo, confermo la mia partecipazione. Cordiali saluti.",
        "I am pleased to inform you that I will attend the event.",
    ]
    generated = [reply for pair in zip(in_voice, formal, strict=True) for reply in pair]
    rows = build("off_persona", chosen, options=options, generated=generated, target=6)
    kept = [row.completion[0].content for row in rows]
    assert kept and set(kept) <= set(formal)
    assert all(float(row.detail.rsplit(" ", 1)[1]) < options.threshold for row in rows)
    assert [row.sample_id for row in rows] == [chosen[formal.index(text)].sample_id for text in kept]
