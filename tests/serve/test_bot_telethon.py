"""`chatlikeme bot` end to end without Telegram's servers: a real Telethon client delivers real
`UpdateNewMessage` objects through its own event dispatch to the handlers `run_bot` registers, the bot asks
a real model server (vLLM on the tiny model, as `chatlikeme serve` runs it), and what the client sends
back to Telegram is recorded at the request level (`SendMessageRequest`, `SetTypingRequest`,
`SaveDraftRequest`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest
from telethon import TelegramClient, utils
from telethon.sessions import StringSession
from telethon.tl import functions, types

from core.io import read_jsonl
from core.schema import ChatEntry
from core.votes import VoteStore, kto_rows_from_votes
from serve.bot import (
    AnswerLog,
    BotConfig,
    BotState,
    Contacts,
    DraftBot,
    PersonaBot,
    ServerGenerator,
    TelethonChat,
    attach,
    split_reply,
)

pytestmark = pytest.mark.vllm

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
PERSONA_BOT = types.User(
    id=900, is_self=True, bot=True, first_name="Marco", username="marco_bot", access_hash=9
)
OWNER = types.User(id=1000, is_self=True, first_name="Marco", last_name="Bianchi", access_hash=10)
FRIENDS = [types.User(id=2000 + i, first_name=f"Amico{i}", access_hash=20 + i) for i in range(5)]
STRANGER = types.User(id=3000, first_name="Sconosciuto", access_hash=30)
GIULIA = FRIENDS[0]


class OfflineTelegram(TelegramClient):
    """A real Telethon client whose network ends here: updates are fed to its own dispatcher, and each
    request it would send to Telegram is recorded and answered as Telegram answers it. `disconnect_at`
    makes the n-th `SendMessageRequest` (0-based) fail as a dropped connection does."""

    def __init__(self, me: types.User) -> None:
        super().__init__(StringSession(), api_id=1, api_hash="0" * 32, receive_updates=False)
        self.me = me
        self.requests: list[Any] = []
        self.disconnect_at: int | None = None
        self._ids = itertools.count(100_000)

    async def __call__(self, request: Any, ordered: bool = False, flood_sleep_threshold: Any = None) -> Any:
        if isinstance(request, functions.users.GetUsersRequest):
            return [self.me]
        if isinstance(request, functions.messages.SendMessageRequest):
            if self.disconnect_at is not None and len(self.sent()) == self.disconnect_at:
                self.disconnect_at = None
                raise ConnectionError("Connection to Telegram failed 5 time(s)")
            self.requests.append(request)
            return types.UpdateShortSentMessage(out=True, id=next(self._ids), pts=1, pts_count=1, date=T0)
        if isinstance(request, functions.messages.SetTypingRequest | functions.messages.SaveDraftRequest):
            self.requests.append(request)
            return True
        raise AssertionError(f"the bot sent an unexpected request: {type(request).__name__}")

    async def deliver(self, *messages: types.Message) -> None:
        """Telegram pushes these messages, as Telethon's update loop receives them."""
        wrapped = [types.UpdateNewMessage(message, pts=1, pts_count=1) for message in messages]
        for update in await self._preprocess_updates(wrapped, [self.me, *FRIENDS, STRANGER], []):
            await self._dispatch_update(update)

    def sent(self, chat_id: int | None = None) -> list[str]:
        return [
            r.message
            for r in self.requests
            if isinstance(r, functions.messages.SendMessageRequest)
            and (chat_id is None or utils.get_peer_id(r.peer) == chat_id)
        ]

    def typing_shown(self, chat_id: int) -> bool:
        return any(
            isinstance(r, functions.messages.SetTypingRequest)
            and utils.get_peer_id(r.peer) == chat_id
            and isinstance(r.action, types.SendMessageTypingAction)
            for r in self.requests
        )

    def drafts(self, chat_id: int) -> list[str]:
        return [
            r.message
            for r in self.requests
            if isinstance(r, functions.messages.SaveDraftRequest) and utils.get_peer_id(r.peer) == chat_id
        ]


