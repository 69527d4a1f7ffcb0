"""`chatlikeme bot`: the Telegram-independent logic against an in-process fake of the client protocol
(Telegram's servers cannot be reached from the test machines), and the model call against a real vLLM
server."""

import asyncio
import contextlib
import json
from pathlib import Path

import pytest
from telethon import errors

from core.errors import ChatLikeMeError
from core.io import read_jsonl
from core.prompts import persona_system_prompt
from core.schema import ChatEntry, ChatMessage, SftSample
from core.votes import VoteStore, kto_rows_from_votes
from serve.bot import (
    AnswerLog,
    BotConfig,
    BotState,
    ChatContext,
    Contacts,
    DraftBot,
    Generated,
    Incoming,
    PersonaBot,
    RateLimiter,
    ServerGenerator,
    keep_connected,
    split_reply,
)
from tests.conftest import run_cli

OWNER, FRIEND, STRANGER_ID = 1000, 2000, 3000
PROMPT_FRIEND = persona_system_prompt("Marco", "Giulia")


class FakeTelegram:
    """The `ChatClient` protocol in memory: what was sent, when "typing…" was shown, the drafts. `flood`
    makes the next sends fail with Telegram's FloodWaitError; `fail_after` makes a send fail for good."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.drafts: dict[int, str] = {}
        self.events: list[str] = []
        self.flood: list[int] = []
        self.fail_after: int | None = None

    async def send_message(self, chat_id: int, text: str) -> None:
        if self.flood:
            raise errors.FloodWaitError(request=None, capture=self.flood.pop(0))
        if self.fail_after is not None and len(self.sent) >= self.fail_after:
            raise ConnectionError("connection lost")
        self.sent.append((chat_id, text))
        self.events.append(f"send {text}")

    @contextlib.asynccontextmanager
    async def typing(self, chat_id: int):
        self.events.append("typing")
        yield
        self.events.append("typing done")

    async def save_draft(self, chat_id: int, text: str) -> None:
        self.drafts[chat_id] = text


class FakeModel:
    """A `Generator` that answers from a script and remembers what it was asked."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[str, list[ChatMessage]]] = []

    async def generate(self, model: str, messages: list[ChatMessage]) -> Generated:
        self.calls.append((model, messages))
        text = self.replies.pop(0) if self.replies else "ok"
        return Generated(text, model, f"{model}-hash", "run-1")


def contacts(**limits) -> Contacts:
    giulia = ChatEntry(f"user{FRIEND}", "personal_chat", "Giulia", PROMPT_FRIEND)
    return Contacts.of("Marco", [giulia], owner_id=OWNER, **limits)


def message(message_id: int, text: str, sender: int = FRIEND, at: float = 1000.0, name: str = "Giulia Conti"):
    return Incoming(
        chat_id=sender, message_id=message_id, sender_id=sender, sender_name=name, text=text, at=at
    )


@pytest.fixture
def make_bot(tmp_path: Path):
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def make(model=None, client=None, clock=lambda: 0.0, **config) -> PersonaBot:
        config = BotConfig(allow=config.pop("allow", [OWNER, FRIEND, STRANGER_ID]), **config)
        bot = PersonaBot(
            client or FakeTelegram(), model or FakeModel(), contacts(), BotState(tmp_path / "state.sqlite"),
            config, AnswerLog(tmp_path / "answers.jsonl"), sleep=sleep, clock=clock,
        )  # fmt: skip
        bot.sleeps = sleeps
        return bot

    return make


def run(coroutine):
    return asyncio.run(coroutine)


# --- contacts and prompts -----------------------------------------------------------------------------------


def test_known_contacts_get_their_training_prompt_and_strangers_the_generic_one(demo_data) -> None:
    found = Contacts.from_data(demo_data.data_dir)
    samples = read_jsonl(demo_data.sft_dir / "train.jsonl", SftSample)
    personal = next(s for s in samples if s.chat_type == "personal_chat")
    user_id = int(personal.chat_id.removeprefix("user"))
    assert found.persona == "Marco"
    assert found.system_prompt(user_id, "whatever name Telegram shows") == personal.messages[0].content
    assert found.known(user_id)
    assert found.system_prompt(42, "Zoe Bianchi") == persona_system_prompt("Marco", "Zoe")
    assert found.system_prompt(42, None) == persona_system_prompt("Marco", "someone")
    assert not found.known(42)
    assert found.owner_id is not None and not found.known(found.owner_id)  # the persona's own id
    assert (found.max_turns, found.max_chars) == (12, 2000)  # DATA/chats.json: the windowing ingest used


