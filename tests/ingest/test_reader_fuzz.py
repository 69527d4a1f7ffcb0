"""Property: any bytes given to the Telegram or the WhatsApp reader (or to ingest's reading, which tells them
apart by content) give a result or a one-line `ChatLikeMeError` naming the file, never another exception:
random bytes, and truncated and corrupted exports of both formats (text and zip)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ChatLikeMeError
from ingest.ingest import read_messages
from ingest.telegram.desktop import read_export
from ingest.whatsapp_export import read_whatsapp_export
from tests.ingest.telegram_builders import chat, dialogue, full_export
from tests.ingest.whatsapp_builders import ANDROID_US, IOS, Line, render, sessions, write_chat

TELEGRAM = json.dumps(full_export([chat(2002, dialogue(6))]), ensure_ascii=False, indent=1).encode()
_EXTRA = [
    Line(sessions(1)[0].when, "~\u202fLuca", "\u200eimage omitted"),
    Line(sessions(1)[0].when, None, "Luca left"),
]
WHATSAPP = [render(sessions(2) + _EXTRA, style).encode() for style in (IOS, ANDROID_US)]


def _zip(style) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return write_chat(Path(tmp) / "chat.zip", sessions(2), style, {"IMG-1.jpg": b"x"}).read_bytes()


ZIPS = [_zip(IOS), _zip(ANDROID_US)]


def _detected(path: Path):
    """What `chatlikeme ingest` does: tell the format by content, then read and merge."""
    return read_messages([path])[0][0]


READERS = {"telegram": read_export, "whatsapp": read_whatsapp_export, "detected": _detected}
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _mangled(originals: list[bytes]) -> st.SearchStrategy[bytes]:
    """An original cut at a random point, with a few random bytes written over it or appended."""

    @st.composite
    def build(draw) -> bytes:
        data = draw(st.sampled_from(originals))
        cut = draw(st.integers(0, len(data)))
        data = data[:cut]
        if data and draw(st.booleans()):
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at + 1 :]
        return data + draw(st.binary(max_size=4))

    return build()


INPUTS = st.one_of(st.binary(max_size=300), _mangled([TELEGRAM, *WHATSAPP, *ZIPS]))


def _one_line_error_or_result(reader, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export"
        path.write_bytes(data)
        try:
            export = reader(path)
        except ChatLikeMeError as exc:
            message = str(exc)
            assert "\n" not in message and message.startswith(str(path)), message
        else:
            assert export.messages.num_rows == sum(c.messages for c in export.chats)


@pytest.mark.parametrize("reader", READERS.values(), ids=READERS.keys())
@SETTINGS
@given(data=INPUTS)
def test_any_bytes_give_a_result_or_a_one_line_error(reader, data):
    _one_line_error_or_result(reader, data)


@pytest.mark.parametrize("reader", READERS.values(), ids=READERS.keys())
def test_every_truncation_of_a_whatsapp_line(reader):
    """Each prefix of a few lines (every cut inside a date, a time, a name): never a traceback."""
    head = WHATSAPP[0][:300]
    for cut in range(len(head) + 1):
        _one_line_error_or_result(reader, head[:cut])
