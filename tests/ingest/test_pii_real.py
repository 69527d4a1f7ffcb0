"""PII masking on real-looking chat lines (issue 14): Telegram's own entities, phone numbers in national
formats through libphonenumber with false-positive guards, cards/IBANs through python-stdnum, names of
other people of the export. Every number and name here is fictitious."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.io import read_jsonl
from core.schema import MESSAGES_SCHEMA, SftSample, with_optional_columns
from ingest.config import IngestConfig
from ingest.ingest import ingest, merge_exports
from ingest.phones import DEFAULT_REGIONS, PhoneFinder, chat_languages, guess_regions, region_of
from ingest.pii import PiiMasker, common_words, mentioned_names
from ingest.telegram.desktop import READ_SCHEMA, TABLE_SCHEMA, read_export
from tests.conftest import run_cli
from tests.ingest.telegram_builders import ME, chat, dialogue, full_export, msg

# --- phone numbers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "line", "number"),
    [
        ("IT", "ok allora chiamami al 333 1234567 quando arrivi", "333 1234567"),
        ("IT", "il fisso dei miei è 06 1234 5678, chiedi di Franco", "06 1234 5678"),
        ("DE", "Meine neue Nummer: 0151 23456789 (ab Montag)", "0151 23456789"),
        ("DE", "ruf mich an 0151/2345678, bin im Büro", "0151/2345678"),
        ("GB", "text me on 07700 900123 when you land x", "07700 900123"),
        ("US", "call the front desk at (555) 123-4567 and ask for room 12", "(555) 123-4567"),
        ("US", "my cell is 201-555-0123 btw", "201-555-0123"),
        ("DK", "ring til mig på 20123456 i morgen", "20123456"),
        ("DK", "mit nye nummer er 20 12 34 56", "20 12 34 56"),
        ("SG", "can reach me at 9123 4567 after 6", "9123 4567"),
        ("NO", "nummeret mitt er 41234567", "41234567"),
        ("HK", "51234567", "51234567"),
        ("IT", "tel:3331234567", "3331234567"),
        ("DE", "Tel.0151 23456789, Fax -", "0151 23456789"),
    ],
)
def test_national_numbers_of_the_regions_in_use_are_masked(region, line, number):
    masker = PiiMasker(regions=[region])
    masked = masker.mask(line)
    assert number not in masked and "<PHONE_1>" in masked
    assert masker.mapping()["<PHONE_1>"] == [number]


def test_local_eight_digit_numbers_need_their_region():
    line = "ring til mig på 20123456 i morgen"
    assert PiiMasker(regions=["IT", "DE"]).mask(line) == line  # not a number in those regions
    assert "<PHONE_1>" in PiiMasker(regions=["IT", "DK"]).mask(line)


@pytest.mark.parametrize(
    "line",
    [
        "+45 20 12 34 56",
        "scrivimi su whatsapp +44 7700 900123",
        "Nummer in Italien: 0039 333 1234567",
        "his number is +1 (201) 555-0123",
        "mi numero es +34 612 34 56 78.",
    ],
)
def test_international_numbers_are_masked_in_any_region(line):
    masked = PiiMasker(regions=["IT"]).mask(line)
    assert "<PHONE_1>" in masked and not any(ch.isdigit() for ch in masked.replace("<PHONE_1>", ""))


@pytest.mark.parametrize(
    "line",
    [
        "abbiamo vissuto lì nel 2015/2016 poi basta",
        "la stagione 2023-2024 è stata assurda",
        "anno 2024 2025 ancora niente",
        "la casa costa 1.500.000 euro, follia",
        "guadagna 12.500.000 all'anno",
        "ci vediamo alle 12:30 davanti al bar",
        "treno alle 18:45, arrivo 21:10",
        "scatto a 1/3200 f/2.8 ISO 100",
        "esposizione 1/32000 col flash",
        "nata il 12/03/2021 alle 04:15",
        "dal 2021-03-12 al 2021-04-02",
        "Termin am 12.03.2021 um 14:00",
        "file IMG_20211231_120000.jpg",
        "il codice è 20211231",
        "pi greco 3.14159265",
        "il punteggio è finito 2-1, 3-0, 0-0",
        "ordine n. 123 spedito",
        "1920x1080 a 60 fps",
        "codice ordine 4829173645, arriva lunedì",
        "tracking: 3331234567",
        "il mio ID 0612345678 per il portale",
    ],
)
def test_dates_years_amounts_times_and_exposures_are_not_phones(line):
    regions = ["IT", "DE", "GB", "US", "DK", "NO", "SG", "HK", "FR", "ES"]
    assert PiiMasker(regions=regions).mask(line) == line


def test_two_numbers_in_one_run_are_both_masked():
    masker = PiiMasker(regions=["IT", "DE"])
    masked = masker.mask("numeri: 333 1234567 0151 23456789 grazie")
    assert masked == "numeri: <PHONE_1> <PHONE_2> grazie"


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("chiama 0612345678 02 volte", "chiama <PHONE_1> 02 volte"),
        ("il 12/03/2021 3331234567 mi ha chiamato", "il 12/03/2021 <PHONE_1> mi ha chiamato"),
        ("stagione 2015/2016 ok", "stagione 2015/2016 ok"),
    ],
)
def test_a_number_next_to_other_digits_is_still_found(line, masked):
    assert PiiMasker(regions=["IT"]).mask(line) == masked
    # "333 1234567 2" is itself a valid Italian number: masked whole, the number does not leak either way
    assert "1234567" not in PiiMasker(regions=["IT"]).mask("chiama 333 1234567 2 volte")


def test_phone_finder_regions_are_normalised():
    assert PhoneFinder(["it", "DE", "it"]).regions == ["IT", "DE"]


# --- cards and IBANs (python-stdnum) ----------------------------------------------------------------------


def test_cards_and_ibans_are_checked_with_stdnum():
    masker = PiiMasker(regions=["IT"])
    assert masker.mask("carta 4111 1111 1111 1111 scad 12/27") == "carta <CARD_1> scad 12/27"
    assert masker.mask("carta 4111 1111 1111 1112") == "carta 4111 1111 1111 1112"  # Luhn fails
    assert masker.mask("IBAN: IT60 X054 2811 1010 0000 0123 456") == "IBAN: <IBAN_1>"
    assert masker.mask("IBAN: IT61 X054 2811 1010 0000 0123 456") == "IBAN: IT61 X054 2811 1010 0000 0123 456"
    assert masker.mask("DE89 3704 0044 0532 0130 00 per l'affitto") == "<IBAN_2> per l'affitto"


# --- Telegram's own entities ------------------------------------------------------------------------------


def test_entities_are_masked_whatever_the_rules_think():
    masker = PiiMasker(regions=["IT"])
    entities = [
        {"type": "phone", "text": "12345678"},  # not a valid number anywhere we look
        {"type": "mention", "text": "@gi"},  # too short for the @username rule
        {"type": "mention_name", "text": "Anna Verdi"},
        {"type": "email", "text": "anna@verdi"},  # no top-level domain
        {"type": "bank_card", "text": "1234 5678 9012 3456"},  # fails Luhn
        {"type": "text_link", "text": "entra qui"},
    ]
    text = (
        "chiama 12345678 o chiedi a @gi o Anna Verdi, mail anna@verdi, carta 1234 5678 9012 3456, entra qui"
    )
    masked = masker.mask(text, entities)
    for entity in entities:
        assert entity["text"] not in masked
    assert "<PHONE_1>" in masked and "<USERNAME_1>" in masked and "<PERSON_1>" in masked
    assert "<EMAIL_1>" in masked and "<CARD_1>" in masked and "<URL_1>" in masked
    assert masker.mapping()["<PERSON_1>"] == ["Anna"]  # a mention_name takes the person's pseudonym


def test_entities_replace_whole_words_only():
    masker = PiiMasker(regions=["IT"])
    masked = masker.mask("Al dice: Also ok", [{"type": "mention_name", "text": "Al"}])
    assert masked == "<PERSON_1> dice: Also ok"


def test_pii_regions_config_key():
    assert IngestConfig.from_dict({"pii_regions": ["dk", "Sg"]}).pii_regions == ["DK", "SG"]
    assert IngestConfig().pii_regions == []


def test_mask_array_uses_the_entities_of_each_row():
    texts = pa.array(["ciao", "chiama 12345678", "12345678 no"])
    entities = pa.array(
        [None, [{"type": "phone", "text": "12345678"}], None],
        pa.list_(MESSAGES_SCHEMA.field("entities").type.value_type),
    )
    masked = PiiMasker(regions=["IT"]).mask_array(texts, entities).to_pylist()
    assert masked == ["ciao", "chiama <PHONE_1>", "12345678 no"]


def test_reader_keeps_the_pii_entities(write_export):
    parts = [
        "chiama ",
        {"type": "phone", "text": "20123456"},
        " o scrivi a ",
        {"type": "mention", "text": "@annav"},
        " ",
        {"type": "bold", "text": "subito"},
        " ",
        {"type": "text_link", "text": "il gruppo", "href": "https://t.me/+AbCdEf123"},
        " ",
        {"type": "text_link", "text": "il sito", "href": "https://example.com/menu"},
    ]
    export = write_export(full_export([chat(2002, [msg(1, 0, 2002, parts), msg(2, 1, ME, "ok")])]))
    table = read_export(export).messages
    assert table["entities"].to_pylist() == [
        [
            {"type": "phone", "text": "20123456"},
            {"type": "mention", "text": "@annav"},
            {"type": "text_link", "text": "il gruppo"},
        ],
        None,
    ]


def test_ingest_masks_tagged_local_numbers_end_to_end(tmp_path, write_export):
    """The issue: 8-digit local numbers tagged `phone` by Telegram Desktop reached sft/train.jsonl."""
    messages = dialogue(15)
    tagged = [
        msg(100, 40, 2002, ["il mio nuovo numero è ", {"type": "phone", "text": "20123456"}]),
        msg(101, 41, ME, [{"type": "phone", "text": "31234567"}, " segnatelo, è quello di Lars"]),
        msg(102, 42, 2002, ["chiedi a ", {"type": "mention_name", "text": "Sigrid Hansen", "user_id": 77}]),
        msg(103, 43, ME, ["ok scrivo anche a ", {"type": "email", "text": "sigrid@example.dk"}]),
    ]
    export = write_export(full_export([chat(2002, messages + tagged)]))
    out = ingest(
        [export], tmp_path / "out", IngestConfig(eval_fraction=0, test_fraction=0, pii_regions=["IT"])
    )
    text = (out / "sft" / "train.jsonl").read_text()
    for value in ("20123456", "31234567", "Sigrid", "sigrid@example.dk"):
        assert value not in text
    assert "<PHONE_1>" in text and "<PHONE_2>" in text
    stored = pq.read_table(out / "messages.parquet")
    assert stored.schema.equals(MESSAGES_SCHEMA)
    report = json.loads((out / "report.json").read_text())
    assert report["pii_masked"]["PHONE"] == 2 and report["pii_regions"] == ["IT"]
    assert all(isinstance(s, SftSample) for s in read_jsonl(out / "sft" / "train.jsonl", SftSample))


# --- tables without the entities column -------------------------------------------------------------------


def test_tables_without_the_optional_column_still_read(write_export):
    table = read_export(write_export(full_export([chat(2002, dialogue(3))]))).messages
    old = table.drop_columns(["entities"])
    again = with_optional_columns(old, READ_SCHEMA)
    assert again.schema.equals(READ_SCHEMA) and again["entities"].null_count == again.num_rows
    with pytest.raises(KeyError, match="text"):
        with_optional_columns(old.drop_columns(["text"]), READ_SCHEMA)


def test_an_export_without_entities_merges_with_one_that_has_them(write_export):
    first = read_export(write_export(full_export([chat(2002, dialogue(3))])))
    second = read_export(write_export(full_export([chat(2003, dialogue(3, contact=2003))])))
    second.messages = second.messages.drop_columns(["entities"])  # e.g. another reader, an older file
    assert second.messages.schema.equals(TABLE_SCHEMA)  # what every reader must give
    merged, _ = merge_exports([first, second])
    assert merged.num_rows == 12 and "entities" in merged.column_names


# --- regions ----------------------------------------------------------------------------------------------


def test_region_of_international_numbers():
    assert region_of("+45 20 12 34 56") == "DK"
    assert region_of("+39 333 123 4567") == "IT"
    assert region_of("0049 151 23456789") == "DE"
    assert region_of("not a number") is None


def test_regions_guessed_from_phones_languages_and_defaults():
    regions = guess_regions(["+4520123456", "+4531234567", "+4741234567"], ["da", "it"])
    assert regions[:3] == ["DK", "NO", "IT"]
    assert regions[3:] == [r for r in DEFAULT_REGIONS if r != "IT"]
    assert guess_regions([], []) == list(DEFAULT_REGIONS)


@pytest.mark.parametrize(
    ("texts", "language"),
    [
        (["hej, hvad laver du?", "jeg ved ikke", "tak for i går", "hvorfor ikke", "også mig"] * 2, "da"),
        (["ciao che fai?", "non so", "anche io", "perché no", "cosa mangi"] * 2, "it"),
        (["ich weiß nicht", "das ist gut", "danke dir", "wir auch", "aber gern"] * 2, "de"),
        (["привет как дела", "что делаешь", "хорошо", "пока", "да"], "ru"),
    ],
)
def test_chat_languages(texts, language):
    assert chat_languages(texts)[0] == language


def test_owner_phone_of_a_full_export_sets_the_regions(tmp_path, write_export):
    data = full_export(
        [chat(2002, [*dialogue(12), msg(90, 30, 2002, "ring 20123456"), msg(91, 31, ME, "ok")])]
    )
    data["personal_information"]["phone_number"] = "+45 20 00 00 00"
    data["contacts"] = {"list": [{"first_name": "Lars", "phone_number": "+4531000000"}]}
    out = ingest([write_export(data)], tmp_path / "out", IngestConfig(eval_fraction=0, test_fraction=0))
    report = json.loads((out / "report.json").read_text())
    assert report["pii_regions"][0] == "DK"
    assert "20123456" not in (out / "sft" / "train.jsonl").read_text()
    assert "DK" in (out / "report.md").read_text()


def test_language_of_a_single_chat_export_sets_the_regions(tmp_path, write_export):
    """No owner, no contacts: the chat's language (Danish) brings DK, and its 8-digit numbers are masked."""
    danish = ["hej, hvad laver du?", "jeg ved ikke", "tak for i går", "hvorfor ikke", "også mig"]
    messages = []
    for i in range(15):
        messages.append(msg(2 * i + 1, 2 * i, 2002, danish[i % 5]))
        messages.append(msg(2 * i + 2, 2 * i + 1, ME, f"{danish[(i + 1) % 5]} ahah"))
    messages += [msg(40, 40, 2002, "ring til mig på 20123456"), msg(41, 41, ME, "31234567 er mit nye nummer")]
    export = write_export(chat(2002, messages, name="Lars Nielsen"), name="chat.json")
    config = IngestConfig(persona=f"user{ME}", eval_fraction=0, test_fraction=0)
    out = ingest([export], tmp_path / "out", config)
    report = json.loads((out / "report.json").read_text())
    assert report["pii_regions"][0] == "DK"
    text = (out / "sft" / "train.jsonl").read_text()
    assert "20123456" not in text and "31234567" not in text and "<PHONE_2>" in text


