"""The model replies the strategies ask for: every task's prompts in one `align.generation.generate` call,
with the base model and the SFT adapter."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

from align.generation import GenerationJob, generate, vllm_available
from align.kto_data.config import KTODataConfig
from align.kto_data.plan import Task
from core.errors import input_error

log = logging.getLogger(__name__)


def find_adapter(path: Path) -> Path:
    for candidate in (path, path / "sft"):
        if (candidate / "adapter_config.json").is_file():
            return candidate
    raise input_error(path, "not a LoRA adapter directory (no adapter_config.json; expected RUN/sft)")


def base_model_for(explicit: str | None, sft_adapter: Path | None) -> str:
    """An explicit model, else the SFT adapter's base model, else the project default (prepared locally)."""
    from align.models import resolve_base_model  # imports torch: only when something is generated

    reference = explicit
    if reference is None and sft_adapter is not None:
        adapter_config = json.loads((sft_adapter / "adapter_config.json").read_text())
        reference = adapter_config.get("base_model_name_or_path")
    return resolve_base_model(reference)


def generation_jobs(
    tasks: list[Task], config: KTODataConfig, sft_adapter: Path | None
) -> list[GenerationJob]:
    """The model replies the tasks need, as one job per strategy over both splits (in task order)."""
    jobs: dict[str, GenerationJob] = {}
    for task in tasks:
        if task.strategy.generation is None or not task.slots:
            continue
        spec = task.strategy.generation(task.slots, getattr(config, task.strategy.name, None))
        if spec is None:
            continue
        task.prompts = spec.prompts
        adapter = sft_adapter if spec.model == "sft" else None
        sampling = dataclasses.replace(spec.sampling, seed=config.seed)
        job = jobs.setdefault(task.strategy.name, GenerationJob(task.strategy.name, adapter, [], sampling))
        job.prompts += spec.prompts
    return list(jobs.values())


def run_generation(
    tasks: list[Task], config: KTODataConfig, base_model: str | None, sft_adapter: Path | None
) -> dict[str, Any]:
    """Every task's model replies in one `generate` call (one engine for the base model and the adapter)."""
    jobs = generation_jobs(tasks, config, sft_adapter)
    if not jobs:
        return {"backend": None, "replies": 0, "seconds": 0.0}
    model = base_model_for(base_model or config.base_model, sft_adapter)
    count = sum(len(job.prompts) for job in jobs)
    backend = config.generation_backend
    if backend == "auto":
        backend = "vllm" if vllm_available() else "transformers"
    log.info(f"generating {count} replies ({', '.join(job.name for job in jobs)}) with {model} [{backend}]")
    started = time.perf_counter()
    replies = generate(model, jobs, backend=backend, batch_size=config.generation_batch_size)
    offsets: Counter[str] = Counter()
    for task in tasks:
        if task.prompts:
            start = offsets[task.strategy.name]
            task.generated = replies[task.strategy.name][start : start + len(task.prompts)]
            offsets[task.strategy.name] += len(task.prompts)
    return {
        "backend": backend,
        "base_model": model,
        "replies": count,
        "seconds": round(time.perf_counter() - started, 1),
    }
