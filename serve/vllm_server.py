"""One vLLM OpenAI-compatible server for a run: the base model as `base`, its adapters as `sft` and `kto`.

    with VLLMServer(base_model, {"sft": run / "sft", "kto": run / "kto"}) as server:
        server.client().chat.completions.create(model="kto", messages=[...])
        server.load_adapter("kto", new_run / "kto")      # a newly trained adapter, no restart

The server is a child process group (`serve.server_process`): `stop()` ends vLLM with its engine and
workers, and a guard ends them if this process dies without stopping it. Runtime LoRA (un)loading is always
enabled, so `load_adapter` works on any server this module started, and the module-level
`load_adapter(api_url, ...)` on one started elsewhere.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import httpx

from core.config import StageConfig
from core.errors import ChatLikeMeError, input_error
from core.hardware import cpu_has_native_bf16
from core.io import sha256_tree
from core.lora import VLLM_LORA_RANKS
from core.subprocess import project_env
from serve.server_process import ServerProcess

ADAPTER_NAMES = ("sft", "kto")
BASE_NAME = "base"
CURRENT_RUN = Path("runs/current")


@dataclass
class ServeConfig(StageConfig):
    """How the vLLM server is started. `None` means "chosen for this machine" (CPU or GPU)."""

    presets_dir: ClassVar[Path] = Path(__file__).parent / "configs" / "serve"

    host: str = "127.0.0.1"
    "Interface to bind; the default keeps the private persona off the network."
    port: int = 8000
    max_model_len: int = 2048
    "Longest prompt + reply in tokens (chat histories are short)."
    max_loras: int = 4
    "Adapters in one batch; > 2 leaves room for adapters loaded at runtime."
    max_lora_rank: int | None = None
    "Largest servable adapter rank; default: the run's largest rank rounded up to vLLM's sizes, at least 16."
    dtype: str | None = None
    "Default: bfloat16 on CPUs with bf16 instructions (float32 otherwise), the weights' dtype on GPU."
    gpu_memory_utilization: float = 0.85
    "GPU only: fraction of GPU memory vLLM may take (weights + KV cache)."
    cpu_kvcache_gib: int = 1
    "CPU only: KV cache size in GiB (VLLM_CPU_KVCACHE_SPACE); small, so several servers can coexist."
    cpu_block_size: int = 32
    "CPU only: KV cache block size (a multiple of 32); cached prompt prefixes are reused in whole blocks."
    tensor_parallel_size: int | None = None
    "Default: the number of visible GPUs (1 on CPU)."
    seed: int = 0
    "Seeds the engine (vllm-cpu crashes on per-request seeds)."
    startup_timeout_s: float = 900.0
    api_key: str | None = None
    "If set, clients must send it as a bearer token."
    extra_args: list[str] = field(default_factory=list)
    "Passed verbatim to vLLM's server (e.g. ['--max-num-seqs', '64'])."


# --- runs and adapters --------------------------------------------------------------------------------------


def run_adapters(run: str | Path) -> dict[str, Path]:
    """The servable adapters of a run directory, `{"sft": RUN/sft, "kto": RUN/kto}` (those that exist)."""
    run = Path(run)
    if not run.exists():
        hint = "; pass --run RUN or promote a run first" if run == CURRENT_RUN else ""
        raise input_error(run, f"no such run directory{hint}")
    present = [name for name in ADAPTER_NAMES if (run / name / "adapter_config.json").is_file()]
    if not present:
        raise input_error(run, "no LoRA adapters in this run (no sft/ or kto/ with an adapter_config.json)")
    return {name: (run / name).resolve() for name in present}


def adapter_config(adapter: Path) -> dict[str, Any]:
    path = Path(adapter) / "adapter_config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise input_error(path, f"unreadable adapter config ({exc})") from None


def check_servable(adapter: Path) -> dict[str, Any]:
    """Fail early, with a reason, on adapters vLLM would reject after a minute of start-up."""
    config = adapter_config(adapter)
    unsupported = {
        "use_dora": "DoRA",
        "modules_to_save": "modules_to_save (full copies of layers)",
        "lora_bias": "LoRA bias",
    }
    for key, what in unsupported.items():
        if config.get(key):
            raise input_error(adapter, f"uses {what}, which vLLM cannot serve; merge it into the base model")
    if config.get("bias", "none") != "none":
        raise input_error(adapter, f"trains biases (bias={config['bias']!r}), which vLLM cannot serve")
    init = str(config.get("init_lora_weights", "")).lower()
    if init.startswith(("pissa", "olora", "loftq", "corda", "eva")):
        raise input_error(adapter, f"was initialised with {init}, which changes the base weights vLLM serves")
    if config.get("peft_type", "LORA") != "LORA":
        raise input_error(adapter, f"is a {config.get('peft_type')} adapter; vLLM serves only LoRA")
    return config


def base_model_of(adapters: Mapping[str, Path]) -> str:
    """The one base model every adapter was trained on (`base_model_name_or_path`)."""
    bases = {name: check_servable(path).get("base_model_name_or_path") for name, path in adapters.items()}
    distinct = set(bases.values())
    if None in distinct or "" in distinct:
        missing = next(name for name, base in bases.items() if not base)
        raise input_error(adapters[missing], "adapter_config.json has no base_model_name_or_path")
    if len(distinct) > 1:
        raise ChatLikeMeError(f"the adapters were trained on different base models: {bases}")
    return distinct.pop()


def adapter_version(path: str | Path) -> str:
    """Short content hash of an adapter (or model) directory: votes and logs name exactly what was served."""
    return sha256_tree(path)[:12]


def _stat_fingerprint(path: Path) -> tuple:
    """Cheap change detector (names, sizes, mtimes) for polling; content hashes only on change."""
    if not path.is_dir():
        return ()
    return tuple(
        sorted((str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in path.rglob("*"))
    )


# --- machine-dependent settings -----------------------------------------------------------------------------


def gpu_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def lora_rank_limit(adapters: Mapping[str, Path], requested: int | None) -> int:
    ranks = [int(adapter_config(p).get("r", 8)) for p in adapters.values()]
    ranks += [int(r) for p in adapters.values() for r in adapter_config(p).get("rank_pattern", {}).values()]
    needed = max([16, *ranks, requested or 0])
    fitting = [r for r in VLLM_LORA_RANKS if r >= needed]
    if not fitting:
        raise ChatLikeMeError(f"LoRA rank {needed} is larger than vLLM supports ({VLLM_LORA_RANKS[-1]})")
    return fitting[0]


def server_command(model: str, adapters: Mapping[str, Path], config: ServeConfig) -> tuple[list[str], dict]:
    """The command line and environment of vLLM's OpenAI server for this machine (CPU or GPU)."""
    gpus = gpu_count()
    dtype = config.dtype or ("auto" if gpus else ("bfloat16" if cpu_has_native_bf16() else "float32"))
    # vllm-cpu's `vllm` console script is broken (its distribution is not named vllm): use the module.
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server"]
    command += ["--model", str(model), "--served-model-name", BASE_NAME]
    command += ["--host", config.host, "--port", str(config.port)]
    command += ["--dtype", dtype, "--max-model-len", str(config.max_model_len), "--seed", str(config.seed)]
    command += ["--enable-lora", "--max-loras", str(max(2, config.max_loras))]
    command += ["--max-lora-rank", str(lora_rank_limit(adapters, config.max_lora_rank))]
    if adapters:
        command += ["--lora-modules", *(f"{name}={path}" for name, path in adapters.items())]
    if gpus:
        command += ["--gpu-memory-utilization", str(config.gpu_memory_utilization)]
        command += ["--tensor-parallel-size", str(config.tensor_parallel_size or gpus)]
    else:
        if config.cpu_block_size <= 0 or config.cpu_block_size % 32:
            raise ChatLikeMeError(f"cpu_block_size must be a multiple of 32 (got {config.cpu_block_size})")
        command += ["--block-size", str(config.cpu_block_size)]
    if config.api_key:
        command += ["--api-key", config.api_key]
    command += ["--disable-uvicorn-access-log", *config.extra_args]
    env = project_env(VLLM_ALLOW_RUNTIME_LORA_UPDATING="True")
    if not gpus:
        env["VLLM_CPU_KVCACHE_SPACE"] = str(config.cpu_kvcache_gib)
    return command, env


