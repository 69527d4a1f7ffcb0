"""Real Telethon TL objects -> Telegram Desktop export JSON, checked field by field."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from telethon.tl import types

from ingest.telegram.convert import (
    MIGRATED_ID_SHIFT,
    chat_header,
    message_to_desktop,
    personal_information,
)
from ingest.telegram.fields import FILE_NOT_INCLUDED, FILE_UNAVAILABLE, PeerDirectory, text_parts
from tests.ingest.telethon_fakes import (
    BOB,
    CARLA,
    GHOST,
    GROUP,
    HELPER_BOT,
    ME,
    NEWS,
    SUPERGROUP,
    T0,
    document,
    photo,
    service_message,
    sticker,
    text_message,
    voice,
)

ROME = dt.timezone(dt.timedelta(hours=1))  # the exporting machine's zone: `date` is wall-clock time there


@pytest.fixture
def directory() -> PeerDirectory:
    names = PeerDirectory()
    for entity in (ME, BOB, CARLA, GHOST, HELPER_BOT, GROUP, SUPERGROUP, NEWS):
        names.add(entity)
    return names


def convert(message, directory: PeerDirectory, **kwargs) -> dict:
    entry = message_to_desktop(message, directory=directory, self_id=ME.id, tz=ROME, **kwargs)
    json.dumps(entry)  # must be plain JSON
    return entry


def test_incoming_private_message_is_from_the_other_person_with_local_date(directory):
    entry = convert(text_message(5, BOB, "ciao!", sender=BOB), directory)
    assert entry == {
        "id": 5,
        "type": "message",
        "date": "2024-03-01T10:05:00",  # 09:05 UTC in Rome
        "date_unixtime": str(int(T0.timestamp()) + 300),
        "from": "Bob Rossi",
        "from_id": "user2001",
        "text": "ciao!",
        "text_entities": [{"type": "plain", "text": "ciao!"}],
    }
    assert list(entry) == ["id", "type", "date", "date_unixtime", "from", "from_id", "text", "text_entities"]


def test_outgoing_message_is_the_owner_s_even_without_from_id(directory):
    message = types.Message(id=6, peer_id=types.PeerUser(BOB.id), date=T0, message="eccomi", out=True)
    entry = convert(message, directory)
    assert (entry["from"], entry["from_id"]) == ("Ada Lovelace", "user1000")


def test_entities_split_at_utf16_offsets_into_text_list_and_text_entities(directory):
    text = "😀 bold link @bob!"  # the emoji takes two UTF-16 code units
    entities = [
        types.MessageEntityBold(offset=3, length=4),
        types.MessageEntityTextUrl(offset=8, length=4, url="https://example.org"),
        types.MessageEntityMention(offset=13, length=4),
    ]
    entry = convert(text_message(7, BOB, text, sender=BOB, entities=entities), directory)
    assert entry["text"] == [
        "😀 ",
        {"type": "bold", "text": "bold"},
        " ",
        {"type": "text_link", "text": "link", "href": "https://example.org"},
        " ",
        {"type": "mention", "text": "@bob"},
        "!",
    ]
    assert entry["text_entities"] == [
        {"type": "plain", "text": "😀 "},
        {"type": "bold", "text": "bold"},
        {"type": "plain", "text": " "},
        {"type": "text_link", "text": "link", "href": "https://example.org"},
        {"type": "plain", "text": " "},
        {"type": "mention", "text": "@bob"},
        {"type": "plain", "text": "!"},
    ]


def test_entity_extras_have_desktop_value_types():
    text = "code Ada quote :)"
    parts = text_parts(
        text,
        [
            types.MessageEntityPre(offset=0, length=4, language=""),
            types.MessageEntityMentionName(offset=5, length=3, user_id=1000),
            types.MessageEntityBlockquote(offset=9, length=5, collapsed=True),
            types.MessageEntityCustomEmoji(offset=15, length=2, document_id=5368324170671202286),
        ],
    )
    assert parts[0] == {"type": "pre", "text": "code", "language": ""}
    assert parts[2] == {"type": "mention_name", "text": "Ada", "user_id": 1000}
    assert parts[4] == {"type": "blockquote", "text": "quote", "collapsed": True}
    assert parts[6] == {"type": "custom_emoji", "text": ":)", "document_id": "5368324170671202286"}


def test_nested_entities_keep_the_outer_one_and_the_text_intact():
    parts = text_parts(
        "hello world",
        [types.MessageEntityBold(offset=0, length=11), types.MessageEntityItalic(offset=6, length=5)],
    )
    assert parts == [{"type": "bold", "text": "hello world"}]


def test_reply_and_reply_into_another_chat(directory):
    reply = types.MessageReplyHeader(reply_to_msg_id=4)
    assert (
        convert(text_message(8, BOB, "sì", sender=ME, reply_to=reply), directory)["reply_to_message_id"] == 4
    )
    elsewhere = types.MessageReplyHeader(reply_to_msg_id=99, reply_to_peer_id=types.PeerChannel(NEWS.id))
    entry = convert(text_message(9, BOB, "visto?", sender=ME, reply_to=elsewhere), directory)
    assert (entry["reply_to_message_id"], entry["reply_to_peer_id"]) == (99, "channel5001")


def test_forwards_name_the_original_author_not_the_forwarder(directory):
    forward = types.MessageFwdHeader(date=T0, from_id=types.PeerUser(CARLA.id))
    entry = convert(text_message(10, BOB, "guarda", sender=ME, fwd_from=forward), directory)
    assert entry["from_id"] == "user1000"
    assert (entry["forwarded_from"], entry["forwarded_from_id"]) == ("Carla", "user2002")
    keys = list(entry)
    assert keys.index("forwarded_from") == keys.index("from_id") + 1

    hidden = types.MessageFwdHeader(date=T0, from_name="Someone Private")
    assert convert(text_message(11, BOB, "x", sender=ME, fwd_from=hidden), directory)["forwarded_from"] == (
        "Someone Private"
    )
    saved = types.MessageFwdHeader(
        date=T0, from_id=types.PeerChannel(NEWS.id), saved_from_peer=types.PeerChannel(NEWS.id)
    )
    entry = convert(text_message(12, ME, "notizia", sender=ME, fwd_from=saved), directory)
    assert (entry["forwarded_from"], entry["saved_from"]) == ("News", "News")


def test_photo_with_caption_is_a_placeholder_with_the_largest_size(directory):
    sizes = (
        types.PhotoStrippedSize(type="i", bytes=b"\x01\x02"),
        types.PhotoSize(type="m", w=320, h=240, size=12_000),
        types.PhotoSizeProgressive(type="y", w=1280, h=960, sizes=[1000, 9000, 88_000]),
    )
    media = types.MessageMediaPhoto(photo=photo(*sizes))
    entry = convert(text_message(13, BOB, "il lago", sender=BOB, media=media), directory)
    assert entry["photo"] == FILE_NOT_INCLUDED
    assert (entry["photo_file_size"], entry["width"], entry["height"]) == (88_000, 1280, 960)
    assert entry["text"] == "il lago"  # a caption is the message text
    assert "media_type" not in entry  # Desktop gives photos no media_type


def test_sticker_has_its_emoji(directory):
    entry = convert(text_message(14, BOB, "", sender=BOB, media=sticker("😂")), directory)
    assert entry["media_type"] == "sticker"
    assert entry["sticker_emoji"] == "😂"
    assert entry["file"] == FILE_NOT_INCLUDED
    assert (entry["file_size"], entry["mime_type"], entry["width"], entry["height"]) == (
        24_000,
        "image/webp",
        512,
        512,
    )
    assert entry["text"] == "" and entry["text_entities"] == []


def test_voice_round_video_gif_and_song(directory):
    entry = convert(text_message(15, BOB, "", sender=BOB, media=voice(7)), directory)
    assert (entry["media_type"], entry["duration_seconds"], entry["mime_type"]) == (
        "voice_message",
        7,
        "audio/ogg",
    )
    round_video = document(
        "video/mp4", 500_000, [types.DocumentAttributeVideo(duration=12.6, w=384, h=384, round_message=True)]
    )
    entry = convert(
        text_message(16, BOB, "", sender=BOB, media=types.MessageMediaDocument(document=round_video)),
        directory,
    )
    assert (entry["media_type"], entry["duration_seconds"], entry["width"]) == ("video_message", 12, 384)

    gif = document(
        "video/mp4",
        80_000,
        [
            types.DocumentAttributeAnimated(),
            types.DocumentAttributeVideo(duration=2.0, w=320, h=180),
            types.DocumentAttributeFilename(file_name="cat.mp4"),
        ],
        thumbs=[types.PhotoSize(type="s", w=90, h=50, size=1500)],
    )
    entry = convert(
        text_message(17, BOB, "", sender=BOB, media=types.MessageMediaDocument(document=gif)), directory
    )
    assert (entry["media_type"], entry["file_name"]) == ("animation", "cat.mp4")
    assert (entry["thumbnail"], entry["thumbnail_file_size"]) == (FILE_NOT_INCLUDED, 1500)

    song = document(
        "audio/mpeg",
        4_000_000,
        [types.DocumentAttributeAudio(duration=200, performer="Mina", title="Parole")],
    )
    entry = convert(
        text_message(18, BOB, "", sender=BOB, media=types.MessageMediaDocument(document=song)), directory
    )
    assert (entry["media_type"], entry["performer"], entry["title"]) == ("audio_file", "Mina", "Parole")


def test_self_destructing_photo_from_someone_else_is_unavailable(directory):
    media = types.MessageMediaPhoto(
        photo=photo(types.PhotoSize(type="x", w=800, h=600, size=5)), ttl_seconds=10
    )
    entry = convert(text_message(19, BOB, "", sender=BOB, media=media), directory)
    assert (entry["photo"], entry["self_destruct_period_seconds"]) == (FILE_UNAVAILABLE, 10)


def test_web_page_previews_add_nothing_and_unsupported_media_is_marked(directory):
    preview = types.MessageMediaWebPage(webpage=types.WebPageEmpty(id=1))
    entry = convert(text_message(20, BOB, "https://example.org", sender=BOB, media=preview), directory)
    assert set(entry) == {"id", "type", "date", "date_unixtime", "from", "from_id", "text", "text_entities"}
    unsupported = text_message(21, BOB, "", sender=BOB, media=types.MessageMediaUnsupported())
    assert convert(unsupported, directory) == {"id": 21, "type": "unsupported"}


def test_poll_contact_and_location(directory):
    poll = types.MessageMediaPoll(
        poll=types.Poll(
            id=1,
            question=types.TextWithEntities(text="Pizza?", entities=[]),
            answers=[
                types.PollAnswer(text=types.TextWithEntities(text="sì", entities=[]), option=b"0"),
                types.PollAnswer(text=types.TextWithEntities(text="no", entities=[]), option=b"1"),
            ],
            hash=0,
        ),
        results=types.PollResults(
            results=[
                types.PollAnswerVoters(option=b"0", voters=2, chosen=True),
                types.PollAnswerVoters(option=b"1", voters=1),
            ],
            total_voters=3,
        ),
    )
    assert convert(text_message(22, GROUP, "", sender=BOB, media=poll), directory)["poll"] == {
        "question": "Pizza?",
        "closed": False,
        "total_voters": 3,
        "answers": [
            {"text": "sì", "voters": 2, "chosen": True},
            {"text": "no", "voters": 1, "chosen": False},
        ],
    }
    contact = types.MessageMediaContact(
        phone_number="+39000", first_name="Zia", last_name="", vcard="", user_id=0
    )
    assert convert(text_message(23, BOB, "", sender=BOB, media=contact), directory)[
        "contact_information"
    ] == {
        "first_name": "Zia",
        "last_name": "",
        "phone_number": "+39000",
    }
    geo = types.MessageMediaGeo(geo=types.GeoPoint(long=9.19, lat=45.46, access_hash=0))
    assert convert(text_message(24, BOB, "", sender=BOB, media=geo), directory)["location_information"] == {
        "latitude": 45.46,
        "longitude": 9.19,
    }


def test_group_message_names_sender_edit_and_reactions(directory):
    reactions = types.MessageReactions(
        results=[types.ReactionCount(reaction=types.ReactionEmoji(emoticon="❤"), count=2)],
        recent_reactions=[
            types.MessagePeerReaction(
                peer_id=types.PeerUser(BOB.id), date=T0, reaction=types.ReactionEmoji(emoticon="❤")
            )
        ],
    )
    message = text_message(
        25, GROUP, "stasera?", sender=CARLA, edit_date=T0 + dt.timedelta(hours=1), reactions=reactions
    )
    entry = convert(message, directory)
    assert (entry["from"], entry["from_id"]) == ("Carla", "user2002")
    assert (entry["edited"], entry["edited_unixtime"]) == (
        "2024-03-01T11:00:00",
        str(int(T0.timestamp()) + 3600),
    )
    assert entry["reactions"] == [
        {
            "type": "emoji",
            "count": 2,
            "emoji": "❤",
            "recent": [{"from": "Bob Rossi", "from_id": "user2001", "date": "2024-03-01T10:00:00"}],
        }
    ]


def test_deleted_account_has_null_name_and_channel_post_is_the_channel_s(directory):
    entry = convert(text_message(26, GROUP, "...", sender=GHOST), directory)
    assert (entry["from"], entry["from_id"]) == (None, "user2003")
    post = types.Message(
        id=27, peer_id=types.PeerChannel(NEWS.id), date=T0, message="Breaking", post=True, post_author="Ed"
    )
    entry = convert(post, directory)
    assert (entry["from"], entry["from_id"], entry["author"]) == ("News", "channel5001", "Ed")


def test_via_bot_uses_the_bot_username(directory):
    entry = convert(text_message(28, GROUP, "gif", sender=BOB, via_bot_id=HELPER_BOT.id), directory)
    assert entry["via_bot"] == "@helperbot"


def test_service_messages_have_actor_action_and_empty_text(directory):
    added = service_message(30, GROUP, types.MessageActionChatAddUser(users=[CARLA.id]), sender=BOB)
    assert convert(added, directory) == {
        "id": 30,
        "type": "service",
        "date": "2024-03-01T10:30:00",
        "date_unixtime": str(int(T0.timestamp()) + 1800),
        "actor": "Bob Rossi",
        "actor_id": "user2001",
        "action": "invite_members",
        "members": ["Carla"],
        "text": "",
        "text_entities": [],
    }
    call = service_message(
        31,
        BOB,
        types.MessageActionPhoneCall(call_id=1, reason=types.PhoneCallDiscardReasonMissed()),
        sender=BOB,
    )
    entry = convert(call, directory)
    assert (entry["action"], entry["discard_reason"]) == ("phone_call", "missed")
    assert "duration_seconds" not in entry
    pin = service_message(
        32,
        GROUP,
        types.MessageActionPinMessage(),
        sender=BOB,
        reply_to=types.MessageReplyHeader(reply_to_msg_id=25),
    )
    assert convert(pin, directory)["message_id"] == 25
    created = service_message(
        33, GROUP, types.MessageActionChatCreate(title="Gita al lago", users=[ME.id, BOB.id]), sender=ME
    )
    entry = convert(created, directory)
    assert (entry["action"], entry["title"], entry["members"]) == (
        "create_group",
        "Gita al lago",
        ["Ada Lovelace", "Bob Rossi"],
    )


def test_unknown_service_actions_keep_their_tl_name(directory):
    entry = convert(
        service_message(
            34, BOB, types.MessageActionNoForwardsToggle(prev_value=False, new_value=True), sender=BOB
        ),
        directory,
    )
    assert (entry["type"], entry["action"], entry["actor_id"]) == (
        "service",
        "no_forwards_toggle",
        "user2001",
    )


def test_migrated_group_messages_get_desktop_negative_ids(directory):
    reply = types.MessageReplyHeader(reply_to_msg_id=2)
    entry = convert(
        text_message(3, GROUP, "vecchio", sender=BOB, reply_to=reply), directory, id_shift=MIGRATED_ID_SHIFT
    )
    assert (entry["id"], entry["reply_to_message_id"]) == (3 - 1_000_000_000, 2 - 1_000_000_000)


def test_chat_headers_and_types():
    assert chat_header(BOB) == {"name": "Bob Rossi", "type": "personal_chat", "id": 2001}
    assert chat_header(HELPER_BOT)["type"] == "bot_chat"
    assert chat_header(ME) == {"type": "saved_messages", "id": 1000}  # Desktop writes no name here
    assert chat_header(GROUP) == {"name": "Gita al lago", "type": "private_group", "id": 3001}
    assert chat_header(SUPERGROUP) == {"name": "Calcetto", "type": "private_supergroup", "id": 4001}
    assert chat_header(NEWS) == {"name": "News", "type": "public_channel", "id": 5001}  # bare id, not -100...


def test_personal_information_identifies_the_owner():
    assert personal_information(ME, "bio") == {
        "user_id": 1000,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone_number": "+393331234567",
        "username": "@ada",
        "bio": "bio",
    }
