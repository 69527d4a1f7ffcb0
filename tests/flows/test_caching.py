"""Content-addressed step caching on Prefect: reuse, a lost output runs again, retries, one-line errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from prefect import flow, task

from core.errors import ChatLikeMeError
from core.subprocess import PROJECT_ROOT
from flows.caching import (
    StageResult,
    StageSpec,
    code_version,
    fingerprint,
    produce,
    run_cached,
    source_files,
)
from flows.stages import CODE


def _attempt(counter: Path) -> int:
    count = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(count))
    return count


@task
def write_step(spec: StageSpec, text: str, counter: Path, fail_first: type[Exception] | None) -> StageResult:
    def build() -> Path:
        if _attempt(counter) == 1 and fail_first is not None:
            raise fail_first("first attempt fails")
        spec.workdir.mkdir(parents=True, exist_ok=True)
        (spec.workdir / "out.txt").write_text(text)
        return spec.workdir

    return produce(spec, build)


@flow
def one_step(root: Path, text: str, counter: Path, fail_first: type[Exception] | None = None) -> StageResult:
    key = fingerprint("demo", text)
    workdir = root / "demo" / key[:16]
    spec = StageSpec("demo", key, workdir, workdir, {"text": key})
    return run_cached(write_step, spec, root / ".cache", text, counter, fail_first, retries=2)


def test_second_run_is_reused_and_a_lost_output_is_rebuilt(prefect_harness: None, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    first = one_step(tmp_path, "hello", counter)
    assert not first.reused and (first.output / "out.txt").read_text() == "hello"

    again = one_step(tmp_path, "hello", counter)
    assert again.reused and again.output == first.output and int(counter.read_text()) == 1

    shutil.rmtree(tmp_path / ".cache")  # Prefect's records gone: the step's own record still holds
    assert one_step(tmp_path, "hello", counter).reused and int(counter.read_text()) == 1

    other = one_step(tmp_path, "changed input", counter)  # another key, another directory
    assert not other.reused and other.output != first.output and int(counter.read_text()) == 2

    (first.output / "out.txt").write_text("tampered")  # neither a changed nor a missing output is trusted
    rebuilt = one_step(tmp_path, "hello", counter)
    assert not rebuilt.reused and (rebuilt.output / "out.txt").read_text() == "hello"
    for path in first.output.iterdir():
        path.unlink()
    first.output.rmdir()
    assert not one_step(tmp_path, "hello", counter).reused
    assert one_step(tmp_path, "hello", counter).reused


def test_a_transient_failure_is_retried(prefect_harness: None, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    result = one_step(tmp_path, "retry me", counter, OSError)
    assert int(counter.read_text()) == 2 and (result.output / "out.txt").read_text() == "retry me"


def test_bad_input_is_not_retried_and_keeps_its_message(prefect_harness: None, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    with pytest.raises(ChatLikeMeError, match="first attempt fails"):
        one_step(tmp_path, "bad input", counter, ChatLikeMeError)
    assert int(counter.read_text()) == 1


def test_code_version_follows_the_source(tmp_path: Path) -> None:
    assert code_version(("flows",), ("prefect",)) == code_version(("flows",), ("prefect",))
    assert code_version(("align.sft",)) != code_version(("align.evaluate",))
    assert code_version(("flows",), ("prefect",)) != code_version(("flows",), ("pyarrow",))


def test_each_stage_hashes_the_code_it_runs_not_whole_packages() -> None:
    """Editing the evaluation, an eval preset or a word bank must not retrain SFT (its key would change)."""
    files = {
        stage: {str(f.relative_to(PROJECT_ROOT)) for f in source_files(modules)}
        for stage, (modules, _) in CODE.items()
    }
    assert {"align/sft.py", "align/training.py", "align/models.py", "core/schema.py"} <= files["sft"]
    assert not {"align/evaluate.py", "align/negatives/banks/it.yaml"} & files["sft"]
    assert not any(f.startswith("align/kto_data/") for f in files["sft"])
    # `python -m align.sft` runs the `chatlikeme sft` command: its module, not KTO's, nor the Prefect layer
    assert "align/commands/sft.py" in files["sft"] and "align/kto.py" not in files["sft"]
    assert not any(f.startswith("flows/") for f in files["sft"] | files["kto"])
    assert not any("/configs/" in f for stage_files in files.values() for f in stage_files)
    # the strategies are loaded by name, the word banks read from disk
    assert {"align/negatives/wrong_context.py", "align/negatives/banks/it.yaml"} <= files["kto-data"]
    assert "core/votes.py" in files["kto-data"]
    # a stage that is a package hashes every module of it (imported by the package's `__init__`)
    package = {f"align/kto_data/{f.name}" for f in (PROJECT_ROOT / "align" / "kto_data").glob("*.py")}
    assert len(package) > 1 and package <= files["kto-data"]
    # vLLM generation runs `python -m align.vllm_worker`, with the project's CPU LoRA plugin
    assert {"align/vllm_worker.py", "serve/vllm_cpu_lora.py", "ingest/pii_check.py"} <= files["eval"]
    assert not any(f.startswith("align/") for f in files["ingest"])