def test_pii_region_flag_and_bad_regions(tmp_path, write_export):
    export = write_export(full_export([chat(2002, dialogue(15))]), name="result.json")
    out = tmp_path / "out"
    result = run_cli("ingest", export, "--out", out, "--pii-region", "dk", "--pii-region", "NO")
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "report.json").read_text())["pii_regions"] == ["DK", "NO"]
    bad = run_cli("ingest", export, "--out", tmp_path / "bad", "--pii-region", "XX")
    assert bad.returncode == 2 and "unknown phone region(s) XX" in bad.stderr


# --- names ------------------------------------------------------------------------------------------------


def test_capitalised_names_are_masked_only_when_capitalised():
    masker = PiiMasker(["Giulia"], capitalised_names=["Sigrid", "Rosa"], keep=["Rosa"])
    assert masker.mask("Sigrid dice che giulia e Giulia") == "<PERSON_1> dice che <PERSON_2> e <PERSON_2>"
    assert masker.mask("sigrid in minuscolo resta") == "sigrid in minuscolo resta"
    assert masker.mask("Rosa è il colore") == "Rosa è il colore"  # pii_keep_words


def test_common_words_guard_and_mentioned_names():
    texts = pa.array(["will you come?", "I will", "Will said so", "Sigrid is here", None])
    assert common_words(texts, ["Will", "Sigrid"]) == {"Will"}
    entities = pa.array(
        [[{"type": "mention_name", "text": "Sigrid Hansen"}, {"type": "phone", "text": "1"}], None],
        MESSAGES_SCHEMA.field("entities").type,
    )
    assert mentioned_names(entities) == {"Sigrid Hansen"}


