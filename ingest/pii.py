"""PII masking: personal data inside message text becomes stable pseudonyms (`<PHONE_1>`, `<PERSON_3>`).

Masked, not dropped: the conversation keeps its shape ("call me at <PHONE_1>") and the same value always gets
the same pseudonym, so a model still learns that a number or a name was there. What is masked:

    Telegram's entities    by type       phone, email, mention, mention_name, bank_card, private text_link:
                                         masked whatever the rules below think
    phone numbers          <PHONE_n>     libphonenumber: +.. anywhere, national forms in the regions in use
                                         (ingest/phones.py, with guards for dates, years, amounts, times)
    e-mail addresses       <EMAIL_n>
    payment card numbers   <CARD_n>      13-19 digits that pass the Luhn check (python-stdnum)
    IBANs                  <IBAN_n>      that pass the ISO 13616 checks (python-stdnum)
    URLs carrying secrets  <URL_n>       tokens/keys/passwords in the query, invite links, long random ids
    @usernames             <USERNAME_n>
    third-party names      <PERSON_n>    the names of the people the persona talks with in any case; other
                                         people of the export (other chats, mention_name) when capitalised

The mapping pseudonym -> original values is written apart, with file mode 0600, never into the dataset.

Speed: most chat messages contain nothing to mask. One vectorized RE2 pass (pyarrow) finds the few texts that
could (digits, "@", "http", a known name, a tagged entity); only those go through the exact Python rules.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from stdnum import iban as stdnum_iban
from stdnum import luhn

from ingest.phones import CANDIDATE, DEFAULT_REGIONS, PhoneFinder

# Words that appear as (parts of) chat names but are not anybody's name: masking them would mangle
# ordinary sentences ("si mamma" -> "si <PERSON_1>").
NOT_NAMES = frozenset(
    [
        "mamma",
        "mam",
        "mom",
        "mum",
        "mother",
        "madre",
        "papà",
        "papa",
        "pà",
        "dad",
        "daddy",
        "father",
        "padre",
        "nonna",
        "nonno",
        "grandma",
        "grandpa",
        "zio",
        "zia",
        "fratello",
        "sorella",
        "brother",
        "sister",
        "amore",
        "love",
        "tesoro",
        "casa",
        "home",
        "lavoro",
        "work",
        "ufficio",
        "office",
        "gruppo",
        "group",
        "chat",
        "team",
        "family",
        "famiglia",
        "amici",
        "friends",
        "deleted",
        "account",
        "bot",
        "channel",
        "canale",
        "news",
        "notizie",
        "avv",
        "dott",
        "dottssa",
        "dott.ssa",
        "prof",
        "ing",
        "sig",
        "sigra",
        "sig.ra",
        "geom",
        "rag",
        "arch",
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "sir",
        "madam",
    ]
)

_NAME_TOKEN = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))+")

_EMAIL = r"(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,})"
_URL = r"(?P<url>(?:https?://|www\.)[^\s<>\"']+)"
_IBAN = r"(?P<iban>\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b)"
_NUMBER = rf"(?P<number>{CANDIDATE})"
_USERNAME = r"(?P<username>(?<![\w.@/])@[A-Za-z]\w{3,31})"

_SECRET_PARAM = re.compile(
    r"[?&#](?:[\w-]*(?:token|key|secret|sig|signature|auth|pass|pwd|password|session|sid|otp|code|ticket|"
    r"hash|invite|credential)[\w-]*)=",
    re.IGNORECASE,
)
_INVITE = re.compile(r"t\.me/(?:\+|joinchat/)|chat\.whatsapp\.com/|zoom\.us/j/|meet\.google\.com/", re.I)
_RANDOM_ID = re.compile(r"(?=[A-Za-z0-9_-]{16,})(?=[^/?&=#]*\d)(?=[^/?&=#]*[A-Za-z])[A-Za-z0-9_-]{16,}")

# Telegram's entity types (core.schema.ENTITY_TYPE) -> the pseudonym category they are masked as.
ENTITY_CATEGORIES = {
    "phone": "PHONE",
    "email": "EMAIL",
    "mention": "USERNAME",
    "mention_name": "PERSON",
    "bank_card": "CARD",
    "text_link": "URL",
}
_NON_DIGITS = re.compile(r"\D")

# A cheap superset of the rules above, for RE2 (pyarrow): a text that does not match has nothing to mask.
_PREFILTER = r"[0-9]{3}|@|https?://|www\."


def name_tokens(display_name: str | None) -> list[str]:
    """The parts of a display name that identify a person ("Avv. Paola Ferri" -> ["Paola", "Ferri"])."""
    if not display_name:
        return []
    tokens = _NAME_TOKEN.findall(display_name)
    return [t for t in tokens if len(t) >= 3 and not t[0].islower() and t.casefold() not in NOT_NAMES]


def first_name(display_name: str | None) -> str | None:
    """The first name a person goes by: the first name-like token, past titles and emoji."""
    tokens = name_tokens(display_name)
    if tokens:
        return tokens[0]
    if display_name and display_name.strip():
        words = [w for w in display_name.split() if any(ch.isalnum() for ch in w)]
        return words[0] if words else display_name.strip()
    return None


def luhn_valid(digits: str) -> bool:
    return luhn.is_valid(digits)


@functools.lru_cache(maxsize=65_536)  # chats repeat their IBANs; stdnum's checks are thorough, not cheap
def iban_valid(iban: str) -> bool:
    """ISO 13616: the country's length and format, and the mod-97 check digits (python-stdnum)."""
    return stdnum_iban.is_valid(iban)


