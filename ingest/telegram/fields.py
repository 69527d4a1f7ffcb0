"""The pieces of a Telegram Desktop export message, built from Telethon TL objects (pure, no network).

Field names, value shapes and key order follow Telegram Desktop's own exporter (`export_data_types.cpp`,
`export_output_json.cpp`): peers as "user123"/"chat123"/"channel123", dates as local wall-clock ISO time plus
a `*_unixtime` string, text as Desktop's parts (plain runs and entities split at UTF-16 offsets), media as
placeholders ("(File not included. ...)", since media are never downloaded) with their metadata.

Names of senders, forward sources and group members come from a `PeerDirectory` filled with the users and
chats Telegram sends along with every batch of history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from telethon import helpers, utils
from telethon.tl import types

# Telegram Desktop's placeholders for files it did not download ("Media are never downloaded").
FILE_NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"
FILE_UNAVAILABLE = "(File unavailable, please try again later)"


Json = dict[str, Any]


# --- peers and names ----------------------------------------------------------------------------------------


def peer_key(peer: types.TypePeer) -> str:
    """Desktop's id string for a peer: "user123", "chat123" or "channel123"."""
    if isinstance(peer, types.PeerUser):
        return f"user{peer.user_id}"
    if isinstance(peer, types.PeerChat):
        return f"chat{peer.chat_id}"
    return f"channel{peer.channel_id}"


def entity_key(entity: Any) -> str:
    return peer_key(utils.get_peer(entity))


def display_name(entity: Any) -> str | None:
    """What Desktop shows for a user ("First Last") or a chat (its title); None when there is nothing."""
    if isinstance(entity, types.User):
        return " ".join(part for part in (entity.first_name, entity.last_name) if part) or None
    return getattr(entity, "title", None) or None


@dataclass
class PeerDirectory:
    """Display names and usernames of every user and chat seen so far, keyed by `peer_key`."""

    names: dict[str, str | None] = field(default_factory=dict)
    usernames: dict[str, str] = field(default_factory=dict)

    def add(self, entity: Any) -> None:
        if entity is None or isinstance(entity, (types.UserEmpty, types.ChatEmpty)):
            return
        key = entity_key(entity)
        name = display_name(entity)
        if name is not None or key not in self.names:  # a later "min" copy must not erase a known name
            self.names[key] = name
        if getattr(entity, "username", None):
            self.usernames[key] = entity.username

    def learn_from(self, message: types.TypeMessage) -> None:
        """The entities Telethon attached to a message it fetched (sender, chat, forward source, ...)."""
        forward = getattr(message, "forward", None)
        for entity in (
            getattr(message, "sender", None),
            getattr(message, "chat", None),
            getattr(message, "via_bot", None),
            getattr(forward, "sender", None),
            getattr(forward, "chat", None),
            *(getattr(message, "action_entities", None) or ()),
        ):
            self.add(entity)

    def name(self, peer: types.TypePeer | None) -> str | None:
        return None if peer is None else self.names.get(peer_key(peer))

    def user_name(self, user_id: int) -> str | None:
        return self.names.get(f"user{user_id}")


# --- dates and text -----------------------------------------------------------------------------------------


def date_fields(prefix: str, when: dt.datetime, tz: dt.tzinfo | None) -> Json:
    """`date` as local wall-clock ISO time (no zone, as Desktop writes it) and `date_unixtime` as a string."""
    local = when.astimezone(tz).replace(tzinfo=None)
    return {prefix: local.isoformat(timespec="seconds"), f"{prefix}_unixtime": str(int(when.timestamp()))}


_ENTITY_TYPES: dict[type, str] = {
    types.MessageEntityUnknown: "unknown",
    types.MessageEntityMention: "mention",
    types.MessageEntityHashtag: "hashtag",
    types.MessageEntityBotCommand: "bot_command",
    types.MessageEntityUrl: "link",
    types.MessageEntityEmail: "email",
    types.MessageEntityBold: "bold",
    types.MessageEntityItalic: "italic",
    types.MessageEntityCode: "code",
    types.MessageEntityPre: "pre",
    types.MessageEntityTextUrl: "text_link",
    types.MessageEntityMentionName: "mention_name",
    types.InputMessageEntityMentionName: "mention_name",
    types.MessageEntityPhone: "phone",
    types.MessageEntityCashtag: "cashtag",
    types.MessageEntityUnderline: "underline",
    types.MessageEntityStrike: "strikethrough",
    types.MessageEntityBlockquote: "blockquote",
    types.MessageEntityBankCard: "bank_card",
    types.MessageEntitySpoiler: "spoiler",
    types.MessageEntityCustomEmoji: "custom_emoji",
}


