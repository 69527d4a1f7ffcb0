"""Telethon TL objects -> the JSON layout of a Telegram Desktop full-account export (pure, no network).

A live export must read exactly like a Desktop `result.json`, so `chatlikeme ingest` needs no second parser:

    {"about": ..., "personal_information": {"user_id": 42, ...},
     "chats": {"about": ..., "list": [{"name": "Bob", "type": "personal_chat", "id": 7, "messages": [
        {"id": 12, "type": "message", "date": "2024-03-01T18:02:11", "date_unixtime": "1709312531",
         "from": "Ada Lovelace", "from_id": "user42", "reply_to_message_id": 11,
         "text": ["see ", {"type": "bold", "text": "this"}],
         "text_entities": [{"type": "plain", "text": "see "}, {"type": "bold", "text": "this"}]}, ...]}]}}

This module builds the chat headers, the owner's `personal_information` and whole messages; the pieces
of a message come from `fields`, service actions from `actions`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from telethon import utils
from telethon.tl import types

from ingest.telegram.actions import service_fields
from ingest.telegram.fields import (
    Json,
    PeerDirectory,
    date_fields,
    display_name,
    media_fields,
    peer_key,
    reactions_field,
    reply_fields,
    text_fields,
    text_parts,
)

REPLIES_BOT_ID = 1271266957  # the "Replies" service chat
VERIFICATION_CODES_ID = 489000  # the "Verification Codes" service chat
MIGRATED_ID_SHIFT = -1_000_000_000  # Desktop's ids for a supergroup's messages from before its migration


# --- chats and the account owner ----------------------------------------------------------------------------


def chat_type(entity: Any) -> str:
    """Desktop's chat `type` (personal_chat, bot_chat, private_group, public_supergroup, ...)."""
    if isinstance(entity, types.User):
        if entity.is_self:
            return "saved_messages"
        if entity.id == REPLIES_BOT_ID:
            return "replies"
        if entity.id == VERIFICATION_CODES_ID:
            return "verification_codes"
        return "bot_chat" if entity.bot else "personal_chat"
    if isinstance(entity, (types.Channel, types.ChannelForbidden)):
        public = bool(getattr(entity, "username", None))
        if entity.broadcast:
            return "public_channel" if public else "private_channel"
        return "public_supergroup" if public else "private_supergroup"
    return "private_group"


def bare_id(entity: Any) -> int:
    """The chat id a Desktop export shows: the bare user/chat/channel id, never Telethon's -100... form."""
    return utils.resolve_id(utils.get_peer_id(entity))[0]


def chat_header(entity: Any) -> Json:
    """`name`, `type`, `id` of a chat, in Desktop's order (its `messages` list follows them)."""
    kind = chat_type(entity)
    header: Json = {}
    if kind not in ("saved_messages", "replies", "verification_codes"):
        header["name"] = display_name(entity)
    header["type"] = kind
    header["id"] = bare_id(entity)
    return header


def personal_information(me: types.User, bio: str | None = None) -> Json:
    """The `personal_information` block; `user_id` is how ingest recognizes the persona's messages."""
    info: Json = {
        "user_id": me.id,
        "first_name": me.first_name or "",
        "last_name": me.last_name or "",
        "phone_number": f"+{me.phone}" if me.phone else "",
    }
    if me.username:
        info["username"] = f"@{me.username}"
    if bio:
        info["bio"] = bio
    return info


# --- messages -----------------------------------------------------------------------------------------------


def sender_peer(message: types.TypeMessage, self_id: int) -> types.TypePeer:
    """Who wrote a message. Incoming private messages carry no `from_id` (the chat is the sender), and
    outgoing ones may not either (then it is the account owner)."""
    if message.from_id is not None:
        return message.from_id
    if message.out:
        return types.PeerUser(self_id)
    return message.peer_id


def _forward_fields(forward: types.MessageFwdHeader | None, directory: PeerDirectory) -> Json:
    if forward is None:
        return {}
    fields: Json = {}
    if forward.from_id is not None:
        fields["forwarded_from"] = directory.name(forward.from_id)
        fields["forwarded_from_id"] = peer_key(forward.from_id)
    elif forward.from_name:
        fields["forwarded_from"] = forward.from_name
    if forward.saved_from_peer is not None:
        fields["saved_from"] = directory.name(forward.saved_from_peer)
    return fields


def message_to_desktop(
    message: types.TypeMessage,
    *,
    directory: PeerDirectory,
    self_id: int,
    tz: dt.tzinfo | None = None,
    id_shift: int = 0,
) -> Json:
    """One Telethon message as one entry of a Desktop chat's `messages` list.

    `tz` is the zone of the `date` wall-clock strings (None: this machine's, as Desktop does); `id_shift`
    renumbers the messages of a group that later became a supergroup, as Desktop does when it merges them.
    """
    if isinstance(message.media, types.MessageMediaUnsupported):
        return {"id": message.id + id_shift, "type": "unsupported"}
    is_service = isinstance(message, types.MessageService)
    entry: Json = {"id": message.id + id_shift, "type": "service" if is_service else "message"}
    entry.update(date_fields("date", message.date, tz))
    if getattr(message, "edit_date", None):
        entry.update(date_fields("edited", message.edit_date, tz))
    sender = sender_peer(message, self_id)
    if is_service:
        actor = {"actor": directory.name(sender), "actor_id": peer_key(sender)}
        entry.update(service_fields(message, actor=actor, directory=directory, id_shift=id_shift))
        entry.update(text_fields([]))
        return entry
    entry["from"] = directory.name(sender)
    entry["from_id"] = peer_key(sender)
    if message.post_author:
        entry["author"] = message.post_author
    entry.update(_forward_fields(message.fwd_from, directory))
    entry.update(reply_fields(message, "reply_to_message_id", id_shift))
    if message.via_bot_id and (bot := directory.usernames.get(f"user{message.via_bot_id}")):
        entry["via_bot"] = f"@{bot}"
    entry.update(media_fields(message.media, outgoing=bool(message.out)))
    entry.update(text_fields(text_parts(message.message, message.entities)))
    if message.reactions is not None and message.reactions.results:
        entry["reactions"] = reactions_field(message.reactions, directory, tz)
    return entry
