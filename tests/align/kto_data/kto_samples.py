"""Small SFT datasets for the KTO-data tests: an Italian persona with a recognisable chat voice (lowercase,
"ahah", "daje", emoji), contacts with voices of their own, an English chat and a group chat. Train and eval
sessions talk about different topics, so any eval text that reaches the train split is easy to spot."""

from __future__ import annotations

import random
from pathlib import Path

from core.io import write_jsonl
from core.prompts import group_system_prompt, persona_system_prompt
from core.schema import ChatMessage, SftSample

PERSONA = "Pasquale"
TOPICS = {
    ("it", "train"): ["pizza", "calcetto", "spesa", "cinema", "palestra", "treno", "compleanno", "trasloco"],
    ("it", "eval"): ["montagna", "concerto", "museo"],
    ("en", "train"): ["party", "hike", "barbecue", "football"],
    ("en", "eval"): ["festival", "exhibition"],
}
PERSONA_VOICE = {
    "it": [
        "ahah sì dai per {t} ci sto 😂",
        "daje {t} stasera!!",
        "boh per {t} vediamo domani",
        "nono tranquillo, {t} va benissimo 👍",
        "ok {t} alle {h} allora",
        "mi sa che salto {t} stasera 😅",
        "che figata {t}!! mandami le foto",
        "vabbè dai, {t} sarà per la prossima",
        "ahahah ma {t} di nuovo?",
        "sì sì arrivo a {t} tra {m} min",
        "cmq {t} mi ha stufato ahah",
        "raga {t} domani? 🔥",
    ],
    "en": [
        "lol yeah {t} sounds good",
        "nah {t} isn't my thing 😂",
        "omg {t} again?? 🔥",
        "ok see u at the {t} at {h}",
        "haha sure, {t} it is",
        "idk about the {t} tbh",
    ],
}
CONTACT_VOICE = {
    "Lorenzo": [
        "Ciao! Stasera {t}?",
        "Domani mattina c'è {t}, vieni anche tu?",
        "Hai sentito di {t}? Incredibile.",
        "Ti va di organizzare {t} sabato?",
        "Per {t} servono i biglietti, li prendi tu?",
    ],
    "Giulia": [
        "Allora per {t} come facciamo? Io posso solo dopo le sei, fammi sapere!!",
        "Ma quindi {t} è confermato oppure no? Non ho capito niente dal gruppo...",
        "Ho appena sentito Marco per {t}, dice che forse viene anche lui!!",
    ],
    "John": [
        "Hey, are you coming to the {t} on Saturday?",
        "Did you hear about the {t}? It was amazing.",
        "Should we book the {t} for next week?",
    ],
}


def _conversation(rng: random.Random, language: str, split: str, contacts: list[str], turns: int) -> list:
    messages = []
    for _ in range(turns):
        topic = rng.choice(TOPICS[(language, split)])
        contact = rng.choice(contacts)
        messages.append(ChatMessage("user", rng.choice(CONTACT_VOICE[contact]).format(t=topic), name=contact))
        hour, minutes = rng.randint(17, 22), rng.randint(5, 30)
        reply = rng.choice(PERSONA_VOICE[language]).format(t=topic, h=hour, m=minutes)
        messages.append(ChatMessage("assistant", reply))
    return messages


def make_sft_samples(split: str, sessions: int, seed: int = 0) -> list[SftSample]:
    """`sessions` conversations per chat (Lorenzo, John, a group) with 2-4 exchanges each."""
    rng = random.Random(f"{seed}/{split}")
    chats = [
        ("user100", "personal_chat", "it", ["Lorenzo"], persona_system_prompt(PERSONA, "Lorenzo")),
        ("user200", "personal_chat", "en", ["John"], persona_system_prompt(PERSONA, "John")),
        (
            "chat300",
            "private_group",
            "it",
            ["Lorenzo", "Giulia"],
            group_system_prompt(PERSONA, "Calcetto", ["Lorenzo", "Giulia"]),
        ),
    ]
    first = 0 if split == "train" else 1000
    samples = []
    for chat_id, chat_type, language, contacts, system in chats:
        for session in range(first, first + sessions):
            turns = _conversation(rng, language, split, contacts, rng.randint(2, 4))
            messages = [ChatMessage("system", system), *turns]
            samples.append(SftSample(messages, f"{chat_id}/{session}/0", chat_id, chat_type, session))
            if session % 3 == 0:  # a sliding window over the same session repeats its later turns
                window = [messages[0], *turns[2:]]
                samples.append(SftSample(window, f"{chat_id}/{session}/1", chat_id, chat_type, session))
    return samples


def write_sft_dir(root: Path, train_sessions: int = 10, eval_sessions: int = 3, seed: int = 0) -> Path:
    sft = root / "sft"
    write_jsonl(sft / "train.jsonl", make_sft_samples("train", train_sessions, seed))
    write_jsonl(sft / "eval.jsonl", make_sft_samples("eval", eval_sessions, seed))
    return sft


def slots_of(split: str = "train", sessions: int = 6) -> list:
    """The persona's replies of a generated split as strategy slots."""
    from align.kto_data import KTODataConfig, chat_languages, persona_slots

    samples = make_sft_samples(split, sessions)
    _, languages = chat_languages(samples, "auto")
    return persona_slots(samples, languages, KTODataConfig(), split)[0]


def context_for(strategy: str, slots: list, **fields) -> object:
    """A StrategyContext for `strategy` with the default options, seeded, for the slots' split."""
    from align.kto_data import KTODataConfig, chat_languages, other_turns, persona_replies
    from align.negatives import StrategyContext

    samples = make_sft_samples("train", 6)
    _, languages = chat_languages(samples, "auto")
    defaults = {
        "split": "train",
        "target": len(slots),
        "rng": random.Random(0),
        "options": getattr(KTODataConfig(), strategy, None),
        "other_turns": other_turns(samples, languages),
        "persona_replies": persona_replies(samples),
    }
    return StrategyContext(**{**defaults, **fields})
