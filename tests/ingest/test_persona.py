"""Persona resolution: ids first, names only when unambiguous, clear errors otherwise."""

from __future__ import annotations

import pytest

from core.errors import ChatLikeMeError
from ingest.ingest import read_messages
from ingest.persona import resolve_persona
from tests.ingest.telegram_builders import ME, chat, full_export, msg


def resolve(write_export, data, requested=None):
    exports, messages, _ = read_messages([write_export(data)])
    return resolve_persona(exports, messages, requested)


SINGLE = chat(2002, [msg(1, 0, 2002, "a", name="Giulia"), msg(2, 1, ME, "b", name="Marco Rossi")])


def test_owner_of_a_full_export(write_export):
    persona = resolve(write_export, full_export([SINGLE]))
    assert (persona.id, persona.name) == (f"user{ME}", "Marco Rossi")
    assert "personal_information" in persona.how


@pytest.mark.parametrize("requested", [f"user{ME}", str(ME), "marco rossi", "MARCO ROSSI"])
def test_persona_by_id_or_case_insensitive_name(write_export, requested):
    assert resolve(write_export, SINGLE, requested).id == f"user{ME}"


def test_persona_overrides_the_owner(write_export):
    assert resolve(write_export, full_export([SINGLE]), "Giulia").id == "user2002"


def test_single_chat_export_needs_a_persona(write_export):
    with pytest.raises(ChatLikeMeError, match="pass --persona") as err:
        resolve(write_export, SINGLE)
    assert "user2002 'Giulia'" in str(err.value)


def test_ambiguous_name_lists_the_candidates(write_export):
    data = chat(2002, [msg(1, 0, 2002, "a", name="Marco"), msg(2, 1, 3003, "b", name="marco")])
    with pytest.raises(ChatLikeMeError, match="ambiguous") as err:
        resolve(write_export, data, "Marco")
    assert "user2002 (1 messages)" in str(err.value) and "user3003 (1 messages)" in str(err.value)


@pytest.mark.parametrize("requested", ["Nobody", "user999"])
def test_unknown_persona(write_export, requested):
    with pytest.raises(ChatLikeMeError, match="most active senders"):
        resolve(write_export, SINGLE, requested)


def test_exports_of_different_accounts_need_a_persona(write_export):
    other = full_export([SINGLE], owner=2002)
    exports, messages, _ = read_messages([write_export(full_export([SINGLE])), write_export(other)])
    with pytest.raises(ChatLikeMeError, match="different accounts"):
        resolve_persona(exports, messages, None)


def channel_posts(n: int = 30) -> list[dict]:
    """A group where an anonymous admin (the channel 777 itself) answers a member."""
    out = []
    for i in range(n):
        out.append(msg(2 * i + 1, 2 * i, 2002, f"domanda {i}?", name="Giulia"))
        out.append(msg(2 * i + 2, 2 * i + 1, None, f"risposta {i} ahah", **{"from": "Il Canale"}))
        out[-1]["from_id"] = "channel777"
    return out


@pytest.mark.parametrize("requested", ["channel777", "777"])
def test_a_channel_posting_as_itself_is_a_persona(write_export, requested):
    data = chat(777, channel_posts(3), name="Il Canale", type="private_supergroup")
    persona = resolve(write_export, data, requested)
    assert (persona.id, persona.name) == ("channel777", "Il Canale")


def test_a_channel_persona_is_ingested(write_export, tmp_path):
    from core.io import read_jsonl
    from core.schema import SftSample
    from ingest.config import IngestConfig
    from ingest.ingest import ingest

    export = write_export(chat(777, channel_posts(), name="Il Canale", type="private_supergroup"))
    out = ingest([export], tmp_path / "data", IngestConfig(persona="channel777", groups=True))
    samples = list(read_jsonl(out / "sft" / "train.jsonl", SftSample))
    replies = [m.content for s in samples for m in s.messages if m.role == "assistant"]
    assert replies and all(r.startswith("risposta") for r in replies)