_message_ids = itertools.count(1)


def private(
    sender: types.User, text: str, *, minutes: float = 0, out: bool = False, to: types.User | None = None
):
    """A private message as Telegram delivers it: `peer_id` is the other person; the account's own messages
    are `out` and carry its `from_id`."""
    if out:
        peer, fields = types.PeerUser(to.id), {"out": True, "from_id": types.PeerUser(sender.id)}
    else:
        peer, fields = types.PeerUser(sender.id), {"out": False}
    when = T0 + dt.timedelta(minutes=minutes)
    return types.Message(id=next(_message_ids), peer_id=peer, date=when, message=text, **fields)


def contacts() -> Contacts:
    from core.prompts import persona_system_prompt

    chats = [
        ChatEntry(f"user{f.id}", "personal_chat", f.first_name, persona_system_prompt("Marco", f.first_name))
        for f in FRIENDS
    ]
    return Contacts.of("Marco", chats, owner_id=OWNER.id)


@pytest.fixture
def bot_on_telegram(vllm_server, tmp_path: Path):
    """(client, bot, answers log) in bot mode, friends allowed, answering through the served `kto`."""
    client = OfflineTelegram(PERSONA_BOT)
    config = BotConfig(
        allow=[f.id for f in FRIENDS], max_new_tokens=6, temperature=0, rate_limit=100, model="kto"
    )
    answers = AnswerLog(tmp_path / "answers.jsonl")
    generator = ServerGenerator(vllm_server.url, config)
    state = BotState(tmp_path / "state.sqlite")
    bot = PersonaBot(TelethonChat(client), generator, contacts(), state, config, answers)
    attach(client, bot, echo=lambda line: None)
    return client, bot, tmp_path / "answers.jsonl"


def answered(log: Path) -> list[dict]:
    return read_jsonl(log, dict) if log.exists() else []


def test_each_chat_keeps_its_own_context_and_reset_clears_it(bot_on_telegram) -> None:
    client, _, log = bot_on_telegram

    async def scenario() -> None:
        await client.deliver(private(GIULIA, "ciao!", minutes=1))
        await client.deliver(private(FRIENDS[1], "hai visto la partita?", minutes=1.5))
        await client.deliver(private(GIULIA, "stasera ci sei?", minutes=2))
        await client.deliver(private(GIULIA, "/reset", minutes=3))
        await client.deliver(private(GIULIA, "buongiorno", minutes=4))

    asyncio.run(scenario())
    records = answered(log)
    assert [r["chat_id"] for r in records] == [GIULIA.id, FRIENDS[1].id, GIULIA.id, GIULIA.id]
    assert {r["model"] for r in records} == {"kto"} and all(r["version"] for r in records)
    prompts = [[(m["role"], m["content"]) for m in r["prompt"][1:]] for r in records]
    first, other, second, after_reset = prompts
    assert first == [("user", "ciao!")]
    assert other == [("user", "hai visto la partita?")]  # nothing of Giulia's chat
    assert second[0] == ("user", "ciao!") and second[1] == ("assistant", records[0]["reply"])
    assert second[-1] == ("user", "stasera ci sei?")
    assert after_reset == [("user", "buongiorno")]
    assert records[0]["prompt"][0]["content"] == contacts().system_prompt(GIULIA.id, None)
    # every reply reached Telegram, "typing…" was shown, and /reset was acknowledged
    sent = client.sent(GIULIA.id)
    replies = [part for r in records if r["chat_id"] == GIULIA.id for part in split_reply(r["reply"])]
    assert [s for s in sent if not s.startswith("Context cleared")] == replies
    assert any(s.startswith("Context cleared") for s in sent)
    assert client.typing_shown(GIULIA.id)


