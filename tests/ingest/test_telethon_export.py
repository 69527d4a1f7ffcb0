"""The live export end to end over `FakeTelegram` (real TL objects; only the network is replaced):
Desktop layout, chat selection, incremental `--since-last`, flood waits, takeout, interruption and resume."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from telethon import errors
from telethon.tl import types

from core.errors import ChatLikeMeError
from ingest.telegram.client import LoginPrompts, TelegramConfig, exclusive, login, make_client
from ingest.telegram.journal import ExportJournal, ExportState
from ingest.telegram.live_export import telegram_export
from tests.ingest.telethon_fakes import (
    BOB,
    CARLA,
    GROUP,
    ME,
    NEWS,
    SUPERGROUP,
    FakeTelegram,
    service_message,
    sticker,
    text_message,
)

API_HASH = "0123456789abcdef0123456789abcdef"


def bob_history() -> list[types.Message]:
    return [
        text_message(1, BOB, "ciao Ada", sender=BOB),
        text_message(2, BOB, "ciao! come va?", sender=ME),
        text_message(3, BOB, "", sender=BOB, media=sticker("😂")),
        text_message(4, BOB, "benone", sender=ME, reply_to=types.MessageReplyHeader(reply_to_msg_id=1)),
        text_message(5, BOB, "a dopo", sender=BOB),
    ]


def group_history() -> list[types.Message]:
    return [
        service_message(
            1, GROUP, types.MessageActionChatCreate(title="Gita al lago", users=[BOB.id, CARLA.id]), sender=ME
        ),
        text_message(6, GROUP, "chi guida?", sender=CARLA),
        text_message(7, GROUP, "io", sender=ME),
    ]


@pytest.fixture
def config(tmp_path: Path) -> TelegramConfig:
    return TelegramConfig(api_id=12345, api_hash=API_HASH, data_dir=tmp_path / "data")


@pytest.fixture
def account() -> FakeTelegram:
    return FakeTelegram(
        [BOB, GROUP, NEWS], [(BOB, bob_history()), (GROUP, group_history()), (NEWS, [])], bio="matematica"
    )


class Sleeps(list):
    """Records the flood waits instead of sleeping through them."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def export(out: Path, config: TelegramConfig, client: FakeTelegram, **kwargs):
    kwargs.setdefault("sleep", Sleeps())
    return telegram_export(
        out, config, client=client, tz=dt.UTC, progress=False, say=lambda _: None, **kwargs
    )


def chats_of(path: Path) -> dict[str, dict]:
    return {chat["name"]: chat for chat in json.loads(path.read_text())["chats"]["list"]}


def ids(chat: dict) -> list[int]:
    return [message["id"] for message in chat["messages"]]


def test_full_export_is_a_desktop_full_account_export(tmp_path, config, account):
    out = tmp_path / "live.json"
    summary = export(out, config, account)
    data = json.loads(out.read_text())
    assert data["personal_information"]["user_id"] == ME.id
    assert data["personal_information"]["bio"] == "matematica"
    chats = data["chats"]["list"]
    assert [(c["name"], c["type"], c["id"]) for c in chats] == [
        ("Bob Rossi", "personal_chat", BOB.id),
        ("Gita al lago", "private_group", GROUP.id),
    ]  # the channel is not among the default types (personal, group)
    bob = chats[0]
    assert ids(bob) == [1, 2, 3, 4, 5]  # chronological
    assert [m["from_id"] for m in bob["messages"]] == [
        "user2001",
        "user1000",
        "user2001",
        "user1000",
        "user2001",
    ]
    assert bob["messages"][2]["sticker_emoji"] == "😂"
    assert bob["messages"][3]["reply_to_message_id"] == 1
    assert chats[1]["messages"][0]["action"] == "create_group"
    assert summary.messages == 8 and summary.takeout
    assert account.takeouts == [
        {
            "contacts": False,
            "users": True,
            "chats": True,
            "megagroups": False,
            "channels": False,
            "files": False,
        }
    ]
    assert not ExportJournal(out).dir.exists()  # the journal goes once the export is complete
    assert ExportState.load(config.state_path).last_message_ids == {"user2001": 5, "chat3001": 7}


def test_since_last_exports_only_newer_messages_and_merges_without_overlap(tmp_path, config, account):
    export(tmp_path / "first.json", config, account)
    account.add(BOB, text_message(8, BOB, "ci sei?", sender=BOB), text_message(9, BOB, "sì", sender=ME))
    export(tmp_path / "second.json", config, account, since_last=True)
    second = chats_of(tmp_path / "second.json")
    assert list(second) == ["Bob Rossi"]  # the group has nothing new
    assert ids(second["Bob Rossi"]) == [8, 9]
    assert ("iter_messages", (str(BOB.id), 5)) in account.calls
    assert json.loads((tmp_path / "second.json").read_text())["personal_information"]["user_id"] == ME.id
    first = chats_of(tmp_path / "first.json")
    assert set(ids(first["Bob Rossi"])).isdisjoint(ids(second["Bob Rossi"]))
    assert ExportState.load(config.state_path).last_message_ids["user2001"] == 9

    export(tmp_path / "third.json", config, account, since_last=True)
    assert chats_of(tmp_path / "third.json") == {}  # nothing new anywhere: still a valid export


