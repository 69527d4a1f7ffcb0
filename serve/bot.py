"""The persona on Telegram: a bot that answers as the persona, or drafts of replies in the owner's own chats.

    chatlikeme bot --api http://127.0.0.1:8000 --data data                # bot mode (TELEGRAM_BOT_TOKEN)
    chatlikeme bot --api http://127.0.0.1:8000 --data data --as-me        # draft mode (`telegram login`)

Only the running `chatlikeme serve` is asked for replies (OpenAI API); no model is loaded here.

Everything that does not need Telegram lives in plain classes that talk to a small `ChatClient` protocol
(send a message, show "typing…", save a draft) and a `Generator` (the model server), so they are tested
without Telegram; `run_bot` is the thin Telethon glue.

- `Contacts`: the persona, the exact training system prompt of every known contact (from `DATA/sft`), the
  generic one for strangers, the owner's user id and the windowing limits of the ingest config.
- `ChatContext`: the last turns of a chat, within the training limits (max turns, max chars, a silence over
  the session gap starts afresh); consecutive messages of one side form one turn, joined by a newline.
- `split_reply`: a reply becomes several messages the way the persona writes them (ingest joins the
  persona's consecutive messages into one assistant turn with a newline; the bot splits on it).
- `RateLimiter`, `BotState` (SQLite: answered message ids, pending replies, contexts, pending drafts).
- `PersonaBot.handle`: bot mode. `DraftBot`: draft mode; what the owner finally sends becomes a vote.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import msgspec
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, stop_never

from core.chats import CHATS_FILE, read_chat_list
from core.config import StageConfig
from core.errors import ChatLikeMeError, input_error
from core.prompts import persona_system_prompt
from core.schema import ChatEntry, ChatMessage
from core.votes import Vote, VoteStore, utc_timestamp

log = logging.getLogger(__name__)

MODELS = ("base", "sft", "kto")
TURN_SEPARATOR = "\n"  # how ingest joins the persona's consecutive messages into one assistant turn
TELEGRAM_MAX_CHARS = 4096
DRAFT_SOURCE = "telegram_draft"
STRANGER = "someone"


@dataclass
class BotConfig(StageConfig):
    """Settings of `chatlikeme bot` (YAML keys of the same names; presets in serve/configs/bot/)."""

    presets_dir: ClassVar[Path] = Path(__file__).parent / "configs" / "bot"

    model: str = "kto"
    "The served model that answers (base, sft or kto); the owner switches it with /model."
    bot_token: str | None = None
    "The bot's token from @BotFather (env TELEGRAM_BOT_TOKEN wins). Keep it secret."
    api_id: int | None = None
    "Your application's api_id from my.telegram.org (env TELEGRAM_API_ID wins)."
    api_hash: str | None = None
    "Your application's api_hash from my.telegram.org (env TELEGRAM_API_HASH wins)."
    data_dir: Path | None = None
    "Where sessions and the bot's state live (default as for `chatlikeme telegram`)."
    owner_id: int | None = None
    "The owner's Telegram user id (default: the persona's id in the ingest data)."
    allow: list[int] = field(default_factory=list)
    "User ids the bot answers, or whose chats get drafts (--as-me). Empty: only the owner."
    max_turns: int | None = None
    "Turns of context sent to the model (default: the ingest config's max_turns)."
    max_chars: int | None = None
    "Characters of context sent to the model (default: the ingest config's max_chars)."
    rate_limit: int = 6
    "Messages a user may send per rate_window_s; more are kept as context but not answered."
    rate_window_s: float = 60.0
    temperature: float = 0.7
    top_p: float = 0.9
    max_new_tokens: int = 256
    request_timeout_s: float = 120.0
    max_flood_wait: int = 3600
    "Longest Telegram flood wait (s) slept through before sending again; a longer one drops the message."
    max_backoff_s: float = 300.0
    "Longest pause between reconnection attempts after a lost connection (doubling from 1 s)."
    draft_timeout_s: float = 1800.0
    "Draft mode: a draft the owner has not sent after this long counts as discarded."
    votes_db: Path = Path("votes.sqlite")
    "Where draft outcomes are stored as votes (the arena's database)."

    def token(self) -> str:
        token = os.environ.get("TELEGRAM_BOT_TOKEN") or self.bot_token
        if not token:
            raise ChatLikeMeError(
                "no bot token: create a bot with @BotFather, then set TELEGRAM_BOT_TOKEN "
                "or bot_token in the --config file (or use --as-me for drafts in your own account)"
            )
        return token


# --- who is talking: contacts, system prompts, limits ------------------------------------------------------


@dataclass
class Contacts:
    """The persona and how each contact is addressed in training, read from an ingest data folder."""

    persona: str
    by_id: dict[int, ChatEntry]  # Telegram user id of a one-to-one chat -> that chat in DATA/chats.json
    owner_id: int | None = None
    max_turns: int = 12
    max_chars: int = 2000
    session_gap_s: float = 3600.0
    turn_window_s: float = 300.0
    by_name: dict[str, ChatEntry] = field(default_factory=dict)  # contact name (casefolded), if unique

    @classmethod
    def of(cls, persona: str, chats: list[ChatEntry], **settings: Any) -> Contacts:
        """Contacts of the one-to-one `chats`: by user id, and by name where no two chats share it."""
        one_to_one = [entry for entry in chats if not entry.group]
        names = Counter(entry.name.casefold() for entry in one_to_one)
        return cls(
            persona=persona,
            by_id={uid: e for e in one_to_one if (uid := _user_id(e.chat_id)) is not None},
            by_name={e.name.casefold(): e for e in one_to_one if names[e.name.casefold()] == 1},
            **settings,
        )

    @classmethod
    def from_data(cls, data_dir: str | Path) -> Contacts:
        """Read `DATA/chats.json`: the persona, each one-to-one chat's training prompt, the windowing."""
        chat_list = read_chat_list(data_dir)
        if all(entry.group for entry in chat_list.chats):
            raise input_error(
                Path(data_dir) / CHATS_FILE, "no one-to-one chat (is this the output of `ingest`?)"
            )
        windowing = chat_list.windowing
        return cls.of(
            chat_list.persona,
            chat_list.chats,
            owner_id=_user_id(chat_list.persona_id),
            max_turns=windowing.max_turns,
            max_chars=windowing.max_chars,
            session_gap_s=windowing.session_gap_minutes * 60,
            turn_window_s=windowing.turn_window_minutes * 60,
        )

    def contact(self, user_id: int, name: str | None) -> tuple[str, str]:
        """(the contact's name as training wrote it, its training prompt): a known contact by user id, else
        by a name that only one chat has, else a stranger with the generic one-to-one prompt."""
        from ingest.pii import first_name

        label = first_name(name) or STRANGER
        entry = self.by_id.get(user_id) or self.by_name.get(label.casefold())
        if entry is None:
            return label, persona_system_prompt(self.persona, label)
        return entry.name, entry.system_prompt

    def system_prompt(self, user_id: int, name: str | None) -> str:
        return self.contact(user_id, name)[1]

    def known(self, user_id: int) -> bool:
        return user_id in self.by_id


