"""The Telegram side of a live export: credentials, the session file, login, flood waits, takeout.

Credentials (`api_id`, `api_hash`) come from https://my.telegram.org -> "API development tools", through
the environment (`TELEGRAM_API_ID`, `TELEGRAM_API_HASH`) or a YAML config file. The session file (which
*is* a logged-in login: treat it like a password) lives in `<data dir>/telegram/`, a 0700 directory,
with mode 0600. None of these values is ever printed, logged or written into a report.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock, Timeout
from telethon import TelegramClient, errors
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_never
from tqdm.auto import tqdm

from core.config import StageConfig
from core.errors import ChatLikeMeError

Sleep = Callable[[float], Awaitable[Any]]


@dataclass
class TelegramConfig(StageConfig):
    """Settings of `chatlikeme telegram login/export` (YAML keys of the same names)."""

    api_id: int | None = None
    "Your application's api_id from my.telegram.org (or env TELEGRAM_API_ID, which wins)."
    api_hash: str | None = None
    "Your application's api_hash from my.telegram.org (or env TELEGRAM_API_HASH, which wins). Keep it secret."
    data_dir: Path | None = None
    "Where the session and export state live (default: $CHATLIKEME_DATA_DIR, else ~/.local/share/chatlikeme)."
    types: list[str] = field(default_factory=lambda: ["personal", "group"])
    "Chats to export when none are named: personal, bot, group, public_group, channel, or Desktop's types."
    takeout: Literal["auto", "always", "never"] = "auto"
    "Takeout session (lower flood limits for bulk export); auto: plain requests if Telegram delays it."
    wait_time: float | None = None
    "Seconds between history requests of 100 messages (None: 0 in a takeout session, else Telethon's 1)."
    max_flood_wait: int = 24 * 3600
    "Longest flood wait (s) honoured; a longer one stops the export (progress kept: run it again later)."

    def credentials(self) -> tuple[int, str]:
        """(api_id, api_hash), the environment taking precedence over the config file."""
        api_id = os.environ.get("TELEGRAM_API_ID") or self.api_id
        api_hash = os.environ.get("TELEGRAM_API_HASH") or self.api_hash
        if not api_id or not api_hash:
            raise ChatLikeMeError(
                "Telegram api_id/api_hash missing: get them at https://my.telegram.org -> "
                "API development tools, then set TELEGRAM_API_ID and TELEGRAM_API_HASH "
                "or put api_id/api_hash in the --config file"
            )
        try:
            return int(api_id), str(api_hash)
        except ValueError:
            raise ChatLikeMeError("TELEGRAM_API_ID must be the number shown on my.telegram.org") from None

    def telegram_dir(self) -> Path:
        """`<data dir>/telegram`, created private (0700) on first use."""
        base = self.data_dir or os.environ.get("CHATLIKEME_DATA_DIR")
        if base is None:
            xdg = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
            base = Path(xdg) / "chatlikeme"
        path = Path(base).expanduser() / "telegram"
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.chmod(0o700)
        return path

    @property
    def session_path(self) -> Path:
        return self.telegram_dir() / "telethon.session"

    @property
    def state_path(self) -> Path:
        return self.telegram_dir() / "export-state.json"


def make_client(config: TelegramConfig, *, catch_up: bool = False) -> TelegramClient:
    """A Telethon client on the private session file. Flood waits are never slept through silently:
    `flood_sleep_threshold=0` hands every one to `FloodWaiter`, which shows a countdown. `catch_up`: on
    (re)connecting, fetch the updates missed while away (`chatlikeme bot --as-me`)."""
    api_id, api_hash = config.credentials()
    session = config.session_path
    fd = os.open(session, os.O_CREAT | os.O_RDWR, 0o600)  # exists with 0600 before SQLite opens it
    os.close(fd)
    session.chmod(0o600)
    return TelegramClient(
        str(session), api_id, api_hash, flood_sleep_threshold=0, device_model="chatlikeme", catch_up=catch_up
    )


def logged_in_client(config: TelegramConfig, *, catch_up: bool = False) -> TelegramClient:
    """`make_client`, refusing early (without touching the network) when `telegram login` never ran."""
    client = make_client(config, catch_up=catch_up)
    if client.session.auth_key is None:
        client.session.close()
        raise ChatLikeMeError("not logged in to Telegram: run `chatlikeme telegram login` first")
    return client


@contextlib.contextmanager
def exclusive(config: TelegramConfig) -> Iterator[None]:
    """One telegram command at a time per data directory (the session and state files are not shareable)."""
    lock = FileLock(config.telegram_dir() / ".lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ChatLikeMeError(
            f"{config.telegram_dir()}: another `chatlikeme telegram` command is using this data directory"
        ) from None
    try:
        yield
    finally:
        lock.release()


# --- login --------------------------------------------------------------------------------------------------


@dataclass
class LoginPrompts:
    """How login asks for what it needs; the code and the 2FA password are read without echo."""

    phone: Callable[[], str] = lambda: input("Phone number (international format, e.g. +39 333 1234567): ")
    code: Callable[[], str] = lambda: getpass.getpass("Login code (sent to your Telegram app): ")
    password: Callable[[], str] = lambda: getpass.getpass("Two-step verification password: ")


@dataclass
class LoginResult:
    user_id: int
    name: str
    session_path: Path


async def login(client: Any, session_path: Path, prompts: LoginPrompts | None = None) -> LoginResult:
    """Log in interactively (phone, code, 2FA password if enabled) unless the session already is."""
    prompts = prompts or LoginPrompts()
    await client.start(phone=prompts.phone, code_callback=prompts.code, password=prompts.password)
    me = await client.get_me()
    session_path.chmod(0o600)
    name = " ".join(part for part in (me.first_name, me.last_name) if part)
    return LoginResult(user_id=me.id, name=name, session_path=session_path)


async def require_login(client: Any) -> Any:
    """The logged-in account (`User`), or a clear error if `telegram login` has not been run."""
    await client.connect()
    if not await client.is_user_authorized():
        raise ChatLikeMeError("not logged in to Telegram: run `chatlikeme telegram login` first")
    return await client.get_me()


# --- flood waits --------------------------------------------------------------------------------------------


@dataclass
class FloodWaiter:
    """Waits out Telegram's flood waits with a visible countdown, and remembers them for the report."""

    max_wait: int
    sleep: Sleep = asyncio.sleep
    progress: bool = True
    waits: list[int] = field(default_factory=list)

    async def wait(self, error: errors.FloodError, doing: str) -> None:
        seconds = getattr(error, "seconds", None)
        if seconds is None:
            raise error
        if seconds > self.max_wait:
            raise ChatLikeMeError(
                f"Telegram asks to wait {seconds} s before {doing} "
                f"(more than max_flood_wait={self.max_wait}); progress is saved: "
                "run the same command again later to resume"
            )
        self.waits.append(seconds)
        countdown = tqdm(total=seconds, desc=f"Flood wait ({doing})", unit="s", disable=not self.progress)
        with countdown as bar:
            remaining = seconds
            while remaining > 0:
                step = min(1, remaining)
                await self.sleep(step)
                bar.update(step)
                remaining -= step

    async def call(self, make_call: Callable[[], Awaitable[Any]], doing: str) -> Any:
        """`await make_call()`, retried after each flood wait (the wait itself is the countdown above)."""

        async def wait_out(state: RetryCallState) -> None:
            await self.wait(state.outcome.exception(), doing)  # type: ignore[arg-type, union-attr]

        retrying = AsyncRetrying(
            retry=retry_if_exception_type(errors.FloodError),
            before_sleep=wait_out,
            stop=stop_never,
            reraise=True,
        )

        async def attempt() -> Any:  # tenacity awaits only what `async def` makes, not a lambda's coroutine
            return await make_call()

        return await retrying(attempt)


