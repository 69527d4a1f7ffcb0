"""What every training stage (SFT, KTO) shares: the config fields, vLLM-servable LoRA, the Trainer arguments,
the checkpoint folder and resume check, per-step metrics, plots and the end-of-run summary.

A stage builds on it like this (align/sft.py and align/kto.py do):

    @dataclass
    class KTOStageConfig(TrainingStageConfig):      # shared fields under TrainingArguments names
        beta: float = 0.1                            # + the stage's own

    precision = choose_precision(config.dtype)       # align.models
    work_dir = checkpoint_dir(out_dir)               # RUN/.kto.checkpoints for RUN/kto
    checkpoint = resume_point(work_dir, settings, resume, "KTO")
    start_checkpoints(work_dir, settings, checkpoint)
    args = KTOConfig(**trainer_arguments(config, work_dir, precision), beta=config.beta)
    trainer = KTOTrainer(model, args=args, ...)
    trainer.train(resume_from_checkpoint=checkpoint)

A new adapter gets its LoRA from `build_lora_config(config.lora)` (passed as `peft_config`); `LoraOptions`
only accepts what vLLM can serve.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from accelerate import PartialState
from pydantic import Field
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from align.models import Precision
from core.config import StageConfig
from core.errors import input_error
from core.io import atomic_file
from core.lora import VLLM_LORA_RANKS
from core.report import new_figure, save_figure

log = logging.getLogger(__name__)

Dtype = Literal["auto", "bfloat16", "float16", "float32"]


@dataclass
class LoraOptions:
    """The LoRA adapter. Only what vLLM can serve: plain LoRA (no DoRA, no bias, no `modules_to_save`)."""

    r: Annotated[Literal[VLLM_LORA_RANKS], Field(description="vLLM serves only these LoRA ranks")] = 16
    "Rank; one of vLLM's allowed ranks (8, 16, 32, 64, 128, 256, 320, 512)."
    alpha: Annotated[int, Field(gt=0)] = 32
    "Scaling numerator: the update is scaled by alpha / r."
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0
    "Dropout on the LoRA input. 0 on CPU: its random masks took ~30% of a CPU LoRA step (gpu preset: 0.05)."
    target_modules: str | list[str] = "all-linear"
    "'all-linear' (every linear layer except the output head) or a list of module names."


@dataclass
class TrainingStageConfig(StageConfig):
    """What every training stage (SFT, KTO) sets, under transformers' `TrainingArguments` names. A stage's
    config subclasses it, adds its own fields and may change a default (KTO: seed 0, lr 5e-6, ...)."""

    num_train_epochs: Annotated[float, Field(gt=0)] = 3.0
    per_device_train_batch_size: Annotated[int, Field(ge=1)] = 8
    per_device_eval_batch_size: Annotated[int, Field(ge=1)] = 16
    gradient_accumulation_steps: Annotated[int, Field(ge=1)] = 1
    "Effective batch = per-device batch x accumulation x number of processes."
    learning_rate: Annotated[float, Field(gt=0)] = 2e-4
    lr_scheduler_type: str = "cosine"
    warmup_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.1
    "Fraction of the training steps spent warming the learning rate up."
    weight_decay: Annotated[float, Field(ge=0)] = 0.0
    max_grad_norm: Annotated[float, Field(gt=0)] = 1.0
    max_length: Annotated[int, Field(ge=1)] = 1024
    "Longest training sequence in tokens."
    max_steps: int = -1
    "Stop after this many optimizer steps (-1: run every epoch); for smoke tests and benchmarks."
    logging_steps: Annotated[int, Field(ge=1)] = 5
    dtype: Dtype = "auto"
    "'auto': bf16 on GPUs and on CPUs with native bf16 (AVX512-BF16/AMX), else float32."
    gradient_checkpointing: bool = False
    "Recompute activations in the backward pass: less memory, ~20-30 % slower."
    attn_implementation: str | None = None
    "Attention kernel for from_pretrained ('eager', 'sdpa', 'flash_attention_2', ...); None: the default."
    seed: int = 42

    @property
    def effective_batch_size(self) -> int:
        """Examples per optimizer step on one process."""
        return self.per_device_train_batch_size * self.gradient_accumulation_steps


# --- LoRA ---------------------------------------------------------------------------------------------------


def build_lora_config(options: LoraOptions):  # -> peft.LoraConfig (peft imported lazily: it imports torch)
    """A PEFT `LoraConfig` that vLLM can serve: plain LoRA on linear layers, rank from vLLM's allowed set."""
    from peft import LoraConfig

    return LoraConfig(
        task_type="CAUSAL_LM",
        r=options.r,
        lora_alpha=options.alpha,
        lora_dropout=options.dropout,
        target_modules=options.target_modules,
        bias="none",
        use_dora=False,
        modules_to_save=None,
    )


# --- Trainer arguments --------------------------------------------------------------------------------------


