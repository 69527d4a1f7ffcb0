"""Real Telethon TL objects built offline, and a stand-in for the network that serves them.

Telegram cannot be reached from the tests, so `FakeTelegram` implements just the client calls the export
makes (`get_me`, `iter_dialogs`, `takeout`, `iter_messages`, ...) over a fixed account. Everything it
returns is a genuine `telethon.tl.types` object, attached to its users and chats exactly as Telethon's own
message iterator does (`Message._finish_init`), so the conversion, journal, state and retry code under
test run unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from types import SimpleNamespace
from typing import Any

from telethon import errors, utils
from telethon._updates import EntityCache
from telethon.tl import functions, types

T0 = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)

ME = types.User(
    id=1000, is_self=True, first_name="Ada", last_name="Lovelace", username="ada", phone="393331234567"
)
BOB = types.User(id=2001, first_name="Bob", last_name="Rossi", access_hash=11, username="bobr")
CARLA = types.User(id=2002, first_name="Carla", access_hash=12)
GHOST = types.User(id=2003, deleted=True, access_hash=13)  # a deleted account: no name
HELPER_BOT = types.User(
    id=2004, first_name="Helper", bot=True, bot_info_version=1, username="helperbot", access_hash=14
)
GROUP = types.Chat(
    id=3001, title="Gita al lago", photo=types.ChatPhotoEmpty(), participants_count=3, date=T0, version=1
)
SUPERGROUP = types.Channel(
    id=4001, title="Calcetto", photo=types.ChatPhotoEmpty(), date=T0, megagroup=True, access_hash=41
)
NEWS = types.Channel(
    id=5001,
    title="News",
    photo=types.ChatPhotoEmpty(),
    date=T0,
    broadcast=True,
    username="news",
    access_hash=51,
)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def text_message(
    msg_id: int, chat: Any, text: str, *, sender: types.User | None = None, minutes: float = 0, **fields: Any
) -> types.Message:
    """A message as Telegram sends it: in private chats the other person's messages carry no `from_id`
    and the owner's are `out`; in groups every message names its sender."""
    peer = utils.get_peer(chat)
    if isinstance(peer, types.PeerUser):
        fields.setdefault("out", sender is ME)
        if sender is ME:
            fields.setdefault("from_id", types.PeerUser(ME.id))
    elif sender is not None:
        fields.setdefault("from_id", types.PeerUser(sender.id))
        fields.setdefault("out", sender is ME)
    return types.Message(id=msg_id, peer_id=peer, date=at(minutes or msg_id), message=text, **fields)


def service_message(msg_id: int, chat: Any, action: Any, *, sender: types.User | None = None, **fields: Any):
    from_id = types.PeerUser(sender.id) if sender else None
    return types.MessageService(
        id=msg_id, peer_id=utils.get_peer(chat), date=at(msg_id), action=action, from_id=from_id, **fields
    )


def document(mime: str, size: int, attributes: list[Any], thumbs: list[Any] | None = None) -> types.Document:
    return types.Document(
        id=77, access_hash=1, file_reference=b"", date=T0, mime_type=mime, size=size, dc_id=2,
        attributes=attributes, thumbs=thumbs,
    )  # fmt: skip


def photo(*sizes: Any) -> types.Photo:
    return types.Photo(id=88, access_hash=1, file_reference=b"", date=T0, sizes=list(sizes), dc_id=2)


def sticker(emoji: str = "😂") -> types.MessageMediaDocument:
    attributes = [
        types.DocumentAttributeImageSize(w=512, h=512),
        types.DocumentAttributeSticker(alt=emoji, stickerset=types.InputStickerSetEmpty()),
    ]
    return types.MessageMediaDocument(document=document("image/webp", 24_000, attributes))


def voice(seconds: int = 7) -> types.MessageMediaDocument:
    attributes = [types.DocumentAttributeAudio(duration=seconds, voice=True)]
    return types.MessageMediaDocument(document=document("audio/ogg", 9_000, attributes), voice=True)