def test_flood_wait_mid_chat_is_waited_out_and_the_fetch_resumes_after_the_last_message(tmp_path, config):
    flood = errors.FloodWaitError(request=None, capture=30)
    account = FakeTelegram(
        [BOB], [(BOB, bob_history())], failures=[(BOB, [(2, flood)]), ("dialogs", [(0, flood)])]
    )
    sleeps = Sleeps()
    summary = export(tmp_path / "live.json", config, account, sleep=sleeps)
    assert sum(sleeps) == 60 and summary.flood_waits == [30, 30]  # listing the chats, then the history
    assert ids(chats_of(tmp_path / "live.json")["Bob Rossi"]) == [1, 2, 3, 4, 5]  # nothing lost or repeated
    fetches = [args for name, args in account.calls if name == "iter_messages"]
    assert fetches == [(str(BOB.id), 0), (str(BOB.id), 2)]


def test_too_long_flood_wait_stops_with_progress_kept(tmp_path, config):
    account = FakeTelegram(
        [BOB], [(BOB, bob_history())], failures=[(BOB, [(3, errors.FloodWaitError(None, capture=90_000))])]
    )
    with pytest.raises(ChatLikeMeError, match="run the same command again later"):
        export(tmp_path / "live.json", config, account)
    assert ExportJournal(tmp_path / "live.json").last_id(f"user{BOB.id}") == 3


def test_interrupted_export_resumes_where_it_stopped_and_never_leaves_a_half_file(tmp_path, config):
    out = tmp_path / "live.json"
    out.write_text("previous complete export")
    dropped = FakeTelegram(
        [GROUP, BOB],
        [(BOB, bob_history()), (GROUP, group_history())],
        failures=[(BOB, [(3, ConnectionError("reset"))])],
    )
    with pytest.raises(ChatLikeMeError, match="resume"):
        export(out, config, dropped)
    assert out.read_text() == "previous complete export"
    assert ExportState.load(config.state_path).last_message_ids == {}  # state moves only with a complete file

    again = FakeTelegram([GROUP, BOB], [(BOB, bob_history()), (GROUP, group_history())])
    summary = export(out, config, again)
    assert summary.resumed
    fetches = [args for name, args in again.calls if name == "iter_messages"]
    assert fetches == [(str(BOB.id), 3)]  # the group was done; Bob resumes after message 3
    chats = chats_of(out)
    assert ids(chats["Bob Rossi"]) == [1, 2, 3, 4, 5] and ids(chats["Gita al lago"]) == [1, 6, 7]


def test_torn_journal_line_from_a_crash_is_dropped_and_fetched_again(tmp_path, config):
    out = tmp_path / "live.json"
    crashing = FakeTelegram([BOB], [(BOB, bob_history())], failures=[(BOB, [(4, ConnectionError("reset"))])])
    with pytest.raises(ChatLikeMeError):
        export(out, config, crashing)
    journal = ExportJournal(out)
    with journal.chat_path(f"user{BOB.id}").open("ab") as fh:
        fh.write(b'{"id": 5, "type": "mess')  # power cut in the middle of a write
    export(out, config, FakeTelegram([BOB], [(BOB, bob_history())]))
    assert ids(chats_of(out)["Bob Rossi"]) == [1, 2, 3, 4, 5]


def test_resume_with_other_options_is_refused_unless_restarted(tmp_path, config):
    out = tmp_path / "live.json"
    failing = FakeTelegram([BOB], [(BOB, bob_history())], failures=[(BOB, [(1, ConnectionError("reset"))])])
    with pytest.raises(ChatLikeMeError):
        export(out, config, failing)
    with pytest.raises(ChatLikeMeError, match="--restart"):
        export(out, config, FakeTelegram([BOB], [(BOB, bob_history())]), since_last=True)
    summary = export(out, config, FakeTelegram([BOB], [(BOB, bob_history())]), since_last=True, restart=True)
    assert not summary.resumed and summary.messages == 5