def trainer_arguments(config: TrainingStageConfig, output_dir: Path, precision: Precision) -> dict[str, Any]:
    """Keyword arguments for `trl.SFTConfig` / `trl.KTOConfig` that every stage shares: the hyperparameters
    of `TrainingStageConfig` and the number format. Each stage adds its evaluation and checkpoint policy."""
    return {
        "output_dir": str(output_dir),
        "num_train_epochs": config.num_train_epochs,
        "max_steps": config.max_steps,
        "per_device_train_batch_size": config.per_device_train_batch_size,
        "per_device_eval_batch_size": config.per_device_eval_batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "learning_rate": config.learning_rate,
        "lr_scheduler_type": config.lr_scheduler_type,
        "warmup_steps": config.warmup_ratio,  # transformers 5: a float below 1 is a ratio of the total steps
        "weight_decay": config.weight_decay,
        "max_grad_norm": config.max_grad_norm,
        "gradient_checkpointing": config.gradient_checkpointing,
        "seed": config.seed,
        "logging_steps": config.logging_steps,
        "report_to": "none",
        "use_cpu": precision.device == "cpu",
        "bf16": precision.mixed == "bf16",
        "fp16": precision.mixed == "fp16",
        "dataloader_pin_memory": precision.device == "cuda",
    }


def early_stopping_callbacks(patience: int | None) -> list[TrainerCallback]:
    from transformers import EarlyStoppingCallback

    return [] if patience is None else [EarlyStoppingCallback(early_stopping_patience=patience)]


def last_checkpoint(work_dir: Path) -> str | None:
    """The newest `checkpoint-N` folder in `work_dir` (what `--resume` continues from), if any."""
    return get_last_checkpoint(str(work_dir)) if work_dir.is_dir() else None


# --- Checkpoints and resuming (one layout for every stage) --------------------------------------------------

RUN_SETTINGS = "chatlikeme-run.json"
"Saved beside the checkpoints: the settings they were trained with (config and base model)."


def training_processes(precision: Precision) -> PartialState:
    """The processes of this training (one per GPU under `accelerate launch`/`torchrun`), set up as the
    Trainer will set them up. A bare `PartialState()` on a machine without a GPU sees no process group even
    under `torchrun`: every process would think it is the main one and clear the others' checkpoint folder."""
    return PartialState(cpu=precision.device == "cpu")


def checkpoint_dir(out_dir: Path) -> Path:
    """Where the stage writing `out_dir` keeps its checkpoints while it trains: `RUN/.<name>.checkpoints/`
    (the finished adapter appears in `out_dir` at once, complete or not at all)."""
    return out_dir.parent / f".{out_dir.name}.checkpoints"


def resume_point(work_dir: Path, settings: dict[str, Any], resume: bool, stage: str) -> str | None:
    """The checkpoint to continue from, after checking that it was trained with the same `settings`.

    Without `resume` an interrupted run is an error, never silently discarded (hours of CPU training).
    """
    checkpoint = last_checkpoint(work_dir)
    if checkpoint is None:
        if resume:
            log.info(f"nothing to resume in {work_dir}: starting from the beginning")
        return None
    if not resume:
        raise input_error(
            work_dir,
            f"holds an interrupted {stage} run ({Path(checkpoint).name}): pass --resume to continue it, "
            "or delete the folder to start over",
        )
    saved_file = work_dir / RUN_SETTINGS
    saved = json.loads(saved_file.read_text()) if saved_file.is_file() else {}
    changed = changed_settings(saved, settings)
    if changed:
        raise input_error(
            saved_file,
            f"the interrupted run used other settings ({', '.join(changed)}); resume with the same ones",
        )
    log.info(f"resuming from {checkpoint}")
    return checkpoint


def start_checkpoints(work_dir: Path, settings: dict[str, Any], checkpoint: str | None) -> None:
    """Before training (main process only): a fresh start clears what a run that never reached a checkpoint
    left; the settings are saved beside the checkpoints for `resume_point`."""
    if checkpoint is None:
        shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / RUN_SETTINGS).write_text(json.dumps(settings, indent=1) + "\n")


