"""The axolotl YAML equivalent to an SFT config, for people who train with axolotl instead.

Same data files (chat `messages` JSONL), same loss (every assistant turn and its end-of-turn token), same
adapter (plain LoRA that vLLM serves), same schedule and best-checkpoint selection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from align.sft import SFTStageConfig
from core.errors import ChatLikeMeError
from core.io import atomic_file


def axolotl_config(config: SFTStageConfig, data_dir: Path, run_dir: Path) -> dict[str, Any]:
    if config.targets != "all_turns":
        raise ChatLikeMeError("the axolotl export supports targets: all_turns only")
    lora = config.lora
    targets = (
        {"lora_target_linear": True}
        if lora.target_modules == "all-linear"
        else {"lora_target_modules": list(lora.target_modules)}
    )
    dataset = {
        "type": "chat_template",
        "field_messages": "messages",
        "message_property_mappings": {"role": "role", "content": "content"},
        "roles_to_train": ["assistant"],
        "train_on_eos": "turn",  # the end-of-turn token of every trained turn: the model learns to stop
    }
    sft_dir = Path(data_dir).resolve() / "sft"
    return {
        "base_model": config.base_model,
        "chat_template": "tokenizer_default",
        "datasets": [{"path": str(sft_dir / "train.jsonl"), "ds_type": "json", "split": "train", **dataset}],
        "test_datasets": [
            {"path": str(sft_dir / "eval.jsonl"), "ds_type": "json", "split": "train", **dataset}
        ],
        "train_on_inputs": False,
        "output_dir": str(Path(run_dir).resolve() / "sft"),
        "adapter": "qlora" if config.load_in_4bit else "lora",
        "load_in_4bit": config.load_in_4bit,
        "lora_r": lora.r,
        "lora_alpha": lora.alpha,
        "lora_dropout": lora.dropout,
        **targets,
        "peft_use_dora": False,  # vLLM cannot serve DoRA adapters
        "sequence_len": config.max_length,
        "sample_packing": config.packing,
        "group_by_length": config.group_by_length,
        "num_epochs": config.num_train_epochs,
        "max_steps": config.max_steps if config.max_steps > 0 else None,
        "micro_batch_size": config.per_device_train_batch_size,
        "eval_batch_size": config.per_device_eval_batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "optimizer": "adamw_torch",
        "learning_rate": config.learning_rate,
        "lr_scheduler": config.lr_scheduler_type,
        "warmup_ratio": config.warmup_ratio,
        "weight_decay": config.weight_decay,
        "max_grad_norm": config.max_grad_norm,
        "bf16": "auto" if config.dtype == "auto" else config.dtype == "bfloat16",
        "gradient_checkpointing": config.gradient_checkpointing,
        "eval_steps": config.eval_steps,  # None: evaluate and save once per epoch
        "save_steps": config.eval_steps,
        "load_best_model_at_end": True,
        "metric_for_best_model": "eval_loss",
        "greater_is_better": False,
        "save_total_limit": 2,
        "early_stopping_patience": config.early_stopping_patience,
        "logging_steps": config.logging_steps,
        "seed": config.seed,
    }


def write_axolotl_config(config: SFTStageConfig, data_dir: Path, run_dir: Path, path: Path) -> Path:
    settings = {k: v for k, v in axolotl_config(config, data_dir, run_dir).items() if v is not None}
    header = (
        "# axolotl config written by `chatlikeme sft --export-axolotl` (same data, loss, LoRA, schedule).\n"
        "# Train with: axolotl train THIS_FILE\n"
    )
    with atomic_file(path) as tmp:
        tmp.write_text(header + yaml.safe_dump(settings, sort_keys=False, allow_unicode=True))
    return Path(path)
