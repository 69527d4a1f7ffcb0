import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AuthenticationError

from core.chats import read_chat_list
from core.errors import ChatLikeMeError
from core.prompts import group_system_prompt, persona_system_prompt
from core.votes import VoteStore, kto_rows_from_votes
from serve.arena import (
    ArenaConfig,
    ModelServer,
    build_arena,
    chats_from_data,
    launch_arena,
    system_prompt_for,
)
from serve.server_process import free_port
from serve.vllm_server import adapter_version
from tests.conftest import chat_texts as texts
from tests.conftest import launched_arena, write_sft_data


def votes_of(db: Path, session: str) -> list:
    return [v for v in VoteStore(db).votes() if v.session_id == session]


def test_idle_connections_are_dropped_before_the_vllm_server_closes_them() -> None:
    """Both sides used to keep an idle connection 5 s: a request could go out on one the server was closing,
    and a round failed with 'Cannot reach the model server' (1 in 50 voters, under load)."""
    from vllm import envs

    client = ModelServer("http://127.0.0.1:1", ArenaConfig()).client
    pool = client._client._transport._pool
    assert pool._keepalive_expiry < envs.VLLM_HTTP_TIMEOUT_KEEP_ALIVE
    assert client.max_retries >= 1  # a connection lost before the reply starts is retried once


# --- system prompts -----------------------------------------------------------------------------------------


def test_the_data_offers_its_persona_and_chats_and_any_contact_can_be_typed(tmp_path: Path) -> None:
    persona, chats = chats_from_data(write_sft_data(tmp_path / "data"))
    assert persona == "Pasquale"
    # DATA/chats.json's order (most samples first), without Telegram's deleted accounts.
    assert [c.label for c in chats] == ["Lorenzo", "Giulia", "Calcetto (group)"]
    for choice, entry in zip(chats, read_chat_list(tmp_path / "data").chats, strict=False):
        assert choice.system_prompt(persona) == entry.system_prompt  # exactly the training prompt

    by_label = {c.label: c for c in chats}
    group = system_prompt_for("Pasquale", "Calcetto (group)", by_label)
    assert group == group_system_prompt("Pasquale", "Calcetto", ["Lorenzo", "Marco"])
    typed = system_prompt_for("Pasquale", " Zia Carmela ", by_label)
    assert typed == persona_system_prompt("Pasquale", "Zia Carmela")
    with pytest.raises(ChatLikeMeError, match="persona and the contact"):
        system_prompt_for("", "Lorenzo", by_label)

    (tmp_path / "other" / "sft").mkdir(parents=True)  # written by an ingest from before chats.json
    with pytest.raises(ChatLikeMeError, match=r"chats\.json: not found: .* run ingest again"):
        chats_from_data(tmp_path / "other")


# --- the app, driven with gradio_client against a real vLLM server ------------------------------------------


@pytest.mark.vllm
def test_replies_stream_into_both_panes(vllm_server, tmp_path: Path) -> None:
    # Long replies: on a busy machine the server sends several tokens per chunk, and 16 tokens can arrive
    # in one or two pieces.
    config = ArenaConfig(max_new_tokens=64)
    with launched_arena(vllm_server.url, tmp_path / "votes.sqlite", config) as url:
        job = Client(url, verbose=False).submit(
            "ciao, stasera?", "Pasquale", "Lorenzo", api_name="/anonymous_send"
        )
        updates = list(job)
    chat_a, chat_b, _, reveal, *_ = job.outputs()[-1]
    for pane, chat in enumerate((chat_a, chat_b)):
        final = texts(chat)[-1][1]
        shown = {texts(u[pane])[-1][1].strip() for u in updates if len(u[pane]) == 2}
        # Streamed: the pane grew piece by piece (several strict prefixes of the final reply were shown).
        assert len({p for p in shown if p and final.startswith(p) and p != final}) >= 2, (final, shown)
        assert [role for role, _ in texts(chat)] == ["user", "assistant"]
    assert "anonymous until you vote" in reveal


