"""Text tools the negative strategies share: normalisation, language detection, template banks, tone.

Template banks live in `banks/<language>.yaml` (Italian and English ship; adding a language is adding a file
with the same keys). The chat's language picks the bank, so a negative is always in the language of the
conversation it answers: a negative should differ from the persona in voice, not in language.
"""

from __future__ import annotations

import functools
import random
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import regex
import yaml

from align.style import EMOJI, LAUGHTER
from core.errors import ChatLikeMeError

BANKS_DIR = Path(__file__).parent / "banks"
FALLBACK_LANGUAGE = "en"

WORD = regex.compile(r"\p{L}[\p{L}\p{M}'’]*")
ELIDED_WORD = regex.compile(r"\p{L}[\p{L}\p{M}]*")  # apostrophes split words
NOT_WORD_OR_SPACE = regex.compile(r"[^\p{L}\p{N}\s]+")
EMOTICON = regex.compile(r"(?<!\S)(?:[:;=xX8][-']?[)(DPpOo3/\\|\]\[*]+|<3+|\^\^|[xX][dD]+)(?!\S)")
ELONGATION = regex.compile(r"(\p{L})\1{2,}")  # "siiii" -> "si"
REPEATED_PUNCT = regex.compile(r"([!?.,])\1+")
SPACES = regex.compile(r"\s+")
SENTENCE_END = regex.compile(r"[.!?…](?=\s|$)")


def normalize(text: str) -> str:
    """The form in which two replies count as "the same": case, accents' encoding, punctuation, emoji and
    spacing do not matter."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return SPACES.sub(" ", NOT_WORD_OR_SPACE.sub(" ", text)).strip()


def content_words(text: str, stopwords: frozenset[str], min_length: int = 3) -> list[str]:
    """Words of `text` that may carry its topic, in order: no stopwords, no short words, no ALL-CAPS
    (pseudonyms like <PERSON_1>, shouting); elisions split ("l'elicottero" -> "elicottero", "we're" -> -)."""
    return [
        w
        for w in ELIDED_WORD.findall(text)
        if len(w) >= min_length and w.casefold() not in stopwords and not w.isupper()
    ]


def strip_tone(text: str) -> str:
    """The words without the voice: no emoji, emoticons, laughter, letter elongations or repeated !?."""
    text = EMOJI.sub(" ", text)
    text = EMOTICON.sub(" ", text)
    text = LAUGHTER.sub(" ", text)
    text = ELONGATION.sub(r"\1", text)
    text = REPEATED_PUNCT.sub(r"\1", text).replace("\u200d", "").replace("\ufe0f", "")
    text = SPACES.sub(" ", text).strip(" ,;")
    return text


def sentence_case(text: str) -> str:
    """Capitalised first letter and a final full stop: how a careful writer, not a chat, ends a message."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."


def trim_to_sentence(text: str, max_chars: int, *, mark_cut: bool = True) -> str:
    """Cut a generated reply at its last full sentence within `max_chars` (no dangling half-sentence), or
    else at its last word, followed by "…" when `mark_cut`."""
    text = SPACES.sub(" ", text).strip()
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    ends = [m.end() for m in SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= max_chars // 3:
        return head[: ends[-1]].strip()
    return head.rsplit(" ", 1)[0].rstrip(" ,;:") + ("…" if mark_cut else "")


def replace_slang(text: str, bank: TemplateBank) -> str:
    """Chat slang replaced by the bank's formal words ("cmq" -> "comunque", "u" -> "you", "lol" dropped)."""
    out = []
    for token in text.split():
        core = token.strip(".,;:!?")
        formal = bank.formal_words.get(core.casefold())
        if formal is None:
            out.append(token)
        elif formal:
            out.append(token.replace(core, formal, 1))
    return " ".join(out)


def formalize(text: str, bank: TemplateBank, contact: str, rng: random.Random) -> str:
    """Forced formality: tone stripped, slang replaced, sentence case, a formal opener and/or closer."""
    body = sentence_case(replace_slang(strip_tone(text), bank))
    opener = rng.choice(bank.openers).format(contact=contact or "") if rng.random() < 0.6 else ""
    closer = rng.choice(bank.closers) if not opener or rng.random() < 0.5 else ""
    opener = SPACES.sub(" ", opener.replace(" ,", ",")).strip()
    letter = "\n".join(part for part in (opener, body) if part)  # a letter's salutation has a line of its own
    return f"{letter} {closer}".strip()


@dataclass(frozen=True)
class TemplateBank:
    """One language's stock phrases and templates (see `banks/it.yaml` for what each key is for)."""

    language: str
    stopwords: frozenset[str]
    formal_phrases: tuple[str, ...]
    openers: tuple[str, ...]
    closers: tuple[str, ...]
    formal_words: dict[str, str]
    filler_words: tuple[str, ...]
    paraphrase_templates: tuple[str, ...]
    topic_templates: tuple[str, ...]
    conclusions: tuple[str, ...]
    fallback_topic: str
    rewrite_instruction: str


def available_languages() -> list[str]:
    return sorted(p.stem for p in BANKS_DIR.glob("*.yaml"))


@functools.cache
def template_bank(language: str) -> TemplateBank:
    """The bank of `language`, or English where no bank exists for it."""
    path = BANKS_DIR / f"{language}.yaml"
    if not path.is_file():
        path = BANKS_DIR / f"{FALLBACK_LANGUAGE}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return TemplateBank(
        language=path.stem,
        stopwords=frozenset(data["stopwords"].casefold().split()),
        formal_phrases=tuple(data["formal_phrases"]),
        openers=tuple(data["openers"]),
        closers=tuple(data["closers"]),
        formal_words={str(k).casefold(): v for k, v in data["formal_words"].items()},
        filler_words=tuple(data["filler_words"]),
        paraphrase_templates=tuple(data["paraphrase_templates"]),
        topic_templates=tuple(data["topic_templates"]),
        conclusions=tuple(data["conclusions"]),
        fallback_topic=data["fallback_topic"],
        rewrite_instruction=data["rewrite_instruction"],
    )


def check_language(language: str) -> None:
    """`language` must be "auto" or have a bank (a config error otherwise)."""
    if language != "auto" and language not in available_languages():
        known = ", ".join(["auto", *available_languages()])
        raise ChatLikeMeError(f"no template bank for language '{language}' (choose one of: {known})")


def detect_language(texts: Iterable[str], default: str = FALLBACK_LANGUAGE) -> str:
    """The bank language whose stopwords are most frequent in `texts` (chat text is short and noisy, and a
    stopword vote is robust to slang and typos); `default` when no stopword of any bank occurs."""
    counts = Counter(w.casefold() for text in texts for w in WORD.findall(text))
    scores = {
        language: sum(counts[w] for w in template_bank(language).stopwords)
        for language in available_languages()
    }
    best = max(scores, key=lambda language: (scores[language], language == default))
    return best if scores[best] > 0 else default