def _entity_extra(entity: types.TypeMessageEntity) -> Json:
    """The one extra key some entity types carry, with Desktop's value types."""
    if isinstance(entity, types.MessageEntityPre):
        return {"language": entity.language or ""}
    if isinstance(entity, types.MessageEntityTextUrl):
        return {"href": entity.url}
    if isinstance(entity, types.MessageEntityMentionName):
        return {"user_id": entity.user_id}
    if isinstance(entity, types.InputMessageEntityMentionName):
        return {"user_id": getattr(entity.user_id, "user_id", 0)}
    if isinstance(entity, types.MessageEntityCustomEmoji):
        return {"document_id": str(entity.document_id)}
    if isinstance(entity, types.MessageEntityBlockquote):
        return {"collapsed": bool(entity.collapsed)}
    return {}


def text_parts(text: str | None, entities: list[types.TypeMessageEntity] | None) -> list[Json]:
    """Split a message into Desktop's text parts: plain runs between the entities, one part per entity.

    Offsets count UTF-16 code units (Telethon's surrogate helpers make Python indices match). Like Desktop,
    an entity nested in or overlapping an earlier one is not split out, so the parts always join back
    to exactly the original text.
    """
    text = helpers.add_surrogate(text or "")
    parts: list[Json] = []
    offset = 0

    def add_plain(until: int) -> None:
        nonlocal offset
        if until > offset:
            parts.append({"type": "plain", "text": helpers.del_surrogate(text[offset:until])})
            offset = until

    for entity in entities or ():
        start, end = entity.offset, entity.offset + entity.length
        if start < offset or entity.length <= 0 or end > len(text):
            continue
        add_plain(start)
        kind = _ENTITY_TYPES.get(type(entity), "unknown")
        parts.append({"type": kind, "text": helpers.del_surrogate(text[start:end]), **_entity_extra(entity)})
        offset = end
    add_plain(len(text))
    return parts


def text_fields(parts: list[Json]) -> Json:
    """`text` (a string when it is all plain, else a list mixing strings and entity objects) and
    `text_entities` (always a list of objects)."""
    if not parts:
        text: str | list[Any] = ""
    elif len(parts) == 1 and parts[0]["type"] == "plain":
        text = parts[0]["text"]
    else:
        text = [part["text"] if part["type"] == "plain" else part for part in parts]
    return {"text": text, "text_entities": parts}


def text_with_entities(value: types.TextWithEntities | str | None) -> str | list[Any]:
    """A poll question/answer or to-do title: a TextWithEntities in current layers, a str in old ones."""
    if isinstance(value, types.TextWithEntities):
        return text_fields(text_parts(value.text, value.entities))["text"]
    return value or ""


# --- media --------------------------------------------------------------------------------------------------

_SIZED_PHOTO_TYPES = (types.PhotoSize, types.PhotoCachedSize, types.PhotoSizeProgressive)


def _largest_size(sizes: list[types.TypePhotoSize] | None) -> types.TypePhotoSize | None:
    """The biggest real image among a photo's sizes (stripped/path previews and empty sizes excluded)."""
    sized = [size for size in sizes or () if isinstance(size, _SIZED_PHOTO_TYPES)]
    return max(sized, key=lambda size: size.w * size.h, default=None)


def _size_bytes(size: types.TypePhotoSize) -> int:
    if isinstance(size, types.PhotoCachedSize):
        return len(size.bytes)
    if isinstance(size, types.PhotoSizeProgressive):
        return size.sizes[-1] if size.sizes else 0
    return size.size


def photo_fields(photo: types.TypePhoto | None, placeholder: str = FILE_NOT_INCLUDED) -> Json:
    largest = _largest_size(photo.sizes) if isinstance(photo, types.Photo) else None
    if largest is None:
        return {"photo": FILE_UNAVAILABLE}
    return {
        "photo": placeholder,
        "photo_file_size": _size_bytes(largest),
        "width": largest.w,
        "height": largest.h,
    }


