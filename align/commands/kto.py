"""`chatlikeme kto` and `accelerate launch -m align.kto`: the command both run (see `align.commands`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.cli import ConfigOption


def kto(
    data: Annotated[Path, typer.Option("--data", help="The KTO data directory (DIR/kto).")],
    sft: Annotated[Path, typer.Option("--sft", help="The SFT adapter (RUN/sft).")],
    out: Annotated[Path, typer.Option("--out", help="Output directory (RUN/kto).")],
    config: ConfigOption = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted run from its latest checkpoint.")
    ] = False,
    rounds: Annotated[
        int | None, typer.Option("--rounds", help="KTO rounds, each referenced to the previous policy.")
    ] = None,
) -> None:
    """KTO training (TRL KTOTrainer) starting from, and referenced to, the SFT adapter."""
    from accelerate import PartialState

    from align.kto import KTOStageConfig, summary_line, train_kto

    settings = KTOStageConfig.load(config, {"rounds": rounds})  # checked here, before any model is loaded
    trained = train_kto(data, sft, out, settings, resume=resume)
    if PartialState().is_main_process:  # one summary line, however many processes `accelerate launch` ran
        print(summary_line(trained))