def changed_settings(saved: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    """Names of the settings that differ (config keys by their own name)."""
    config, saved_config = settings.get("config", {}), saved.get("config", {})
    changed = [key for key in config if saved_config.get(key) != config[key]]
    return changed + [key for key in settings if key != "config" and saved.get(key) != settings[key]]


# --- Metrics ------------------------------------------------------------------------------------------------


class MetricsRecorder(TrainerCallback):
    """Records every Trainer log into `metrics.json`, rewritten atomically after each log (a crash keeps it).

    Layout: `{"train": [...], "eval": [...], "final": {...}}`. A train record holds the step, the epoch, the
    seconds since the start, whatever the trainer logged (SFT: loss, learning_rate, grad_norm,
    mean_token_accuracy; KTO: loss, kl, rewards/chosen, rewards/rejected, rewards/margins, ...) and
    `tokens_per_second` over the training steps since the previous record (evaluation time excluded).
    Eval records hold the `eval_*` values; `best` is the checkpoint the Trainer kept (step, epoch, metric).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.metrics: dict[str, Any] = {"train": [], "eval": [], "final": {}, "best": {}}
        self._step_started = 0.0
        self._step_seconds = 0.0  # training time since the last train record
        self._tokens_at_last_record = 0
        self._started = time.monotonic()

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any
    ):
        self._started = time.monotonic()
        self._tokens_at_last_record = state.num_input_tokens_seen
        if state.global_step > 0 and self.path.is_file():  # resumed: keep the records up to the checkpoint
            previous = json.loads(self.path.read_text())
            for key in ("train", "eval"):
                self.metrics[key] = [r for r in previous.get(key, []) if r["step"] <= state.global_step]

    def on_step_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any):
        self._step_started = time.monotonic()

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any):
        self._step_seconds += time.monotonic() - self._step_started

    def on_log(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, logs=None, **kw: Any
    ):
        if not state.is_world_process_zero or not logs:
            return
        values = {k: v for k, v in logs.items() if isinstance(v, int | float) and math.isfinite(v)}
        record = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4)}
        record["elapsed_s"] = round(time.monotonic() - self._started, 2)
        if "train_loss" in values:  # the Trainer's closing log (mean loss of the run, runtime)
            self.metrics["final"] = {**record, **values}
        elif any(k.startswith("eval_") for k in values):
            # A resumed run evaluates its checkpoint again (eval_on_start): keep one record per step.
            self.metrics["eval"] = [r for r in self.metrics["eval"] if r["step"] != record["step"]]
            self.metrics["eval"].append({**record, **values})
        else:
            tokens = state.num_input_tokens_seen - self._tokens_at_last_record
            if tokens > 0 and self._step_seconds > 0:
                record["tokens_per_second"] = round(tokens / self._step_seconds, 1)
            self._tokens_at_last_record, self._step_seconds = state.num_input_tokens_seen, 0.0
            for cumulative in ("num_input_tokens_seen", "train_runtime", "train_tokens_per_second"):
                values.pop(cumulative, None)  # session totals; tokens_per_second is the per-interval rate
            self.metrics["train"].append({**record, **values})
        self.save()

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any):
        """Record the checkpoint the Trainer judged best (and loaded, with `load_best_model_at_end`)."""
        if state.is_world_process_zero and state.best_global_step is not None:
            epoch = next(
                (r["epoch"] for r in self.metrics["eval"] if r["step"] == state.best_global_step), None
            )
            metric = args.metric_for_best_model or "eval_loss"
            metric = metric if metric.startswith("eval_") else f"eval_{metric}"
            self.metrics["best"] = {"step": state.best_global_step, "epoch": epoch, metric: state.best_metric}
            self.save()

    def save(self, path: Path | None = None) -> Path:
        with atomic_file(path or self.path) as tmp:
            tmp.write_text(json.dumps(self.metrics, indent=1) + "\n")
        return path or self.path

    def mean_tokens_per_second(self) -> float | None:
        """Training throughput over the whole run (logged steps only)."""
        rates = [r["tokens_per_second"] for r in self.metrics["train"] if "tokens_per_second" in r]
        return round(sum(rates) / len(rates), 1) if rates else None


def best_eval(metrics: dict[str, Any], key: str = "eval_loss") -> dict[str, Any] | None:
    """The kept checkpoint as the Trainer recorded it, else the eval record with the lowest `key`."""
    if metrics.get("best"):
        return metrics["best"]
    records = [r for r in metrics.get("eval", []) if key in r]
    return min(records, key=lambda r: r[key]) if records else None


def plot_metrics(metrics: dict[str, Any], path: Path, series: list[str], title: str = "") -> Path:
    """Plot train series (lines) and their `eval_` counterparts (markers) against the optimizer step."""
    fig, ax = new_figure()
    for name in series:
        train = [(r["step"], r[name]) for r in metrics.get("train", []) if name in r]
        evals = [(r["step"], r[f"eval_{name}"]) for r in metrics.get("eval", []) if f"eval_{name}" in r]
        if train:
            ax.plot(*zip(*train, strict=True), label=f"train {name}", linewidth=1.2)
        if evals:
            ax.plot(*zip(*evals, strict=True), "o--", label=f"eval {name}", markersize=6)
    best = best_eval(metrics)
    if best is not None and "loss" in series:
        ax.axvline(best["step"], color="grey", linestyle=":", label=f"best checkpoint (step {best['step']})")
    ax.set_xlabel("optimizer step")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def summary_line(stage: str, metrics: dict[str, Any], out_dir: Path, tokens_per_second: float | None) -> str:
    """The one line a stage prints when it is done."""
    final = metrics.get("final", {})
    seconds = final.get("train_runtime", 0.0)
    parts = [f"{stage} done in {format_duration(seconds)}: {final.get('step', 0)} steps"]
    best = best_eval(metrics)
    if best is not None:
        parts.append(
            f"best eval loss {best['eval_loss']:.4f} at epoch {best['epoch']:g} (step {best['step']})"
        )
    if tokens_per_second:
        parts.append(f"{tokens_per_second:,.0f} tokens/s")
    return ", ".join(parts) + f" -> {out_dir}"


def format_duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
