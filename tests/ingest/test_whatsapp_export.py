"""WhatsApp chat exports: every line shape of iOS and Android, zips, bad input, and `chatlikeme ingest`."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime, timedelta

import pyarrow.parquet as pq
import pytest

from core.errors import ChatLikeMeError
from core.schema import MESSAGES_SCHEMA
from ingest.config import IngestConfig
from ingest.ingest import ingest, read_messages
from ingest.persona import resolve_persona
from ingest.whatsapp_export import is_whatsapp_export, read_whatsapp_export, sender_id_for
from tests.conftest import run_cli
from tests.ingest.telegram_builders import ME as TG_ME
from tests.ingest.telegram_builders import chat, dialogue, full_export
from tests.ingest.whatsapp_builders import (
    ANDROID,
    ANDROID_US,
    BASE,
    CONTACT,
    IOS,
    IOS_US,
    LRM,
    ME,
    NNBSP,
    STYLES,
    Line,
    Style,
    render,
    sessions,
    utc,
    write_chat,
)


def rows(path, timezone="UTC"):
    return read_whatsapp_export(path, timezone).messages.to_pylist()


def at(minutes: float) -> datetime:
    return BASE + timedelta(minutes=minutes)


@pytest.mark.parametrize("style", STYLES, ids=lambda s: s.name)
def test_every_date_and_clock_format(tmp_path, style):
    lines = [
        Line(at(0), CONTACT, "ciao"),
        Line(at(1) + timedelta(seconds=30 if style.seconds else 0), ME, "ehi"),
        Line(at(60 * 7), CONTACT, "sera"),  # 1 am the next day: 12-hour clocks
        Line(at(60 * 24 * 20 + 5), ME, "dopo"),
    ]
    path = write_chat(tmp_path / "WhatsApp Chat with Giulia Bianchi.txt", lines, style)
    assert is_whatsapp_export(path)
    got = rows(path)
    assert [r["timestamp"] for r in got] == [utc(line.when) for line in lines]
    assert [r["sender_name"] for r in got] == [CONTACT, ME, CONTACT, ME]
    assert [r["text"] for r in got] == ["ciao", "ehi", "sera", "dopo"]
    assert {r["chat_type"] for r in got} == {"personal_chat"}
    assert {r["chat_name"] for r in got} == {CONTACT}
    assert got[1]["sender_id"] == sender_id_for(ME) and got[0]["sender_id"] != got[1]["sender_id"]


def test_day_month_order_inferred_when_no_day_is_over_12(tmp_path):
    # m/d/yy: Jan 5, Jan 6, Feb 1; read as d/m the dates would go back (May 1, Jun 1, Jan 2)
    days = [datetime(2024, 1, 5, 9), datetime(2024, 1, 6, 9), datetime(2024, 2, 1, 9)]
    lines = [Line(d, ME if i % 2 else CONTACT, f"m{i}") for i, d in enumerate(days)]
    path = write_chat(tmp_path / "chat.txt", lines, ANDROID_US)
    assert [r["timestamp"] for r in rows(path)] == [utc(d) for d in days]
    path = write_chat(tmp_path / "chat.txt", lines, ANDROID)  # the same dates written d/m/yy
    assert [r["timestamp"] for r in rows(path)] == [utc(d) for d in days]


def test_timezone_is_applied(tmp_path):
    path = write_chat(tmp_path / "chat.txt", [Line(BASE, ME, "x")], IOS)
    assert rows(path, "Europe/Rome")[0]["timestamp"] == utc(BASE) - timedelta(hours=2)


@pytest.mark.parametrize("style", [IOS, ANDROID, IOS_US, ANDROID_US], ids=lambda s: s.name)
def test_every_line_shape(tmp_path, style: Style):
    tilde = f"~{NNBSP}Luca Verdi" if style.ios else "~ Luca Verdi"
    lines = [
        Line(
            at(0),
            None,
            "Messages and calls are end-to-end encrypted. No one outside of this chat, not even "
            "WhatsApp, can read or listen to them.",
        ),
        Line(at(1), None, f'{ME} created group "Calcetto"'),
        Line(at(2), None, f"{ME} added {CONTACT}"),
        Line(at(3), CONTACT, "prima riga\nseconda riga\n\nquarta: con due punti"),
        Line(at(4), ME, style.media_omitted("image")),
        Line(at(5), ME, style.deleted(mine=True)),
        Line(at(6), CONTACT, style.deleted()),
        Line(at(7), ME, style.edited("corretto")),
        Line(at(8), ME, style.poll("Giovedì?", ["sì", "no"])),
        Line(at(9), CONTACT, style.location()),
        Line(at(10), tilde, "sono nuovo"),
        Line(at(11), None, f"Your security code with {CONTACT} changed. Tap to learn more."),
        Line(at(12), None, "Luca Verdi left"),
    ]
    if not style.ios:
        lines.append(Line(at(13), None, f'{ME} changed the subject from "Calcetto" to "Calcetto: giovedì"'))
    path = write_chat(tmp_path / "_chat.txt", lines, style, chat_name="Calcetto")
    got = rows(path)
    assert len(got) == len(lines)
    kinds = [r["kind"] for r in got]
    assert kinds[:3] == ["service"] * 3 and kinds[11:] == ["service"] * (len(lines) - 11)
    assert all(r["sender_id"] is None for r in got if r["kind"] == "service")
    assert [r["action"] for r in got[:3]] == ["encryption_notice", "create_group", "invite_members"]
    assert got[11]["action"] == "security_code_changed" and got[12]["action"] == "remove_members"
    assert got[3]["text"] == "prima riga\nseconda riga\n\nquarta: con due punti"
    assert (got[4]["kind"], got[4]["text"]) == (("photo" if style.ios else "media"), "")
    assert [(r["kind"], r["text"]) for r in got[5:7]] == [("deleted", "")] * 2
    assert (got[7]["kind"], got[7]["text"], got[7]["action"]) == ("text", "corretto", "edited")
    assert (got[8]["kind"], got[8]["text"]) == ("poll", "")
    assert (got[9]["kind"], got[9]["text"]) == ("location", "")
    assert (got[10]["sender_name"], got[10]["text"]) == ("Luca Verdi", "sono nuovo")
    assert {r["chat_type"] for r in got} == {"private_group"}
    export = read_whatsapp_export(path)
    assert export.chats[0].name == ("Calcetto: giovedì" if not style.ios else "Calcetto")
    assert "Luca Verdi" in export.contact_names


@pytest.mark.parametrize("style", [IOS, ANDROID], ids=lambda s: s.name)
def test_zip_with_media(tmp_path, style):
    photo = "00000012-PHOTO-2024-05-13-18-01-00.jpg" if style.ios else "IMG-20240513-WA0001.jpg"
    voice = "00000013-AUDIO-2024-05-13-18-02-00.opus" if style.ios else "PTT-20240513-WA0002.opus"
    sticker = "00000014-STICKER-2024-05-13-18-03-00.webp" if style.ios else "STK-20240513-WA0003.webp"
    doc = "00000015-contratto.pdf" if style.ios else "contratto.pdf"
    lines = [
        Line(at(0), CONTACT, "guarda"),
        Line(at(1), CONTACT, style.attached(photo) + "\nche bel posto"),
        Line(at(2), ME, style.attached(voice)),
        Line(at(3), ME, style.attached(sticker)),
        Line(at(4), CONTACT, style.attached(doc)),
    ]
    media = {name: b"\xff\xd8fake" for name in (photo, voice, sticker, doc)}
    path = write_chat(tmp_path / "WhatsApp Chat - Giulia Bianchi.zip", lines, style, media)
    assert zipfile.is_zipfile(path) and is_whatsapp_export(path)
    got = rows(path)
    assert [r["kind"] for r in got] == ["text", "photo", "voice_message", "sticker", "file"]
    assert [r["text"] for r in got] == ["guarda", "che bel posto", "", "", ""]
    assert {r["chat_name"] for r in got} == {CONTACT}


def test_same_chat_twice_merges_and_ids_are_stable(tmp_path):
    lines = sessions(6)
    old = write_chat(tmp_path / "WhatsApp Chat with Giulia Bianchi.txt", lines[:30], IOS)
    new = write_chat(tmp_path / "WhatsApp Chat with Giulia Bianchi.zip", lines, IOS)
    _, messages, counts = read_messages([old, new])
    assert messages.num_rows == len(lines) and sum(counts.values()) == 30
    assert len(set(messages["message_id"].to_pylist())) == len(lines)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            b"[13/05/2024, 18:00:00] A: ok\n[31/02/2024, 18:00:00] B: no",
            "line 2: unreadable date or time: no such day",
        ),
        (
            b"13/05/24, 18:00 - A: ok\n13/05/24, 25:00 - B: no",
            "line 2: unreadable date or time: no such time",
        ),
        (b"[13/05/2024, 18:00:00] A: ok\n[12/31/2024, 18:00:00] B: x", "fit neither day/month nor month/day"),
        (b"[13/05/2024, 18:00:00] A: ok\nfine\n\xff\xfe broken", "line 3: not UTF-8 text"),
        (b"[13/05/2024, 18:00:00] A: ok\n" * 20000, "more than 16384 messages in one minute"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, content, problem):
    path = tmp_path / "_chat.txt"
    path.write_bytes(content)
    with pytest.raises(ChatLikeMeError, match=problem) as err:
        read_whatsapp_export(path)
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)


def test_marks_before_the_bracket_crlf_and_bom(tmp_path):
    text = render([Line(at(0), ME, "uno"), Line(at(1), CONTACT, IOS.media_omitted("video"))], IOS)
    text = "\ufeff" + text.replace("\n[", f"\n{LRM}[").replace("\n", "\r\n")
    path = tmp_path / "_chat.txt"
    path.write_bytes(text.encode("utf-8"))
    assert is_whatsapp_export(path)
    assert [(r["sender_name"], r["text"], r["kind"]) for r in rows(path)] == [
        (ME, "uno", "text"),
        (CONTACT, "", "video_file"),
    ]


def test_text_before_the_first_message_is_an_error(tmp_path):
    path = tmp_path / "chat.txt"
    path.write_text("copied from the middle of a message\n" + render(sessions(1), ANDROID), encoding="utf-8")
    assert is_whatsapp_export(path)
    with pytest.raises(ChatLikeMeError, match="line 1: not a WhatsApp message line"):
        read_whatsapp_export(path)


def test_nickname_with_quotes_is_a_sender(tmp_path):
    path = write_chat(tmp_path / "chat.txt", [Line(BASE, 'Marco "il Toro" Rossi', "ciao: come va")], ANDROID)
    assert [(r["sender_name"], r["text"], r["kind"]) for r in rows(path)] == [
        ('Marco "il Toro" Rossi', "ciao: come va", "text")
    ]


def test_zip_without_a_chat_is_an_error(tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("IMG-1.jpg", b"x")
    with pytest.raises(ChatLikeMeError, match=r"no single chat \.txt inside"):
        read_whatsapp_export(path)
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ChatLikeMeError, match="unreadable zip file"):
        read_whatsapp_export(path)


def test_zip_with_damaged_compressed_chat_is_an_error(tmp_path):
    """Damaged deflate data makes zlib itself fail (not zipfile): still the one-line error."""
    path = write_chat(tmp_path / "chat.zip", sessions(2), IOS)
    data = bytearray(path.read_bytes())
    name_length, extra_length = int.from_bytes(data[26:28], "little"), int.from_bytes(data[28:30], "little")
    data[30 + name_length + extra_length] = 0  # a "stored" block whose length fields do not match
    path.write_bytes(bytes(data))
    with pytest.raises(ChatLikeMeError, match="unreadable zip file"):
        read_whatsapp_export(path)


def test_persona_by_name_with_suggestions(tmp_path):
    path = write_chat(tmp_path / "chat.txt", sessions(3), ANDROID)
    exports, messages, _ = read_messages([path])
    persona = resolve_persona(exports, messages, "marco rossi")
    assert persona.id == sender_id_for(ME) and persona.name == ME
    with pytest.raises(ChatLikeMeError, match="did you mean 'Marco Rossi'"):
        resolve_persona(exports, messages, "Marco Rosi")
    with pytest.raises(ChatLikeMeError, match="does not say whose account"):
        resolve_persona(exports, messages, None)


def test_ingest_whatsapp_end_to_end_cli(tmp_path):
    lines = sessions(12)
    lines[0] = Line(lines[0].when, CONTACT, "scrivimi a giulia.bianchi@example.com o al +39 333 123 4567")
    first = lines[0].when
    lines[:0] = [Line(first - timedelta(minutes=1), None, "Messages and calls are end-to-end encrypted.")]
    lines[3:3] = [
        Line(lines[2].when, ME, IOS_US.deleted(mine=True)),
        Line(lines[2].when, ME, IOS_US.edited("anzi no")),
        Line(lines[2].when, CONTACT, IOS_US.attached("00000009-PHOTO-2024-05-13-18-02-00.jpg")),
        Line(lines[2].when, None, "Missed voice call"),
    ]
    path = write_chat(tmp_path / "WhatsApp Chat - Giulia Bianchi.zip", lines, IOS_US, {"x.jpg": b"x"})
    out = tmp_path / "out"
    result = run_cli("ingest", path, "--out", out, "--persona", ME, "--min-messages", "5")
    assert result.returncode == 0, result.stderr
    samples = [json.loads(line) for line in (out / "sft" / "train.jsonl").open()]
    assert samples and all(s["chat_id"].startswith("whatsapp") for s in samples)
    assert samples[0]["messages"][-1] == {
        "role": "assistant",
        "content": samples[0]["messages"][-1]["content"],
    }
    assert "risposta" in samples[0]["messages"][-1]["content"]
    text = json.dumps(samples, ensure_ascii=False)
    assert "example.com" not in text and "123 4567" not in text and "<PHONE_1>" in text  # PII masked
    assert "anzi no" in text and "[photo]" in text  # an edited message is text, a photo is context
    for gone in ("encrypted", "deleted", "Missed", "This message was edited", LRM):
        assert gone not in text
    table = pq.read_table(out / "messages.parquet")
    assert table.schema.equals(MESSAGES_SCHEMA)
    assert set(table["chat_type"].to_pylist()) == {"personal_chat"}  # system lines do not make it a group
    assert table["kind"].to_pylist().count("service") == 2

    bad = run_cli("ingest", path, "--out", tmp_path / "bad", "--persona", "Marko Rossi")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "did you mean 'Marco Rossi'" in bad.stderr


def test_telegram_and_whatsapp_of_one_person_together(tmp_path, write_export):
    telegram = write_export(full_export([chat(2002, dialogue(15))]), name="result.json")
    whatsapp = write_chat(tmp_path / "WhatsApp Chat with Giulia Bianchi.txt", sessions(8), ANDROID)
    out = ingest([telegram, whatsapp], tmp_path / "out", IngestConfig(min_messages=5))
    table = pq.read_table(out / "messages.parquet").to_pylist()
    mine = {r["sender_id"] for r in table if r["is_persona"]}
    assert mine == {f"user{TG_ME}"}  # one persona: the Telegram owner, also in the WhatsApp chat
    assert any(r["is_persona"] and r["chat_id"].startswith("whatsapp") for r in table)
    report = json.loads((out / "report.json").read_text())
    assert report["persona"]["id"] == f"user{TG_ME}"
    chat_ids = {json.loads(line)["chat_id"] for line in (out / "sft" / "train.jsonl").open()}
    assert any(c.startswith("whatsapp") for c in chat_ids) and "user2002" in chat_ids


def test_a_whatsapp_name_with_a_telegram_full_export_is_its_owner(tmp_path, write_export):
    telegram = write_export(full_export([chat(2002, dialogue(15))]), name="result.json")
    lines = sessions(8, me="Marchino")  # named differently in WhatsApp
    whatsapp = write_chat(tmp_path / "WhatsApp Chat with Giulia Bianchi.txt", lines, ANDROID)
    exports, messages, _ = read_messages([telegram, whatsapp])
    persona = resolve_persona(exports, messages, "marchino")
    assert (persona.id, persona.aliases) == (f"user{TG_ME}", (sender_id_for("Marchino"),))
    out = ingest([telegram, whatsapp], tmp_path / "out", IngestConfig(persona="Marchino", min_messages=5))
    table = pq.read_table(out / "messages.parquet").to_pylist()
    assert {r["sender_id"] for r in table if r["is_persona"]} == {f"user{TG_ME}"}
    assert {r["chat_id"][:8] for r in table if r["is_persona"]} == {"user2002", "whatsapp"}


def test_detection_is_by_content(tmp_path, write_export):
    telegram = write_export(full_export([chat(2002, dialogue(2))]), name="chat.txt")
    assert not is_whatsapp_export(telegram)
    whatsapp = tmp_path / "export.json"
    whatsapp.write_text(render(sessions(1), IOS), encoding="utf-8")
    assert is_whatsapp_export(whatsapp)
    assert read_messages([whatsapp])[1].num_rows == 8
    assert LRM not in "".join(r["text"] for r in rows(whatsapp))
