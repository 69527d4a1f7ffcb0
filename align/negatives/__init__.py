"""Negative strategies for the KTO dataset: one small module each, one common signature, registered by name.

Every strategy is a function

    build(slots: list[Slot], ctx: StrategyContext) -> list[KtoRow]

that receives the real persona replies it should write negatives for (`slots`: each a prompt and the real
reply to it) and returns undesirable rows for those prompts. A strategy that needs model replies declares a
`generation` function returning a `GenerationSpec`; the stage runs every strategy's generation in ONE call
(one vLLM engine for the base model and the SFT adapter) before building, and hands each strategy its
replies in `ctx.generated`, aligned with the prompts it asked for.

    base_sampling          the base model with aggressive sampling: the generic assistant voice
    corruption             real replies shuffled, padded, cut, stripped of tone and forced formal
    contamination          other speakers' messages and stock formal phrases
    paraphrase             real replies made longer, neutral or professional (templates or a model)
    contextual_templates   generic schemas filled with words taken from the prompt
    off_persona            SFT-model replies a judge still tells apart from the persona's real replies
    arena_votes            the arena's votes (both labels), from `chatlikeme arena`'s SQLite file
    wrong_context          real persona replies placed after a conversation they do not fit (scored)
    off_context            SFT-model samples that miss their conversation or copy a stock reply (scored)
    on_policy              SFT-model samples on prompts SFT never saw (sft/onpolicy.jsonl), every judge

Strategies that judge replies in context call `ctx.scorer()`: the base model as a `ReplyScorer`
(`align.context_fit`), loaded once for the whole stage on first use.
"""

from __future__ import annotations

import functools
import importlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from align.generation import SamplingConfig
from align.negatives.text import TemplateBank, template_bank
from core.errors import ChatLikeMeError
from core.schema import ChatMessage, KtoRow

if TYPE_CHECKING:
    from align.context_fit import ReplyScorer

Split = Literal["train", "eval"]

STRATEGY_MODULES = (
    "base_sampling",
    "corruption",
    "contamination",
    "paraphrase",
    "contextual_templates",
    "off_persona",
    "arena_votes",
    "wrong_context",
    "off_context",
    "on_policy",
)


@dataclass(frozen=True)
class Slot:
    """A real persona reply in its context: the place a negative for the same prompt goes."""

    prompt: tuple[ChatMessage, ...]  # system + turns before the reply
    reply: str
    sample_id: str
    chat_id: str
    session: int
    language: str  # the chat's language: negatives use its template bank

    @property
    def conversation(self) -> tuple[str, int]:
        """Chat and session: replies of one conversation never stand in for each other's context."""
        return self.chat_id, self.session

    @property
    def last_message(self) -> str:
        """What the persona was answering."""
        return next((m.content for m in reversed(self.prompt) if m.role != "system"), "")

    @property
    def contact(self) -> str:
        """Who the persona was answering (their name, or a neutral word when the export has none)."""
        return next((m.name for m in reversed(self.prompt) if m.role == "user" and m.name), "")

    @property
    def bank(self) -> TemplateBank:
        return template_bank(self.language)

    def negative(self, text: str, strategy: str, detail: str = "") -> KtoRow:
        """An undesirable completion of this slot's prompt."""
        return KtoRow(
            prompt=list(self.prompt),
            completion=[ChatMessage("assistant", text)],
            label=False,
            strategy=strategy,
            sample_id=self.sample_id,
            chat_id=self.chat_id,
            detail=detail,
        )


@dataclass(frozen=True)
class OtherTurn:
    """A message by someone other than the persona (contamination material, the judge's counter-examples)."""

    text: str
    sample_id: str
    chat_id: str
    language: str


@dataclass(frozen=True)
class GenerationSpec:
    """Model replies a strategy needs: `model` is "base" (the base model) or "sft" (the SFT adapter)."""

    model: Literal["base", "sft"]
    prompts: list[list[ChatMessage]]
    sampling: SamplingConfig


@dataclass
class ModelOptions:
    """Sampling settings of a strategy that asks a model for replies (each strategy sets its own defaults)."""

    temperature: float = 0.7
    top_p: float = 0.9
    max_new_tokens: int = 48
    max_chars: int = 280
    "Replies are cut at their last full sentence within this many characters."

    def sampling(self) -> SamplingConfig:
        return SamplingConfig(self.temperature, self.top_p, self.max_new_tokens)


@dataclass
class StrategyContext:
    """Everything a strategy may draw on besides its slots, for one split."""

    split: Split
    target: int  # how many undesirable rows the strategy should return (at most)
    rng: random.Random  # seeded per (seed, split, strategy): reproducible and independent of other strategies
    options: Any  # the strategy's own options (its dataclass in KTODataConfig), or None
    other_turns: list[OtherTurn]  # other speakers' messages of THIS split (no leakage across splits)
    # the persona's real replies of THIS split (every assistant turn, deduplicated)
    persona_replies: list[str]
    generated: list[str] = field(default_factory=list)  # replies to this strategy's GenerationSpec prompts
    votes_db: Path | None = None
    votes_since: str | None = None
    split_slots: list[Slot] = field(default_factory=list)  # every positive of THIS split, in its context
    scorer: Callable[[], ReplyScorer] | None = None  # the context scorer (base model), loaded on first call


Build = Callable[[list[Slot], StrategyContext], list[KtoRow]]
Generation = Callable[[list[Slot], Any], GenerationSpec | None]
Check = Callable[[StrategyContext], None]


@dataclass(frozen=True)
class Strategy:
    name: str
    build: Build
    generation: Generation | None = None  # model replies it needs, if any
    requires: Literal["sft_adapter", "votes", "onpolicy"] | None = (
        None  # inactive (share passed on) without it
    )
    splits: tuple[Split, ...] = ("train", "eval")  # splits it can produce rows for
    options: type | None = None  # its options dataclass (a field of KTODataConfig named like the strategy)
    human: bool = False  # rows are people's judgements: never second-guessed by the persona judge
    judged: bool = False  # rows were picked by a judge of the strategy's own: not second-guessed either
    check: Check | None = None  # validates its inputs before any generation (raises ChatLikeMeError)


_REGISTRY: dict[str, Strategy] = {}


def register(
    name: str,
    *,
    generation: Generation | None = None,
    requires: Literal["sft_adapter", "votes", "onpolicy"] | None = None,
    splits: tuple[Split, ...] = ("train", "eval"),
    options: type | None = None,
    human: bool = False,
    judged: bool = False,
    check: Check | None = None,
) -> Callable[[Build], Build]:
    """Decorator: make `build` available under `name` in the KTO data config's `strategies` shares."""

    def decorator(build: Build) -> Build:
        _REGISTRY[name] = Strategy(name, build, generation, requires, splits, options, human, judged, check)
        return build

    return decorator


@functools.cache
def _load_strategy_modules() -> None:
    for module in STRATEGY_MODULES:
        importlib.import_module(f"align.negatives.{module}")


def strategies() -> dict[str, Strategy]:
    """Every registered strategy by name."""
    _load_strategy_modules()
    return dict(_REGISTRY)


def get_strategy(name: str) -> Strategy:
    known = strategies()
    if name not in known:
        raise ChatLikeMeError(f"unknown negative strategy '{name}' (known: {', '.join(known)})")
    return known[name]
