"""One round of chatting in the arena: each side's conversation, and every side's reply streamed at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import msgspec

from core.schema import ChatMessage
from serve.model_client import Contestant, ModelServer


@dataclass
class Side:
    """One model's half of a round: its conversation (without the system prompt) and what it is writing."""

    contestant: Contestant
    messages: list[dict[str, str]] = field(default_factory=list)
    partial: str | None = None  # the reply being streamed
    error: str | None = None
    cut: set[int] = field(default_factory=set)  # indices of replies that `max_new_tokens` cut short

    def conversation(self, system_prompt: str) -> list[ChatMessage]:
        return [ChatMessage("system", system_prompt), *(ChatMessage(**m) for m in self.messages)]

    def replied(self) -> bool:
        done = self.error is None and self.partial is None
        return done and bool(self.messages) and self.messages[-1]["role"] == "assistant"


@dataclass
class Round:
    """A conversation with one or two models, from the first message to the vote."""

    mode: str  # anonymous | named | single
    id: str = ""  # set by the first message (Gradio copies a State's initial value into every session)
    system_prompt: str | None = None
    sides: list[Side] = field(default_factory=list)
    notice: str | None = None  # a problem that concerns the whole round (server down, bad input)
    streaming: bool = False
    voted: str | None = None
    edits: dict[int, str] = field(default_factory=dict)  # side index -> the owner's own version, once saved

    def can_vote(self) -> bool:
        return bool(self.sides) and self.can_send() and all(side.replied() for side in self.sides)

    def can_send(self) -> bool:
        return not self.streaming and self.voted is None

    def can_regenerate(self) -> bool:
        return self.can_send() and any(m["role"] == "user" for s in self.sides for m in s.messages)


async def stream_replies(server: ModelServer, round_: Round, sides: list[Side]) -> AsyncIterator[None]:
    """Stream every side's next reply at once; yields whenever any side has new text."""
    updates: asyncio.Queue[bool] = asyncio.Queue()

    async def one(side: Side) -> None:
        side.partial, side.error = "", None
        try:
            stream = await server.client.chat.completions.create(
                model=side.contestant.name,
                messages=msgspec.to_builtins(side.conversation(round_.system_prompt)),
                stream=True,
                **server.config.sampling(),
            )
            cut = False
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].finish_reason == "length":
                    cut = True
                if chunk.choices and chunk.choices[0].delta.content:
                    side.partial += chunk.choices[0].delta.content
                    updates.put_nowait(True)
                    # Chunks that arrived together are read without a pause: let the panes show each.
                    await asyncio.sleep(0)
            if cut:
                side.cut.add(len(side.messages))
            side.messages.append({"role": "assistant", "content": side.partial.strip()})
        except Exception as exc:  # every failure becomes a message in the pane
            side.error = server.explain(exc, side.contestant.name)
        finally:
            side.partial = None
            updates.put_nowait(False)

    tasks = [asyncio.create_task(one(side)) for side in sides]
    running = len(tasks)
    try:
        while running:
            if not await updates.get():
                running -= 1
            yield
    finally:
        for task in tasks:
            task.cancel()