@dataclass
class _DocumentKind:
    """What Desktop derives from a document's attributes."""

    media_type: str | None = None
    sticker_emoji: str | None = None
    performer: str | None = None
    title: str | None = None
    file_name: str | None = None
    duration: int = 0
    width: int = 0
    height: int = 0


def _document_kind(document: types.Document) -> _DocumentKind:
    kind = _DocumentKind()
    flags: set[str] = set()
    for attribute in document.attributes:
        if isinstance(attribute, types.DocumentAttributeImageSize):
            kind.width, kind.height = attribute.w, attribute.h
        elif isinstance(attribute, types.DocumentAttributeAnimated):
            flags.add("animation")
        elif isinstance(attribute, (types.DocumentAttributeSticker, types.DocumentAttributeCustomEmoji)):
            flags.add("sticker")
            kind.sticker_emoji = attribute.alt
        elif isinstance(attribute, types.DocumentAttributeVideo):
            flags.add("video_message" if attribute.round_message else "video_file")
            kind.width, kind.height, kind.duration = attribute.w, attribute.h, int(attribute.duration)
        elif isinstance(attribute, types.DocumentAttributeAudio):
            flags.add("voice_message" if attribute.voice else "audio_file")
            kind.performer, kind.title = attribute.performer, attribute.title
            kind.duration = attribute.duration
        elif isinstance(attribute, types.DocumentAttributeFilename):
            kind.file_name = attribute.file_name
    # A GIF is both "animated" and "video"; Desktop decides in this order.
    priority = ("sticker", "video_message", "voice_message", "animation", "video_file", "audio_file")
    kind.media_type = next((name for name in priority if name in flags), None)
    return kind


def document_fields(document: types.TypeDocument | None, placeholder: str = FILE_NOT_INCLUDED) -> Json:
    if not isinstance(document, types.Document):
        return {"file": FILE_UNAVAILABLE}
    kind = _document_kind(document)
    fields: Json = {"file": placeholder}
    if kind.file_name:
        fields["file_name"] = kind.file_name
    fields["file_size"] = document.size
    thumb = _largest_size(document.thumbs)
    if thumb is not None and thumb.w > 0:
        fields["thumbnail"] = placeholder
        fields["thumbnail_file_size"] = _size_bytes(thumb)
    if kind.media_type:
        fields["media_type"] = kind.media_type
    if kind.media_type == "sticker" and kind.sticker_emoji:
        fields["sticker_emoji"] = kind.sticker_emoji
    if kind.media_type == "audio_file":
        fields.update({k: v for k, v in (("performer", kind.performer), ("title", kind.title)) if v})
    if document.mime_type:
        fields["mime_type"] = document.mime_type
    if kind.duration:
        fields["duration_seconds"] = kind.duration
    if kind.width and kind.height:
        fields["width"], fields["height"] = kind.width, kind.height
    return fields


def _location(geo: types.TypeGeoPoint) -> Json | None:
    if isinstance(geo, types.GeoPoint):
        return {"latitude": geo.lat, "longitude": geo.long}
    return None


def _poll(media: types.MessageMediaPoll) -> Json:
    votes: dict[bytes, types.PollAnswerVoters] = {r.option: r for r in media.results.results or ()}
    answers = []
    for answer in media.poll.answers:
        result = votes.get(answer.option)
        answers.append(
            {
                "text": text_with_entities(answer.text),
                "voters": (result.voters or 0) if result else 0,
                "chosen": bool(result and result.chosen),
            }
        )
    return {
        "question": text_with_entities(media.poll.question),
        "closed": bool(media.poll.closed),
        "total_voters": media.results.total_voters or 0,
        "answers": answers,
    }


def _todo_list(media: types.MessageMediaToDo) -> Json:
    todo = media.todo
    return {
        "title": text_with_entities(todo.title),
        "others_can_append": bool(todo.others_can_append),
        "others_can_complete": bool(todo.others_can_complete),
        "answers": [{"text": text_with_entities(item.title), "id": item.id} for item in todo.list],
    }