def test_the_prompt_of_a_known_contact_reaches_the_model(make_bot) -> None:
    model = FakeModel("ciao")
    bot = make_bot(model)
    run(bot.handle(message(1, "hey", FRIEND)))
    run(bot.handle(message(1, "hey", STRANGER_ID, name="Zoe Bianchi")))
    (_, friend), (_, stranger) = model.calls
    assert friend[0] == ChatMessage("system", PROMPT_FRIEND)
    assert friend[1] == ChatMessage("user", "hey", "Giulia")
    assert stranger[0] == ChatMessage("system", persona_system_prompt("Marco", "Zoe"))


# --- context ------------------------------------------------------------------------------------------------


def test_context_keeps_the_training_window() -> None:
    limits = contacts(max_turns=3, max_chars=40, session_gap_s=3600, turn_window_s=300)
    context = ChatContext()
    context.add("user", "hi", 0, limits, "Giulia")
    context.add("user", "you there?", 60, limits, "Giulia")  # same side within the turn window: one turn
    assert context.turns == [{"role": "user", "content": "hi\nyou there?", "name": "Giulia"}]
    for i, role in enumerate(["assistant", "user", "assistant"]):
        context.add(role, f"turn {i}", 100 + i, limits, "Giulia")
    assert [t["content"] for t in context.turns] == ["turn 0", "turn 1", "turn 2"]  # max_turns
    context.add("user", "x" * 30, 200, limits, "Giulia")  # cut to max_chars // 2, like ingest's context turns
    assert context.turns[-1]["content"] == "…" + "x" * 19
    assert sum(len(t["content"]) for t in context.turns) <= 40  # max_chars: oldest turns go first
    context.add("assistant", "much later", 200 + 3601, limits)  # a silence over the session gap
    assert context.turns == [{"role": "assistant", "content": "much later"}]


def test_the_bot_remembers_the_chat_and_reset_clears_it(make_bot) -> None:
    model = FakeModel("one", "two", "three")
    bot = make_bot(model)
    run(bot.handle(message(1, "first", at=1000)))
    run(bot.handle(message(2, "second", at=1400)))
    assert [m.content for m in model.calls[1][1][1:]] == ["first", "one", "second"]
    assert run(bot.handle(message(3, "/reset", at=1500))) == "reset"
    assert "Context cleared" in bot.client.sent[-1][1]
    run(bot.handle(message(4, "third", at=1600)))
    assert [m.content for m in model.calls[2][1]] == [PROMPT_FRIEND, "third"]


def test_bot_limits_tighten_the_ingest_window(make_bot) -> None:
    model = FakeModel()
    bot = make_bot(model, max_turns=2)
    for i in range(4):
        run(bot.handle(message(i, f"m{i}", at=1000 + 400 * i)))
    assert [m.content for m in model.calls[-1][1][1:]] == ["ok", "m3"]


# --- replies ------------------------------------------------------------------------------------------------


def test_replies_are_split_where_the_persona_starts_a_new_message() -> None:
    assert split_reply("ahah ok\nsi da me alle 9\n\n  ") == ["ahah ok", "si da me alle 9"]
    assert split_reply("") == []
    long = split_reply("y" * 5000)
    assert [len(p) for p in long] == [4096, 904]


def test_a_reply_goes_out_as_several_messages_while_typing_is_shown(make_bot, tmp_path: Path) -> None:
    bot = make_bot(FakeModel("ahah ok\nsi da me alle 9"))
    assert run(bot.handle(message(1, "festa?"))) == "answered"
    assert bot.client.events == ["typing", "typing done", "send ahah ok", "send si da me alle 9"]
    (logged,) = [json.loads(line) for line in (tmp_path / "answers.jsonl").read_text().splitlines()]
    assert (logged["model"], logged["version"], logged["run_id"]) == ("kto", "kto-hash", "run-1")
    assert logged["reply"] == "ahah ok\nsi da me alle 9" and logged["parts"] == 2


# --- who may do what ----------------------------------------------------------------------------------------


