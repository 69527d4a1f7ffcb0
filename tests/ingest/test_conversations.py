"""Conversation rules, one test per rule, through the real ingest stage on tiny exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import ChatLikeMeError
from core.io import read_jsonl
from core.schema import SftSample
from ingest.config import IngestConfig
from ingest.ingest import ingest
from tests.ingest.telegram_builders import ME, chat, dialogue, full_export, msg

FILLER = 20  # dialogue pairs appended in a later session so every chat passes min_messages


def run(tmp_path: Path, write_export, chats, **config) -> tuple[list[SftSample], list[SftSample], dict]:
    export = write_export(full_export(chats))
    out = ingest(
        [export],
        tmp_path / "out",
        IngestConfig(**{"eval_fraction": 0.0, "test_fraction": 0.0, "mask_pii": False, **config}),
    )
    train = read_jsonl(out / "sft" / "train.jsonl", SftSample)
    evaluation = read_jsonl(out / "sft" / "eval.jsonl", SftSample)
    return train, evaluation, json.loads((out / "report.json").read_text())


def with_filler(messages, contact=2002):
    """`messages` then, a day later, enough dialogue for the chat to pass min_messages."""
    return [*messages, *dialogue(FILLER, contact=contact, start_id=10_000, start_minute=24 * 60)]


def roles(sample: SftSample) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in sample.messages[1:]]


def first(samples: list[SftSample]) -> SftSample:
    return min(samples, key=lambda s: (s.session, s.id))


def test_turn_window_joins_messages_and_splits_after_it(tmp_path, write_export):
    messages = [
        msg(1, 0, 2002, "ciao"),
        msg(2, 4, 2002, "ci sei?"),  # 4 min later: same turn
        msg(3, 5, ME, "si"),
        msg(4, 6, ME, "dimmi"),
        msg(5, 12, ME, "ah no aspetta"),  # 6 min later: a new turn
    ]
    train, _, _ = run(tmp_path, write_export, [chat(2002, with_filler(messages))])
    assert roles(first(train)) == [
        ("user", "ciao\nci sei?"),
        ("assistant", "si\ndimmi"),
        ("assistant", "ah no aspetta"),
    ]


def test_session_gap_starts_a_new_sample(tmp_path, write_export):
    messages = [msg(1, 0, 2002, "a?"), msg(2, 1, ME, "b"), msg(3, 62, 2002, "c?"), msg(4, 63, ME, "d")]
    train, _, report = run(tmp_path, write_export, [chat(2002, with_filler(messages))])
    by_session = sorted(train, key=lambda s: s.session)
    assert roles(by_session[0]) == [("user", "a?"), ("assistant", "b")]
    assert roles(by_session[1]) == [("user", "c?"), ("assistant", "d")]
    assert report["samples"]["per_chat"]["user2002"]["train"] == len(train)


def test_samples_end_on_a_persona_turn(tmp_path, write_export):
    messages = [msg(1, 0, 2002, "a?"), msg(2, 1, ME, "b"), msg(3, 2, 2002, "grazie!")]
    train, _, _ = run(tmp_path, write_export, [chat(2002, with_filler(messages))])
    for sample in train:
        assert sample.messages[-1].role == "assistant"
    assert roles(first(train)) == [("user", "a?"), ("assistant", "b")]


def test_chats_below_min_messages_are_skipped_and_counted(tmp_path, write_export):
    small = chat(3003, dialogue(3, contact=3003), name="Poco")
    big = chat(2002, dialogue(FILLER))
    train, _, report = run(tmp_path, write_export, [small, big], min_messages=20)
    assert {s.chat_id for s in train} == {"user2002"}
    assert report["messages"]["dropped_by_reason"]["chat below --min-messages"] == 6


def test_groups_only_on_request_with_speaker_names(tmp_path, write_export):
    group_messages = [msg(1, 0, 5, "chi c'è giovedì?", name="Lorenzo Marini"), msg(2, 1, ME, "io ci sono")]
    group_messages += dialogue(FILLER, contact=6, start_id=100, start_minute=3000)
    group = chat(77, group_messages, name="Calcetto", type="private_supergroup")
    personal = chat(2002, dialogue(FILLER))
    train, _, report = run(tmp_path, write_export, [group, personal])
    assert {s.chat_id for s in train} == {"user2002"}
    assert report["messages"]["dropped_by_reason"]["group chat (use --groups)"] == len(group_messages)

    train, _, _ = run(tmp_path, write_export, [group, personal], groups=True)
    sample = first([s for s in train if s.chat_id == "channel77"])
    assert sample.chat_type == "private_supergroup"
    assert sample.messages[0].content.startswith("You are Marco in a group chat 'Calcetto' with Lorenzo")
    assert sample.messages[1].name == "Lorenzo"
    assert sample.messages[1].content == "Lorenzo: chi c'è giovedì?"  # templates ignore `name`
    assert roles(sample)[-1] == ("assistant", "io ci sono")


def test_service_messages_are_skipped_and_counted(tmp_path, write_export):
    call = {
        "id": 3,
        "type": "service",
        "date": "2024-05-01T18:01:00",
        "date_unixtime": "1714586460",
        "actor": "Marco Rossi",
        "actor_id": f"user{ME}",
        "action": "phone_call",
        "duration_seconds": 60,
        "text": "",
        "text_entities": [],
    }
    messages = [msg(1, 0, 2002, "ti chiamo"), call, msg(4, 2, ME, "ok")]
    train, _, report = run(tmp_path, write_export, [chat(2002, with_filler(messages))])
    assert report["messages"]["dropped_by_reason"]["service message"] == 1
    assert roles(first(train)) == [("user", "ti chiamo"), ("assistant", "ok")]


def test_forwarded_messages_are_never_a_target(tmp_path, write_export):
    messages = [
        msg(1, 0, 2002, "hai visto?"),
        msg(2, 1, ME, "Allerta meteo per domani.", forwarded_from="Il Post"),
        msg(3, 2, 2002, "ahah"),
        msg(4, 3, ME, "già"),
    ]
    train, _, report = run(tmp_path, write_export, [chat(2002, with_filler(messages))])
    assert roles(first(train)) == [
        ("user", "hai visto?"),
        ("user", "Marco (you): [forwarded] Allerta meteo per domani."),
        ("user", "ahah"),
        ("assistant", "già"),
    ]
    assert report["rules"]["forwarded -> context only"] == 1
    assert all("[forwarded]" not in m.content for s in train for m in s.messages if m.role == "assistant")


def test_a_forward_alone_never_ends_a_sample(tmp_path, write_export):
    messages = [msg(1, 0, 2002, "novità?"), msg(2, 1, ME, "guarda", forwarded_from=None)]
    train, _, _ = run(tmp_path, write_export, [chat(2002, with_filler(messages))])
    assert all(s.session != 0 for s in train)


def test_stickers_become_their_emoji(tmp_path, write_export):
    messages = [
        msg(1, 0, 2002, "domani?"),
        msg(2, 1, ME, "", media_type="sticker", sticker_emoji="👍", file="x"),
    ]
    train, _, report = run(tmp_path, write_export, [chat(2002, with_filler(messages))])
    assert roles(first(train)) == [("user", "domani?"), ("assistant", "👍")]
    assert report["rules"]["sticker -> its emoji"] == 1


def test_media_without_caption_is_a_placeholder_used_as_context_only(tmp_path, write_export):
    photo = "(File not included. Change data exporting settings to download.)"
    messages = [
        msg(1, 0, 2002, "", photo=photo),
        msg(2, 1, ME, "bella!"),
        msg(3, 2, 2002, "e questo?"),
        msg(4, 3, ME, "", media_type="voice_message", file="a.ogg"),
    ]
    train, _, report = run(tmp_path, write_export, [chat(2002, with_filler(messages))])
    assert roles(first(train)) == [("user", "[photo]"), ("assistant", "bella!")]
    assert not any(m.role == "assistant" and m.content.startswith("[") for s in train for m in s.messages)
    assert report["rules"]["media without caption -> placeholder (context only)"] == 2


def test_captions_are_text(tmp_path, write_export):
    messages = [msg(1, 0, 2002, "dove sei?"), msg(2, 1, ME, "al mare 🌊", photo="p.jpg")]
    train, _, report = run(tmp_path, write_export, [chat(2002, with_filler(messages))])
    assert roles(first(train)) == [("user", "dove sei?"), ("assistant", "al mare 🌊")]
    assert report["rules"]["caption kept as text"] == 1


def test_long_sessions_become_sliding_windows(tmp_path, write_export):
    train, _, report = run(tmp_path, write_export, [chat(2002, dialogue(30))], max_turns=6)
    assert len(train) > 1
    assert all(len(s.messages) - 1 <= 6 for s in train)
    assert all(s.messages[-1].role == "assistant" for s in train)
    learned = {m.content for s in train for m in s.messages if m.role == "assistant"}
    assert learned == {f"risposta {i} ahah" for i in range(30)}  # every reply is in some window
    assert report["rules"]["sessions split into several windows"] == 1


def test_max_chars_limits_every_sample(tmp_path, write_export):
    train, _, _ = run(tmp_path, write_export, [chat(2002, dialogue(30))], max_chars=120)
    for sample in train:
        assert sum(len(m.content) for m in sample.messages[1:]) <= 120


def test_reply_keeps_the_replied_message_in_context(tmp_path, write_export):
    messages = [
        msg(1, 0, 2002, "mi mandi le foto di ieri?"),
        msg(2, 300, 2002, "buonanotte"),  # 5 h later: another session
        msg(3, 301, ME, "eccole scusa", reply_to_message_id=1),
    ]
    train, _, report = run(tmp_path, write_export, [chat(2002, with_filler(messages))])
    sample = next(s for s in train if any(m.content == "eccole scusa" for m in s.messages))
    assert roles(sample) == [
        ("user", "[earlier message] mi mandi le foto di ieri?"),
        ("user", "buonanotte"),
        ("assistant", "eccole scusa"),
    ]
    assert report["rules"]["reply contexts added"] == 1


def test_persona_only_sessions_are_counted_not_learned(tmp_path, write_export):
    messages = [msg(1, 0, ME, "ci sei?"), msg(2, 1, ME, "vabbè")]
    train, _, report = run(tmp_path, write_export, [chat(2002, with_filler(messages))])
    assert report["rules"]["persona turns with no contact turn before them"] == 1
    assert all(s.session != 0 for s in train)


def test_eval_split_takes_the_most_recent_sessions(tmp_path, write_export):
    # run() turns the test split off; the three-way split is tested in tests/ingest/test_split.py
    sessions = [
        msg(k * 10 + i, k * 600 + i, ME if i % 2 else 2002, f"{k}.{i}") for k in range(10) for i in range(4)
    ]
    train, evaluation, _ = run(
        tmp_path, write_export, [chat(2002, sessions)], eval_fraction=0.2, min_messages=5
    )
    assert len(train) == 8 and len(evaluation) == 2
    assert max(s.session for s in train) < min(s.session for s in evaluation)


def test_exact_duplicate_samples_are_removed(tmp_path, write_export):
    same = [m for k in range(12) for m in dialogue(1, start_id=10 * k + 1, start_minute=k * 600)]
    train, _, report = run(tmp_path, write_export, [chat(2002, same)], min_messages=5)
    assert len(train) == 1
    assert report["rules"]["duplicate samples removed"] == 11


def test_nothing_left_after_filters_is_an_error(tmp_path, write_export):
    export = write_export(full_export([chat(2002, dialogue(3))]))
    with pytest.raises(ChatLikeMeError, match="no usable message left") as err:
        ingest([export], tmp_path / "out", IngestConfig())
    assert "chat below --min-messages: 6" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_no_chat_selected_names_the_reason(tmp_path, write_export):
    export = write_export(full_export([chat(2002, dialogue(15))]))
    with pytest.raises(ChatLikeMeError) as err:
        ingest([export], tmp_path / "out", IngestConfig(chats=["nobody"]))
    assert "chat not selected (--chat / --exclude-chat): 30" in str(err.value)
