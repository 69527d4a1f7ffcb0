"""The A/B arena: talk to two of {base, sft, kto} side by side, vote, and watch the leaderboard.

    demo = build_arena("http://127.0.0.1:8000", "votes.sqlite", data_dir="data")
    demo.queue().launch(server_name="127.0.0.1")

In the spirit of the Chatbot Arena: anonymous battles (two models drawn at random, random sides, names shown
after the vote), a named mode, a single-model tab with thumbs up/down, and a leaderboard. The persona and
contact build the system prompt exactly as in training (`core.prompts`); the chats ingest listed in
`DATA/chats.json` are offered, and any other contact can be typed. Every vote goes to SQLite (`core.votes`)
and later to KTO.

The model server is only ever reached over its OpenAI API: if it is down, or a model is missing, the pane
shows what is wrong and the app keeps running. This module is the config, the chats and the Gradio app; the
model client (shared with the bot) is `serve.model_client`, a round's state and streaming `serve.arena_round`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import gradio as gr
import pandas as pd

from core.chats import CHATS_FILE, read_chat_list
from core.config import StageConfig
from core.errors import ChatLikeMeError, input_error
from core.prompts import DELETED_ACCOUNT, group_system_prompt, persona_system_prompt
from core.votes import Vote, VoteStore
from serve.arena_round import Round, Side, stream_replies
from serve.leaderboard import Leaderboard, leaderboard
from serve.model_client import ArenaError, ClientSettings, ModelServer

log = logging.getLogger(__name__)

ALL_RUNS = "all runs"


@dataclass
class ArenaConfig(ClientSettings, StageConfig):
    """How the arena samples replies (the model client's settings: models, temperature, top_p,
    max_new_tokens, request_timeout_s) and serves its page."""

    presets_dir: ClassVar[Path] = Path(__file__).parent / "configs" / "arena"

    concurrency_limit: int = 64
    "Chats streaming at once through the app (each is mostly waiting on the model server)."
    bootstrap_rounds: int = 500
    "Resamples behind the leaderboard's confidence intervals."


# --- system prompts: the persona and contact, as in training ------------------------------------------------


@dataclass(frozen=True)
class ChatChoice:
    """A chat to role-play: a one-to-one contact, or a group chat with its participants."""

    label: str
    contact: str
    participants: tuple[str, ...] | None = None  # None: one-to-one

    def system_prompt(self, persona: str) -> str:
        if self.participants is None:
            return persona_system_prompt(persona, self.contact)
        return group_system_prompt(persona, self.contact, self.participants)


def chats_from_data(data_dir: str | Path) -> tuple[str, list[ChatChoice]]:
    """The persona and the chats (most samples first) that ingest listed in DATA/chats.json."""
    chat_list = read_chat_list(data_dir)
    chats: dict[str, ChatChoice] = {}
    for entry in chat_list.chats:
        if entry.name == DELETED_ACCOUNT:
            continue
        if entry.group:
            choice = ChatChoice(f"{entry.name} (group)", entry.name, tuple(entry.participants))
        else:
            choice = ChatChoice(entry.name, entry.name)
        chats.setdefault(choice.label, choice)  # two contacts of one name: the first (most samples) wins
    if not chats:
        raise input_error(Path(data_dir) / CHATS_FILE, "no chat to offer (every contact is a deleted one)")
    return chat_list.persona, list(chats.values())


def system_prompt_for(persona: str, contact: str, chats: dict[str, ChatChoice]) -> str:
    """The training system prompt for a persona and a contact (a chat of the data, or any typed name)."""
    persona, contact = (persona or "").strip(), (contact or "").strip()
    if not persona or not contact:
        raise ChatLikeMeError("enter the persona and the contact first")
    return chats.get(contact, ChatChoice(contact, contact)).system_prompt(persona)


# --- the Gradio app ---------------------------------------------------------------------------------------


@dataclass
class TabUI:
    """The components of one chat tab (battle or single model); handlers return updates for all of them."""

    mode: str
    state: gr.State
    chats: list[gr.Chatbot]
    textbox: gr.Textbox
    send: gr.Button
    votes: dict[str, gr.Button]
    regenerate: gr.Button
    new_round: gr.Button
    reveal: gr.Markdown
    pickers: list[gr.Dropdown]
    edit_boxes: list[gr.Textbox]
    edit_buttons: list[gr.Button]
    titles: list[gr.Markdown]  # each pane's header

    def outputs(self) -> list[gr.components.Component]:
        return [
            self.state,
            *self.chats,
            self.textbox,
            self.send,
            *self.votes.values(),
            self.regenerate,
            self.reveal,
            *self.edit_boxes,
            *self.edit_buttons,
            *self.titles,
        ]

    def render(self, round_: Round, *, clear_text: bool = False, voting: bool = True) -> dict[Any, Any]:
        """Every output's new value, derived from the round (the one source of truth). `voting=False` keeps
        the vote buttons off even when the round could be voted on (the end of a stream: see `_chat_tab`)."""
        updates: dict[Any, Any] = {self.state: round_}
        for index, chat in enumerate(self.chats):
            updates[chat] = _pane(round_, index)
            updates[self.titles[index]] = f"**{_pane_title(round_, index)}**"
        text = gr.Textbox(interactive=round_.can_send())
        updates[self.textbox] = gr.Textbox(value="", interactive=round_.can_send()) if clear_text else text
        updates[self.send] = gr.Button(interactive=round_.can_send())
        for button in self.votes.values():  # an active vote button stands out from an inactive one
            active = voting and round_.can_vote()
            updates[button] = gr.Button(interactive=active, variant="primary" if active else "secondary")
        updates[self.regenerate] = gr.Button(interactive=round_.can_regenerate())
        updates[self.reveal] = _reveal_text(round_)
        for index, (box, button) in enumerate(zip(self.edit_boxes, self.edit_buttons, strict=True)):
            editable = round_.voted is not None and index < len(round_.sides)
            updates[box] = gr.Textbox(value=_edit_text(round_, index), visible=editable)
            updates[button] = gr.Button(visible=editable)
        return updates


CUT_MARK = "✂️ (cut at the reply length limit)"


def _pane(round_: Round, index: int) -> list[dict[str, Any]]:
    if index >= len(round_.sides):
        return [_shown("assistant", f"⚠️ {round_.notice}")] if round_.notice else []
    side = round_.sides[index]
    messages = [_shown(m["role"], m["content"], cut=i in side.cut) for i, m in enumerate(side.messages)]
    if side.partial is not None:
        messages.append(_shown("assistant", side.partial or "…"))
    if side.error:
        messages.append(_shown("assistant", f"⚠️ {side.error}"))
    return messages


def _shown(role: str, text: str, *, cut: bool = False) -> dict[str, Any]:
    """A chat message as the pane shows it: as a text block, which Gradio keeps verbatim (a plain string
    is dedented first), so that the pane shows exactly the reply that a vote stores (plus a mark when the
    reply was cut short, so that nobody takes a cut for the model's own way of ending)."""
    return {"role": role, "content": [{"type": "text", "text": f"{text} {CUT_MARK}" if cut else text}]}


_PICKED = {"a": (0,), "b": (1,), "up": (0,)}


def _pane_title(round_: Round, index: int) -> str:
    """'Model A' until the names may be shown; then the model's name, and a mark on the side voted for."""
    title = "Model" if round_.mode == "single" else f"Model {'AB'[index]}"
    if index >= len(round_.sides) or (round_.mode == "anonymous" and round_.voted is None):
        return title
    name = f"{title}: {round_.sides[index].contestant.name}"
    if round_.voted is None:
        return name
    mark = {"tie": "🤝 tie", "both_bad": "👎 both bad", "down": "👎 bad"}.get(round_.voted)
    if mark is None:
        mark = "✅ your pick" if index in _PICKED[round_.voted] else ""
    return f"{name}  {mark}".rstrip()


def _edit_text(round_: Round, index: int) -> str:
    """What the edit box under a pane holds: the owner's saved version, else the reply to start from."""
    if index in round_.edits:
        return round_.edits[index]
    if index < len(round_.sides) and round_.sides[index].replied():
        return round_.sides[index].messages[-1]["content"]
    return ""


def _reveal_text(round_: Round) -> str:
    if round_.notice and not round_.sides:
        return f"⚠️ {round_.notice}"
    if not round_.sides:
        return (
            "Send a message to start." if round_.mode != "anonymous" else "Two anonymous models will answer."
        )
    names = [s.contestant.name for s in round_.sides]
    if round_.mode == "anonymous" and round_.voted is None:
        return "Model A and Model B are anonymous until you vote."
    shown = " · ".join(f"{'AB'[i] if len(names) > 1 else 'Model'}: **{n}**" for i, n in enumerate(names))
    if not round_.voted:
        return shown
    if round_.edits:
        return shown + " — your vote and your version are saved: they train the next KTO round."
    return shown + (
        " — thanks, your vote is saved. Would you have written it differently? Put your version under the"
        " reply and save it; or start a new round."
    )


class Arena:
    """The arena's behaviour, separate from its layout: each method is one Gradio event handler."""

    def __init__(
        self, server: ModelServer, store: VoteStore, persona: str = "", chats: list[ChatChoice] | None = None
    ) -> None:
        self.server = server
        self.store = store
        self.persona = persona
        self.chats = {chat.label: chat for chat in chats or []}

    def system_prompt_preview(self, persona: str, contact: str) -> str:
        try:
            return system_prompt_for(persona, contact, self.chats)
        except ChatLikeMeError as exc:
            return f"({exc})"

    def _start_round(self, round_: Round, persona: str, contact: str, picked: list[str]) -> None:
        """Fix the system prompt and draw (or take) the models: done at a round's first message."""
        round_.id = uuid.uuid4().hex
        round_.system_prompt = system_prompt_for(persona, contact, self.chats)
        offered = self.server.contestants()
        wanted = {"anonymous": 2, "named": 2, "single": 1}[round_.mode]
        if round_.mode == "anonymous":
            if len(offered) < 2:
                wanted_models = self.server.config.models
                raise ArenaError(
                    f"the server offers {sorted(offered)} of {wanted_models}: a battle needs two"
                )
            picked = random.sample(sorted(offered), 2)  # random order = random sides
        if len(picked) != wanted or None in picked or (wanted == 2 and picked[0] == picked[1]):
            raise ArenaError("pick two different models" if wanted == 2 else "pick a model")
        missing = [name for name in picked if name not in offered]
        if missing:
            raise ArenaError(
                f"the server does not offer {', '.join(missing)} (it offers {', '.join(offered)})"
            )
        round_.sides = [Side(offered[name]) for name in picked]

    async def send(
        self, ui: TabUI, message: str, persona: str, contact: str, *rest: Any
    ) -> AsyncIterator[dict[Any, Any]]:
        *picked, round_ = rest
        message = (message or "").strip()
        if not message or not round_.can_send():
            yield ui.render(round_)
            return
        if not round_.sides:
            try:
                # In a thread: it asks the server what it offers and hashes model files (blocking work).
                await asyncio.to_thread(self._start_round, round_, persona, contact, picked)
            except (ArenaError, ChatLikeMeError) as exc:
                round_.notice = str(exc)
                yield ui.render(round_)
                return
            round_.notice = None
        chat = self.chats.get(contact)
        # As in training, user turns carry the speaker's name; in a group chat that could be anyone.
        speaker = {} if chat and chat.participants else {"name": contact.strip()}
        for side in round_.sides:
            side.messages.append({"role": "user", "content": message, **speaker})
        async for update in self._stream(ui, round_, round_.sides, clear_text=True):
            yield update

    async def regenerate(self, ui: TabUI, round_: Round) -> AsyncIterator[dict[Any, Any]]:
        if not round_.can_regenerate():
            yield ui.render(round_)
            return
        for side in round_.sides:
            if side.messages and side.messages[-1]["role"] == "assistant":
                side.messages.pop()
        async for update in self._stream(ui, round_, round_.sides):
            yield update

    async def _stream(
        self, ui: TabUI, round_: Round, sides: list[Side], *, clear_text: bool = False
    ) -> AsyncIterator[dict[Any, Any]]:
        round_.streaming = True
        yield ui.render(round_, clear_text=clear_text)
        try:
            async for _ in stream_replies(self.server, round_, sides):
                yield ui.render(round_)
        finally:
            round_.streaming = False
        yield ui.render(round_, voting=False)  # the buttons come on in the event chained after this one

    def vote(
        self, ui: TabUI, outcome: str, round_: Round, request: gr.Request | None = None
    ) -> dict[Any, Any]:
        if not round_.can_vote():
            return ui.render(round_)
        sides = round_.sides
        vote = Vote(
            vote_id=round_.id,
            session_id=(request.session_hash if request and request.session_hash else "anonymous"),
            mode=round_.mode,  # type: ignore[arg-type]
            outcome=outcome,  # type: ignore[arg-type]
            run_id=sides[0].contestant.run_id,
            model_a=sides[0].contestant.name,
            version_a=sides[0].contestant.version,
            conversation_a=sides[0].conversation(round_.system_prompt),
            model_b=sides[1].contestant.name if len(sides) > 1 else None,
            version_b=sides[1].contestant.version if len(sides) > 1 else None,
            conversation_b=sides[1].conversation(round_.system_prompt) if len(sides) > 1 else None,
            sampling=self.server.config.sampling(),
        )
        self.store.add(vote)
        round_.voted = outcome
        return ui.render(round_)

    def save_edit(self, ui: TabUI, index: int, text: str, round_: Round) -> dict[Any, Any]:
        """Store the owner's own version of the reply in pane `index` of a voted round."""
        if round_.voted is None or index >= len(round_.sides) or not (text or "").strip():
            return ui.render(round_)
        try:
            self.store.add_edit(round_.id, "ab"[index], text)
        except ChatLikeMeError as exc:
            round_.notice = str(exc)
            return ui.render(round_)
        round_.edits[index] = text.strip()
        updates = ui.render(round_)
        for other, box in enumerate(ui.edit_boxes):  # keep what is being typed in the other pane's box
            if other != index:
                del updates[box]
        return updates

    def new_round(self, ui: TabUI, round_: Round) -> dict[Any, Any]:
        return ui.render(Round(round_.mode), clear_text=True)

    def run_choices(self) -> gr.Dropdown:
        runs = self.store.runs()
        return gr.Dropdown(choices=[*runs, ALL_RUNS], value=runs[0] if runs else ALL_RUNS)

    def leaderboard(
        self, run_choice: str | None
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
        run_id = None if run_choice in (None, "", ALL_RUNS) else run_choice
        # One run's board lists every contestant, battles or not (across runs, names carry their run).
        models = self.server.config.models if run_id else None
        board = leaderboard(
            self.store.path, run_id, rounds=self.server.config.bootstrap_rounds, models=models
        )
        return (*_leaderboard_tables(board), _leaderboard_summary(board))


def _leaderboard_tables(board: Leaderboard) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ratings = board.ratings.copy()
    ratings.insert(0, "rank", range(1, len(ratings) + 1))
    for column in ("score", "lower", "upper"):  # a model without battles has no score yet: a blank cell
        score = ratings[column].astype(float).round(1)
        ratings[column] = score.astype(object).where(score.notna(), "")
    win_rates = (board.win_rates * 100).round(1).astype(object).where(board.win_rates.notna(), "")
    thumbs = board.thumbs.copy()
    if len(thumbs):
        thumbs["approval"] = (thumbs["approval"].astype(float) * 100).round(1)
    return (
        ratings,
        win_rates.rename_axis("row beats column, %").reset_index(),
        board.battle_counts.rename_axis("battles").reset_index(),
        thumbs,
    )


def _leaderboard_summary(board: Leaderboard) -> str:
    which = f"run **{board.run_id}**" if board.run_id else "**all runs** (models named `model@run`)"
    if not board.votes:
        return f"No votes yet for {which}: play a few battles (or rate single replies) and refresh."
    thumbs = (
        "" if len(board.thumbs) else " No single-model votes yet (the 💬 tab), so the thumbs table is empty."
    )
    return (
        f"{board.votes} vote{'' if board.votes == 1 else 's'} for {which}. "
        "Scores: Bradley-Terry on the Elo scale with `base` fixed at 1000 as the anchor (so its interval is "
        "that one point; the others' intervals are relative to it); 95% bootstrap intervals; ties and "
        "'both bad' count half a win each." + thumbs
    )


def _chat_tab(arena: Arena, mode: str, prompt_inputs: list[gr.components.Component]) -> TabUI:
    """One tab: two panes (battles) or one (single model), the message box, votes and round controls."""
    sides = 1 if mode == "single" else 2
    pickers: list[gr.Dropdown] = []
    if mode != "anonymous":
        with gr.Row():
            labels = ["Model"] if sides == 1 else ["Model A", "Model B"]
            defaults = arena.server.config.models
            pickers = [
                gr.Dropdown(defaults, value=defaults[min(i + 1, len(defaults) - 1)], label=label)
                for i, label in enumerate(labels)
            ]
    chats, edit_boxes, edit_buttons, titles = [], [], [], []
    with gr.Row():
        for i in range(sides):
            with gr.Column():
                titles.append(gr.Markdown(f"**{_pane_title(Round(mode), i)}**", elem_id=f"{mode}-title-{i}"))
                # Copy, but no share button (the arena is private); Gradio's clear button (always there)
                # starts a new round, so that no vote is cast on replies no longer shown.
                chats.append(
                    gr.Chatbot(
                        show_label=False, height=420, buttons=["copy"], autoscroll=True,
                        elem_id=f"{mode}-chat-{i}",
                    )
                )  # fmt: skip
                edit_boxes.append(
                    gr.Textbox(
                        label="✍️ Write it as you would have (it trains the next KTO round)", lines=2,
                        visible=False, elem_id=f"{mode}-edit-{i}",
                    )
                )  # fmt: skip
                edit_buttons.append(
                    gr.Button("Save my version", visible=False, elem_id=f"{mode}-save-edit-{i}")
                )
    reveal = gr.Markdown(_reveal_text(Round(mode)), elem_id=f"{mode}-reveal")
    with gr.Row():
        textbox = gr.Textbox(
            placeholder="Write a message and press Enter",
            show_label=False,
            scale=5,
            elem_id=f"{mode}-message",
        )
        send = gr.Button("Send", variant="primary", scale=1, elem_id=f"{mode}-send")
    with gr.Row():
        if sides == 2:
            labels = {
                "a": "👈 A is better",
                "b": "👉 B is better",
                "tie": "🤝 Tie",
                "both_bad": "👎 Both are bad",
            }
        else:
            labels = {"up": "👍 Good reply", "down": "👎 Bad reply"}
        votes = {k: gr.Button(v, interactive=False, elem_id=f"{mode}-vote-{k}") for k, v in labels.items()}
    with gr.Row():
        regenerate = gr.Button("🔄 Regenerate", interactive=False, elem_id=f"{mode}-regenerate")
        new_round = gr.Button("🎲 New round", elem_id=f"{mode}-new-round")
    state = gr.State(Round(mode))
    ui = TabUI(
        mode, state, chats, textbox, send, votes, regenerate, new_round, reveal, pickers,
        edit_boxes, edit_buttons, titles,
    )  # fmt: skip

    async def on_send(message: str, persona: str, contact: str, *rest: Any) -> AsyncIterator[dict[Any, Any]]:
        async for update in arena.send(ui, message, persona, contact, *rest):
            yield update

    async def on_regenerate(round_: Round) -> AsyncIterator[dict[Any, Any]]:
        async for update in arena.regenerate(ui, round_):
            yield update

    def on_vote(outcome: str) -> Callable[[Round, gr.Request], dict[Any, Any]]:
        def handler(round_: Round, request: gr.Request) -> dict[Any, Any]:
            return arena.vote(ui, outcome, round_, request)

        return handler

    def on_new_round(round_: Round) -> dict[Any, Any]:
        return arena.new_round(ui, round_)

    def on_save_edit(index: int) -> Callable[[str, Round], dict[Any, Any]]:
        def handler(text: str, round_: Round) -> dict[Any, Any]:
            return arena.save_edit(ui, index, text, round_)

        return handler

    # Chats mostly wait on the model server: many may stream at once (Gradio's default is one at a time).
    streaming = {
        "outputs": ui.outputs(),
        "concurrency_limit": arena.server.config.concurrency_limit,
        "show_progress": "hidden",  # the panes themselves show the replies arriving
    }

    def on_settled(round_: Round) -> dict[Any, Any]:
        return ui.render(round_)

    # The vote buttons come on only after a streamed reply's event has completed: Gradio re-sends a
    # generator's last output when it completes, and a vote cast before that arrived had its reveal
    # overwritten by the stale "anonymous until you vote" (seen in the browser test).
    settled: dict[str, Any] = {
        "outputs": ui.outputs(),
        "api_visibility": "private",
        "show_progress": "hidden",
    }
    send_inputs = [textbox, *prompt_inputs, *pickers, state]
    send.click(on_send, send_inputs, api_name=f"{mode}_send", **streaming).then(
        on_settled, [state], **settled
    )
    textbox.submit(on_send, send_inputs, api_visibility="private", **streaming).then(
        on_settled, [state], **settled
    )
    regenerate.click(on_regenerate, [state], api_name=f"{mode}_regenerate", **streaming).then(
        on_settled, [state], **settled
    )
    for outcome, button in votes.items():
        button.click(on_vote(outcome), [state], api_name=f"{mode}_vote_{outcome}", **streaming)
    new_round.click(on_new_round, [state], ui.outputs(), api_name=f"{mode}_new_round")
    for chat in chats:
        chat.clear(on_new_round, [state], ui.outputs(), api_visibility="private")
    for index, (box, button) in enumerate(zip(edit_boxes, edit_buttons, strict=True)):
        button.click(
            on_save_edit(index), [box, state], ui.outputs(), api_name=f"{mode}_save_edit_{'ab'[index]}"
        )
    return ui


def build_arena(
    api_url: str,
    db_path: str | Path,
    *,
    data_dir: str | Path | None = None,
    config: ArenaConfig | None = None,
    api_key: str | None = None,
) -> gr.Blocks:
    """The arena app (not launched). `data_dir` offers the chats of DATA/sft/train.jsonl."""
    config = config or ArenaConfig()
    persona, chats = chats_from_data(data_dir) if data_dir is not None else ("", [])
    arena = Arena(ModelServer(api_url, config, api_key), VoteStore(db_path), persona, chats)

    private: dict[str, Any] = {"api_visibility": "private"}
    with gr.Blocks(title="Chat Like Me — arena") as demo:
        gr.Markdown(
            "# Chat Like Me — arena\nWhich model writes most like the persona? "
            "Chat with two of them at once and vote; the votes train the next KTO round."
        )
        with gr.Row():
            persona_box = gr.Textbox(value=persona, label="Persona (who the model plays)", elem_id="persona")
            contact_box = gr.Dropdown(
                [c.label for c in chats], value=chats[0].label if chats else None, allow_custom_value=True,
                label="Talking to (a chat from the data, or type a name)", elem_id="contact",
            )  # fmt: skip
        preview = gr.Textbox(
            arena.system_prompt_preview(persona, chats[0].label if chats else ""),
            label="System prompt (exactly as in training)", interactive=False, elem_id="system-prompt",
        )  # fmt: skip
        for box in (persona_box, contact_box):
            box.change(arena.system_prompt_preview, [persona_box, contact_box], preview, **private)
        prompt_inputs: list[gr.components.Component] = [persona_box, contact_box]

        with gr.Tabs():
            with gr.Tab("⚔️ Battle (anonymous)", id="anonymous"):
                _chat_tab(arena, "anonymous", prompt_inputs)
            with gr.Tab("🆚 Side by side (named)", id="named"):
                _chat_tab(arena, "named", prompt_inputs)
            with gr.Tab("💬 Single model", id="single"):
                _chat_tab(arena, "single", prompt_inputs)
            with gr.Tab("🏆 Leaderboard", id="leaderboard") as board_tab:
                with gr.Row():
                    run_box = gr.Dropdown([ALL_RUNS], value=ALL_RUNS, label="Run", elem_id="run")
                    refresh = gr.Button("Refresh", elem_id="refresh")
                summary = gr.Markdown(elem_id="leaderboard-summary")
                ratings = gr.Dataframe(label="Bradley-Terry scores", elem_id="ratings")
                rates = gr.Dataframe(label="Win rate", elem_id="win-rates")
                counts = gr.Dataframe(label="Battles per pair")
                thumbs = gr.Dataframe(label="Single-model thumbs")
        tables = [ratings, rates, counts, thumbs, summary]
        refresh.click(arena.leaderboard, run_box, tables, api_name="leaderboard")
        board_tab.select(arena.run_choices, None, run_box, **private).then(
            arena.leaderboard, run_box, tables, **private
        )
        run_box.input(arena.leaderboard, run_box, tables, **private)
        demo.load(arena.run_choices, None, run_box, api_name="runs")
    return demo


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    """`user:pass` -> (user, pass)."""
    if auth is None:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise ChatLikeMeError("--auth must look like user:password")
    return user, password


def launch_arena(
    api_url: str,
    db_path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    data_dir: str | Path | None = None,
    config: ArenaConfig | None = None,
    block: bool = True,
) -> gr.Blocks:
    """Build and serve the arena on `host:port` (blocks until Ctrl-C unless `block=False`)."""
    config = config or ArenaConfig()
    credentials = parse_auth(auth)
    demo = build_arena(api_url, db_path, data_dir=data_dir, config=config)
    demo.queue(default_concurrency_limit=config.concurrency_limit)
    demo.launch(
        server_name=host, server_port=port, auth=credentials, prevent_thread_lock=not block,
        auth_message="This arena talks to a model trained on private chats.",
    )  # fmt: skip
    return demo