def test_only_the_owner_switches_models(make_bot) -> None:
    model = FakeModel()
    bot = make_bot(model)
    assert run(bot.handle(message(1, "/model base", FRIEND))) == "refused"
    assert bot.client.sent[-1][1] == "Only the owner can switch models."
    assert run(bot.handle(message(1, "/model sft", OWNER))) == "model"
    run(bot.handle(message(2, "hey", FRIEND)))
    assert model.calls[-1][0] == "sft"
    assert make_bot(model).model == "sft"  # kept across restarts


def test_by_default_only_the_owner_is_answered(make_bot) -> None:
    bot = make_bot(allow=[])
    assert run(bot.handle(message(1, "hey", FRIEND))) == "not allowed"
    assert run(bot.handle(message(1, "hey", OWNER, name="Marco"))) == "answered"
    assert bot.client.sent == [(OWNER, "ok")]


def test_a_user_over_the_rate_limit_is_not_answered(make_bot) -> None:
    now = [0.0]
    model = FakeModel()
    bot = make_bot(model, rate_limit=2, rate_window_s=60, clock=lambda: now[0])
    outcomes = [run(bot.handle(message(i, f"m{i}", at=1000 + i))) for i in range(3)]
    assert outcomes == ["answered", "answered", "rate limited"]
    now[0] = 61
    assert run(bot.handle(message(3, "m3", at=1003))) == "answered"
    assert "m2" in model.calls[-1][1][-1].content  # the unanswered message stayed in the context
    limiter = RateLimiter(1, 10, clock=lambda: 0)
    assert limiter.allow(1) and limiter.allow(2) and not limiter.allow(1)  # per user


# --- Telegram trouble ---------------------------------------------------------------------------------------


def test_flood_waits_are_slept_through_and_the_reply_still_goes_out(make_bot) -> None:
    client = FakeTelegram()
    client.flood = [3, 5]
    bot = make_bot(FakeModel("ciao"), client)
    assert run(bot.handle(message(1, "hey"))) == "answered"
    assert client.sent == [(FRIEND, "ciao")]
    assert sum(bot.sleeps) == 8


def test_a_flood_wait_over_the_limit_is_an_error(make_bot) -> None:
    client = FakeTelegram()
    client.flood = [7200]
    bot = make_bot(FakeModel("ciao"), client, max_flood_wait=60)
    with pytest.raises(ChatLikeMeError, match="7200"):
        run(bot.handle(message(1, "hey")))


def test_after_a_restart_no_message_is_answered_twice_and_none_is_lost(make_bot) -> None:
    client = FakeTelegram()
    bot = make_bot(FakeModel("uno\ndue"), client)
    run(bot.handle(message(1, "hey")))
    restarted = make_bot(FakeModel("tre\nquattro"), client)
    assert run(restarted.handle(message(1, "hey"))) == "duplicate"  # Telegram delivers it again on catch-up
    client.fail_after = 3  # the connection drops after the first part of the next reply
    with pytest.raises(ConnectionError):
        run(restarted.handle(message(2, "still there?")))
    client.fail_after = None
    after_crash = make_bot(FakeModel("never used"), client)
    assert run(after_crash.resume()) == 1  # the rest of the interrupted reply, not a new one
    assert run(after_crash.handle(message(2, "still there?"))) == "duplicate"
    assert [text for _, text in client.sent] == ["uno", "due", "tre", "quattro"]


class DownModel(FakeModel):
    """A model server that is down for the first request."""

    async def generate(self, model: str, messages: list[ChatMessage]) -> Generated:
        if not self.calls:
            self.calls.append((model, messages))
            raise ChatLikeMeError("Cannot reach the model server")
        return await super().generate(model, messages)


def test_a_message_the_model_server_failed_on_is_answered_when_it_comes_again(make_bot) -> None:
    model = DownModel("ciao")
    bot = make_bot(model)
    assert run(bot.handle(message(1, "hey"))) == "model error"
    assert bot.client.sent == []
    assert run(bot.handle(message(1, "hey"))) == "answered"  # catch-up after a reconnect brings it again
    assert [m.content for m in model.calls[-1][1][1:]] == ["hey"]  # in the context once
    assert run(bot.handle(message(2, ""))) == "no text"  # a sticker, a photo without caption


def test_reconnects_back_off_and_stop_when_the_connection_lasts() -> None:
    sleeps: list[float] = []
    attempts = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def once() -> None:
        attempts.append(1)
        if len(attempts) < 6:
            raise ConnectionError("network down")

    run(keep_connected(once, max_backoff_s=10, sleep=sleep))
    assert sleeps == [1, 2, 4, 8, 10]


