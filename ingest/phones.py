"""Phone numbers in chat text, with Google's libphonenumber (`phonenumbers`), and the regions to read them in.

International numbers (`+39 333 1234567`, `0039 ...`) are recognised anywhere. National forms (`333 1234567`,
`0151 23456789`, an 8-digit `91234567`) only mean something in a region: they are checked against the
regions in use (`IngestConfig.pii_regions`, or `guess_regions` from the export). A candidate is a phone
number when libphonenumber finds it valid in one of them, or merely possible when it is written the way
phone numbers are (`(555) 123-4567`, `07700 900123`).

False-positive guards come first: dates (12/03/2021, 2021-03-12, 20211231), year ranges (2015/2016),
amounts with thousands separators (1.500.000), exposure times and fractions (1/3200), decimals (3.14159),
national numbers right after a word that says what they are ("ordine 4829173645", "codice", "ID");
times (12:30) never form a candidate.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

# Used when the export says nothing about where its people live, and always added to the guessed ones.
DEFAULT_REGIONS = ("US", "GB", "DE", "FR", "IT", "ES")
MAX_PHONE_REGIONS = 5

# A run of 7+ digits with the separators phone numbers are written with (space, -, ., /, parentheses);
# never glued to a word nor to the digits of a decimal/time/date part (12:30, 3.5), "tel:333..." is fine.
CANDIDATE = r"(?<![\w+])(?<!\d[/.,:-])\+?\(?\d(?:[ \-./()\u00a0]{0,2}\d){6,30}\)?(?![\w/]|[.,:]\d)"

_DATE = re.compile(
    r"\d{1,2}([./-])\d{1,2}\1\d{2,4}|\d{4}([./-])\d{1,2}\2\d{1,2}|(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
)
_YEAR_RANGE = re.compile(r"(?:1[89]|20)\d\d(?: ?[/\-]? ?(?:1[89]|20)\d\d)+|(?:1[89]|20)\d\d ?[/\-] ?\d\d")
_AMOUNT = re.compile(r"[1-9]\d{0,2}(?:([.'])\d{3})(?:\1\d{3})*")
_FRACTION = re.compile(r"1/\d+")
_DECIMAL = re.compile(r"[1-9]\d?\.\d+")
_PHONE_LAYOUT = re.compile(r"\+|\(\d{2,5}\)|0\d{1,5}[ \-/]\d")  # "+..", "(555) ..", "07700 900123"
_NON_DIGITS = re.compile(r"\D")
# Words right before a number that say what it is when it is not a phone number ("ordine 4829173645").
_NOT_PHONE_CONTEXT = re.compile(
    r"(?<!\w)(?:ordine|order|codice|code|tracking|spedizione|fattura|invoice|ticket|pratica|protocollo|"
    r"matricola|p\.? ?iva|partita iva|isbn|serial|seriale|otp|pin|id|#)\W{0,4}$",
    re.IGNORECASE,
)
_GROUP = re.compile(r"\+?\(?\d+\)?")


def not_a_phone(raw: str) -> bool:
    """Dates, year ranges, amounts, fractions: digit runs that libphonenumber could take for a number."""
    return any(p.fullmatch(raw) for p in (_DATE, _YEAR_RANGE, _AMOUNT, _FRACTION, _DECIMAL))


class PhoneFinder:
    """Decides which number candidates are phone numbers, in the given regions (ISO 3166 codes)."""

    def __init__(self, regions: Iterable[str]) -> None:
        self.regions = list(dict.fromkeys(r.upper() for r in regions))
        # Regions whose national numbers are dialled with a trunk "0" (DE 0151..., GB 07700...): there a
        # number written without it is not a national number ("20123456" is no German phone number).
        self._trunk_zero = {r for r in self.regions if _national_prefix(r) == "0"}
        self._cache: dict[tuple[str, bool, bool], bool] = {}  # chats repeat their numbers

    def is_phone(self, raw: str, before: str = "") -> bool:
        """Whether the candidate `raw` is a phone number; `before`: the text just before it ("ordine n°")."""
        raw = raw.strip("() ") if raw.count("(") != raw.count(")") else raw
        if not_a_phone(raw):
            return False
        digits = _NON_DIGITS.sub("", raw)
        if not 7 <= len(digits) <= 15:
            return False
        international = raw.startswith("+") or digits.startswith("00")
        if not international and before and _NOT_PHONE_CONTEXT.search(before):
            return False
        key = (digits, international, bool(_PHONE_LAYOUT.match(raw)))
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 100_000:
                self._cache.clear()
            found = self._cache[key] = self._check(*key)
        return found

    def _check(self, digits: str, international: bool, layout: bool) -> bool:
        if international:
            number = _parse("+" + digits.removeprefix("00"), None)
            return number is not None and phonenumbers.is_possible_number(number)
        for region in self.regions:
            if region in self._trunk_zero and not digits.startswith("0"):
                continue
            # is_valid_number_for_region: is_valid_number would look the region up again (25 regions share +1)
            number = _national(digits, region)
            if number is not None and phonenumbers.is_valid_number_for_region(number, region):
                return True
            if layout:  # "possible" depends on how parse strips a national prefix: ask parse itself
                number = _parse(digits, region)
                if number is not None and phonenumbers.is_possible_number(number):
                    return True
        return False

    def spans(self, raw: str) -> list[tuple[int, int]]:
        """Phone numbers inside a candidate that is not one as a whole (two numbers, a number and a count):
        from each group of digits, the longest run of groups that is a phone number."""
        groups = [m.span() for m in _GROUP.finditer(raw)]
        found: list[tuple[int, int]] = []
        i = 0
        while i < len(groups):
            for j in range(len(groups) - 1, i - 1, -1):
                if (i, j) != (0, len(groups) - 1) and self.is_phone(raw[groups[i][0] : groups[j][1]]):
                    found.append((groups[i][0], groups[j][1]))
                    i = j
                    break
            i += 1
        return found


def _national_prefix(region: str) -> str | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return metadata.national_prefix if metadata else None


def _national(digits: str, region: str) -> phonenumbers.PhoneNumber | None:
    """`digits` read as a national number of `region`, for `is_valid_number_for_region`: built directly where
    the region's national prefix is none or a plain "0" (parse normalises the text character by character,
    in Python: most of the masking time on number-heavy text); through parse elsewhere, and for numbers that
    may start with the country code written without "+". Checked against parse on 51,000 random numbers of
    18 regions: the same validity every time."""
    simple = _SIMPLE_NATIONAL.get(region)
    if simple is None:
        simple = _SIMPLE_NATIONAL[region] = _simple_national(region)
    if not simple or digits.startswith(str(simple)):
        return _parse(digits, region)
    national = digits[1:] if digits.startswith("0") and _national_prefix(region) == "0" else digits
    if not national or len(national) > 17:
        return None
    number = phonenumbers.PhoneNumber(country_code=simple, national_number=int(national))
    zeros = len(national) - len(national.lstrip("0"))
    if zeros and len(national) > 1:
        number.italian_leading_zero = True
        if zeros > 1:
            number.number_of_leading_zeros = zeros
    return number


_SIMPLE_NATIONAL: dict[str, int] = {}  # region -> its country code, 0 where parse is needed


def _simple_national(region: str) -> int:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.national_prefix_transform_rule:
        return 0
    plain = metadata.national_prefix_for_parsing is None and metadata.national_prefix is None
    trunk_zero = metadata.national_prefix == "0" and metadata.national_prefix_for_parsing == "0"
    return metadata.country_code if plain or trunk_zero else 0


def _parse(raw: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None


def region_of(phone_number: str) -> str | None:
    """The region of an international number ("+45 20 12 34 56" -> "DK"); None when it cannot tell."""
    digits = _NON_DIGITS.sub("", phone_number)
    number = _parse("+" + digits.removeprefix("00"), None) if digits else None
    if number is None:
        return None
    region = phonenumbers.region_code_for_number(number)
    return region if region and region != "ZZ" else None


# --- guessing the regions of an export ----------------------------------------------------------------

# Distinctive everyday words per language, and the regions whose national number formats go with it.
_LANGUAGES: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "it": (
        ("IT",),
        frozenset(
            [
                "che",
                "non",
                "sono",
                "perché",
                "anche",
                "ciao",
                "però",
                "cosa",
                "hai",
                "ho",
                "sei",
                "della",
                "molto",
            ]
        ),
    ),
    "es": (
        ("ES", "MX", "AR"),
        frozenset(["que", "pero", "qué", "hola", "muy", "también", "tengo", "porque", "está", "estoy"]),
    ),
    "pt": (
        ("PT", "BR"),
        frozenset(["não", "você", "obrigado", "muito", "também", "tenho", "isso", "então", "está"]),
    ),
    "fr": (
        ("FR", "BE", "CH"),
        frozenset(["je", "pas", "avec", "les", "mais", "oui", "vous", "c'est", "très", "merci"]),
    ),
    "de": (
        ("DE", "AT", "CH"),
        frozenset(["ich", "nicht", "und", "das", "ist", "auch", "wir", "mit", "aber", "danke"]),
    ),
    "en": (("GB", "US"), frozenset(["the", "and", "you", "what", "with", "but", "have", "this", "thanks"])),
    "nl": (("NL", "BE"), frozenset(["het", "niet", "een", "ik", "maar", "dank", "wat", "ook", "zijn"])),
    "da": (("DK",), frozenset(["jeg", "ikke", "hvad", "også", "tak", "hvordan", "hvorfor"])),
    "no": (("NO",), frozenset(["jeg", "ikke", "hva", "også", "takk", "hvordan", "hvorfor"])),
    "sv": (("SE",), frozenset(["jag", "inte", "vad", "också", "tack", "hur", "varför"])),
    "pl": (("PL",), frozenset(["nie", "jest", "się", "że", "jak", "ale", "dzięki", "czy"])),
}
_WORD_LANGUAGES: dict[str, tuple[str, ...]] = {}
for _language, (_, _words) in _LANGUAGES.items():
    for _word in _words:
        _WORD_LANGUAGES[_word] = (*_WORD_LANGUAGES.get(_word, ()), _language)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_UKRAINIAN = re.compile(r"[іїєґ]", re.IGNORECASE)


def chat_languages(texts: Iterable[str | None], min_hits: int = 5) -> list[str]:
    """The languages a sample of one chat's texts is written in (cheap: distinctive everyday words)."""
    hits: Counter[str] = Counter()
    for text in texts:
        if not text:
            continue
        if _CYRILLIC.search(text):
            hits["uk" if _UKRAINIAN.search(text) else "ru"] += 1
        for word in _WORD.findall(text.casefold()):
            hits.update(_WORD_LANGUAGES.get(word, ()))
    if not hits:
        return []
    top = hits.most_common(1)[0][1]
    return [lang for lang, n in hits.most_common() if n >= min_hits and n * 3 >= top]