def test_named_chats_and_types(tmp_path, config, account):
    export(tmp_path / "a.json", config, account, chats=[f"{GROUP.id}"])
    assert list(chats_of(tmp_path / "a.json")) == ["Gita al lago"]
    export(tmp_path / "b.json", config, account, chats=["@BOBR,@news"])
    assert list(chats_of(tmp_path / "b.json")) == ["Bob Rossi", "News"]
    export(tmp_path / "c.json", config, account, types=["channel"])
    assert list(chats_of(tmp_path / "c.json")) == ["News"]
    with pytest.raises(ChatLikeMeError, match="no chat '@nobody'"):
        export(tmp_path / "d.json", config, account, chats=["@nobody"])
    with pytest.raises(ChatLikeMeError, match="unknown chat type 'friends'"):
        export(tmp_path / "d.json", config, account, types=["friends"])


def test_supergroup_includes_its_history_from_before_the_migration(tmp_path, config):
    migrated = types.MessageActionChannelMigrateFrom(title="Gita", chat_id=GROUP.id)
    supergroup = [
        service_message(1, SUPERGROUP, migrated, sender=BOB),
        text_message(2, SUPERGROUP, "siamo un supergruppo", sender=BOB),
    ]
    before = [
        text_message(10, GROUP, "prima", sender=CARLA),
        text_message(11, GROUP, "dopo", sender=ME, reply_to=types.MessageReplyHeader(reply_to_msg_id=10)),
    ]
    history = [(SUPERGROUP, supergroup), (types.PeerChat(GROUP.id), before)]
    export(tmp_path / "live.json", config, FakeTelegram([SUPERGROUP], history))
    messages = chats_of(tmp_path / "live.json")["Calcetto"]["messages"]
    shift = -1_000_000_000
    assert [m["id"] for m in messages] == [10 + shift, 11 + shift, 1, 2]
    assert messages[1]["reply_to_message_id"] == 10 + shift
    assert messages[2]["action"] == "migrate_from_group"


def test_takeout_delay_falls_back_or_stops(tmp_path, config, account):
    account.takeout_delay = 3600
    summary = export(tmp_path / "a.json", config, account)
    assert not summary.takeout and summary.messages == 8
    strict = config.replace(takeout="always")
    with pytest.raises(ChatLikeMeError, match="delays the takeout"):
        export(tmp_path / "b.json", strict, FakeTelegram([BOB], [(BOB, bob_history())], takeout_delay=3600))


def test_not_logged_in_is_a_clear_error(tmp_path, config):
    with pytest.raises(ChatLikeMeError, match="telegram login"):
        export(tmp_path / "a.json", config, FakeTelegram([BOB], [], authorized=False))


def test_session_is_private_and_secrets_stay_out_of_reports(tmp_path, config, account):
    client = make_client(config)  # a real Telethon client on the session file (it does not connect)
    client.session.close()
    assert stat.S_IMODE(config.session_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.telegram_dir().stat().st_mode) == 0o700
    export(tmp_path / "live.json", config, account)
    report = config.telegram_dir() / "last-export"
    for text in ((report / "report.json").read_text(), (report / "report.md").read_text()):
        assert API_HASH not in text and "12345" not in text and ME.phone not in text
    assert json.loads((report / "report.json").read_text())["messages"] == 8


def test_login_uses_the_prompts_and_keeps_the_session_private(config):
    class NewDevice(FakeTelegram):
        async def start(self, *, phone, code_callback, password):  # what Telethon asks, in its order
            self.answers = [phone(), code_callback(), password()]

    make_client(config).session.close()
    config.session_path.chmod(0o644)
    client = NewDevice([], [])
    prompts = LoginPrompts(phone=lambda: "+39 333", code=lambda: "12345", password=lambda: "secret")
    result = asyncio.run(login(client, config.session_path, prompts))
    assert client.answers == ["+39 333", "12345", "secret"]
    assert (result.user_id, result.name) == (ME.id, "Ada Lovelace")
    assert stat.S_IMODE(config.session_path.stat().st_mode) == 0o600


def test_ctrl_c_keeps_the_progress_for_the_next_run(tmp_path, config):
    out = tmp_path / "live.json"
    interrupted = FakeTelegram([BOB], [(BOB, bob_history())], failures=[(BOB, [(3, KeyboardInterrupt())])])
    with pytest.raises(KeyboardInterrupt):
        export(out, config, interrupted)
    assert not out.exists() and ExportJournal(out).last_id(f"user{BOB.id}") == 3
    assert ("disconnect", None) in interrupted.calls
    assert export(out, config, FakeTelegram([BOB], [(BOB, bob_history())])).resumed
    assert ids(chats_of(out)["Bob Rossi"]) == [1, 2, 3, 4, 5]


def test_one_command_at_a_time_and_a_damaged_state_file_is_named(tmp_path, config, account):
    with exclusive(config), pytest.raises(ChatLikeMeError, match="another `chatlikeme telegram` command"):
        export(tmp_path / "a.json", config, account)
    config.state_path.write_text("{not json")
    with pytest.raises(ChatLikeMeError, match=r"export-state\.json: not a valid export state file"):
        export(tmp_path / "a.json", config, account)
