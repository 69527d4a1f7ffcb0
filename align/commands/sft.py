"""`chatlikeme sft` and `accelerate launch -m align.sft`: the command both run (see `align.commands`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.cli import ConfigOption


def sft(
    data: Annotated[Path, typer.Option("--data", help="Data directory written by `ingest`.")],
    out: Annotated[Path, typer.Option("--out", help="Run directory; the adapter goes to RUN/sft.")],
    config: ConfigOption = None,
    base_model: Annotated[
        str | None,
        typer.Option("--base-model", help="Hugging Face id or local folder (default: SmolLM2-135M)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted run from its last checkpoint.")
    ] = False,
    export_axolotl: Annotated[
        Path | None,
        typer.Option(
            "--export-axolotl", help="Write the equivalent axolotl YAML to this file instead of training."
        ),
    ] = None,
) -> None:
    """Supervised fine-tuning (TRL SFTTrainer + LoRA) on the persona's replies."""
    from align.sft import SFTStageConfig, train_sft

    stage_config = SFTStageConfig.load(config, {"base_model": base_model})
    if export_axolotl is not None:
        from align.axolotl import write_axolotl_config

        print(write_axolotl_config(stage_config, data, out, export_axolotl))
        return
    train_sft(data, out / "sft", stage_config, resume=resume)