@pytest.mark.vllm
def test_a_battle_is_multi_turn_and_its_vote_is_stored(
    arena_app: tuple[str, Path], tiny_adapters: dict[str, Path], tiny_model: Path
) -> None:
    url, db = arena_app
    client = Client(url, verbose=False)

    chat_a, chat_b, _, reveal, *_ = client.predict(
        "ciao, stasera?", "Pasquale", "Lorenzo", api_name="/anonymous_send"
    )
    for chat in (chat_a, chat_b):
        assert [role for role, _ in texts(chat)] == ["user", "assistant"]
        assert texts(chat)[1][1] and not texts(chat)[1][1].startswith("⚠️")
    assert "anonymous until you vote" in reveal

    _, _, _, reveal, *_ = client.predict(
        "e domani?", "Pasquale", "Lorenzo", api_name="/anonymous_send"
    )  # multi-turn
    chat_a, chat_b, _, reveal, *_ = client.predict(api_name="/anonymous_vote_a")
    assert "your vote is saved" in reveal

    (vote,) = votes_of(db, client.session_hash)
    assert vote.mode == "anonymous" and vote.outcome == "a"
    assert vote.model_a != vote.model_b and {vote.model_a, vote.model_b} <= {"base", "sft", "kto"}
    assert f"A: **{vote.model_a}** · B: **{vote.model_b}**" in reveal  # names revealed after the vote
    system = persona_system_prompt("Pasquale", "Lorenzo")
    for conversation, chat in ((vote.conversation_a, chat_a), (vote.conversation_b, chat_b)):
        assert (conversation[0].role, conversation[0].content) == ("system", system)
        assert [(m.role, m.content) for m in conversation[1:]] == texts(chat)
        assert len(conversation) == 5
    versions = {name: adapter_version(path) for name, path in tiny_adapters.items()}
    versions["base"] = adapter_version(tiny_model)
    assert vote.version_a == versions[vote.model_a] and vote.version_b == versions[vote.model_b]
    assert vote.run_id == next(iter(tiny_adapters.values())).parent.name

    # The owner's own version of B's reply: a desirable row, and B's reply becomes an undesirable one.
    _, _, _, _, box_a, box_b, *_ = client.predict(
        "ahah sì dai, alle 8 da me", api_name="/anonymous_save_edit_b"
    )
    assert box_b["value"] == "ahah sì dai, alle 8 da me" and box_b["visible"]
    assert "value" not in box_a  # what is being typed under the other pane is left alone
    rows = {r.sample_id: r for r in kto_rows_from_votes(db) if r.chat_id == f"arena/{vote.vote_id}"}
    edit, reply = rows[f"arena/{vote.vote_id}/b/edit"], rows[f"arena/{vote.vote_id}/b"]
    assert (edit.completion[0].content, edit.label, reply.label) == ("ahah sì dai, alle 8 da me", True, False)
    assert edit.prompt == vote.conversation_b[:-1] == reply.prompt

    # One vote per round: voting again changes nothing, and the round must be restarted to chat on.
    client.predict(api_name="/anonymous_vote_b")
    assert [v.outcome for v in votes_of(db, client.session_hash)] == ["a"]
    chat_a, chat_b, *_ = client.predict(api_name="/anonymous_new_round")
    assert chat_a == [] and chat_b == []


@pytest.mark.vllm
def test_named_and_single_model_tabs_regenerate_and_feed_the_leaderboard(arena_app: tuple[str, Path]) -> None:
    url, db = arena_app
    client = Client(url, verbose=False)

    _, _, _, reveal, *_ = client.predict(
        "ciao", "Pasquale", "Calcetto (group)", "sft", "kto", api_name="/named_send"
    )
    assert "A: **sft** · B: **kto**" in reveal
    chat_a, chat_b, *_ = client.predict(api_name="/named_regenerate")
    assert [r for r, _ in texts(chat_a)] == ["user", "assistant"] == [r for r, _ in texts(chat_b)]
    client.predict(api_name="/named_vote_both_bad")

    client.predict("ciao", "Pasquale", "Giulia", "kto", api_name="/single_send")
    client.predict(api_name="/single_vote_up")

    named, single = votes_of(db, client.session_hash)
    assert (named.mode, named.model_a, named.model_b, named.outcome) == ("named", "sft", "kto", "both_bad")
    group = group_system_prompt("Pasquale", "Calcetto", ["Lorenzo", "Marco"])
    assert named.conversation_a[0].content == group
    assert named.conversation_a[-1].content == texts(chat_a)[-1][1]  # the regenerated reply is the voted one
    assert (single.mode, single.model_a, single.model_b, single.outcome) == ("single", "kto", None, "up")

    run = named.run_id
    assert client.predict(api_name="/runs")["value"] == run
    ratings, win_rates, counts, thumbs, summary = client.predict(run, api_name="/leaderboard")
    board = {row[ratings["headers"].index("model")]: row for row in ratings["data"]}
    assert set(board) == {"base", "sft", "kto"}  # every contestant is listed, battles or not
    base_note = board["base"][ratings["headers"].index("note")]
    assert base_note in ("anchor: fixed at 1000", "no battles yet")  # other tests share this database
    assert "sft" in win_rates["headers"] and "kto" in counts["headers"]
    assert any(row[0] == "kto" and row[1] >= 1 for row in thumbs["data"])
    assert f"run **{run}**" in summary


