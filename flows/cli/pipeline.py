"""The orchestration verbs: `run`, `demo`, `runs`, `promote`, `rollback` and `schedule` (the cached Prefect
pipeline and the run registry)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from core.cli import PersonaOption
from core.errors import ChatLikeMeError

if TYPE_CHECKING:  # imported lazily below: Prefect takes seconds to import
    from flows.config import PipelineConfig
    from flows.pipeline import PipelineOutcome

app = typer.Typer()

PipelineConfigOption = Annotated[
    Path | None, typer.Option("--config", help="pipeline.yaml, or a preset name (cpu, cpu-demo, gpu).")
]


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
    config: PipelineConfigOption = None,
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
    config: PipelineConfigOption = None,
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
