"""`IngestConfig`: every knob of `chatlikeme ingest`, with the presets in `ingest/configs/`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from core.config import StageConfig
from core.errors import ChatLikeMeError

Fraction = Annotated[float, Field(ge=0, lt=1)]  # NaN fails it too


@dataclass
class IngestConfig(StageConfig):
    presets_dir: ClassVar[Path] = Path(__file__).parent / "configs"

    persona: str | None = None
    """Who the bot imitates: a sender id (`user123`, or just `123`) or a display name (case-insensitive).
    Default: the owner of a full-account export (`personal_information.user_id`)."""
    persona_name: str | None = None
    """The persona's name in the system prompt (default: their first name)."""

    groups: bool = False
    """Also learn from group chats (speaker names are kept in group turns). Default: personal chats only."""
    chats: list[str] = field(default_factory=list)
    """Only these chats (ids like `user123` or names, case-insensitive). Empty: every usable chat."""
    exclude_chats: list[str] = field(default_factory=list)
    """Never these chats (ids or names)."""
    min_messages: Annotated[int, Field(ge=1)] = 20
    """Chats with fewer usable messages than this are skipped."""

    turn_window_minutes: Annotated[float, Field(ge=0)] = 5.0
    """Consecutive messages of one sender, each within this many minutes of the previous, form one turn."""
    session_gap_minutes: Annotated[float, Field(gt=0)] = 60.0
    """A silence longer than this starts a new conversation (session)."""
    max_turns: Annotated[int, Field(ge=1)] = 12
    """At most this many turns in a sample (long conversations become sliding windows)."""
    max_chars: Annotated[int, Field(ge=1)] = 2000
    """At most this many characters of turns in a sample; context turns longer than half of it are cut."""
    reply_context: bool = True
    """When the persona replied (Telegram "reply") to a message before the sample, include it first."""

    eval_fraction: Fraction = 0.1
    """The sessions of every chat just before its test sessions, this fraction of them, form the eval split
    (SFT and KTO pick their best checkpoint on it)."""
    test_fraction: Fraction = 0.1
    """The most recent sessions of every chat, this fraction of them, form the test split: never trained on
    nor used to pick a checkpoint, it is what `chatlikeme eval` reports on (0: an empty `test.jsonl`)."""

    onpolicy_fraction: Fraction = 0.0
    """This fraction of every chat's training sessions (spread over time) is kept out of SFT and written to
    `sft/onpolicy.jsonl`: prompts the SFT model never trained on, where `kto-data` samples it on-policy (0:
    no file; kto-data then samples the SFT model on training prompts)."""

    mask_pii: bool = True
    """Replace phone numbers, e-mails, card/IBAN numbers, secret URLs, @usernames and third-party names in
    message text by stable pseudonyms (the mapping goes to DIR/private/pii_mapping.json, mode 0600)."""
    prompt_names: Literal["first_name", "full_name", "pseudonym"] = "first_name"
    """How contacts are named in system prompts, `name` fields and group speaker labels."""
    pii_keep_words: list[str] = field(default_factory=list)
    """Words never masked as names (a contact called "Rosa" would otherwise hide the colour)."""
    pii_regions: list[str] = field(default_factory=list)
    """Regions (ISO 3166 codes: IT, DE, DK, ...) whose national phone number formats are recognised
    (international +.. numbers always are). Empty: guessed from the export (the owner's and contacts' phone
    numbers, the chats' languages) plus a few common ones; the report lists the regions used."""

    timezone: str = "UTC"
    """Time zone of the local `date` in old exports that lack `date_unixtime` (e.g. "Europe/Rome")."""
    parse_workers: Annotated[int, Field(ge=0, le=2)] = 0
    """Processes decoding an export: 2 (this one and a forked one), 1, or 0 = 2 for exports over 16 MB."""

    def __post_init__(self) -> None:
        """Rules between fields (pydantic runs this after checking each field's own constraints)."""
        if self.eval_fraction + self.test_fraction >= 1:
            raise ChatLikeMeError(
                f"eval_fraction + test_fraction must be below 1 (the rest is the train split), "
                f"got {self.eval_fraction} + {self.test_fraction}"
            )
        from ingest.phones import check_regions

        try:
            self.pii_regions = check_regions(self.pii_regions)
        except ValueError as exc:
            raise ChatLikeMeError(f"pii_regions: {exc}") from None
