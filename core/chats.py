"""`DATA/chats.json`: the persona and the chats of the training data, written by ingest for the places that
talk to the model as it was trained (the arena offers these chats, the bot finds a contact's prompt here)."""

from __future__ import annotations

from pathlib import Path

import msgspec

from core.errors import input_error
from core.io import atomic_file
from core.schema import ChatList

CHATS_FILE = "chats.json"


def write_chat_list(data_dir: Path, chats: ChatList) -> Path:
    path = Path(data_dir) / CHATS_FILE
    with atomic_file(path) as tmp:
        tmp.write_bytes(msgspec.json.format(msgspec.json.encode(chats), indent=1) + b"\n")
    return path


def read_chat_list(data_dir: str | Path) -> ChatList:
    """The chat list of an ingest output folder; a folder without one is an error that says what to do."""
    path = Path(data_dir) / CHATS_FILE
    if not path.is_file():
        raise input_error(path, "not found: an older `chatlikeme ingest` wrote this folder; run ingest again")
    try:
        return msgspec.json.decode(path.read_bytes(), type=ChatList)
    except msgspec.ValidationError as exc:
        raise input_error(path, f"not a valid chat list: {exc}") from None
    except msgspec.DecodeError:
        raise input_error(path, "not valid JSON") from None