def media_fields(media: types.TypeMessageMedia | None, *, outgoing: bool) -> Json:
    """The keys a message's media adds; files are placeholders since media are never downloaded.

    Web page previews, dice and stories add nothing (as in Desktop). Self-destructing media received from
    others cannot be exported at all, so their file is "unavailable".
    """
    ttl = getattr(media, "ttl_seconds", None)
    placeholder = FILE_UNAVAILABLE if ttl and not outgoing else FILE_NOT_INCLUDED
    fields: Json = {}
    if isinstance(media, types.MessageMediaPhoto):
        fields = photo_fields(media.photo, placeholder)
    elif isinstance(media, types.MessageMediaDocument):
        fields = document_fields(media.document, placeholder)
    elif isinstance(media, types.MessageMediaContact):
        fields = {
            "contact_information": {
                "first_name": media.first_name,
                "last_name": media.last_name,
                "phone_number": media.phone_number,
            }
        }
        if media.vcard:
            fields["contact_vcard"] = FILE_NOT_INCLUDED
    elif isinstance(media, types.MessageMediaGeoLive):
        fields = {"location_information": _location(media.geo), "live_location_period_seconds": media.period}
    elif isinstance(media, types.MessageMediaGeo):
        fields = {"location_information": _location(media.geo)}
    elif isinstance(media, types.MessageMediaVenue):
        fields = {"place_name": media.title, "address": media.address}
        if (location := _location(media.geo)) is not None:
            fields["location_information"] = location
    elif isinstance(media, types.MessageMediaGame):
        fields = {"game_title": media.game.title, "game_description": media.game.description}
    elif isinstance(media, types.MessageMediaInvoice):
        invoice: Json = {
            "title": media.title,
            "description": media.description,
            "amount": media.total_amount,
            "currency": media.currency,
        }
        if media.receipt_msg_id:
            invoice["receipt_message_id"] = media.receipt_msg_id
        fields = {"invoice_information": invoice}
    elif isinstance(media, types.MessageMediaPoll):
        fields = {"poll": _poll(media)}
    elif isinstance(media, types.MessageMediaToDo):
        fields = {"todo_list": _todo_list(media)}
    elif isinstance(media, types.MessageMediaPaidMedia):
        fields = {"paid_stars_amount": media.stars_amount}
    if getattr(media, "spoiler", False):
        fields["media_spoiler"] = True
    if ttl:
        fields["self_destruct_period_seconds"] = ttl
    return fields


# --- reactions ----------------------------------------------------------------------------------------------


def _reaction_key(reaction: types.TypeReaction) -> Json:
    if isinstance(reaction, types.ReactionEmoji):
        return {"type": "emoji", "emoji": reaction.emoticon}
    if isinstance(reaction, types.ReactionCustomEmoji):
        return {"type": "custom_emoji", "document_id": str(reaction.document_id)}
    if isinstance(reaction, types.ReactionPaid):
        return {"type": "paid"}
    return {"type": "empty"}


def reactions_field(
    reactions: types.MessageReactions, directory: PeerDirectory, tz: dt.tzinfo | None
) -> list[Json]:
    """Desktop's `reactions`: one entry per reaction with its count and, when known, who reacted recently."""
    entries: dict[str, Json] = {}
    for result in reactions.results:
        key = _reaction_key(result.reaction)
        entries.setdefault(repr(key), {"type": key["type"], "count": result.count, **key})
    for recent in reactions.recent_reactions or ():
        key = _reaction_key(recent.reaction)
        entry = entries.setdefault(repr(key), {"type": key["type"], "count": 0, **key})
        entry.setdefault("recent", []).append(
            {
                "from": directory.name(recent.peer_id),
                "from_id": peer_key(recent.peer_id),
                "date": date_fields("date", recent.date, tz)["date"],
            }
        )
    return list(entries.values())


# --- replies -----------------------------------------------------------------------------------------------


def reply_fields(message: types.TypeMessage, key: str, id_shift: int = 0) -> Json:
    """`reply_to_message_id` (or another `key`, e.g. a pinned message's `message_id`) and, for a reply
    into another chat, `reply_to_peer_id`. Ids within the chat are renumbered like the message itself."""
    reply_to = message.reply_to
    if not isinstance(reply_to, types.MessageReplyHeader) or not reply_to.reply_to_msg_id:
        return {}
    other_chat = reply_to.reply_to_peer_id
    if other_chat is not None and other_chat != message.peer_id:
        return {key: reply_to.reply_to_msg_id, "reply_to_peer_id": peer_key(other_chat)}
    return {key: reply_to.reply_to_msg_id + id_shift}