_SCRIPT_REGIONS = {"ru": ("RU",), "uk": ("UA",)}


def guess_regions(phone_numbers: Iterable[str], languages: Iterable[str]) -> list[str]:
    """The regions to read national numbers in: those of the owner's and contacts' phone numbers (the
    `MAX_PHONE_REGIONS` most frequent), those of the chats' languages, then `DEFAULT_REGIONS`."""
    counted = Counter(r for p in phone_numbers if (r := region_of(p)))
    regions = [r for r, _ in counted.most_common(MAX_PHONE_REGIONS)]  # a few: each one adds false positives
    for language in languages:
        regions += _SCRIPT_REGIONS.get(language) or _LANGUAGES.get(language, ((), frozenset()))[0]
    regions += DEFAULT_REGIONS
    return list(dict.fromkeys(regions))


def check_regions(regions: Iterable[str]) -> list[str]:
    """Upper-cased region codes; ValueError naming the unknown ones."""
    upper = [r.upper() for r in regions]
    unknown = [r for r in upper if r not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise ValueError(f"unknown phone region(s) {', '.join(unknown)} (use ISO 3166 codes like IT, DE, DK)")
    return upper


def export_regions(exports: Iterable[Any], messages: pa.Table, per_chat: int = 200) -> list[str]:
    """`guess_regions` for an ingest: the phone numbers of the exports (`Export.phone_numbers`) and the
    languages of the first `per_chat` texts of every personal or group chat."""
    phone_numbers = [p for export in exports for p in export.phone_numbers]
    languages: Counter[str] = Counter()
    people = pc.is_in(messages["chat_type"], pa.array(["personal_chat", *GROUP_CHAT_TYPES]))
    rows = np.flatnonzero(pc.fill_null(people, False).to_numpy(zero_copy_only=False))
    if len(rows):
        encoded = pc.dictionary_encode(messages["chat_id"].take(pa.array(rows)).combine_chunks())
        chats = encoded.indices.to_numpy(zero_copy_only=False)
        order = np.argsort(chats, kind="stable")
        starts = np.flatnonzero(np.r_[True, chats[order][1:] != chats[order][:-1]])
        ends = np.r_[starts[1:], len(order)]
        picked = [order[a : min(b, a + per_chat)] for a, b in zip(starts, ends, strict=True)]
        texts = messages["text"].take(pa.array(rows[np.concatenate(picked)])).to_pylist()
        at = 0
        for chat_rows in picked:
            languages.update(chat_languages(texts[at : at + len(chat_rows)]))
            at += len(chat_rows)
    return guess_regions(phone_numbers, [lang for lang, _ in languages.most_common()])


GROUP_CHAT_TYPES = ("private_group", "private_supergroup", "public_supergroup")
