"""The `chatlikeme` command: one verb per stage, each a thin wrapper over the stage's library function.

No logic lives only here: the Prefect flows call the same functions. Errors the user can fix
(`ChatLikeMeError`) are printed on one line and exit with status 2.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from core.errors import ChatLikeMeError

if TYPE_CHECKING:  # imported lazily below: Prefect takes seconds to import
    from flows.config import PipelineConfig
    from flows.pipeline import PipelineOutcome

app = typer.Typer(
    name="chatlikeme",
    help="Turn your Telegram chats into a chatbot that writes like you: ingest, SFT, KTO, serve, arena.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
model_app = typer.Typer(help="Base models (the default SmolLM2 is prepared from PyPI, no model hub needed).")
votes_app = typer.Typer(help="Arena votes.")
telegram_app = typer.Typer(help="Live export of your Telegram account with Telethon.")
app.add_typer(model_app, name="model")
app.add_typer(votes_app, name="votes")
app.add_typer(telegram_app, name="telegram")

ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config", help="A YAML config file or a preset name (cpu-demo, gpu; ingest and training also cpu)."
    ),
]


# --- ingest -------------------------------------------------------------------------------------------------


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


PersonaOption = Annotated[
    Literal["it", "en"],
    typer.Option(
        "--persona", help="The demo persona: it (Marco Rossi, Italian) or en (Emma Clarke, English)."
    ),
]


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


# --- align --------------------------------------------------------------------------------------------------


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


@app.command()
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


@app.command()
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
    from align.kto import KTOStageConfig, summary_line, train_kto

    settings = KTOStageConfig.load(config, {"rounds": rounds})  # checked here, before any model is loaded
    print(summary_line(train_kto(data, sft, out, settings, resume=resume)))


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


# --- serve --------------------------------------------------------------------------------------------------


@app.command()
def serve(
    run: Annotated[Path | None, typer.Option("--run", help="Run directory (default: runs/current).")] = None,
    host: Annotated[str | None, typer.Option("--host", help="Default 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Default 8000.")] = None,
    config: ConfigOption = None,
    watch: Annotated[
        bool,
        typer.Option("--watch/--no-watch", help="Load new or retrained adapters, no restart."),
    ] = True,
    watch_interval: Annotated[float, typer.Option("--watch-interval", help="Seconds between checks.")] = 5.0,
    log: Annotated[Path | None, typer.Option("--log", help="vLLM's log file (default: a temp file).")] = None,
) -> None:
    """One vLLM OpenAI-compatible server: the base model plus the run's `sft` and `kto` adapters."""
    from serve.vllm_server import CURRENT_RUN, ServeConfig, VLLMServer, serve_forever

    run_dir = run if run is not None else CURRENT_RUN
    serve_config = ServeConfig.load(config, {"host": host, "port": port})
    server = VLLMServer.for_run(run_dir, serve_config, log_path=log)
    serve_forever(server, watch=run_dir if watch else None, interval=watch_interval, echo=typer.echo)


@app.command("load-adapter")
def load_adapter(
    name: Annotated[str, typer.Argument(help="Served name (sft, kto, or a new one).")],
    adapter: Annotated[Path, typer.Argument(help="The LoRA adapter directory.")],
    api: Annotated[str, typer.Option("--api", help="URL of the vLLM server.")] = "http://127.0.0.1:8000",
) -> None:
    """Serve an adapter on a running `chatlikeme serve` without restarting it (replaces one of that name)."""
    from serve.vllm_server import load_adapter as load

    load(api, name, adapter)
    typer.echo(f"{api} now serves {name} from {adapter}")


