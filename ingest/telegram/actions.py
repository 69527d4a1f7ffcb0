"""Service messages (group created, member added, call, pinned message, ...) in Telegram Desktop's layout.

Desktop writes `actor`/`actor_id` (who did it), `action` (a snake_case name) and the action's own keys:

    {"id": 3, "type": "service", ..., "actor": "Ada", "actor_id": "user42", "action": "invite_members",
     "members": ["Bob"], "text": "", "text_entities": []}

Actions Desktop knows get its names and keys; any other (Telegram adds new ones every few months) gets its
TL name in snake_case, so nothing is dropped and readers that skip service messages are unaffected.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telethon.tl import types

from ingest.telegram.fields import Json, PeerDirectory, peer_key, photo_fields, reply_fields


@dataclass
class _Context:
    message: types.MessageService
    directory: PeerDirectory
    id_shift: int

    def members(self, user_ids: list[int]) -> Json:
        return {"members": [self.directory.user_name(user_id) for user_id in user_ids]}

    def reply(self, key: str) -> Json:
        return reply_fields(self.message, key, self.id_shift)


def _phone_call(action: types.MessageActionPhoneCall, _: _Context) -> tuple[str, Json]:
    fields: Json = {"duration_seconds": action.duration} if action.duration else {}
    reason = {
        types.PhoneCallDiscardReasonBusy: "busy",
        types.PhoneCallDiscardReasonDisconnect: "disconnect",
        types.PhoneCallDiscardReasonHangup: "hangup",
        types.PhoneCallDiscardReasonMissed: "missed",
        types.PhoneCallDiscardReasonMigrateConferenceCall: "migrate_conference_all",  # sic, as Desktop
    }.get(type(action.reason))
    if reason:
        fields["discard_reason"] = reason
    return "phone_call", fields


def _conference_call(action: types.MessageActionConferenceCall, _: _Context) -> tuple[str, Json]:
    fields: Json = {"duration_seconds": action.duration} if action.duration else {}
    return "conference_call", {**fields, "is_active": bool(action.active), "is_missed": bool(action.missed)}


def _bot_allowed(action: types.MessageActionBotAllowed, _: _Context) -> tuple[str, Json]:
    if action.attach_menu:
        return "attach_menu_bot_allowed", {}
    if action.from_request:
        return "web_app_bot_allowed", {}
    if isinstance(action.app, types.BotApp):
        return "allow_sending_messages", {"reason_app_id": action.app.id, "reason_app_name": action.app.title}
    return "allow_sending_messages", {"reason_domain": action.domain} if action.domain else {}


def _secure_value_name(value: Any) -> str:
    name = _snake(type(value).__name__.removeprefix("SecureValueType"))
    return {"address": "address_information", "phone": "phone_number"}.get(name, name)


def _proximity(action: types.MessageActionGeoProximityReached, ctx: _Context) -> tuple[str, Json]:
    return "proximity_reached", {
        "from": ctx.directory.name(action.from_id),
        "from_id": peer_key(action.from_id),
        "to": ctx.directory.name(action.to_id),
        "to_id": peer_key(action.to_id),
        "distance": action.distance,
    }


def _payment(action: types.MessageActionPaymentSent, ctx: _Context) -> tuple[str, Json]:
    fields = {"amount": action.total_amount, "currency": action.currency, **ctx.reply("invoice_message_id")}
    if action.recurring_used:
        fields["recurring"] = "used"
    elif action.recurring_init:
        fields["recurring"] = "init"
    return "send_payment", fields


def _topic_edit(action: types.MessageActionTopicEdit, _: _Context) -> tuple[str, Json]:
    fields: Json = {"new_title": action.title} if action.title else {}
    if action.icon_emoji_id:
        fields["new_icon_emoji_id"] = action.icon_emoji_id
    return "topic_edit", fields


Handler = Callable[[Any, _Context], tuple[str | None, Json]]

# Desktop's name and keys for each action it exports.
_HANDLERS: dict[type, Handler] = {
    types.MessageActionChatCreate: lambda a, c: ("create_group", {"title": a.title, **c.members(a.users)}),
    types.MessageActionChatEditTitle: lambda a, c: ("edit_group_title", {"title": a.title}),
    types.MessageActionChatEditPhoto: lambda a, c: ("edit_group_photo", photo_fields(a.photo)),
    types.MessageActionChatDeletePhoto: lambda a, c: ("delete_group_photo", {}),
    types.MessageActionChatAddUser: lambda a, c: ("invite_members", c.members(a.users)),
    types.MessageActionChatDeleteUser: lambda a, c: ("remove_members", c.members([a.user_id])),
    types.MessageActionChatJoinedByLink: lambda a, c: (
        "join_group_by_link",
        {"inviter": c.directory.user_name(a.inviter_id)},
    ),
    types.MessageActionChatJoinedByRequest: lambda a, c: ("join_group_by_request", {}),
    types.MessageActionChannelCreate: lambda a, c: ("create_channel", {"title": a.title}),
    types.MessageActionChatMigrateTo: lambda a, c: ("migrate_to_supergroup", {}),
    types.MessageActionChannelMigrateFrom: lambda a, c: ("migrate_from_group", {"title": a.title}),
    types.MessageActionPinMessage: lambda a, c: ("pin_message", c.reply("message_id")),
    types.MessageActionHistoryClear: lambda a, c: ("clear_history", {}),
    types.MessageActionGameScore: lambda a, c: (
        "score_in_game",
        {**c.reply("game_message_id"), "score": a.score},
    ),
    types.MessageActionPaymentSent: _payment,
    types.MessageActionPhoneCall: _phone_call,
    types.MessageActionConferenceCall: _conference_call,
    types.MessageActionScreenshotTaken: lambda a, c: ("take_screenshot", {}),
    types.MessageActionCustomAction: lambda a, c: (None, {"information_text": a.message}),
    types.MessageActionBotAllowed: _bot_allowed,
    types.MessageActionSecureValuesSent: lambda a, c: (
        "send_passport_values",
        {"values": [_secure_value_name(value) for value in a.types]},
    ),
    types.MessageActionContactSignUp: lambda a, c: ("joined_telegram", {}),
    types.MessageActionGeoProximityReached: _proximity,
    types.MessageActionGroupCall: lambda a, c: ("group_call", {"duration": a.duration} if a.duration else {}),
    types.MessageActionInviteToGroupCall: lambda a, c: ("invite_to_group_call", c.members(a.users)),
    types.MessageActionSetMessagesTTL: lambda a, c: ("set_messages_ttl", {"period": a.period}),
    types.MessageActionGroupCallScheduled: lambda a, c: (
        "group_call_scheduled",
        {"schedule_date": int(a.schedule_date.timestamp())} if a.schedule_date else {},
    ),
    types.MessageActionSetChatTheme: lambda a, c: (
        "edit_chat_theme",
        {"emoticon": a.theme.emoticon} if getattr(a.theme, "emoticon", None) else {},
    ),
    types.MessageActionWebViewDataSent: lambda a, c: ("send_webview_data", {"text": a.text}),
    types.MessageActionGiftPremium: lambda a, c: ("send_premium_gift", {"days": a.days} if a.days else {}),
    types.MessageActionTopicCreate: lambda a, c: ("topic_created", {"title": a.title}),
    types.MessageActionTopicEdit: _topic_edit,
    types.MessageActionSuggestProfilePhoto: lambda a, c: ("suggest_profile_photo", photo_fields(a.photo)),
    types.MessageActionRequestedPeer: lambda a, c: (
        "requested_peer",
        {"button_id": a.button_id, "peers": [peer_key(peer) for peer in a.peers]},
    ),
    types.MessageActionSetChatWallPaper: lambda a, c: (
        "set_same_chat_wallpaper" if a.same else "set_chat_wallpaper",
        c.reply("message_id"),
    ),
    types.MessageActionBoostApply: lambda a, c: ("boost_apply", {"boosts": a.boosts}),
}

# Desktop's names for actions whose details we do not export (gifts, giveaways, paid posts, ...).
_NAMES_ONLY: dict[type, str] = {
    types.MessageActionGiftCode: "gift_code_prize",
    types.MessageActionGiveawayLaunch: "giveaway_launch",
    types.MessageActionGiveawayResults: "giveaway_results",
    types.MessageActionPaymentRefunded: "refunded_payment",
    types.MessageActionGiftStars: "send_stars_gift",
    types.MessageActionGiftTon: "send_ton_gift",
    types.MessageActionPrizeStars: "stars_prize",
    types.MessageActionStarGift: "send_star_gift",
    types.MessageActionPaidMessagesRefunded: "paid_messages_refund",
    types.MessageActionPaidMessagesPrice: "paid_messages_price_change",
    types.MessageActionTodoCompletions: "todo_completions",
    types.MessageActionTodoAppendTasks: "todo_append_tasks",
    types.MessageActionSuggestedPostApproval: "process_suggested_post",
    types.MessageActionSuggestedPostSuccess: "suggested_post_success",
    types.MessageActionSuggestedPostRefund: "suggested_post_refund",
    types.MessageActionSuggestBirthday: "suggest_birthday",
}

# Desktop writes no actor for these (they describe the account, not someone's act in the chat).
_WITHOUT_ACTOR: set[type] = {
    types.MessageActionPaymentSent,
    types.MessageActionBotAllowed,
    types.MessageActionSecureValuesSent,
    types.MessageActionGeoProximityReached,
    types.MessageActionWebViewDataSent,
    types.MessageActionGiftCode,
    types.MessageActionGiveawayLaunch,
    types.MessageActionGiveawayResults,
    types.MessageActionPaymentRefunded,
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def service_fields(
    message: types.MessageService, *, actor: Json, directory: PeerDirectory, id_shift: int = 0
) -> Json:
    """`actor`, `actor_id`, `action` and the action's own keys, in Desktop's order."""
    action = message.action
    handler = _HANDLERS.get(type(action))
    if handler is not None:
        name, fields = handler(action, _Context(message, directory, id_shift))
    else:
        name = _NAMES_ONLY.get(type(action)) or _snake(type(action).__name__.removeprefix("MessageAction"))
        fields = {}
    result: Json = {} if type(action) in _WITHOUT_ACTOR else dict(actor)
    if name is not None:
        result["action"] = name
    result.update(fields)
    return result
