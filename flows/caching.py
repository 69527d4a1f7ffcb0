"""Content-addressed caching of the pipeline's steps, on top of Prefect's task cache.

A step's cache key is a hash of everything that determines its output: the content of its inputs (exports,
datasets, adapters), its resolved config, the base model and the code version of the modules it runs. Its
output goes to a directory named after that key, so two different inputs never share a directory and an
interrupted step finds its own checkpoints again on the next run (same inputs, same key, same directory).

Prefect stores the step's result (a `StageResult`) under the key. A cached result is trusted only if its
output directory still holds exactly what the step wrote (same tree hash); otherwise the step runs again.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import json
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from prefect import Task
from prefect.cache_policies import CachePolicy
from prefect.logging import get_run_logger
from prefect.serializers import JSONSerializer

from core.errors import ChatLikeMeError
from core.io import atomic_file, sha256_tree
from core.subprocess import PROJECT_ROOT

# Data files beside a stage's modules that can change what it produces (word banks, templates, assets).
_DATA_SUFFIXES = (".yaml", ".yml", ".jinja", ".json", ".txt")
# Weight files above this size are fingerprinted by size and sampled blocks rather than read whole:
# hashing a 16 GB base model on every run would cost more than the run.
_FULL_HASH_LIMIT = 64 << 20
_SAMPLE = 4 << 20
STEP_MARKER = ".step.json"
_DOTTED = re.compile(r"(?:core|ingest|align|serve|flows)(?:\.\w+)+")


def fingerprint(*parts: Any) -> str:
    """sha256 of JSON-serialisable parts (dict keys sorted, paths as strings)."""
    payload = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@functools.cache
def code_version(modules: tuple[str, ...], libraries: tuple[str, ...] = ()) -> str:
    """Hash of the source a stage runs (`modules` and every project module they import, with their data
    files: see `source_files`) plus the installed `libraries`' versions."""
    digest = hashlib.sha256()
    for file in source_files(modules):
        digest.update(str(file.relative_to(PROJECT_ROOT)).encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    for library in sorted(libraries):
        digest.update(f"{library}=={_installed_version(library)}".encode())
    return digest.hexdigest()


def source_files(modules: tuple[str, ...]) -> list[Path]:
    """The files behind `modules` (dotted names of this project's modules or packages): each module, every
    project module it imports at any depth (imports inside functions included), every submodule of a package
    that loads its submodules by name (`importlib.import_module`, e.g. the negative strategies), modules named
    in a string (`python -m align.vllm_worker`), and the data files beside them (word banks, templates,
    assets; not `configs/`: a preset enters the key through the resolved config). So editing the evaluation
    does not change the key of SFT."""
    seen: set[Path] = set()
    pending = [path for name in modules if (path := _module_path(name)) is not None]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        pending.extend(_imported_paths(path))
    data = {file for folder in {path.parent for path in seen} for file in _data_files(folder)}
    return sorted(seen | data)


def _module_path(name: str) -> Path | None:
    """`a.b` -> PROJECT_ROOT/a/b.py or a/b/__init__.py; None for what is not this project's."""
    base = PROJECT_ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imported_paths(path: Path) -> list[Path]:
    """The project modules `path` imports (with their parent packages, which Python runs first)."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    # The package a relative import starts from: a.b for both a/b/c.py and a/b/__init__.py.
    package_parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts[:-1]
    package = ".".join(package_parts)
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            parent = package_parts[: len(package_parts) - node.level + 1] if node.level else ()
            module = ".".join([*parent, *(node.module.split(".") if node.module else [])])
            names += [module, *(f"{module}.{alias.name}" for alias in node.names)]  # `from pkg import mod`
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            names += [f"{package}.{file.stem}" for file in path.parent.glob("*.py")]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _DOTTED.fullmatch(node.value):
            names.append(node.value)  # a module run by name, e.g. `python -m align.vllm_worker`
    found = []
    for name in names:
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            module = _module_path(".".join(parts[:depth]))
            if module is not None:
                found.append(module)
    return found


def _data_files(directory: Path) -> list[Path]:
    """Non-Python files in `directory` and its folders, but not in `configs/` or in sub-packages (their
    files belong to their own modules)."""
    return [
        file
        for file in directory.rglob("*")
        if file.suffix in _DATA_SUFFIXES
        and file.is_file()
        and not _outside_data(directory, file.relative_to(directory).parts[:-1])
    ]


def _outside_data(directory: Path, folders: tuple[str, ...]) -> bool:
    return any(
        folder in ("configs", "__pycache__")
        or (directory.joinpath(*folders[: i + 1]) / "__init__.py").exists()
        for i, folder in enumerate(folders)
    )


def _installed_version(library: str) -> str:
    try:
        return importlib.metadata.version(library)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


@functools.cache
def model_fingerprint(path: Path) -> str:
    """Content fingerprint of a local model directory (large weight files sampled, see `_FULL_HASH_LIMIT`)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(file.relative_to(path)).encode())
        size = file.stat().st_size
        digest.update(str(size).encode())
        with file.open("rb") as fh:
            if size <= _FULL_HASH_LIMIT:
                digest.update(hashlib.sha256(fh.read()).digest())
                continue
            for offset in (0, size // 2, size - _SAMPLE):
                fh.seek(offset)
                digest.update(fh.read(_SAMPLE))
    return digest.hexdigest()


@dataclass
class StageSpec:
    """What a step is asked to do: its content key, where its output goes, and what the key was made of."""

    stage: str
    key: str
    workdir: Path
    "The directory the step writes into (named after the key)."
    output: Path
    "The step's result: `workdir` itself or a folder inside it (checkpoints may sit beside it)."
    inputs: dict[str, str] = field(default_factory=dict)
    "Input name -> content hash (logged and written to the run manifest)."
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageResult:
    """What a step produced. `reused` is set when it came from the cache instead of running."""

    stage: str
    key: str
    output: Path
    sha256: str
    seconds: float
    reused: bool = False
    ran_on: str | None = None
    "The deployment that ran the step on another worker (None: this process)."
    inputs: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def intact(self) -> bool:
        """The output directory still holds exactly what the step wrote."""
        return self.output.is_dir() and sha256_tree(self.output) == self.sha256

    def summary(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "output": str(self.output),
            "sha256": self.sha256,
            "reused": self.reused,
            "ran_on": self.ran_on,
            "seconds": round(self.seconds, 2),
            "inputs": self.inputs,
        }


def produce(spec: StageSpec, build: Callable[[], Path]) -> StageResult:
    """Run a step's build function and describe its output (called inside the step's task).

    Beside its directory, a step records what it last completed (`<dir>.step.json`): when Prefect's cache
    record is gone (a deleted cache, another machine) but the output is intact, that output is reused
    instead of rebuilt. Any other output in its place is stale and removed first; checkpoints stay.
    """
    marker = spec.workdir.with_name(spec.workdir.name + STEP_MARKER)
    if marker.is_file():
        previous = JSONSerializer().loads(marker.read_bytes())
        if isinstance(previous, StageResult) and previous.key == spec.key and previous.intact():
            return replace(previous, reused=True)
    started = time.perf_counter()
    if spec.output.exists():
        shutil.rmtree(spec.output)
    output = Path(build())
    result = StageResult(
        stage=spec.stage,
        key=spec.key,
        output=output.resolve(),
        sha256=sha256_tree(output),
        seconds=time.perf_counter() - started,
        inputs=spec.inputs,
        config=spec.config,
    )
    with atomic_file(marker) as tmp:
        tmp.write_bytes(JSONSerializer().dumps(result))
    return result


@dataclass
class ByStageKey(CachePolicy):
    """Prefect cache policy: the key is the content key the pipeline computed for the step (`spec.key`)."""

    def compute_key(
        self, task_ctx: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any
    ) -> str | None:
        spec = inputs.get("spec")
        return f"{spec.stage}-{spec.key}" if isinstance(spec, StageSpec) else None


def transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect retry condition: bad input fails the same way every time; anything else may not."""
    return not isinstance(state.data, ChatLikeMeError)


def run_cached(
    step: Task[..., StageResult],
    spec: StageSpec,
    cache_dir: Path,
    *args: Any,
    retries: int = 0,
    retry_delay_s: float = 0.0,
) -> StageResult:
    """Run `step(spec, *args)` through Prefect's cache stored in `cache_dir`; say whether it was reused.

    A failure other than bad input is retried `retries` times; then the step's own exception is raised
    (a `ChatLikeMeError` keeps its one-line message).
    """
    logger = get_run_logger()
    options: dict[str, Any] = {
        "cache_policy": ByStageKey().configure(key_storage=cache_dir / "keys"),
        "result_storage": cache_dir / "results",
        "persist_result": True,
        "result_serializer": "json",  # readable, and tolerant of fields added to StageResult later
        "retries": retries,
        "retry_delay_seconds": retry_delay_s,
        "retry_condition_fn": transient,
    }
    state = step.with_options(**options)(spec, *args, return_state=True)
    result: StageResult = state.result()
    if state.name == "Cached" or result.reused:
        if result.intact():
            logger.info(f"{spec.stage}: reused (cache key {spec.key[:12]}, output {result.output})")
            return replace(result, reused=True)
        logger.warning(f"{spec.stage}: cached output {result.output} is missing or changed: running again")
        state = step.with_options(**options, refresh_cache=True)(spec, *args, return_state=True)
        result = state.result()
    logger.info(f"{spec.stage}: ran in {result.seconds:.1f} s -> {result.output}")
    return result