def test_the_reconnect_pause_starts_again_after_a_connection_that_lasted_a_minute() -> None:
    now, sleeps = [0.0], []
    lasted = iter([1, 1, 1, 120, 1, 1])  # seconds each connection stays up before it drops

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def once() -> None:
        now[0] += next(lasted)
        raise ConnectionError("network down")

    with pytest.raises(ConnectionError):
        run(keep_connected(once, max_backoff_s=10, sleep=sleep, give_up_after=6, clock=lambda: now[0]))
    assert sleeps == [1, 2, 4, 1, 2]


# --- draft mode ---------------------------------------------------------------------------------------------


@pytest.fixture
def drafts(tmp_path: Path):
    now = [0.0]

    def make(*replies: str) -> DraftBot:
        bot = DraftBot(
            VoteStore(tmp_path / "votes.sqlite"), FakeTelegram(), FakeModel(*replies), contacts(),
            BotState(tmp_path / "draft.sqlite"), BotConfig(allow=[FRIEND], draft_timeout_s=600),
            AnswerLog(tmp_path / "draft.jsonl"), clock=lambda: now[0],
        )  # fmt: skip
        bot.now = now
        return bot

    return make


def test_drafts_are_written_never_sent_and_their_fate_becomes_kto_rows(drafts, tmp_path: Path) -> None:
    bot = drafts("tranqui 👍", "ahah ok\nsi da me alle 9", "sì alle 9", "cosa?", "boh", "dopo")

    def at(seconds: float) -> float:
        bot.now[0] = seconds
        return seconds

    # sent unchanged -> the draft is desirable (also when sent as several messages, as the persona does)
    assert run(bot.incoming(message(1, "ti devo i soldi", at=at(1000)))) == "drafted"
    assert bot.client.drafts == {FRIEND: "tranqui 👍"} and bot.client.sent == []
    assert run(bot.outgoing(FRIEND, "tranqui  👍", at=at(1010))) == "sent unchanged"
    run(bot.incoming(message(2, "festa?", at=at(1100))))
    assert run(bot.outgoing(FRIEND, "ahah ok", at=at(1110))) is None
    assert run(bot.outgoing(FRIEND, "si da me alle 9", at=at(1120))) == "sent unchanged"
    # edited -> the owner's turn (their messages within the turn window) desirable, the draft undesirable
    run(bot.incoming(message(3, "a che ora?", at=at(1200))))
    assert run(bot.outgoing(FRIEND, "sì da me", at=at(1210))) is None
    assert run(bot.outgoing(FRIEND, "alle 9 e mezza", at=at(1220))) is None
    assert run(bot.settle()) == []  # the owner may still be typing
    at(1220 + 301)
    assert run(bot.settle()) == ["edited"]
    # an edit is also settled by the contact's next message
    run(bot.incoming(message(4, "porto qualcosa?", at=at(1600))))
    run(bot.outgoing(FRIEND, "no tranquilla", at=at(1610)))
    # discarded: a newer incoming message replaced the draft, or nobody sent it before the timeout
    run(bot.incoming(message(5, "e domani?", at=at(2000))))
    run(bot.incoming(message(6, "ci sei?", at=at(2010))))
    at(2010 + 601)
    assert run(bot.settle()) == ["discarded"]
    assert bot.client.drafts[FRIEND] == ""  # cleared, so that it is not sent by mistake later
    assert run(bot.outgoing(FRIEND, "scusa, ero fuori", at=at(2700))) is None  # nothing pending any more

    rows = kto_rows_from_votes(tmp_path / "votes.sqlite")
    assert {(r.completion[0].content, r.label, r.strategy) for r in rows} == {
        ("tranqui 👍", True, "arena_vote"),
        ("ahah ok\nsi da me alle 9", True, "arena_vote"),
        ("sì alle 9", False, "arena_vote"),
        ("sì da me\nalle 9 e mezza", True, "owner_edit"),
        ("cosa?", False, "arena_vote"),
        ("no tranquilla", True, "owner_edit"),
        ("boh", False, "arena_vote"),
        ("dopo", False, "arena_vote"),
    }
    edit = next(r for r in rows if r.completion[0].content == "sì da me\nalle 9 e mezza")
    assert [m.content for m in edit.prompt[-3:]] == ["festa?", "ahah ok\nsi da me alle 9", "a che ora?"]
    assert edit.prompt[0].content == PROMPT_FRIEND
    votes = VoteStore(tmp_path / "votes.sqlite").votes()
    assert {v.session_id for v in votes} == {"telegram_draft"}
    fates = ["sent unchanged", "sent unchanged", "edited", "edited", "discarded", "discarded"]
    assert [v.sampling["outcome"] for v in votes] == fates


