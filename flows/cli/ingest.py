"""The ingest verbs: `chats`, `ingest`, `pii-check` and `demo-export` (exports in, SFT data out)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.cli import ConfigOption, PersonaOption

app = typer.Typer()


@app.command()
def chats(
    export: Annotated[Path, typer.Argument(help="A Telegram Desktop result.json.")],
    persona: Annotated[
        str | None, typer.Option("--persona", help="Whose messages to count: sender id (user123) or name.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the chats of an export: id, type, name, messages, how many are the persona's."""
    from ingest.console import print_chats
    from ingest.ingest import list_chats

    print_chats(list_chats(export, persona), as_json=as_json)


@app.command()
def ingest(
    exports: Annotated[list[Path], typer.Argument(help="One or more Telegram exports (result.json).")],
    out: Annotated[Path, typer.Option("--out", help="Output data directory.")],
    config: ConfigOption = None,
    persona: Annotated[
        str | None,
        typer.Option(
            "--persona",
            help="Who the bot imitates: sender id (user123) or display name. "
            "Default: the owner of a full-account export.",
        ),
    ] = None,
    min_messages: Annotated[
        int | None, typer.Option("--min-messages", help="Skip chats with fewer usable messages (default 20).")
    ] = None,
    groups: Annotated[
        bool | None, typer.Option("--groups/--no-groups", help="Also learn from group chats.")
    ] = None,
    chat: Annotated[
        list[str] | None, typer.Option("--chat", help="Only this chat (id or name); repeatable.")
    ] = None,
    exclude_chat: Annotated[
        list[str] | None, typer.Option("--exclude-chat", help="Never this chat (id or name); repeatable.")
    ] = None,
    max_turns: Annotated[
        int | None, typer.Option("--max-turns", help="Turns per sample (default 12).")
    ] = None,
    max_chars: Annotated[
        int | None, typer.Option("--max-chars", help="Characters per sample (default 2000).")
    ] = None,
    eval_fraction: Annotated[
        float | None,
        typer.Option(
            "--eval-fraction", help="Sessions per chat, just before test, that pick checkpoints (0.1)."
        ),
    ] = None,
    test_fraction: Annotated[
        float | None,
        typer.Option("--test-fraction", help="Most recent sessions per chat that `eval` reports on (0.1)."),
    ] = None,
    mask_pii: Annotated[
        bool | None, typer.Option("--mask-pii/--no-mask-pii", help="Mask personal data in message text.")
    ] = None,
    prompt_names: Annotated[
        str | None,
        typer.Option("--prompt-names", help="How contacts are named: first_name, full_name or pseudonym."),
    ] = None,
    pii_region: Annotated[
        list[str] | None,
        typer.Option(
            "--pii-region",
            help="Region (IT, DE, DK, ...) whose national phone numbers are masked; repeatable. "
            "Default: guessed from the export.",
        ),
    ] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="Zone of dates in old exports (e.g. Europe/Rome).")
    ] = None,
) -> None:
    """Exports -> messages.parquet -> conversations -> PII-masked SFT data (DIR/sft/{train,eval,test})."""
    from ingest.console import print_ingest_summary
    from ingest.ingest import IngestConfig
    from ingest.ingest import ingest as run_ingest

    overrides = {
        "persona": persona,
        "min_messages": min_messages,
        "groups": groups,
        "chats": chat or None,
        "exclude_chats": exclude_chat or None,
        "max_turns": max_turns,
        "max_chars": max_chars,
        "eval_fraction": eval_fraction,
        "test_fraction": test_fraction,
        "mask_pii": mask_pii,
        "prompt_names": prompt_names,
        "pii_regions": pii_region or None,
        "timezone": timezone,
    }
    print_ingest_summary(run_ingest(exports, out, IngestConfig.load(config, overrides)))


@app.command("pii-check")
def pii_check(
    directory: Annotated[
        Path, typer.Argument(help="An ingest data folder, a KTO data folder, a run or a pipeline workdir.")
    ],
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping", help="The pii_mapping.json (default: every private/pii_mapping.json below)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """PII left in the datasets under DIR (SFT, KTO, eval generations): exit 1 if any, 0 if clean."""
    import json

    from ingest.pii_check import pii_check as check
    from ingest.pii_check import result_text

    result = check(directory, mapping)
    print(json.dumps(result.to_dict(), ensure_ascii=False, indent=1) if as_json else result_text(result))
    raise typer.Exit(1 if result.hits else 0)


@app.command("demo-export")
def demo_export(
    out: Annotated[Path, typer.Option("--out", help="Where to write the synthetic result.json.")],
    messages: Annotated[
        int | None,
        typer.Option("--messages", min=1, help="About how many messages (default: 4000 it, 8000 en)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same export.")] = 0,
    persona: PersonaOption = "it",
) -> None:
    """Write a realistic synthetic Telegram Desktop export (full-account layout)."""
    from ingest.demo.export import write_demo_export
    from ingest.demo.personas import demo_persona

    messages = messages or demo_persona(persona).default_messages
    path = write_demo_export(out, messages, seed, persona)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, ~{messages} messages, seed {seed}, {persona})")