@pytest.mark.vllm
def test_fifty_people_voting_at_once_are_all_stored_exactly_once(arena_app: tuple[str, Path]) -> None:
    url, db = arena_app
    outcomes = ["a", "b", "tie", "both_bad"]

    def voter(i: int) -> tuple[str, list[str]]:
        client = Client(url, verbose=False, httpx_kwargs={"timeout": 300})  # a busy 2-core machine
        chat_a, chat_b, *_ = client.predict(
            f"ciao numero {i}", "Pasquale", "Lorenzo", api_name="/anonymous_send"
        )
        outcome = outcomes[i % 4]
        client.predict(api_name=f"/anonymous_vote_{outcome}")
        client.predict(api_name=f"/anonymous_vote_{outcome}")  # an impatient double click
        problems = [text for _, text in texts(chat_a) + texts(chat_b) if text.startswith("⚠️")]
        return client.session_hash, problems

    with ThreadPoolExecutor(50) as pool:
        sessions, problems = zip(*pool.map(voter, range(50)), strict=True)

    assert not [p for p in problems if p]  # every round got both replies (else there is nothing to vote on)
    stored = [v for v in VoteStore(db).votes() if v.session_id in set(sessions)]
    assert len(stored) == 50 and len({v.vote_id for v in stored}) == 50
    assert sorted(v.conversation_a[1].content for v in stored) == sorted(
        f"ciao numero {i}" for i in range(50)
    )
    for vote in stored:
        i = int(vote.conversation_a[1].content.split()[-1])
        assert vote.outcome == outcomes[i % 4]
    assert len({(v.model_a, v.model_b) for v in stored}) >= 4  # random pairs, on random sides
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.vllm
def test_a_model_the_server_lacks_is_a_readable_error_in_the_panes(vllm_server, tmp_path: Path) -> None:
    config = ArenaConfig(models=["base", "sft", "kto", "ghost"], max_new_tokens=8)
    with launched_arena(vllm_server.url, tmp_path / "votes.sqlite", config) as url:
        client = Client(url, verbose=False)
        chat_a, _, _, reveal, *_ = client.predict(
            "ciao", "Pasquale", "Lorenzo", "ghost", "sft", api_name="/named_send"
        )
        assert "does not offer ghost" in reveal and "⚠️" in texts(chat_a)[0][1]
        client.predict(api_name="/named_vote_a")  # nothing to vote on: ignored
        assert VoteStore(tmp_path / "votes.sqlite").count() == 0

        client.predict(api_name="/named_new_round")
        chat_a, *_ = client.predict("ciao", "", "Lorenzo", "base", "sft", api_name="/named_send")
        assert "enter the persona and the contact" in texts(chat_a)[0][1]
        chat_a, *_ = client.predict("ciao", "Pasquale", "Lorenzo", "base", "kto", api_name="/named_send")
        assert texts(chat_a)[-1][0] == "assistant" and not texts(chat_a)[-1][1].startswith("⚠️")


def test_the_arena_refuses_a_database_of_another_kind(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE things (x)")
    with pytest.raises(ChatLikeMeError, match="no votes table"):
        build_arena("http://127.0.0.1:9", other)


def test_a_password_keeps_strangers_out(tmp_path: Path) -> None:
    port, db = free_port(), tmp_path / "votes.sqlite"
    demo = launch_arena("http://127.0.0.1:9", db, port=port, auth="me:secret", block=False)
    try:
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            Client(url, verbose=False)
        assert Client(url, auth=("me", "secret"), verbose=False).view_api(return_format="dict")
    finally:
        demo.close()
    with pytest.raises(ChatLikeMeError, match="user:password"):
        launch_arena("http://127.0.0.1:9", db, auth="no-colon", block=False)