def test_names_from_other_chats_are_masked_when_capitalised(tmp_path, write_export):
    contact = dialogue(12)
    contact += [
        msg(90, 30, 2002, "hai visto cosa ha scritto Ingrid nel gruppo?"),
        msg(91, 31, ME, "si, e Bjorn pure"),
    ]
    channel_group = chat(
        5005,
        [msg(1, 0, 3003, "hej alle", name="Ingrid Olsen"), msg(2, 1, 3004, "hej", name="Bjorn Berg")],
        name="Naboer",
        type="private_channel",  # not a chat the persona talks in: its people are known, not contacts
    )
    export = write_export(full_export([chat(2002, contact), channel_group]))
    out = ingest([export], tmp_path / "out", IngestConfig(eval_fraction=0, test_fraction=0))
    text = (out / "sft" / "train.jsonl").read_text()
    assert "Ingrid" not in text and "Bjorn" not in text


def test_find_reports_each_phone_number_of_one_run_of_digits() -> None:
    """Two numbers written one after the other form one candidate; `find` (what pii-check reads) must count
    both as phones, not misread the category of a text holding two pseudonyms."""
    masker = PiiMasker(regions=["IT"])
    assert [category for category, _ in masker.find("333 1234567 333 7654321")] == ["PHONE", "PHONE"]