def mentioned_names(entities: pa.ChunkedArray | pa.Array) -> set[str]:
    """The texts of the `mention_name` entities of a message table's `entities` column (people without a
    username, mentioned by name)."""
    flat = pc.list_flatten(entities)
    if len(flat) == 0:
        return set()
    flat = pa.chunked_array([flat]).combine_chunks() if isinstance(flat, pa.ChunkedArray) else flat
    named = pc.filter(flat.field("text"), pc.equal(flat.field("type"), "mention_name"))
    return set(pc.unique(named).to_pylist())


def common_words(texts: pa.ChunkedArray | pa.Array, names: Iterable[str], sample: int = 5_000) -> set[str]:
    """The names that a sample of the texts also uses in lower case, as ordinary words ("will", "rosa"):
    masking their capitalised form at the start of a sentence would mangle text for nothing."""
    lowered = {n.casefold(): n for n in names if n}
    if not lowered or len(texts) == 0:
        return set()
    step = max(1, len(texts) // sample)
    picked = texts.take(pa.array(np.arange(0, len(texts), step))).to_pylist()
    alternatives = "|".join(re.escape(n) for n in sorted(lowered, key=len, reverse=True))
    found = Counter(re.findall(rf"(?<!\w)(?:{alternatives})(?!\w)", "\n".join(t for t in picked if t)))
    return {lowered[word] for word, n in found.items() if n >= 2}


def url_has_secret(url: str) -> bool:
    return bool(_SECRET_PARAM.search(url) or _INVITE.search(url) or _RANDOM_ID.search(url))


class PiiMasker:
    """Masks one dataset with one consistent pseudonym table (first seen, first numbered)."""

    def __init__(
        self,
        names: Iterable[str] = (),
        keep: Iterable[str] = (),
        regions: Iterable[str] = DEFAULT_REGIONS,
        capitalised_names: Iterable[str] = (),
    ) -> None:
        """`names`: masked in any case ("giulia", "Giulia"); `capitalised_names`: masked only as written with
        a capital (other people the export knows of, whose names may also be ordinary words); `keep`: never
        masked; `regions`: where national phone numbers are read (ISO 3166 codes)."""
        kept = {k.casefold() for k in keep} | NOT_NAMES
        unique = {n.casefold(): n for n in names if n and n.casefold() not in kept and len(n) >= 3}
        longest_first = sorted(unique, key=len, reverse=True)  # "Francesca" before "Franc"
        name_alt = "|".join(re.escape(n) for n in longest_first)
        name_rule = rf"(?P<name>(?<!\w)(?i:{name_alt})(?!\w))" if name_alt else ""
        capitalised = {
            n[:1].upper() + n[1:]
            for n in capitalised_names
            if n and len(n) >= 3 and n.casefold() not in kept and n.casefold() not in unique
        }
        cap_alt = "|".join(re.escape(n) for n in sorted(capitalised, key=len, reverse=True))
        cap_rule = rf"(?P<cname>(?<!\w)(?:{cap_alt})(?!\w))" if cap_alt else ""
        self._pattern = re.compile(
            "|".join(filter(None, [_EMAIL, _URL, _IBAN, _NUMBER, _USERNAME, name_rule, cap_rule]))
        )
        # Texts whose only candidates are names take a much simpler pattern.
        names_rule = "|".join(filter(None, [name_rule, cap_rule]))
        self._names_pattern = re.compile(names_rule) if names_rule else None
        self._names_prefilter = "|".join(filter(None, [name_alt, cap_alt])) or None
        self.phones = PhoneFinder(regions)
        self._pseudonyms: dict[tuple[str, str], str] = {}
        self._originals: dict[str, list[str]] = {}
        self._next: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()  # masks applied, by category

    def pseudonym(self, category: str, value: str) -> str:
        """The stable pseudonym of `value` (normalized per category) — assigned on first use."""
        key = (category, _normalize(category, value))
        found = self._pseudonyms.get(key)
        if found is None:
            self._next[category] += 1
            found = f"<{category}_{self._next[category]}>"
            self._pseudonyms[key] = found
            self._originals[found] = []
        if value not in self._originals[found]:
            self._originals[found].append(value)
        return found

    def person(self, display_name: str | None) -> str:
        """The pseudonym a person's name gets in text (their first name's), for prompts and speaker labels."""
        token = first_name(display_name) or (display_name or "unknown")
        return self.pseudonym("PERSON", token)

    def mask(self, text: str, entities: Iterable[dict[str, str]] | None = None) -> str:
        """`text` with its personal data replaced; `entities`: Telegram's own tags of the text
        (`{"type": "phone", "text": "91234567"}`), masked whatever the rules think."""
        if entities:
            text = self._mask_entities(text, entities)
        return self._pattern.sub(self._replace, text)

    def mask_array(self, texts: pa.Array, entities: pa.Array | None = None) -> pa.Array:
        """Mask every string of an Arrow array; only the texts a cheap RE2 pass flags go through Python.

        `entities`: per text, Telegram's personal-data entities (`core.schema.ENTITY_TYPE` lists) or null."""
        if len(texts) == 0:
            return texts
        structured = _flags(texts, _PREFILTER)  # digits, "@", links: every rule
        tagged = np.zeros(len(texts), bool)
        if entities is not None and entities.null_count < len(entities):
            tagged = pc.is_valid(entities).to_numpy(zero_copy_only=False)
        structured |= tagged
        named = (
            _flags(texts, self._names_prefilter) & ~structured
            if self._names_prefilter
            else structured & False
        )
        rows = np.flatnonzero(structured | named)
        if len(rows) == 0:
            return texts
        taken = pa.array(rows)
        before = texts.take(taken).to_pylist()
        names_only, replace = named[rows].tolist(), self._replace
        after = [
            (self._names_pattern if only_names else self._pattern).sub(replace, text)  # type: ignore[union-attr]
            for text, only_names in zip(before, names_only, strict=True)
        ]
        if tagged.any():
            for i in np.flatnonzero(tagged[rows]).tolist():
                row_entities = entities[int(rows[i])].as_py()  # type: ignore[index]
                after[i] = self.mask(before[i], row_entities)
        changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        if not changed:
            return texts
        mask = np.zeros(len(texts), bool)
        mask[rows[changed]] = True
        return pc.replace_with_mask(texts, pa.array(mask), pa.array([after[i] for i in changed], texts.type))

    def find(self, text: str) -> list[tuple[str, str]]:
        """What `mask` would replace in `text`, as (category, original) pairs, the text left as it is (values
        found get their pseudonyms, as in `mask`; the counts of masks applied do not change)."""
        counts, hits = self.counts.copy(), []
        for match in self._pattern.finditer(text):
            masked = self._replace(match)
            # One candidate may hold several values (two phone numbers in one run of digits).
            hits += [(category, match.group()) for category in _PSEUDONYM.findall(masked)]
        self.counts = counts  # finding is not masking
        return hits

    def mapping(self) -> dict[str, list[str]]:
        return dict(self._originals)

    def write_mapping(self, path: str | Path) -> Path:
        """The pseudonym -> original values table, readable by the owner only (mode 0600)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.mapping(), fh, ensure_ascii=False, indent=1)
        os.chmod(path, 0o600)
        return path

    def _number_category(self, value: str, before: str = "") -> str | None:
        digits = _NON_DIGITS.sub("", value)
        if 13 <= len(digits) <= 19 and not value.startswith("+") and luhn.is_valid(digits):
            return "CARD"
        return "PHONE" if self.phones.is_phone(value, before) else None

    def _phones_inside(self, value: str) -> str:
        """A number candidate that is not one number: the phone numbers libphonenumber finds inside it."""
        if len(_NON_DIGITS.sub("", value)) < 8 or not any(ch in value for ch in " -./()\u00a0"):
            return value
        spans = self.phones.spans(value)
        names = [self.pseudonym("PHONE", value[start:end]) for start, end in spans]  # numbered in order
        self.counts["PHONE"] += len(spans)
        for (start, end), name in zip(reversed(spans), reversed(names), strict=True):
            value = value[:start] + name + value[end:]
        return value

    def _mask_entities(self, text: str, entities: Iterable[dict[str, str]]) -> str:
        categories = ENTITY_CATEGORIES
        found = {(e["text"], categories[e["type"]]) for e in entities if e.get("type") in categories}
        for value, category in sorted(found, key=lambda vc: len(vc[0]), reverse=True):
            if not value.strip() or value not in text:
                continue
            # a mention_name gets the pseudonym of the person's first name
            pseudonym = self.person(value) if category == "PERSON" else self.pseudonym(category, value)
            # whole words only: a mention_name "Al" must not eat the "Al" of "Also"
            text, n = re.subn(rf"(?<!\w){re.escape(value)}(?!\w)", lambda _, p=pseudonym: p, text)
            self.counts[category] += n
        return text

    def _replace(self, match: re.Match[str]) -> str:
        category = match.lastgroup
        value = match.group()
        if category == "url":
            if not url_has_secret(value):
                return value
            category = "URL"
        elif category == "number":
            category = self._number_category(value, match.string[max(0, match.start() - 24) : match.start()])
            if category is None:
                return self._phones_inside(value)
        elif category == "iban":
            if not iban_valid(value):
                return value
        elif category in ("name", "cname"):
            # Case-insensitive match: the pseudonym belongs to the name's canonical spelling.
            category, value = "PERSON", value[:1].upper() + value[1:].lower()
        category = category.upper()
        self.counts[category] += 1
        return self.pseudonym(category, value)


_PSEUDONYM = re.compile(r"<([A-Z]+)_\d+>")


def _normalize(category: str, value: str) -> str:
    if category in ("PHONE", "CARD", "IBAN"):
        return re.sub(r"[^0-9A-Za-z]", "", value).upper()
    return value.casefold()


def _flags(texts: pa.Array, pattern: str) -> np.ndarray:
    """Which strings contain `pattern` (RE2, case-insensitive), as a numpy bool array."""
    hits = pc.match_substring_regex(texts, pattern, ignore_case=True)
    return pc.fill_null(hits, False).to_numpy(zero_copy_only=False)