class FakeTelegram:
    """The network side of a Telethon client, over a fixed account (see the module docstring).

    `history` pairs a chat (its entity, or `PeerChat` for a group's pre-migration history) with its
    messages; `failures` pairs a chat (or "dialogs") with [(after N messages served, exception), ...],
    each raised once. (TL objects are unhashable, hence pairs rather than dicts.)
    """

    def __init__(
        self,
        dialogs: list[Any],
        history: list[tuple[Any, list[Any]]],
        *,
        failures: Sequence[tuple[Any, list[tuple[int, BaseException]]]] = (),
        takeout_delay: int | None = None,
        authorized: bool = True,
        bio: str = "",
    ) -> None:
        self.me = ME
        self._self_id = ME.id
        self._mb_entity_cache = EntityCache(self_id=ME.id, self_bot=False)
        self.session = SimpleNamespace(takeout_id=None)
        self.dialogs = dialogs
        self.history = {self._key(chat): sorted(messages, key=lambda m: m.id) for chat, messages in history}
        self.failures = {self._key(chat): list(plan) for chat, plan in failures}  # "dialogs" too
        self.served: dict[str, int] = {}
        self.takeout_delay = takeout_delay
        self.authorized = authorized
        self.bio = bio
        self.entities = {utils.get_peer_id(e): e for e in [ME, BOB, CARLA, GHOST, HELPER_BOT, *dialogs]}
        self.calls: list[tuple[str, Any]] = []  # what the export asked for, in order
        self.takeouts: list[dict[str, Any]] = []

    @staticmethod
    def _key(chat: Any) -> str:
        return chat if isinstance(chat, str) else str(utils.get_peer_id(utils.get_peer(chat)))

    def add(self, chat: Any, *messages: Any) -> None:
        self.history[self._key(chat)] = sorted(
            [*self.history.get(self._key(chat), []), *messages], key=lambda m: m.id
        )

    async def connect(self) -> None:
        self.calls.append(("connect", None))

    async def disconnect(self) -> None:
        self.calls.append(("disconnect", None))

    async def is_user_authorized(self) -> bool:
        return self.authorized

    async def get_me(self) -> types.User:
        return self.me

    async def __call__(self, request: Any) -> Any:
        assert isinstance(request, functions.users.GetFullUserRequest), request
        full = types.UserFull(
            id=ME.id,
            settings=types.PeerSettings(),
            notify_settings=types.PeerNotifySettings(),
            common_chats_count=0,
            about=self.bio or None,
        )
        return types.users.UserFull(full_user=full, chats=[], users=[ME])

    async def iter_dialogs(self, ignore_migrated: bool = False) -> AsyncIterator[Any]:
        self.calls.append(("iter_dialogs", ignore_migrated))
        self._maybe_fail("dialogs")
        for entity in self.dialogs:
            yield SimpleNamespace(entity=entity)

    def takeout(self, finalize: bool = True, **kinds: Any) -> _FakeTakeout:
        return _FakeTakeout(self, kinds)

    async def end_takeout(self, success: bool) -> bool:
        self.session.takeout_id = None
        return True

    async def iter_messages(self, peer: Any, *, reverse: bool, min_id: int, wait_time: Any = None):
        key = self._key(peer)
        self.calls.append(("iter_messages", (key, min_id)))
        assert reverse, "the export must read history oldest-first"
        for message in self.history.get(key, []):
            if message.id <= min_id:
                continue
            self._maybe_fail(key)
            message._finish_init(self, self.entities, None)
            self.served[key] = self.served.get(key, 0) + 1
            yield message

    def _maybe_fail(self, key: str) -> None:
        plan = self.failures.get(key, [])
        if plan and self.served.get(key, 0) >= plan[0][0]:
            raise plan.pop(0)[1]


class _FakeTakeout:
    def __init__(self, client: FakeTelegram, kinds: dict[str, Any]) -> None:
        self.client, self.kinds = client, kinds

    async def __aenter__(self) -> FakeTelegram:
        if self.client.takeout_delay is not None:
            raise errors.TakeoutInitDelayError(request=None, capture=self.client.takeout_delay)
        self.client.takeouts.append(self.kinds)
        self.client.session.takeout_id = 1
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        self.client.session.takeout_id = None
