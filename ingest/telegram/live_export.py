"""`chatlikeme telegram login|export`: a live, incremental export of your Telegram account with Telethon,
written in the layout of a Telegram Desktop full-account export so `chatlikeme ingest` reads it unchanged.

    telegram_login(config)                                    # once: phone, code, 2FA password
    telegram_export(Path("live.json"), config)                # whole history of personal chats + groups
    telegram_export(Path("new.json"), config, since_last=True)  # only what is newer than the last export

History is read oldest-first (`iter_messages(reverse=True, min_id=...)`), through a takeout session when
Telegram grants one. Every message is converted and appended to the journal as it arrives
(`journal`), so a flood wait or an interruption never loses or duplicates anything: the fetch
resumes after the last message written, and `<out>` appears only once complete.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telethon import utils
from telethon.tl import functions, types
from tqdm.auto import tqdm

from core.errors import ChatLikeMeError
from core.report import md_table, write_report
from ingest.telegram.client import (
    FloodWaiter,
    LoginPrompts,
    LoginResult,
    Sleep,
    TelegramConfig,
    exclusive,
    logged_in_client,
    login,
    make_client,
    message_source,
    require_login,
)
from ingest.telegram.convert import (
    MIGRATED_ID_SHIFT,
    bare_id,
    chat_header,
    chat_type,
    message_to_desktop,
    personal_information,
)
from ingest.telegram.fields import PeerDirectory, entity_key
from ingest.telegram.journal import ChatWriter, ExportJournal, ExportState, JournalMeta, PlannedChat

# `--types` accepts these groups as well as Desktop's own chat types.
TYPE_GROUPS: dict[str, set[str]] = {
    "personal": {"personal_chat", "saved_messages"},
    "bot": {"bot_chat", "replies", "verification_codes"},
    "group": {"private_group", "private_supergroup"},
    "public_group": {"public_supergroup"},
    "channel": {"private_channel", "public_channel"},
}
DESKTOP_TYPES = set().union(*TYPE_GROUPS.values())


def telegram_login(config: TelegramConfig, prompts: LoginPrompts | None = None) -> LoginResult:
    """Log in once (interactively) and keep the session in the data directory."""
    with exclusive(config):
        return asyncio.run(_login(config, prompts))


async def _login(config: TelegramConfig, prompts: LoginPrompts | None) -> LoginResult:
    client = make_client(config)
    try:
        return await login(client, config.session_path, prompts)
    finally:
        await client.disconnect()


@dataclass
class ExportSummary:
    out: Path
    chats: list[dict[str, Any]]  # per chat: key, type, messages exported, last message id
    flood_waits: list[int]
    takeout: bool
    resumed: bool

    @property
    def messages(self) -> int:
        return sum(chat["messages"] for chat in self.chats)


def telegram_export(
    out: Path,
    config: TelegramConfig,
    *,
    chats: Sequence[str] = (),
    types: Sequence[str] | None = None,
    since_last: bool = False,
    restart: bool = False,
    client: Any = None,
    tz: dt.tzinfo | None = None,
    sleep: Sleep = asyncio.sleep,
    progress: bool = True,
    say: Callable[[str], None] = print,
) -> ExportSummary:
    """Export chats (named ones, else those of `types`) to `out` in the Desktop full-account layout.

    `since_last`: only messages newer than the last completed export of each chat. An interrupted export
    to the same `out` resumes when run again with the same options (`restart` discards it instead).
    `client` is a Telethon client (default: one on the logged-in session); `tz` the zone of the `date`
    strings (default: this machine's, as Desktop).
    """
    request = {
        "chats": [token for item in chats for token in item.split(",") if token],
        "types": sorted(parse_types(types if types is not None else config.types)),
        "since_last": since_last,
    }
    with exclusive(config):
        exporter = _Exporter(
            config=config,
            journal=ExportJournal(out),
            waiter=FloodWaiter(max_wait=config.max_flood_wait, sleep=sleep, progress=progress),
            tz=tz,
            progress=progress,
            say=say,
        )
        try:
            summary = asyncio.run(exporter.run(client or logged_in_client(config), request, restart))
        except (ConnectionError, TimeoutError) as exc:
            raise ChatLikeMeError(
                f"lost the connection to Telegram ({exc}); progress is kept in {exporter.journal.dir}: "
                "run the same command again to resume"
            ) from None
    _write_report(config, summary)
    return summary


def parse_types(tokens: Sequence[str]) -> set[str]:
    """Desktop chat types selected by `--types` tokens (groups like "personal" or exact Desktop types)."""
    selected: set[str] = set()
    for token in (t.strip() for item in tokens for t in item.split(",")):
        if token in TYPE_GROUPS:
            selected |= TYPE_GROUPS[token]
        elif token in DESKTOP_TYPES:
            selected.add(token)
        elif token:
            known = ", ".join([*TYPE_GROUPS, *sorted(DESKTOP_TYPES)])
            raise ChatLikeMeError(f"--types: unknown chat type '{token}' (known: {known})")
    if not selected:
        raise ChatLikeMeError("--types: no chat type given")
    return selected


def select_chats(dialogs: dict[str, Any], tokens: Sequence[str], kinds: set[str]) -> list[str]:
    """Keys of the chats to export, in dialog order: the named ones (id or @username), else every
    dialog whose Desktop type is in `kinds`."""
    if not tokens:
        return [key for key, entity in dialogs.items() if chat_type(entity) in kinds]
    chosen: set[str] = set()
    for token in tokens:
        matches = [key for key, entity in dialogs.items() if _matches(entity, token)]
        if not matches:
            raise ChatLikeMeError(f"--chats: no chat '{token}' among your dialogs (give its id or @username)")
        chosen.update(matches)
    return [key for key in dialogs if key in chosen]


def _matches(entity: Any, token: str) -> bool:
    if token.startswith("@"):
        names = [getattr(entity, "username", None)]
        names += [extra.username for extra in getattr(entity, "usernames", None) or ()]
        return token[1:].lower() in {name.lower() for name in names if name}
    try:
        number = int(token)
    except ValueError:
        raise ChatLikeMeError(f"--chats: '{token}' is neither a chat id nor an @username") from None
    return number in (bare_id(entity), utils.get_peer_id(entity))


def _takeout_kinds(planned: list[PlannedChat]) -> set[str]:
    """What the takeout session must cover, by Telegram's categories."""
    kinds: set[str] = set()
    for chat in planned:
        kind = chat.header["type"]
        if chat.key.startswith("user"):
            kinds.add("user")
        elif kind == "private_group":
            kinds.add("chat")
        elif kind.endswith("supergroup"):
            kinds |= {"megagroup", "chat"}  # "chat": its history from before it became a supergroup
        else:
            kinds.add("channel")
    return kinds


@dataclass
class _Exporter:
    config: TelegramConfig
    journal: ExportJournal
    waiter: FloodWaiter
    tz: dt.tzinfo | None
    progress: bool
    say: Callable[[str], None]
    directory: PeerDirectory = field(default_factory=PeerDirectory)
    self_id: int = 0
    source: Any = None  # the client or its takeout session
    wait_time: float | None = None

    async def run(self, client: Any, request: dict[str, Any], restart: bool) -> ExportSummary:
        try:
            me = await self.waiter.call(lambda: require_login(client), "reading your account")
            self.self_id = me.id
            self.directory.add(me)
            dialogs = await self._dialogs(client)
            meta, resumed = await self._plan(client, me, dialogs, request, restart)
            pending = [chat for chat in meta.chats if chat.key not in meta.done]
            kinds = _takeout_kinds(pending)
            async with message_source(client, self.config.takeout, kinds, self.say) as (source, takeout):
                self.source = source
                self.wait_time = self.config.wait_time
                if self.wait_time is None and takeout:
                    self.wait_time = 0  # takeout's flood limits are lower: no need for Telethon's pause
                for chat in tqdm(pending, desc="Chats", unit="chat", disable=not self.progress):
                    await self._export_chat(chat, dialogs.get(chat.key))
                    self.journal.mark_done(meta, chat.key)
        finally:
            await client.disconnect()
        return self._finish(meta, takeout, resumed)

    async def _dialogs(self, client: Any) -> dict[str, Any]:
        """Every dialog's entity by chat key, most recent first (a supergroup's pre-migration group is
        not listed: its history is exported inside the supergroup, as Desktop does)."""

        async def listing() -> dict[str, Any]:
            dialogs = client.iter_dialogs(ignore_migrated=True)
            return {entity_key(dialog.entity): dialog.entity async for dialog in dialogs}

        dialogs = await self.waiter.call(listing, "listing your chats")
        for entity in dialogs.values():
            self.directory.add(entity)
        return dialogs

    async def _plan(
        self, client: Any, me: types.User, dialogs: dict[str, Any], request: dict[str, Any], restart: bool
    ) -> tuple[JournalMeta, bool]:
        """The interrupted export's plan if there is one to resume, else a new plan (and journal)."""
        meta = self.journal.load()
        if meta is not None and restart:
            self.journal.discard()
            meta = None
        if meta is not None:
            if meta.options != request or meta.user_id != me.id:
                raise ChatLikeMeError(
                    f"{self.journal.dir}: an interrupted export with other options (or another account) "
                    "is waiting here; run the same command as before to resume it, "
                    "or add --restart to discard it"
                )
            self.say(f"Resuming the interrupted export: {len(meta.done)} of {len(meta.chats)} chats done.")
            return meta, True
        state = ExportState.load(self.config.state_path)
        if state.user_id not in (0, me.id):
            raise ChatLikeMeError(
                f"{self.config.state_path}: export state of another account; use another --data-dir"
            )
        baseline = state.last_message_ids if request["since_last"] else {}
        if request["since_last"] and not baseline:
            self.say("No earlier export recorded: exporting the whole history.")
        keys = select_chats(dialogs, request["chats"], set(request["types"]))
        planned = [PlannedChat(key, chat_header(dialogs[key]), baseline.get(key, 0)) for key in keys]
        bio = await self._bio(client)
        meta = JournalMeta(request, me.id, personal_information(me, bio), planned)
        return self.journal.start(meta), False

    async def _bio(self, client: Any) -> str | None:
        full = await self.waiter.call(
            lambda: client(functions.users.GetFullUserRequest(types.InputUserSelf())), "reading your profile"
        )
        return full.full_user.about

    async def _export_chat(self, chat: PlannedChat, entity: Any) -> None:
        if entity is None:
            self.say(f"Chat {chat.header.get('name') or chat.key} is no longer among your dialogs: skipped.")
            return
        last = self.journal.last_id(chat.key)
        label = str(chat.header.get("name") or chat.key)[:30]
        bar = tqdm(desc=label, unit="msg", leave=False, disable=not self.progress)
        with bar, self.journal.writer(chat.key) as writer:

            async def before_write(message: Any) -> None:
                action = getattr(message, "action", None)
                if isinstance(action, types.MessageActionChannelMigrateFrom):
                    await self._export_migrated(chat, action.chat_id, bar)

            await self._fetch(
                entity, writer, bar, after=max(chat.min_id, last or 0), before_write=before_write
            )

    async def _export_migrated(self, chat: PlannedChat, old_chat_id: int, bar: tqdm) -> None:
        """A supergroup's history from when it was a basic group, with Desktop's negative ids."""
        last = self.journal.last_id(chat.key, "migrated")
        after = 0 if last is None else last - MIGRATED_ID_SHIFT
        with self.journal.writer(chat.key, "migrated") as writer:
            await self._fetch(
                types.PeerChat(old_chat_id), writer, bar, after=after, id_shift=MIGRATED_ID_SHIFT
            )

    async def _fetch(
        self,
        peer: Any,
        writer: ChatWriter,
        bar: tqdm,
        *,
        after: int,
        id_shift: int = 0,
        before_write: Callable[[Any], Any] | None = None,
    ) -> None:
        """Every message of `peer` after id `after`, oldest first, converted and appended to `writer`.
        A flood wait is waited out, then the fetch goes on after the last message written."""

        async def fetch_from_last() -> None:
            nonlocal after
            async for message in self.source.iter_messages(
                peer, reverse=True, min_id=after, wait_time=self.wait_time
            ):
                self.directory.learn_from(message)
                if before_write is not None:
                    await before_write(message)
                entry = message_to_desktop(
                    message, directory=self.directory, self_id=self.self_id, tz=self.tz, id_shift=id_shift
                )
                writer.write(entry)
                after = message.id
                bar.update(1)

        def flush_then_fetch() -> Any:
            writer.flush()
            return fetch_from_last()

        await self.waiter.call(flush_then_fetch, "reading history")

    def _finish(self, meta: JournalMeta, takeout: bool, resumed: bool) -> ExportSummary:
        """Assemble `<out>`, then move the export state forward, then drop the journal (in that order, so
        a crash in between at worst repeats the assembly)."""
        out = self.journal.assemble(meta)
        state = ExportState.load(self.config.state_path)
        state.user_id = meta.user_id
        chats = []
        for chat in meta.chats:
            last = self.journal.last_id(chat.key)
            if last is not None:
                state.last_message_ids[chat.key] = max(last, state.last_message_ids.get(chat.key, 0))
            count = self.journal.count(chat.key) + self.journal.count(chat.key, "migrated")
            chats.append({"key": chat.key, "type": chat.header["type"], "messages": count, "last_id": last})
        state.save(self.config.state_path)
        self.journal.discard()
        return ExportSummary(out, chats, list(self.waiter.waits), takeout, resumed)


def _write_report(config: TelegramConfig, summary: ExportSummary) -> None:
    """`<data dir>/telegram/last-export/report.{json,md}`: counts only (no names, no credentials)."""
    data = {
        "out": str(summary.out),
        "chats": len(summary.chats),
        "messages": summary.messages,
        "takeout": summary.takeout,
        "resumed": summary.resumed,
        "flood_waits": summary.flood_waits,
        "per_chat": summary.chats,
    }
    rows = [(c["key"], c["type"], c["messages"], c["last_id"]) for c in summary.chats]
    markdown = "\n\n".join(
        [
            "# Telegram export",
            f"{summary.messages} messages from {len(summary.chats)} chats -> `{summary.out}` "
            f"(takeout: {summary.takeout}, resumed: {summary.resumed}, "
            f"flood waits: {len(summary.flood_waits)}, {sum(summary.flood_waits)} s).",
            md_table(["chat", "type", "messages", "last message id"], rows),
        ]
    )
    write_report(config.telegram_dir() / "last-export", data, markdown)