def test_drafts_only_in_allowed_chats(drafts) -> None:
    bot = drafts("x")
    assert run(bot.incoming(message(1, "hey", STRANGER_ID))) == "not allowed"
    assert bot.client.drafts == {}


def test_the_telethon_glue_calls_what_telethon_offers() -> None:
    """`TelethonChat` against a stand-in of Telethon's client: the real SaveDraftRequest is built."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from telethon.tl.functions.messages import SaveDraftRequest

    from serve.bot import TelethonChat, _incoming

    calls = []

    class Client:
        async def send_message(self, chat, text):
            calls.append(("send", chat, text))

        def action(self, chat, action):
            calls.append(("action", chat, action))
            return contextlib.nullcontext()

        async def get_input_entity(self, chat):
            return f"peer{chat}"

        async def __call__(self, request):
            calls.append(("request", request))

    chat = TelethonChat(Client())
    run(chat.send_message(5, "hi"))
    chat.typing(5)
    run(chat.save_draft(5, "bozza"))
    assert calls[:2] == [("send", 5, "hi"), ("action", 5, "typing")]
    request = calls[2][1]
    assert isinstance(request, SaveDraftRequest) and (request.peer, request.message) == ("peer5", "bozza")

    async def get_sender():
        return SimpleNamespace(first_name="Giulia", last_name="Conti")

    when = datetime(2026, 1, 1, tzinfo=UTC)
    event = SimpleNamespace(
        chat_id=FRIEND, sender_id=FRIEND, raw_text="ciao", get_sender=get_sender,
        message=SimpleNamespace(id=7, date=when),
    )  # fmt: skip
    assert run(_incoming(event)) == Incoming(FRIEND, 7, FRIEND, "Giulia Conti", "ciao", when.timestamp())


# --- config and CLI -----------------------------------------------------------------------------------------


def test_presets_load_and_a_missing_token_says_where_to_get_one(monkeypatch) -> None:
    assert set(BotConfig.presets()) >= {"cpu-demo", "gpu"}
    assert BotConfig.load("cpu-demo").max_new_tokens == 128
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    with pytest.raises(ChatLikeMeError, match="@BotFather"):
        BotConfig().token()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    assert BotConfig(bot_token="other").token() == "123:abc"


def test_cli_bot_without_credentials_is_a_one_line_error(demo_data, tmp_path: Path) -> None:
    result = run_cli(
        "bot", "--api", "http://127.0.0.1:9", "--data", demo_data.data_dir,
        TELEGRAM_API_ID="", TELEGRAM_API_HASH="", TELEGRAM_BOT_TOKEN="", CHATLIKEME_DATA_DIR=str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "api_id" in result.stderr


# --- the model call, for real -------------------------------------------------------------------------------


def test_a_model_server_that_is_down_is_a_readable_error() -> None:
    from serve.server_process import free_port

    generator = ServerGenerator(f"http://127.0.0.1:{free_port()}", BotConfig(request_timeout_s=5))
    with pytest.raises(ChatLikeMeError, match="Is `chatlikeme serve` running"):
        run(generator.generate("kto", [ChatMessage("user", "ciao")]))


@pytest.mark.vllm
def test_replies_come_from_the_served_model_with_its_version(vllm_server) -> None:
    from serve.vllm_server import adapter_version

    generator = ServerGenerator(vllm_server.url, BotConfig(max_new_tokens=8, temperature=0))
    prompt = [ChatMessage("system", PROMPT_FRIEND), ChatMessage("user", "ciao", "Giulia")]
    generated = run(generator.generate("kto", prompt))
    assert generated.model == "kto"
    assert generated.version == adapter_version(vllm_server.adapters["kto"])
    assert isinstance(generated.text, str)
    with pytest.raises(ChatLikeMeError, match="does not serve 'nope'"):
        run(generator.generate("nope", prompt))