def _user_id(chat_id: str) -> int | None:
    digits = chat_id.removeprefix("user")
    return int(digits) if digits.isdigit() else None


# --- a chat's context --------------------------------------------------------------------------------------


@dataclass
class ChatContext:
    """The recent turns of one chat, as the model sees them (user / assistant, turns joined by newlines)."""

    turns: list[dict[str, str]] = field(default_factory=list)
    last_at: float = 0.0  # time of the last message (seconds)
    last_role: str = ""

    def add(self, role: str, text: str, at: float, limits: Contacts, name: str | None = None) -> None:
        """Add a message: a silence over the session gap starts a new context (as sessions in training);
        a message of the same side within the turn window joins the last turn."""
        text = text.strip()
        if not text:
            return
        if self.turns and at - self.last_at > limits.session_gap_s:
            self.turns.clear()
        if self.turns and self.turns[-1]["role"] == role and at - self.last_at <= limits.turn_window_s:
            self.turns[-1]["content"] += TURN_SEPARATOR + text
        else:
            turn = {"role": role, "content": text}
            if role == "user" and name:
                turn["name"] = name
            self.turns.append(turn)
        self.last_at, self.last_role = at, role
        self.trim(limits)

    def trim(self, limits: Contacts) -> None:
        """Keep the last `max_turns` turns within `max_chars` (context turns cut to their last
        `max_chars // 2` characters, as ingest does)."""
        half = max(1, limits.max_chars // 2)
        for turn in self.turns:
            if len(turn["content"]) > half:
                turn["content"] = "…" + turn["content"][-(half - 1) :]
        del self.turns[: max(0, len(self.turns) - limits.max_turns)]
        while len(self.turns) > 1 and sum(len(t["content"]) for t in self.turns) > limits.max_chars:
            del self.turns[0]

    def messages(self, system_prompt: str) -> list[ChatMessage]:
        return [ChatMessage("system", system_prompt), *(ChatMessage(**t) for t in self.turns)]  # type: ignore[arg-type]

    def to_json(self) -> str:
        return json.dumps({"turns": self.turns, "last_at": self.last_at, "last_role": self.last_role})

    @classmethod
    def from_json(cls, text: str) -> ChatContext:
        return cls(**json.loads(text))


def split_reply(text: str) -> list[str]:
    """The messages a reply is sent as: one per line (the persona's consecutive messages were joined into one
    training turn with newlines), none empty, none over Telegram's 4096 characters."""
    parts = []
    for line in text.split(TURN_SEPARATOR):
        line = line.strip()
        while len(line) > TELEGRAM_MAX_CHARS:
            parts.append(line[:TELEGRAM_MAX_CHARS])
            line = line[TELEGRAM_MAX_CHARS:].lstrip()
        if line:
            parts.append(line)
    return parts


class RateLimiter:
    """At most `limit` messages per user in any `window_s` seconds (a sliding window)."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._seen: dict[int, deque[float]] = {}

    def allow(self, user_id: int) -> bool:
        now = self.clock()
        seen = self._seen.setdefault(user_id, deque())
        while seen and now - seen[0] >= self.window_s:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True


# --- persisted state ---------------------------------------------------------------------------------------

_STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS handled (
    chat_id INTEGER NOT NULL, message_id INTEGER NOT NULL,
    status TEXT NOT NULL,                  -- pending (reply chosen, being sent) | done | skipped
    reply TEXT, parts_sent INTEGER NOT NULL DEFAULT 0, at TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
CREATE TABLE IF NOT EXISTS contexts (chat_id INTEGER PRIMARY KEY, context TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS drafts (
    chat_id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL, draft TEXT NOT NULL,
    conversation TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL, run_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    sent TEXT, sent_at REAL              -- what the owner has sent since (one turn: joined by newlines)
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class BotState:
    """The bot's memory across restarts (SQLite): which messages were answered (so none is answered twice),
    replies chosen but not fully sent (so none is lost), each chat's context, pending drafts, settings."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_STATE_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=60)
        try:
            with db:
                yield db
        finally:
            db.close()

    def status(self, chat_id: int, message_id: int) -> tuple[str, str | None, int] | None:
        with self._connect() as db:
            query = "SELECT status, reply, parts_sent FROM handled WHERE chat_id = ? AND message_id = ?"
            return db.execute(query, (chat_id, message_id)).fetchone()

    def mark(self, chat_id: int, message_id: int, status: str, reply: str | None = None) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO handled VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT DO UPDATE SET "
                "status = excluded.status, reply = coalesce(excluded.reply, reply)",
                (chat_id, message_id, status, reply, utc_timestamp()),
            )

    def sent_part(self, chat_id: int, message_id: int) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE handled SET parts_sent = parts_sent + 1 WHERE chat_id = ? AND message_id = ?",
                (chat_id, message_id),
            )

    def pending(self) -> list[tuple[int, int, str, int]]:
        """(chat, message, reply, parts already sent) of replies chosen but not completely sent."""
        with self._connect() as db:
            query = "SELECT chat_id, message_id, reply, parts_sent FROM handled WHERE status = 'pending'"
            return db.execute(query).fetchall()

    def context(self, chat_id: int) -> ChatContext:
        with self._connect() as db:
            row = db.execute("SELECT context FROM contexts WHERE chat_id = ?", (chat_id,)).fetchone()
        return ChatContext.from_json(row[0]) if row else ChatContext()

    def save_context(self, chat_id: int, context: ChatContext) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO contexts VALUES (?, ?)", (chat_id, context.to_json()))

    def setting(self, key: str, default: str) -> str:
        with self._connect() as db:
            row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_setting(self, key: str, value: str) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))

    def draft(self, chat_id: int) -> PendingDraft | None:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM drafts WHERE chat_id = ?", (chat_id,)).fetchone()
        return PendingDraft(**dict(row)) if row else None

    def drafts(self) -> list[PendingDraft]:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            return [PendingDraft(**dict(row)) for row in db.execute("SELECT * FROM drafts")]

    def save_draft(self, draft: PendingDraft) -> None:
        with self._connect() as db:
            row = (
                draft.chat_id, draft.message_id, draft.draft, draft.conversation, draft.model,
                draft.version, draft.run_id, draft.created_at, draft.sent, draft.sent_at,
            )  # fmt: skip
            db.execute("INSERT OR REPLACE INTO drafts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)

    def drop_draft(self, chat_id: int) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM drafts WHERE chat_id = ?", (chat_id,))


# --- Telegram and the model server, as the logic sees them -------------------------------------------------


class ChatClient(Protocol):
    """What the bot needs of Telegram (Telethon in `run_bot`, a fake in the tests)."""

    async def send_message(self, chat_id: int, text: str) -> Any: ...

    def typing(self, chat_id: int) -> contextlib.AbstractAsyncContextManager[Any]: ...

    async def save_draft(self, chat_id: int, text: str) -> Any: ...


@dataclass(frozen=True)
class Generated:
    text: str
    model: str
    version: str  # content hash of the adapter (or base model) that wrote it
    run_id: str


class Generator(Protocol):
    async def generate(self, model: str, messages: list[ChatMessage]) -> Generated: ...


class ServerGenerator:
    """Replies from a running `chatlikeme serve` (the arena's client: model versions, readable errors)."""

    def __init__(self, api_url: str, config: BotConfig, api_key: str | None = None) -> None:
        from serve.model_client import ClientSettings, ModelServer

        settings = ClientSettings(
            models=list(MODELS), temperature=config.temperature, top_p=config.top_p,
            max_new_tokens=config.max_new_tokens, request_timeout_s=config.request_timeout_s,
        )  # fmt: skip
        self.server = ModelServer(api_url, settings, api_key)

    async def generate(self, model: str, messages: list[ChatMessage]) -> Generated:
        from serve.model_client import ArenaError

        try:
            contestants = await asyncio.to_thread(self.server.contestants)
        except ArenaError as exc:  # the server cannot be reached
            raise ChatLikeMeError(str(exc)) from None
        if model not in contestants:
            raise ChatLikeMeError(
                f"the model server does not serve '{model}' (it serves {sorted(contestants)})"
            )
        try:
            response = await self.server.client.chat.completions.create(
                model=model, messages=msgspec.to_builtins(messages), **self.server.config.sampling()
            )
        except Exception as exc:
            raise ChatLikeMeError(self.server.explain(exc, model)) from None
        contestant = contestants[model]
        text = (response.choices[0].message.content or "").strip()
        return Generated(text, model, contestant.version, contestant.run_id)


class FloodWaitRetry:
    """Telegram calls retried after each flood wait (`FloodWaitError`: sleep the seconds it asks, then
    again), up to `max_wait` seconds per wait."""

    def __init__(self, max_wait: int, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        from ingest.telegram.client import FloodWaiter

        self.waiter = FloodWaiter(max_wait, sleep=sleep, progress=False)

    async def __call__(self, make_call: Callable[[], Awaitable[Any]], doing: str) -> Any:
        return await self.waiter.call(make_call, doing)


class AnswerLog:
    """Every answer, one JSON line: when, chat, message, the model and adapter version that wrote it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, **record: Any) -> None:
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps({"at": utc_timestamp(), **record}, ensure_ascii=False) + "\n")


# --- bot mode ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """A private message to the bot (or, in draft mode, to the owner)."""

    chat_id: int
    message_id: int
    sender_id: int
    sender_name: str | None
    text: str
    at: float  # seconds since the epoch


class _PersonaChats:
    """What both modes share: the clients, the contacts and limits, the allow-list, the state."""

    def __init__(
        self,
        client: ChatClient,
        generator: Generator,
        contacts: Contacts,
        state: BotState,
        config: BotConfig,
        answers: AnswerLog,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client, self.generator, self.contacts, self.state = client, generator, contacts, state
        self.config, self.answers, self.clock = config, answers, clock
        self.owner_id = config.owner_id or contacts.owner_id
        self.allowed = set(config.allow) or ({self.owner_id} if self.owner_id else set())
        self.retry = FloodWaitRetry(config.max_flood_wait, sleep)
        self.limits = _limits(contacts, config)
        self.limiter = RateLimiter(config.rate_limit, config.rate_window_s, clock)
        self._locks: dict[int, asyncio.Lock] = {}

    @property
    def model(self) -> str:
        return self.state.setting("model", self.config.model)

    def _with_incoming(self, message: Incoming) -> tuple[ChatContext, list[ChatMessage]]:
        """The chat's context with the message added (saved by the caller once it is handled), and the
        prompt the model is then given."""
        context = self.state.context(message.chat_id)
        name = contact_name(self.contacts, message)
        context.add("user", message.text, message.at, self.limits, name)
        return context, context.messages(self.contacts.system_prompt(message.sender_id, message.sender_name))

    async def _generate(self, message: Incoming, prompt: list[ChatMessage]) -> Generated | None:
        try:
            return await self.generator.generate(self.model, prompt)
        except ChatLikeMeError as exc:
            log.warning("no reply to %s/%s: %s", message.chat_id, message.message_id, exc)
            return None

    def _log(
        self, mode: str, message: Incoming, generated: Generated, prompt: list[ChatMessage], reply: str
    ) -> None:
        self.answers.write(
            mode=mode, chat_id=message.chat_id, message_id=message.message_id, user_id=message.sender_id,
            known_contact=self.contacts.known(message.sender_id), model=generated.model,
            version=generated.version, run_id=generated.run_id, prompt=msgspec.to_builtins(prompt),
            reply=reply, parts=len(split_reply(reply)),
        )  # fmt: skip


class PersonaBot(_PersonaChats):
    """Bot mode: answers private messages as the persona."""

    async def handle(self, message: Incoming) -> str:
        """Deal with one incoming message; returns what was done (answered, duplicate, not allowed, ...)."""
        lock = self._locks.setdefault(message.chat_id, asyncio.Lock())
        async with lock:  # one message of a chat at a time, in order
            if self.state.status(message.chat_id, message.message_id) is not None:
                return "duplicate"
            if message.sender_id not in self.allowed:
                self.state.mark(message.chat_id, message.message_id, "skipped")
                return "not allowed"
            text = message.text.strip()
            if not text:  # media without a caption, a sticker: nothing to answer
                self.state.mark(message.chat_id, message.message_id, "skipped")
                return "no text"
            if text.startswith("/"):
                return await self._command(message, text)
            context, prompt = self._with_incoming(message)
            if not self.limiter.allow(message.sender_id):
                self.state.save_context(message.chat_id, context)  # not answered, but part of the chat
                self.state.mark(message.chat_id, message.message_id, "skipped")
                return "rate limited"
            async with self.client.typing(message.chat_id):
                generated = await self._generate(message, prompt)
            if generated is None:
                return "model error"  # neither stored nor marked: Telegram's catch-up may bring it again
            reply = TURN_SEPARATOR.join(split_reply(generated.text))
            if not reply:
                self.state.save_context(message.chat_id, context)
                self.state.mark(message.chat_id, message.message_id, "skipped")
                return "empty reply"
            self.state.mark(message.chat_id, message.message_id, "pending", reply)
            context.add("assistant", reply, message.at, self.limits)
            self.state.save_context(message.chat_id, context)
            self._log("bot", message, generated, prompt, reply)  # before sending: `resume` may finish it
            await self._send(message.chat_id, message.message_id, reply, 0)
            return "answered"

    async def resume(self) -> int:
        """Send what a previous run chose but did not finish sending (after a crash); returns how many."""
        pending = self.state.pending()
        for chat_id, message_id, reply, parts_sent in pending:
            await self._send(chat_id, message_id, reply, parts_sent)
        return len(pending)

    async def _send(self, chat_id: int, message_id: int, reply: str, skip: int) -> None:
        for part in split_reply(reply)[skip:]:
            await self.retry(lambda part=part: self.client.send_message(chat_id, part), "sending a reply")
            self.state.sent_part(chat_id, message_id)
        self.state.mark(chat_id, message_id, "done")

    async def _command(self, message: Incoming, text: str) -> str:
        command, _, argument = text.partition(" ")
        command = command.split("@")[0].lower()  # /model@my_bot in a group-style mention
        if command == "/reset":
            self.state.save_context(message.chat_id, ChatContext())
            answer, outcome = "Context cleared: a new conversation starts.", "reset"
        elif command == "/model":
            wanted = argument.strip().lower()
            if message.sender_id != self.owner_id:
                answer, outcome = "Only the owner can switch models.", "refused"
            elif wanted not in MODELS:
                answer, outcome = f"Now answering: {self.model}. Use /model {'|'.join(MODELS)}.", "model"
            else:
                self.state.set_setting("model", wanted)
                answer, outcome = f"Now answering: {wanted}.", "model"
        elif command == "/start":
            answer, outcome = "Hi! Write me something.", "start"
        else:
            answer, outcome = "Commands: /reset, /model base|sft|kto (owner only).", "help"
        self.state.mark(message.chat_id, message.message_id, "pending", answer)
        await self._send(message.chat_id, message.message_id, answer, 0)
        return outcome


def contact_name(contacts: Contacts, message: Incoming) -> str:
    """The sender as training names them (the `name` of their user turns)."""
    return contacts.contact(message.sender_id, message.sender_name)[0]


def _limits(contacts: Contacts, config: BotConfig) -> Contacts:
    """The contacts' windowing limits, tightened by the bot config's own max_turns / max_chars."""
    return dataclasses.replace(
        contacts,
        max_turns=min(contacts.max_turns, config.max_turns or contacts.max_turns),
        max_chars=min(contacts.max_chars, config.max_chars or contacts.max_chars),
    )


# --- draft mode --------------------------------------------------------------------------------------------


@dataclass
class PendingDraft:
    """A suggested reply saved as a Telegram draft, waiting for what the owner does with it."""

    chat_id: int
    message_id: int  # the incoming message it answers
    draft: str
    conversation: str  # JSON: system prompt and context the model saw
    model: str
    version: str
    run_id: str
    created_at: float  # seconds since the epoch
    sent: str | None = None  # the owner's messages since the draft was written, joined like a turn
    sent_at: float | None = None  # when the last of them was sent


def draft_vote(draft: PendingDraft, sent: str | None) -> tuple[Vote, str | None]:
    """The vote a draft's fate becomes, and the owner's edit to store beside it (if any).

    sent unchanged -> 👍 on the draft; sent edited -> 👎 on the draft plus the sent text as the owner's edit
    (a desirable row; `kto_rows_from_votes` makes the draft undesirable); discarded (`sent` None) -> 👎.
    Stored as single-model votes (session `telegram_draft`), so older readers of the database see thumbs.
    """
    conversation = msgspec.json.decode(draft.conversation, type=list[ChatMessage])
    unchanged = sent is not None and _same(sent, draft.draft)
    vote = Vote(
        vote_id=f"draft/{draft.chat_id}/{draft.message_id}",
        session_id=DRAFT_SOURCE,
        mode="single",
        outcome="up" if unchanged else "down",
        run_id=draft.run_id,
        model_a=draft.model,
        version_a=draft.version,
        conversation_a=[*conversation, ChatMessage("assistant", draft.draft)],
        sampling={"source": DRAFT_SOURCE, "outcome": _fate(sent, unchanged)},
    )
    return vote, (sent if sent is not None and not unchanged and sent.strip() else None)


def _fate(sent: str | None, unchanged: bool) -> str:
    return "discarded" if sent is None else "sent unchanged" if unchanged else "edited"


class DraftBot(_PersonaChats):
    """Draft mode: in the owner's own account, the persona's suggested reply to each incoming message of an
    allowed chat is written as a draft there, never sent; what the owner sends instead becomes a vote."""

    def __init__(self, votes: VoteStore, *args: Any, **kwargs: Any) -> None:
        """`votes` receives the drafts' fates; the rest as for `PersonaBot`."""
        super().__init__(*args, **kwargs)
        self.votes = votes
        self._lock = asyncio.Lock()

    async def incoming(self, message: Incoming) -> str:
        """A contact wrote: a pending draft in that chat is discarded, a new one is written."""
        async with self._lock:
            if message.chat_id not in self.allowed:
                return "not allowed"
            if self.state.status(message.chat_id, message.message_id) is not None:
                return "duplicate"
            if not message.text.strip():
                return "no text"
            self._resolve(message.chat_id, None)  # a new message replaces the draft: it was not used
            context, prompt = self._with_incoming(message)
            self.state.save_context(message.chat_id, context)
            generated = await self._generate(message, prompt)
            if generated is None:
                return "model error"
            draft = TURN_SEPARATOR.join(split_reply(generated.text))
            self.state.mark(message.chat_id, message.message_id, "done", draft)
            if not draft:
                return "empty reply"
            await self.retry(lambda: self.client.save_draft(message.chat_id, draft), "saving a draft")
            pending = PendingDraft(
                message.chat_id, message.message_id, draft, msgspec.json.encode(prompt).decode(),
                generated.model, generated.version, generated.run_id, self.clock(),
            )  # fmt: skip
            self.state.save_draft(pending)
            self._log("draft", message, generated, prompt, draft)
            return "drafted"

    async def outgoing(self, chat_id: int, text: str, at: float) -> str | None:
        """The owner sent a message. As the persona's turns in training, the messages sent within the turn
        window form the reply: it settles the draft when it equals the draft, else when the turn is over (a
        new incoming message, or `settle` once the turn window has passed). Returns the fate, if settled."""
        async with self._lock:
            if chat_id not in self.allowed:
                return None
            context = self.state.context(chat_id)
            context.add("assistant", text, at, self.limits)
            self.state.save_context(chat_id, context)
            draft = self.state.draft(chat_id)
            if draft is None or not text.strip():
                return None
            if draft.sent is not None and at - (draft.sent_at or at) > self.limits.turn_window_s:
                return self._resolve(chat_id, draft.sent)  # the owner's earlier turn was the reply
            draft.sent = text.strip() if draft.sent is None else draft.sent + TURN_SEPARATOR + text.strip()
            draft.sent_at = at
            if _same(draft.sent, draft.draft):
                return self._resolve(chat_id, draft.sent)
            self.state.save_draft(draft)
            return None

    async def settle(self) -> list[str]:
        """Settle what time has decided: the owner's reply once the turn window has passed since its last
        message; a draft nobody sent within `draft_timeout_s` is discarded (and cleared from the message
        box, so that it is not sent by mistake later). Returns the fates."""
        async with self._lock:
            now, fates = self.clock(), []
            for draft in self.state.drafts():
                if draft.sent is not None and now - (draft.sent_at or 0) > self.limits.turn_window_s:
                    fates.append(self._resolve(draft.chat_id, draft.sent))
                elif draft.sent is None and now - draft.created_at > self.config.draft_timeout_s:
                    fates.append(self._resolve(draft.chat_id, None))
                    await self.retry(
                        lambda d=draft: self.client.save_draft(d.chat_id, ""), "clearing a draft"
                    )
            return [f for f in fates if f]

    def _resolve(self, chat_id: int, sent: str | None) -> str | None:
        """Store the fate of the chat's draft (`sent`: what the owner sent instead, None: nothing)."""
        draft = self.state.draft(chat_id)
        if draft is None:
            return None
        if sent is None:
            sent = draft.sent  # a new message ends the owner's turn: what they sent so far is the reply
        vote, edit = draft_vote(draft, sent)
        self.votes.add(vote)
        if edit is not None:
            self.votes.add_edit(vote.vote_id, "a", edit, source=DRAFT_SOURCE)
        self.state.drop_draft(chat_id)
        return str(vote.sampling["outcome"])


def _same(a: str, b: str) -> bool:
    """Equal but for spacing (a draft sent as is, or as several messages)."""
    return " ".join(a.split()) == " ".join(b.split())


# --- connection: reconnect with backoff --------------------------------------------------------------------


async def keep_connected(
    run_once: Callable[[], Awaitable[Any]],
    *,
    max_backoff_s: float,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    give_up_after: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """`await run_once()` (connect, catch up, run until disconnected) again after every lost connection,
    waiting 1, 2, 4 ... up to `max_backoff_s` seconds between attempts; a clean return ends the loop.
    The wait starts from 1 s again once a connection has lasted a minute."""
    wait = ReconnectWait(max_backoff_s, clock)

    def say_reconnecting(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        pause = state.next_action.sleep if state.next_action else 0
        log.warning("Telegram connection lost (%s); reconnecting in %.0f s", type(error).__name__, pause)

    retrying = AsyncRetrying(
        retry=retry_if_exception_type((TimeoutError, ConnectionError, OSError)),
        stop=stop_after_attempt(give_up_after) if give_up_after else stop_never,
        wait=wait,
        sleep=sleep,
        before=wait.attempt_starts,
        before_sleep=say_reconnecting,
        reraise=True,
    )

    async def attempt() -> Any:  # tenacity awaits only what `async def` makes, not a lambda's coroutine
        return await run_once()

    await retrying(attempt)


class ReconnectWait:
    """Tenacity wait: doubling pauses between reconnections, back to 1 s after a connection that lasted a
    minute (a network that drops once an hour should not wait minutes because it dropped often last week)."""

    def __init__(self, max_s: float, clock: Callable[[], float]) -> None:
        self.max_s, self.clock = max_s, clock
        self.next_s, self.started = 1.0, clock()

    def attempt_starts(self, state: RetryCallState) -> None:
        self.started = self.clock()

    def __call__(self, state: RetryCallState) -> float:
        if self.clock() - self.started > 60:
            self.next_s = 1.0
        pause, self.next_s = self.next_s, min(self.next_s * 2, self.max_s)
        return pause


# --- the Telethon glue -------------------------------------------------------------------------------------


class TelethonChat:
    """`ChatClient` over a Telethon client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def send_message(self, chat_id: int, text: str) -> Any:
        return await self.client.send_message(chat_id, text)

    def typing(self, chat_id: int) -> contextlib.AbstractAsyncContextManager[Any]:
        return self.client.action(chat_id, "typing")

    async def save_draft(self, chat_id: int, text: str) -> Any:
        from telethon import functions

        peer = await self.client.get_input_entity(chat_id)
        return await self.client(functions.messages.SaveDraftRequest(peer=peer, message=text))


async def _incoming(event: Any) -> Incoming:
    sender = await event.get_sender()
    name = " ".join(p for p in (getattr(sender, "first_name", None), getattr(sender, "last_name", None)) if p)
    return Incoming(
        chat_id=event.chat_id, message_id=event.message.id, sender_id=event.sender_id,
        sender_name=name or None, text=event.raw_text or "", at=event.message.date.timestamp(),
    )  # fmt: skip


def bot_paths(config: BotConfig) -> tuple[Any, Path]:
    """(the `TelegramConfig` behind sessions and credentials, the bot's own state directory)."""
    from ingest.telegram.client import TelegramConfig

    telegram = TelegramConfig(api_id=config.api_id, api_hash=config.api_hash, data_dir=config.data_dir)
    state_dir = telegram.telegram_dir() / "bot"
    state_dir.mkdir(mode=0o700, exist_ok=True)
    return telegram, state_dir


def run_bot(
    api_url: str, data_dir: str | Path, config: BotConfig, *, as_me: bool = False, echo: Callable = print
) -> None:
    """Connect to Telegram and answer (bot mode) or draft (`as_me`) until Ctrl-C."""
    contacts = Contacts.from_data(data_dir)
    telegram, state_dir = bot_paths(config)
    mode = "draft" if as_me else "bot"
    state = BotState(state_dir / f"{mode}-state.sqlite")
    answers = AnswerLog(state_dir / f"{mode}-answers.jsonl")
    generator = ServerGenerator(api_url, config)
    from ingest.telegram.client import exclusive

    # Draft mode shares the session of `chatlikeme telegram`, which two processes must not use at once.
    with exclusive(telegram) if as_me else contextlib.nullcontext():
        asyncio.run(_run(telegram, contacts, state, answers, generator, config, as_me, echo))


def attach(client: Any, bot: PersonaBot | DraftBot, echo: Callable = print) -> None:
    """Route the private messages Telethon delivers on `client` to the bot: in bot mode every incoming one;
    in draft mode incoming ones (write a draft) and the owner's outgoing ones (settle it)."""
    from telethon import events

    private = events.NewMessage(incoming=True, func=lambda e: e.is_private)
    if isinstance(bot, PersonaBot):

        @client.on(private)
        async def on_message(event: Any) -> None:
            echo(f"{event.chat_id}/{event.message.id}: {await bot.handle(await _incoming(event))}")

        return

    @client.on(private)
    async def on_incoming(event: Any) -> None:
        echo(f"{event.chat_id}/{event.message.id}: {await bot.incoming(await _incoming(event))}")

    @client.on(events.NewMessage(outgoing=True, func=lambda e: e.is_private))
    async def on_outgoing(event: Any) -> None:
        fate = await bot.outgoing(event.chat_id, event.raw_text or "", event.message.date.timestamp())
        if fate:
            echo(f"{event.chat_id}: draft {fate}")


async def _run(
    telegram: Any, contacts: Contacts, state: BotState, answers: AnswerLog, generator: Generator,
    config: BotConfig, as_me: bool, echo: Callable,
) -> None:  # fmt: skip
    from telethon import TelegramClient

    from ingest.telegram.client import logged_in_client

    if as_me:
        client = logged_in_client(telegram, catch_up=True)
    else:
        api_id, api_hash = telegram.credentials()
        session = telegram.telegram_dir() / "bot.session"
        os.close(os.open(session, os.O_CREAT | os.O_RDWR, 0o600))
        client = TelegramClient(str(session), api_id, api_hash, flood_sleep_threshold=0, catch_up=True)
    chat = TelethonChat(client)
    if as_me:
        bot: PersonaBot | DraftBot = DraftBot(
            VoteStore(config.votes_db), chat, generator, contacts, state, config, answers
        )
    else:
        bot = PersonaBot(chat, generator, contacts, state, config, answers)
    attach(client, bot, echo)

    async def once() -> None:
        if as_me:
            await client.connect()
            if not await client.is_user_authorized():
                raise ChatLikeMeError("not logged in to Telegram: run `chatlikeme telegram login` first")
        else:
            await client.start(bot_token=config.token())
        me = await client.get_me()
        who = f"@{me.username}" if getattr(me, "username", None) else str(me.id)
        echo(f"Connected to Telegram as {who} ({'draft' if as_me else 'bot'} mode).")
        if isinstance(bot, PersonaBot):
            resumed = await bot.resume()
            if resumed:
                echo(f"Finished sending {resumed} interrupted repl{'y' if resumed == 1 else 'ies'}.")
        expiring = asyncio.create_task(_settle_drafts(bot)) if isinstance(bot, DraftBot) else None
        try:
            await client.run_until_disconnected()
        finally:
            if expiring:
                expiring.cancel()
        raise ConnectionError("disconnected from Telegram")  # only Ctrl-C ends the bot

    try:
        await keep_connected(once, max_backoff_s=config.max_backoff_s)
    finally:
        await client.disconnect()


async def _settle_drafts(drafts: DraftBot, every_s: float = 10.0) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            for fate in await drafts.settle():
                log.info("draft %s", fate)
        except Exception:  # tried again at the next tick
            log.exception("settling drafts failed")