# --- takeout ------------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def message_source(
    client: Any, mode: str, kinds: set[str], say: Callable[[str], None]
) -> AsyncIterator[tuple[Any, bool]]:
    """(the client to read history through, whether it is a takeout session).

    A takeout session is Telegram's data-export mode with lower flood limits. Telegram may refuse to open
    one for a while (`TakeoutInitDelayError`, typically until the request is confirmed in another app):
    mode "auto" then reads through the normal client, "always" stops with the wait time.
    """
    if mode == "never":
        yield client, False
        return
    if getattr(client.session, "takeout_id", None) is not None:
        await client.end_takeout(success=False)  # a takeout left open by a killed run blocks a new one
    async with contextlib.AsyncExitStack() as stack:
        takeout = client.takeout(
            finalize=True,
            contacts=False,
            users=bool(kinds & {"user"}),
            chats=bool(kinds & {"chat"}),
            megagroups=bool(kinds & {"megagroup"}),
            channels=bool(kinds & {"channel"}),
            files=False,
        )
        try:
            source, is_takeout = await stack.enter_async_context(takeout), True
        except errors.TakeoutInitDelayError as error:
            hours = error.seconds / 3600
            if mode == "always":
                raise ChatLikeMeError(
                    f"Telegram delays the takeout (data export) session by {error.seconds} s "
                    f"(~{hours:.1f} h); confirm the export request in another Telegram app, "
                    "or use takeout: auto"
                ) from None
            say(f"Telegram delays the takeout session by ~{hours:.1f} h: exporting without it (slower).")
            source, is_takeout = client, False
        yield source, is_takeout
