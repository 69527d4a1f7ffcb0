"""The Desktop JSON reader: both layouts, every format era, the awkward fields, bad files."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ChatLikeMeError
from ingest.fork_map import balanced_halves
from ingest.telegram.desktop import TextPart, chat_key, flatten_text, read_export
from tests.ingest.telegram_builders import ME, chat, full_export, msg, write_json


def rows(export):
    return export.messages.to_pylist()


def test_single_chat_layout(write_export):
    data = chat(2002, [msg(1, 0, 2002, "ciao"), msg(2, 1, ME, "ehi")])
    export = read_export(write_export(data))
    assert export.owner_id is None
    assert [c.chat_id for c in export.chats] == ["user2002"]
    assert [r["text"] for r in rows(export)] == ["ciao", "ehi"]
    assert rows(export)[1]["sender_id"] == f"user{ME}"


def test_full_layout_reads_chats_and_left_chats(write_export):
    data = full_export(
        [chat(2002, [msg(1, 0, 2002, "a")])],
        left=[chat(555, [msg(7, 0, 3003, "b")], name="Vecchio gruppo", type="private_group")],
        contacts=[{"first_name": "Luca", "last_name": "Bianchi", "phone_number": "+39 1"}],
    )
    export = read_export(write_export(data))
    assert export.owner_id == f"user{ME}"
    assert export.owner_name == "Marco Rossi"
    assert [(c.chat_id, c.type, c.messages) for c in export.chats] == [
        ("user2002", "personal_chat", 1),
        ("chat555", "private_group", 1),
    ]
    assert export.contact_names == ["Luca Bianchi"]


def test_text_entity_lists_are_flattened(write_export):
    text = ["guarda ", {"type": "link", "text": "https://x.it"}, " e ", {"type": "bold", "text": "DAJE"}, ""]
    export = read_export(write_export(chat(1, [msg(1, 0, 2, text)])))
    assert rows(export)[0]["text"] == "guarda https://x.it e DAJE"
    assert flatten_text(["a", TextPart("bold", "b"), ""]) == "ab"


def test_media_kinds_stickers_and_captions(write_export):
    messages = [
        msg(1, 0, 2, "", photo="(File not included. Change data exporting settings to download.)"),
        msg(2, 1, 2, "che vista!", photo="photos/p.jpg"),
        msg(3, 2, ME, "", file="s.webp", media_type="sticker", sticker_emoji="😂"),
        msg(4, 3, 2, "", file="v.ogg", media_type="voice_message", duration_seconds=3),
        msg(5, 4, 2, "", file="big.mp4", media_type="video_file", file_size=5_000_000_000),
        msg(6, 5, 2, "", poll={"question": "?", "closed": False, "total_voters": 0, "answers": []}),
        msg(7, 6, 2, "", location_information={"latitude": 41.9, "longitude": 12.5}),
        msg(8, 7, 2, "", file="doc.pdf", mime_type="application/pdf"),
        msg(9, 8, 2, "", file="s2.webp", media_type="sticker"),
    ]
    export = read_export(write_export(chat(1, messages)))
    got = [(r["kind"], r["text"]) for r in rows(export)]
    assert got == [
        ("photo", ""),
        ("photo", "che vista!"),
        ("sticker", "😂"),
        ("voice_message", ""),
        ("video_file", ""),
        ("poll", ""),
        ("location", ""),
        ("file", ""),
        ("sticker", ""),
    ]


def test_forwarded_even_with_null_name(write_export):
    messages = [
        msg(1, 0, 2, "news", forwarded_from="Il Post"),
        msg(2, 1, 2, "chi?", forwarded_from=None),
        msg(3, 2, 2, "salvato", saved_from="Canale"),
        msg(4, 3, 2, "mio"),
    ]
    export = read_export(write_export(chat(1, messages)))
    assert [r["forwarded"] for r in rows(export)] == [True, True, True, False]


def test_2019_export_integer_ids_no_unixtime_no_entities(write_export):
    old = [
        {
            "id": 10,
            "type": "message",
            "date": "2019-06-01T20:00:00",
            "from": "Giorgio",
            "from_id": 777,
            "text": "ciao",
        },
        {
            "id": 11,
            "type": "message",
            "date": "2019-06-01T20:01:30",
            "from": "Marco",
            "from_id": ME,
            "text": ["a", ""],
        },
    ]
    export = read_export(write_export(chat(777, old)), timezone="Europe/Rome")
    r = rows(export)
    assert [x["sender_id"] for x in r] == ["user777", f"user{ME}"]
    assert r[0]["timestamp"] == datetime(2019, 6, 1, 18, 0, tzinfo=UTC)  # CEST = UTC+2
    assert r[1]["text"] == "a"


def test_mixed_unixtime_presence_uses_each_when_available(write_export):
    messages = [
        msg(1, 0, 2, "a"),
        {
            "id": 2,
            "type": "message",
            "date": "2024-05-01T18:05:00",
            "from_id": "user2",
            "from": "G",
            "text": "b",
        },
    ]
    r = rows(read_export(write_export(chat(1, messages))))
    assert [x["timestamp"] for x in r] == [
        datetime(2024, 5, 1, 18, 0, tzinfo=UTC),
        datetime(2024, 5, 1, 18, 5, tzinfo=UTC),
    ]


def test_null_senders_negative_ids_unknown_actions_and_fields(write_export):
    messages = [
        msg(-5, 0, None, "vecchio", **{"from": None, "from_id": "user99"}),
        {
            "id": 6,
            "type": "service",
            "date": "2024-05-01T18:01:00",
            "date_unixtime": "1714586460",
            "actor": "Lorenzo",
            "actor_id": "user3",
            "action": "brand_new_action_2031",
            "boosts": 2,
            "text": "",
            "text_entities": [],
        },
        msg(7, 2, 2, "ok", reactions=[{"type": "paid", "count": 1}], future_field={"x": [1, {"y": None}]}),
        {"id": 8, "type": "unsupported", "date": "2024-05-01T18:03:00", "date_unixtime": "1714586580"},
    ]
    r = rows(read_export(write_export(chat(5, messages, name=None, type="private_supergroup"))))
    assert [x["message_id"] for x in r] == [-5, 6, 7, 8]
    assert r[0]["sender_id"] == "user99" and r[0]["sender_name"] is None
    assert (r[1]["kind"], r[1]["action"], r[1]["sender_id"]) == ("service", "brand_new_action_2031", "user3")
    assert r[3]["kind"] == "unsupported"
    assert r[0]["chat_name"] is None and r[0]["chat_id"] == "channel5"


def test_tab_indented_and_unicode_names(write_export):
    names = ["Yasmin ياسمين", "Davide 👨‍💻 Russo", "Sara 🏳️‍🌈"]
    messages = [msg(i, i, 10 + i, "ciao", name=n) for i, n in enumerate(names)]
    export = read_export(write_export(chat(1, messages, name="Gruppo ⚽"), indent="\t"))
    assert [r["sender_name"] for r in rows(export)] == names


def test_chat_ids_are_unique_per_peer_kind():
    assert chat_key(42, "personal_chat", "a") == "user42"
    assert chat_key(42, "private_group", "b") == "chat42"
    assert chat_key(42, "private_supergroup", "c") == "channel42"
    assert chat_key(None, "personal_chat", "Giulia") == "name:Giulia"


def test_empty_chat_and_empty_lists(write_export):
    export = read_export(write_export(full_export([chat(1, []), chat(2, [msg(1, 0, 2, "x")])])))
    assert [c.messages for c in export.chats] == [0, 1]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty file"),
        (b"not json at all", "not valid JSON"),
        (b'{"chats": {"list": [{"id": 1, "messages": [{"id": 1, "type": "mess', "truncated"),
        (b"[1, 2, 3]", "not a Telegram Desktop export"),
        (b'{"hello": "world"}', "no 'messages' (single chat) and no 'chats'"),
        (
            b'{"name": "x", "type": "personal_chat", "id": 1, "messages": [{"id": "seven"}]}',
            "unexpected message",
        ),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path, content, problem):
    path = tmp_path / "result.json"
    path.write_bytes(content)
    with pytest.raises(ChatLikeMeError) as err:
        read_export(path)
    assert str(path) in str(err.value)
    assert problem in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ChatLikeMeError, match="cannot read"):
        read_export(tmp_path / "nope.json")


# --- property-based: random messages, random optional fields, random entity lists ---------------------------

ENTITY_TYPES = [
    "plain",
    "bold",
    "italic",
    "link",
    "text_link",
    "mention",
    "mention_name",
    "custom_emoji",
    "email",
]
text_piece = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
entity = st.builds(lambda t, x: {"type": t, "text": x}, st.sampled_from(ENTITY_TYPES), text_piece)
text_value = st.one_of(
    text_piece, st.lists(st.one_of(text_piece, entity), max_size=5).map(lambda xs: [*xs, ""])
)
MEDIA = st.sampled_from(
    [None, "sticker", "voice_message", "video_file", "animation", "audio_file", "video_message"]
)


@st.composite
def messages(draw):
    n = draw(st.integers(0, 25))
    out, expected = [], []
    ids = draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n, unique=True))
    for i, msg_id in enumerate(ids):
        text = draw(text_value)
        m = {"id": msg_id, "type": "message", "date": f"2023-01-15T14:{i % 60:02d}:00"}
        unix = 1673791200 + (i % 60) * 60  # 2023-01-15T14:MM:00Z
        if draw(st.booleans()):
            m["date_unixtime"] = str(unix)
        sender = draw(st.sampled_from([None, "user1", "channel7", 12345]))
        if sender is not None or draw(st.booleans()):
            m["from"] = draw(st.one_of(st.none(), text_piece))
            m["from_id"] = sender
        media = draw(MEDIA)
        if media:
            m["media_type"] = media
            m["file"] = "(File not included. Change data exporting settings to download.)"
            m["file_size"] = draw(st.integers(0, 2**40))
        if media == "sticker" and draw(st.booleans()):
            m["sticker_emoji"] = "😂"
        forwarded = draw(st.booleans())
        if forwarded:
            m["forwarded_from"] = draw(st.one_of(st.none(), text_piece))
        if draw(st.booleans()):
            m["reply_to_message_id"] = draw(st.integers(-(2**40), 2**40))
        if draw(st.booleans()):
            m["some_future_field"] = draw(
                st.one_of(st.integers(), text_piece, st.lists(st.integers(), max_size=3))
            )
        m["text"] = text
        if draw(st.booleans()):
            m["text_entities"] = []
        flat = (
            text if isinstance(text, str) else "".join(p if isinstance(p, str) else p["text"] for p in text)
        )
        if media == "sticker" and flat == "" and "sticker_emoji" in m:
            flat = "😂"
        sender_id = f"user{sender}" if isinstance(sender, int) else sender
        expected.append((msg_id, flat, media or "text", forwarded, sender_id, m.get("reply_to_message_id")))
        out.append(m)
    return out, expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=messages(), indent=st.sampled_from([None, 1, "\t"]), layout=st.sampled_from(["single", "full"]))
def test_parser_reads_every_generated_message(tmp_path, data, indent, layout):
    raw, expected = data
    single = {"name": "x", "type": "personal_chat", "id": 1, "messages": raw}
    doc = single if layout == "single" else full_export([single])
    path = write_json(tmp_path / "gen.json", doc, indent)
    table = read_export(path).messages
    got = list(
        zip(
            table["message_id"].to_pylist(),
            table["text"].to_pylist(),
            table["kind"].to_pylist(),
            table["forwarded"].to_pylist(),
            table["sender_id"].to_pylist(),
            table["reply_to"].to_pylist(),
            strict=True,
        )
    )
    assert got == expected
    minutes = [(ts.hour, ts.minute) for ts in table["timestamp"].to_pylist()]
    assert minutes == [(14, i % 60) for i in range(len(raw))]


def test_generated_json_is_really_json(tmp_path):
    # guard for the property test above: the builder writes what json.loads reads back
    path = write_json(tmp_path / "x.json", {"a": ["😂", "\u200d"]}, "\t")
    assert json.loads(path.read_text()) == {"a": ["😂", "\u200d"]}


# --- two processes -----------------------------------------------------------------------------------------


def test_forked_decoding_gives_the_same_table(write_export):
    chats = [chat(2002, [msg(i, i, 2002 if i % 2 else ME, f"m{i}") for i in range(1, 400)])]
    chats.append(chat(3003, [msg(i, i, 3003, "x") for i in range(1, 50)], name="Luca"))
    path = write_export(full_export(chats))
    serial = read_export(path, workers=1).messages
    forked = read_export(path, workers=2).messages  # the big chat is cut in two, one half per process
    assert forked.equals(serial)


def test_forked_decoding_reports_input_errors_like_the_serial_one(write_export):
    messages = [msg(i, i, 2002, "ok") for i in range(1, 100)]
    messages[80]["reply_to_message_id"] = "not a number"  # in the half the child decodes
    path = write_export(chat(2002, messages))
    with pytest.raises(ChatLikeMeError) as serial:
        read_export(path, workers=1)
    with pytest.raises(ChatLikeMeError) as forked:
        read_export(path, workers=2)
    assert "Expected `int | null`, got `str` - at `$.messages[80].reply_to_message_id`" in str(serial.value)
    assert str(forked.value) == str(serial.value)


def test_balanced_halves():
    mine, theirs = balanced_halves([10, 1, 1, 8, 1])
    assert sorted(mine + theirs) == [0, 1, 2, 3, 4]
    assert abs(sum([10, 1, 1, 8, 1][i] for i in mine) - sum([10, 1, 1, 8, 1][i] for i in theirs)) <= 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text()), max_size=20))
def test_json_string_escaping_matches_msgspec(texts):
    import msgspec
    import pyarrow as pa

    from ingest.samples import json_string_bodies

    expected = [None if t is None else msgspec.json.encode(t).decode()[1:-1] for t in texts]
    assert json_string_bodies(pa.array(texts, pa.string())).to_pylist() == expected