@app.command()
def arena(
    api: Annotated[str, typer.Option("--api", help="URL of the vLLM server (http://127.0.0.1:8000).")],
    db: Annotated[Path, typer.Option("--db", help="SQLite file for the votes.")] = Path("votes.sqlite"),
    auth: Annotated[str | None, typer.Option("--auth", help="user:pass required to open the arena.")] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Data directory of `ingest`: offers its chats (DATA/sft).")
    ] = None,
    host: Annotated[
        str, typer.Option("--host", help="Interface to bind (0.0.0.0 exposes it).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 7860,
    config: ConfigOption = None,
) -> None:
    """The Gradio A/B arena: anonymous side-by-side battles, votes, leaderboard."""
    from serve.arena import ArenaConfig, launch_arena

    typer.echo(f"Arena on http://{host}:{port} (models from {api}, votes in {db}). Ctrl-C stops.")
    launch_arena(api, db, host=host, port=port, auth=auth, data_dir=data, config=ArenaConfig.load(config))


@app.command()
def bot(
    api: Annotated[str, typer.Option("--api", help="URL of the vLLM server (http://127.0.0.1:8000).")],
    data: Annotated[
        Path, typer.Option("--data", help="Data directory of `ingest`: contacts, their prompts, limits.")
    ],
    model: Annotated[
        str | None, typer.Option("--model", help="Served model that answers: base, sft, kto (default kto).")
    ] = None,
    as_me: Annotated[
        bool,
        typer.Option(
            "--as-me", help="Draft mode: suggest replies as drafts in your own account (`telegram login`)."
        ),
    ] = False,
    db: Annotated[
        Path | None, typer.Option("--db", help="Votes SQLite file for draft outcomes (votes.sqlite).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """The persona on Telegram: a bot that answers as you (TELEGRAM_BOT_TOKEN), or drafts (--as-me)."""
    from serve.bot import BotConfig, run_bot

    bot_config = BotConfig.load(config, {"model": model, "votes_db": db})
    what = "drafts" if as_me else "bot"
    typer.echo(f"Telegram {what} with model {bot_config.model} from {api}. Ctrl-C stops.")
    try:
        run_bot(api, data, bot_config, as_me=as_me, echo=typer.echo)
    except KeyboardInterrupt:
        typer.echo("Stopped.")


@votes_app.command("export")
def votes_export(
    db: Annotated[Path, typer.Option("--db", help="The arena's SQLite file.")],
    out: Annotated[Path, typer.Option("--out", help="Output JSONL of KTO rows.")],
    since: Annotated[
        str | None, typer.Option("--since", help="Only votes at or after this ISO date/time (UTC).")
    ] = None,
) -> None:
    """Turn arena votes into KTO rows."""
    from core.votes import export_kto_rows

    count = export_kto_rows(db, out, since)
    typer.echo(f"{count} KTO rows -> {out}")


@votes_app.command("leaderboard")
def votes_leaderboard(
    db: Annotated[Path, typer.Option("--db", help="The arena's SQLite file.")],
    run: Annotated[str | None, typer.Option("--run", help="A run id (default: every run).")] = None,
) -> None:
    """Print the leaderboard: Bradley-Terry scores with 95% bootstrap intervals, and win rates."""
    from serve.leaderboard import leaderboard

    board = leaderboard(db, run)
    typer.echo(f"{board.votes} votes, {'run ' + run if run else 'all runs'}")
    typer.echo(board.ratings.round(1).to_string(index=False) if len(board.ratings) else "no battles yet")
    if len(board.win_rates):
        typer.echo("\nwin rate (row beats column):\n" + board.win_rates.round(3).to_string())


# --- flows --------------------------------------------------------------------------------------------------


def _prefect_environment() -> None:
    """Before Prefect and torch are imported: no telemetry (the chats are private), briefly spinning OpenMP
    threads, and a clean exit on SIGTERM.

    Prefect stops its temporary local server at exit; a plain SIGTERM would skip that and leave it running.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect gives its temporary server 20 s to start; on a busy 2-core machine (training in another
    # terminal) it took longer, and `chatlikeme demo` died with "Timed out while attempting to connect".
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # Idle PyTorch threads spin only briefly before they sleep. OpenMP's default (300,000 spins) made KTO
    # steps 6x slower beside one busy process on 2 cores; sleeping at once (OMP_WAIT_POLICY=PASSIVE) cost
    # up to ~20 % on a quiet CPU. 3,000 spins: quiet, KTO steps ~20 % faster than PASSIVE and SFT steps the
    # same; busy, ~15 % slower (docs/sft.md).
    # Read by libgomp when torch is imported; a user's own OMP_WAIT_POLICY wins.
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", "3000")
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


@app.command("run")
def run_pipeline(
    export: Annotated[list[Path], typer.Option("--export", help="Telegram export(s) to train on.")],
    config: Annotated[
        Path | None, typer.Option("--config", help="pipeline.yaml, or a preset name (cpu, cpu-demo, gpu).")
    ] = None,
    time_budget: Annotated[
        float | None,
        typer.Option("--time-budget", help="Fit the whole run into MINUTES (overrides the config)."),
    ] = None,
) -> None:
    """The whole pipeline (ingest -> sft -> kto-data -> kto -> eval -> promote), cached, with Prefect."""
    _prefect_environment()
    from flows.config import PipelineConfig
    from flows.pipeline import run_pipeline as run

    pipeline_config = PipelineConfig.load(config, {"time_budget_minutes": time_budget})
    _print_outcome(run(export, pipeline_config), pipeline_config)


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option("--workdir", help="Where exports/, data/ and runs/ go.")] = Path(
        "."
    ),
    messages: Annotated[
        int | None, typer.Option("--messages", help="Size of the demo export (default: the generator's).")
    ] = None,
    persona: PersonaOption = "it",
) -> None:
    """Generate the demo export and run the whole pipeline on it with the cpu-demo presets."""
    _prefect_environment()
    from flows.config import PipelineConfig
    from flows.pipeline import run_pipeline as run
    from ingest.demo.export import write_demo_export

    export = workdir / "exports" / ("demo-result.json" if persona == "it" else f"demo-result-{persona}.json")
    if not export.is_file():
        write_demo_export(export, messages, persona=persona)
        print(f"demo export written: {export}")
    pipeline_config = PipelineConfig.load("cpu-demo", {"workdir": workdir})
    _print_outcome(run([export], pipeline_config), pipeline_config)


def _print_outcome(outcome: PipelineOutcome, config: PipelineConfig) -> None:
    width = max(len(step["stage"]) for step in outcome.steps)
    print()
    for step in outcome.steps:
        how = (
            f"reused (saved {step['seconds']:.0f} s)" if step["reused"] else f"ran in {step['seconds']:.0f} s"
        )
        print(f"  {step['stage']:<{width}}  {how:<22}  {step['output']}")
    scores = ", ".join(f"{model} {score:.3f}" for model, score in outcome.fidelity.items())
    origin = "new run" if outcome.new_run else "nothing new, existing run"
    print(f"\n{origin} {outcome.run_path} in {outcome.seconds:.0f} s; fidelity: {scores}")
    verdict = (
        "promoted: it is now current"
        if outcome.promoted
        else f"kept as a candidate (current: {outcome.current})"
    )
    print(f"gate: {verdict} — " + "; ".join(outcome.gate.get("reasons", [])))
    runs = config.runs_path
    votes = config.votes_path or config.path(Path("votes.sqlite"))
    print("\nnext:")
    print(f"  chatlikeme serve --run {runs / 'current'}")
    print(f"  chatlikeme arena --api http://127.0.0.1:8000 --db {votes}")
    if not outcome.promoted:
        print(f"  chatlikeme promote {outcome.run_id} --runs {runs}    # make this run current anyway")


RunsOption = Annotated[Path, typer.Option("--runs", help="The run registry directory.")]


@app.command("runs")
def list_runs(runs: RunsOption = Path("runs")) -> None:
    """List the runs of the registry: id, fidelity of each model, the gate's verdict, which one is current."""
    from flows.registry import Registry

    registry = Registry(runs)
    current = registry.current()
    for run in registry.runs():
        fidelity = run.manifest.get("eval", {}).get("fidelity") or {}
        scores = " ".join(f"{model} {score:.3f}" for model, score in fidelity.items())
        gate = run.manifest.get("gate", {})
        verdict = "passed the gate" if gate.get("promote") else "candidate"
        mark = "*" if current is not None and run.id == current.id else " "
        print(f"{mark} {run.id}  {scores}  ({verdict})")
    if current is None:
        print(f"no current run in {runs}")


@app.command()
def promote(
    run: Annotated[Path, typer.Argument(help="The run to make current (its id or its directory).")],
    runs: RunsOption = Path("runs"),
) -> None:
    """Make RUN the current model (the one `serve` uses by default), bypassing the promotion gate."""
    from flows.registry import Registry

    promoted = Registry(runs).promote(run, reason="promoted by hand")
    print(f"{runs / 'current'} -> {promoted.id}")


@app.command()
def rollback(runs: RunsOption = Path("runs")) -> None:
    """Make the previously current run current again."""
    from flows.registry import Registry

    restored = Registry(runs).rollback()
    print(f"{runs / 'current'} -> {restored.id}")


@app.command()
def schedule(
    exports: Annotated[Path, typer.Option("--exports", help="Folder where new exports are dropped.")],
    cron: Annotated[str | None, typer.Option("--cron", help='Cron schedule, e.g. "0 3 * * 0".')] = None,
    interval: Annotated[float | None, typer.Option("--interval", help="Or: every this many seconds.")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="pipeline.yaml, or a preset name (cpu, cpu-demo, gpu).")
    ] = None,
    telegram: Annotated[
        bool, typer.Option("--telegram", help="Fetch new Telegram messages (Telethon) before each run.")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="Port of the Prefect server started here.")] = 4200,
    systemd: Annotated[
        Path | None, typer.Option("--systemd", help="Write systemd user units to this folder and exit.")
    ] = None,
    bot: Annotated[
        bool, typer.Option("--bot", help="Keep the persona online: `chatlikeme bot` on runs/current.")
    ] = False,
    as_me: Annotated[bool, typer.Option("--as-me", help="With --bot: drafts in your own account.")] = False,
    bot_api: Annotated[
        str | None,
        typer.Option("--bot-api", help="With --bot: a running `chatlikeme serve` (default: start one here)."),
    ] = None,
    bot_model: Annotated[
        str | None, typer.Option("--bot-model", help="With --bot: base, sft or kto (default kto).")
    ] = None,
    bot_config: Annotated[
        Path | None, typer.Option("--bot-config", help="With --bot: the bot's YAML (bot --config).")
    ] = None,
    bot_serve_port: Annotated[
        int, typer.Option("--bot-serve-port", help="With --bot: port of the server started here.")
    ] = 8000,
) -> None:
    """Register scheduled retraining with a Prefect server (started on 127.0.0.1 if none is configured)."""
    _prefect_environment()
    from flows import schedule as scheduling
    from flows.companions import BotOptions, check_bot_options

    scheduling.check_schedule(cron, interval)
    if as_me and not bot:
        raise ChatLikeMeError("--as-me goes with --bot (the bot's draft mode)")
    bot_options = BotOptions(as_me, bot_api, bot_model, bot_config, bot_serve_port) if bot else None
    if bot_options is not None:
        check_bot_options(bot_options, telegram=telegram)
    if systemd is not None:
        units = scheduling.systemd_units(
            exports, cron=cron, interval=interval, config_file=config, telegram=telegram, port=port,
            bot=bot_options,
        )  # fmt: skip
        for path in scheduling.write_systemd_units(systemd, units):
            print(f"wrote {path}")
        print(
            f"install: cp {systemd}/chatlikeme-*.service ~/.config/systemd/user/ && systemctl --user "
            "daemon-reload && systemctl --user enable --now chatlikeme-prefect chatlikeme-retrain"
        )
        if bot_options is not None and not bot_options.as_me:
            print("bot token: put TELEGRAM_BOT_TOKEN=... in ~/.config/chatlikeme/bot.env (chmod 600)")
        return
    scheduling.serve_retraining(
        exports, cron=cron, interval=interval, config_file=config, telegram=telegram, port=port,
        bot=bot_options,
    )  # fmt: skip


# --- telegram -----------------------------------------------------------------------------------------------


TelegramConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="YAML with api_id, api_hash, data_dir, types, takeout (env vars win)."),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Session and export state (default ~/.local/share/chatlikeme)."),
]