def test_a_stranger_is_refused_without_asking_the_model(bot_on_telegram) -> None:
    client, _, log = bot_on_telegram
    asyncio.run(client.deliver(private(STRANGER, "chi sei?")))
    assert client.requests == [] and answered(log) == []


def test_a_disconnect_while_replying_loses_nothing_and_sends_nothing_twice(bot_on_telegram) -> None:
    client, bot, log = bot_on_telegram
    message = private(GIULIA, "ci vediamo alle 9?")
    client.disconnect_at = 0  # the connection drops as the reply goes out

    async def scenario() -> None:
        await client.deliver(message)  # Telethon logs the handler's ConnectionError; the reply is pending
        assert client.sent() == []
        assert await bot.resume() == 1  # reconnected: what was chosen is sent
        await client.deliver(message)  # Telegram's catch-up delivers the message again

    asyncio.run(scenario())
    (record,) = answered(log)
    assert client.sent() == split_reply(record["reply"])


def test_a_burst_of_50_messages_from_5_users_is_answered_once_each(bot_on_telegram) -> None:
    client, bot, log = bot_on_telegram
    burst = [private(FRIENDS[i % 5], f"messaggio {i}", minutes=i / 10) for i in range(50)]

    async def scenario() -> None:
        await asyncio.gather(*(client.deliver(m) for m in burst))
        await asyncio.gather(*(client.deliver(m) for m in burst[::7]))  # a catch-up repeats some

    asyncio.run(scenario())
    records = answered(log)
    assert sorted(r["message_id"] for r in records) == sorted(m.id for m in burst)
    for friend in FRIENDS:
        mine = [r for r in records if r["chat_id"] == friend.id]
        asked = [m.message for m in burst if m.peer_id.user_id == friend.id]
        assert [r["prompt"][-1]["content"] for r in mine] == asked  # in the order they were written
        replies = [part for r in mine for part in split_reply(r["reply"])]
        assert client.sent(friend.id) == replies
        context = bot.state.context(friend.id).messages("")
        assert [m.content for m in context if m.role == "user"][-1] == asked[-1]


def test_drafts_through_telegram_become_kto_rows(vllm_server, tmp_path: Path) -> None:
    """Draft mode in the owner's account: a friend writes, the persona's reply is saved as a Telegram
    draft and never sent; the owner sends an edited version; the edit and the draft become KTO rows."""
    client = OfflineTelegram(OWNER)
    config = BotConfig(allow=[GIULIA.id], max_new_tokens=6, temperature=0, model="kto")
    votes = tmp_path / "votes.sqlite"
    drafts = DraftBot(
        VoteStore(votes), TelethonChat(client), ServerGenerator(vllm_server.url, config), contacts(),
        BotState(tmp_path / "draft.sqlite"), config, AnswerLog(tmp_path / "draft.jsonl"),
    )  # fmt: skip
    attach(client, drafts, echo=lambda line: None)

    async def scenario() -> None:
        await client.deliver(private(GIULIA, "domani cinema?", minutes=1))
        await client.deliver(private(STRANGER, "ciao, sono un bot di spam", minutes=1.5))
        await client.deliver(private(OWNER, "sì dai, alle 9", minutes=2, out=True, to=GIULIA))
        await client.deliver(private(GIULIA, "perfetto", minutes=10))  # ends the owner's turn

    asyncio.run(scenario())
    draft, _next_draft = client.drafts(GIULIA.id)  # the second answers "perfetto"
    assert draft and client.sent() == [] and client.drafts(STRANGER.id) == []
    rows = kto_rows_from_votes(votes)
    assert {(r.completion[0].content, r.label, r.strategy) for r in rows} == {
        (draft, False, "arena_vote"),
        ("sì dai, alle 9", True, "owner_edit"),
    }
    edit = next(r for r in rows if r.label)
    assert [m.content for m in edit.prompt[1:]] == ["domani cinema?"]
