"""PII masking: each kind of personal data, stable pseudonyms, the vectorized path, the private mapping."""

from __future__ import annotations

import json
import stat

import pyarrow as pa
import pytest

from ingest.pii import PiiMasker, first_name, iban_valid, luhn_valid, name_tokens


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("chiamami al 333 123 4567", "chiamami al <PHONE_1>"),
        ("il fisso è 06 1234 5678.", "il fisso è <PHONE_1>."),
        ("call +44 20 7946 0958 now", "call <PHONE_1> now"),
        ("scrivi a giulia.conti@gmail.com!", "scrivi a <EMAIL_1>!"),
        ("carta 4111 1111 1111 1111 ok", "carta <CARD_1> ok"),
        ("IBAN IT60 X054 2811 1010 0000 0123 456 grazie", "IBAN <IBAN_1> grazie"),
        ("reset: https://example.com/reset?token=abc123", "reset: <URL_1>"),
        ("entra https://t.me/+AbCdEfGh12", "entra <URL_1>"),
        ("doc https://docs.google.com/d/1AbCdEfGh123456789xyz/edit", "doc <URL_1>"),
        ("scrivi a @tommi_greco", "scrivi a <USERNAME_1>"),
        ("ho visto Luca e luca", "ho visto <PERSON_1> e <PERSON_1>"),
    ],
)
def test_each_kind_is_masked(text, masked):
    assert PiiMasker(["Luca"]).mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "alle 21.30 del 12/03/2024 finisce 2-1",
        "costa 1.250 euro, anno 2024 2025",
        "carta 4111 1111 1111 1112",  # fails Luhn
        "IBAN IT61 X054 2811 1010 0000 0123 456",  # fails mod 97
        "leggi https://www.repubblica.it/sport/calcio",
        "usa @gif per le gif",
        "lucano, lucas e Lucaa",  # names match whole words only
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert PiiMasker(["Luca"]).mask(text) == text


def test_pseudonyms_are_stable_and_per_value():
    masker = PiiMasker(["Giulia", "Luca"])
    first = masker.mask("Giulia: +39 333 123 4567, Luca: 340 555 1234")
    second = masker.mask("di nuovo giulia, +393331234567")  # same number written differently
    assert first == "<PERSON_1>: <PHONE_1>, <PERSON_2>: <PHONE_2>"
    assert second == "di nuovo <PERSON_1>, <PHONE_1>"
    assert masker.counts == {"PERSON": 3, "PHONE": 3}
    assert masker.mapping()["<PHONE_1>"] == ["+39 333 123 4567", "+393331234567"]


def test_vectorized_masking_equals_the_scalar_rule():
    texts = ["ciao", "chiama Luca al 333 123 4567", None, "", "mail x@y.it", "nulla 123", "ok @marco_r"]
    masker, reference = PiiMasker(["Luca"]), PiiMasker(["Luca"])
    got = masker.mask_array(pa.array(texts)).to_pylist()
    assert got == [reference.mask(t) if t else t for t in texts]


def test_mapping_is_private(tmp_path):
    masker = PiiMasker()
    masker.mask("333 123 4567")
    path = masker.write_mapping(tmp_path / "private" / "pii.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"<PHONE_1>": ["333 123 4567"]}


def test_name_helpers():
    assert name_tokens("Avv. Paola Ferri") == ["Paola", "Ferri"]
    assert name_tokens("Mamma ❤️") == []
    assert name_tokens("Yasmin ياسمين") == ["Yasmin", "ياسمين"]
    assert first_name("Davide 👨‍💻 Russo") == "Davide"
    assert first_name("Mamma ❤️") == "Mamma"
    assert first_name(None) is None
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("IT60 X054 2811 1010 0000 0123 456")


def test_keep_words_are_never_masked():
    assert (
        PiiMasker(["Rosa", "Luca"], keep=["rosa"]).mask("maglia rosa per Luca")
        == "maglia rosa per <PERSON_1>"
    )