@telegram_app.command("login")
def telegram_login(config: TelegramConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Log in to Telegram (api_id/api_hash from the environment or config) and keep the session file."""
    from ingest.telegram.client import TelegramConfig
    from ingest.telegram.live_export import telegram_login as login

    result = login(TelegramConfig.load(config, {"data_dir": data_dir}))
    print(f"Logged in as {result.name} (user id {result.user_id}); session kept in {result.session_path}")


@telegram_app.command("export")
def telegram_export(
    out: Annotated[Path, typer.Option("--out", help="Where to write the export (Desktop JSON layout).")],
    chats: Annotated[
        list[str] | None,
        typer.Option("--chats", help="Chat id or @username; repeat or comma-separate (default: by --types)."),
    ] = None,
    types: Annotated[
        str | None,
        typer.Option("--types", help="personal,group (also bot, public_group, channel, or Desktop's types)."),
    ] = None,
    since_last: Annotated[
        bool, typer.Option("--since-last", help="Only messages newer than the last completed export.")
    ] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Discard an interrupted export to --out instead of resuming it.")
    ] = False,
    config: TelegramConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Export chats with Telethon in the Telegram Desktop full-account JSON layout."""
    from ingest.telegram.client import TelegramConfig
    from ingest.telegram.live_export import telegram_export as export

    settings = TelegramConfig.load(config, {"data_dir": data_dir})
    try:
        summary = export(
            out,
            settings,
            chats=chats or (),
            types=types.split(",") if types else None,
            since_last=since_last,
            restart=restart,
        )
    except KeyboardInterrupt:
        print(
            f"\nInterrupted: progress kept in {out}.partial/; run the same command to resume", file=sys.stderr
        )
        sys.exit(130)
    print(f"Wrote {summary.messages} messages from {len(summary.chats)} chats to {summary.out}")


def main() -> None:
    try:
        app()
    except ChatLikeMeError as exc:
        print(f"chatlikeme: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