# --- talking to a running server (any OpenAI-compatible vLLM server) ----------------------------------------


@dataclass(frozen=True)
class ServedModel:
    """One name the server answers to: the base model or a LoRA adapter (`root` = its path)."""

    name: str
    root: str
    is_adapter: bool


def _headers(api_key: str | None) -> dict[str, str]:
    key = api_key or os.environ.get("CHATLIKEME_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def served_models(api_url: str, *, api_key: str | None = None, timeout: float = 10.0) -> list[ServedModel]:
    """The models a server offers (`GET /v1/models`); raises `httpx.HTTPError` if it cannot be reached."""
    response = httpx.get(f"{api_url.rstrip('/')}/v1/models", headers=_headers(api_key), timeout=timeout)
    response.raise_for_status()
    return [
        ServedModel(m["id"], str(m.get("root") or m["id"]), m.get("parent") is not None)
        for m in response.json()["data"]
    ]


def load_adapter(
    api_url: str, name: str, path: str | Path, *, replace: bool = True, api_key: str | None = None
) -> None:
    """Serve the adapter at `path` as `name` without a restart (replacing an adapter of that name).

    The server must run with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True (every server started here does).
    """
    path = Path(path).resolve()
    check_servable(path)
    body = {"lora_name": name, "lora_path": str(path), "load_inplace": replace}
    _lora_request(api_url, "load_lora_adapter", body, api_key)


def unload_adapter(api_url: str, name: str, *, api_key: str | None = None) -> None:
    _lora_request(api_url, "unload_lora_adapter", {"lora_name": name}, api_key)


def _lora_request(api_url: str, endpoint: str, body: dict, api_key: str | None) -> None:
    url = f"{api_url.rstrip('/')}/v1/{endpoint}"
    try:
        response = httpx.post(url, json=body, headers=_headers(api_key), timeout=120)
    except httpx.HTTPError as exc:
        raise ChatLikeMeError(f"cannot reach the vLLM server at {api_url} ({exc})") from None
    if response.status_code == 404 and response.text.strip() == '{"detail":"Not Found"}':
        raise ChatLikeMeError(f"{api_url} does not allow runtime LoRA loading (use `chatlikeme serve`)")
    if response.status_code >= 400:
        raise ChatLikeMeError(f"{endpoint} {body.get('lora_name')!r} failed: {_error_text(response)}")


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text.strip()[:300] or f"HTTP {response.status_code}"


# --- the server process -------------------------------------------------------------------------------------


class VLLMServer(ServerProcess):
    """vLLM's OpenAI-compatible server for a base model and LoRA adapters: start, wait until healthy, stop."""

    name = "vllm"

    def __init__(
        self,
        model: str | Path,
        adapters: Mapping[str, str | Path] | None = None,
        config: ServeConfig | None = None,
        *,
        log_path: str | Path | None = None,
    ) -> None:
        self.config = config or ServeConfig()
        super().__init__(
            self.config.host,
            self.config.port,
            startup_timeout_s=self.config.startup_timeout_s,
            log_path=log_path,
        )
        self.model = str(model)
        self.adapters = {name: Path(path).resolve() for name, path in (adapters or {}).items()}

    @classmethod
    def for_run(cls, run: str | Path, config: ServeConfig | None = None, **kwargs: Any) -> Self:
        """The base model and every adapter of a run directory."""
        adapters = run_adapters(run)
        return cls(base_model_of(adapters), adapters, config, **kwargs)

    def command(self) -> tuple[list[str], dict[str, str]]:
        for path in self.adapters.values():
            check_servable(path)
        return server_command(self.model, self.adapters, self.config)

    @property
    def api_url(self) -> str:
        """The OpenAI API root; `url` (without /v1) is what `chatlikeme arena --api` takes."""
        return f"{self.url}/v1"

    def healthy(self) -> bool:
        try:
            return super().healthy() and bool(self.models())
        except httpx.HTTPError:
            return False

    def models(self) -> list[str]:
        return [m.name for m in served_models(self.url, api_key=self.config.api_key)]

    def client(self, **kwargs: Any):
        """An `openai.OpenAI` client for this server."""
        from openai import OpenAI

        return OpenAI(base_url=self.api_url, api_key=self.config.api_key or "none", **kwargs)

    def load_adapter(self, name: str, path: str | Path, *, replace: bool = True) -> None:
        load_adapter(self.url, name, path, replace=replace, api_key=self.config.api_key)
        self.adapters[name] = Path(path).resolve()

    def unload_adapter(self, name: str) -> None:
        unload_adapter(self.url, name, api_key=self.config.api_key)
        self.adapters.pop(name, None)


# --- keeping a long-running server up to date --------------------------------------------------------------


@dataclass
class AdapterWatcher:
    """Polls a run directory (or the `runs/current` link) and loads new or changed adapters into the server.

    A retrained KTO adapter, or a newly promoted run on the same base model, is served without a restart.
    """

    server: VLLMServer
    run: Path
    seen: dict[str, tuple] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, path in self.server.adapters.items():
            self.seen[name] = (path, _stat_fingerprint(path))

    def poll(self) -> list[str]:
        """Load what changed since the last poll; returns one message per change (for the console)."""
        messages = []
        try:
            adapters = run_adapters(self.run)
        except ChatLikeMeError:
            return messages  # between a retraining's writes, or the run was removed: keep what is served
        for name, path in adapters.items():
            state = (path, _stat_fingerprint(path))
            if self.seen.get(name) == state:
                continue
            base = check_servable(path).get("base_model_name_or_path")
            if base != self.server.model:
                self.seen[name] = state
                served = self.server.model
                messages.append(f"{name}: {path} is trained on {base}, not {served}; restart to serve it")
                continue
            self.server.load_adapter(name, path, replace=True)
            self.seen[name] = state
            messages.append(f"{name}: loaded {path} (version {adapter_version(path)})")
        return messages


def serve_forever(
    server: VLLMServer, *, watch: Path | None = None, interval: float = 5.0, echo=print
) -> None:
    """Start `server`, report it, reload adapters from `watch` every `interval` s; stop on Ctrl-C/SIGTERM."""
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        echo(f"Starting vLLM for {server.model} (log: {server.log_path}) ...")
        server.start()
        echo(f"vLLM is ready at {server.url}  (OpenAI API: {server.api_url})")
        for name in server.models():
            where = server.adapters.get(name)
            echo(f"  {name:<5} {where or server.model}" + (f"  [{adapter_version(where)}]" if where else ""))
        watcher = AdapterWatcher(server, watch) if watch is not None else None
        if watcher:
            echo(f"Watching {watch} for new adapters every {interval:g} s. Ctrl-C stops.")
        while True:
            time.sleep(interval)
            if not server.running():
                raise ChatLikeMeError(f"the vLLM server stopped unexpectedly (log: {server.log_path})")
            for message in watcher.poll() if watcher else ():
                echo(message)
    except KeyboardInterrupt:
        echo("Stopping vLLM ...")
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
