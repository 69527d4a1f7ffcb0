"""The stage's config (`KTODataConfig`, its presets and default shares) and its shared constants."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from align.negatives import Split, get_strategy
from align.negatives.base_sampling import BaseSamplingOptions
from align.negatives.contamination import ContaminationOptions
from align.negatives.contextual_templates import ContextualTemplatesOptions
from align.negatives.corruption import CorruptionOptions
from align.negatives.off_context import OffContextOptions
from align.negatives.off_persona import OffPersonaOptions
from align.negatives.on_policy import OnPolicyOptions
from align.negatives.paraphrase import ParaphraseOptions
from align.negatives.text import check_language
from align.negatives.wrong_context import WrongContextOptions
from core.config import StageConfig
from core.errors import ChatLikeMeError

SPLITS: tuple[Split, ...] = ("train", "eval")
REAL = "real"  # the `strategy` of the persona's own replies
ONPOLICY_FILE = "onpolicy.jsonl"  # ingest's training sessions kept out of SFT (`onpolicy_fraction`)
SHARE_TOLERANCE = 0.01

# The context-aware strategies carry most of the weight: the easy ones (base sampling, corruption,
# contamination, paraphrase, templates) write replies the SFT model already never writes, so they are
# capped to a minority share.
DEFAULT_SHARES = {
    "wrong_context": 0.25,
    "on_policy": 0.15,
    "off_context": 0.15,
    "off_persona": 0.05,
    "arena_votes": 0.1,
    "base_sampling": 0.1,
    "corruption": 0.05,
    "contamination": 0.05,
    "paraphrase": 0.05,
    "contextual_templates": 0.05,
}


@dataclass
class KTODataConfig(StageConfig):
    """How the KTO dataset is built (presets: `cpu-demo`, `gpu`)."""

    presets_dir: ClassVar[Path] = Path(__file__).parents[1] / "configs" / "kto_data"  # align/configs/

    seed: int = 0
    "Everything random (sampling of positives, slots, corruptions, generation) derives from it."
    strategies: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SHARES))
    "Share of the negatives each strategy writes (summing to 1). See `align.negatives` for the names."
    negatives_per_positive: Annotated[float, Field(gt=0)] = 1.0
    "Negatives to write per positive of each split (before filtering)."
    max_positives_per_session: Annotated[int, Field(ge=1)] = 6
    "Persona replies used per conversation session: keeps one long session from dominating the data."
    max_train_positives: int | None = None
    "Cap on the train split's positives (None: all)."
    max_eval_positives: int | None = None
    "Cap on the eval split's positives (None: all)."
    max_prompt_turns: Annotated[int, Field(ge=1)] | None = None
    "Keep only the last N turns before a reply in its prompt (the system prompt always stays; None: all)."
    weight_ratio_range: tuple[float, float] = (1.0, 4 / 3)
    "λD·nD / (λU·nU) must land in this range (KTO paper: [1, 4/3])."
    max_similarity: Annotated[float, Field(ge=0, le=1)] = 0.9
    "A negative this similar (0-1, normalised text) to the real reply it was made from is dropped."
    max_length_ratio: Annotated[float, Field(gt=0)] | None = 1.5
    "Synthetic negatives longer than this many times the real reply they stand beside (and than"
    " `min_cut_chars`) are cut at a sentence or word end. Chat replies are short and generic negatives long:"
    " uncut (or cut at 2x), KTO on the demo learned to shorten replies instead of the persona's style (None:"
    " keep them whole)."
    min_cut_chars: Annotated[int, Field(ge=1)] = 20
    "Negatives are never cut below this many characters."
    max_persona_probability: float | None = 0.5
    "Synthetic negatives the persona judge scores at least this persona-like are dropped (None: keep all)."
    language: str = "auto"
    "Language of the template banks: 'auto' (detected per chat) or a bank's code (it, en)."
    base_model: str | None = None
    "Base model for generation (None: the SFT adapter's base model, else the project default)."
    generation_backend: Literal["auto", "vllm", "transformers"] = "auto"
    "vLLM's offline engine ('auto' when installed) or transformers `generate`."
    generation_batch_size: Annotated[int, Field(ge=1)] = 16
    "Batch size of the transformers backend."
    votes_since: str | None = None
    "Only arena votes from this ISO date/time on (None: all)."
    base_sampling: BaseSamplingOptions = field(default_factory=BaseSamplingOptions)
    corruption: CorruptionOptions = field(default_factory=CorruptionOptions)
    contamination: ContaminationOptions = field(default_factory=ContaminationOptions)
    paraphrase: ParaphraseOptions = field(default_factory=ParaphraseOptions)
    contextual_templates: ContextualTemplatesOptions = field(default_factory=ContextualTemplatesOptions)
    off_persona: OffPersonaOptions = field(default_factory=OffPersonaOptions)
    wrong_context: WrongContextOptions = field(default_factory=WrongContextOptions)
    off_context: OffContextOptions = field(default_factory=OffContextOptions)
    on_policy: OnPolicyOptions = field(default_factory=OnPolicyOptions)

    def __post_init__(self) -> None:
        """Rules between fields and lookups (each field's own range is its `Field` constraint)."""
        for name in self.strategies:
            get_strategy(name)
        shares = self.strategies
        if any(share < 0 for share in shares.values()) or not any(shares.values()):
            raise ChatLikeMeError(f"strategy shares must be >= 0 with at least one > 0, got {shares}")
        total = sum(shares.values())
        if abs(total - 1) > SHARE_TOLERANCE:
            raise ChatLikeMeError(f"strategy shares must sum to 1, they sum to {total:.3g}: {shares}")
        low, high = self.weight_ratio_range
        if not 0 < low <= high:
            raise ChatLikeMeError(f"weight_ratio_range must satisfy 0 < low <= high, got [{low}, {high}]")
        check_language(self.language)
