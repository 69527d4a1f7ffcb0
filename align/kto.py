"""The `kto` stage: KTO (Kahneman-Tversky Optimization) from the SFT adapter, on binary desirable/undesirable
feedback, with TRL's `KTOTrainer`.

    train_kto(Path("data/kto"), Path("runs/1/sft"), Path("runs/1/kto"), KTOStageConfig.load("cpu-demo"))

- The policy starts from the SFT adapter, loaded trainable. The **reference is the SFT model**, not the raw
  base model: TRL copies the adapter into a frozen "ref" adapter, or (`precompute_ref_log_probs`) computes the
  reference log-probs once before training.
- λD / λU (desirable/undesirable weights) come from the KTO dataset's report.json, where kto-data chose them
  so that λD·nD / (λU·nU) sits in the KTO paper's range.
- Output `RUN/kto/` (written atomically): the LoRA adapter (same base model, rank and target modules as the
  SFT adapter, so vLLM serves it), tokenizer, metrics.json (SFT's layout `{train, eval, final, best}`: every
  logged step: loss, kl, rewards/chosen, rewards/rejected, rewards/margins, ..., and at a few steps the eval
  rows' mean reward per negative strategy, `rewards/strategy/<name>`; every evaluation), loss.png (as SFT's),
  rewards.png (rewards and the per-strategy rewards), config.yaml, report.json + report.md.
- Checkpoints go to `RUN/.kto.checkpoints/` while training (every training stage's layout); `resume=True`
  continues from the latest one, and an interrupted run is never discarded without it.
- `rounds` > 1: round k samples the round k-1 policy on the KTO prompts, relabels those samples with
  kto-data's judges (`align.kto_data.relabel_on_policy`) and trains from that policy with it as the
  reference. Every round is kept in `RUN/kto/rounds/<k>/`; the best on the eval split (eval rewards/margins)
  is copied to `RUN/kto/` itself, so later stages read it as before.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar

from accelerate.utils import broadcast_object_list
from pydantic import Field

from align.adapters import adapter_base_model, require_adapter, same_base_model
from align.models import choose_precision
from align.training import (
    MetricsRecorder,
    TrainingStageConfig,
    checkpoint_dir,
    plot_metrics,
    resume_point,
    start_checkpoints,
    trainer_arguments,
    training_processes,
)
from core.errors import input_error
from core.io import atomic_dir, read_jsonl
from core.report import md_table, new_figure, save_figure, write_report
from core.schema import KtoRow

LOGGED_METRICS = ("loss", "kl", "rewards/chosen", "rewards/rejected", "rewards/margins")
KL_PAIRS = (
    "KTO's KL reference point is estimated from mismatched pairs (each prompt with another example's "
    "completion) inside the per-device batch; with 1 example that pair is the example itself and the loss is "
    "meaningless. Use 2 or more and let gradient accumulation reach the effective batch size"
)


@dataclass
class KTOStageConfig(TrainingStageConfig):
    """KTO training settings (presets: align/configs/kto/*.yaml). Defaults: the KTO paper's recipe. The
    shared training fields (batch, epochs, learning rate, dtype, ...) are `TrainingStageConfig`'s."""

    presets_dir: ClassVar[Path] = Path(__file__).parent / "configs" / "kto"
    renamed_keys: ClassVar[dict[str, str]] = {
        "epochs": "num_train_epochs",
        "per_device_batch_size": "per_device_train_batch_size",
        "effective_batch_size": "gradient_accumulation_steps",
        "bf16": "dtype",
    }

    beta: Annotated[float, Field(gt=0)] = 0.1
    "KL penalty β: low lets the policy drift far from the SFT reference, high keeps it close."
    learning_rate: Annotated[float, Field(gt=0)] = 5e-6
    "Peak AdamW learning rate (the paper's value for full fine-tuning; LoRA presets use a larger one)."
    per_device_train_batch_size: Annotated[int, Field(ge=2, description=KL_PAIRS)] = 8
    "Examples per forward pass; at least 2 (the KL reference point pairs each prompt with another's reply)."
    per_device_eval_batch_size: Annotated[int, Field(ge=2, description=KL_PAIRS)] = 8
    gradient_accumulation_steps: Annotated[int, Field(ge=1)] = 4
    "Forward passes per optimizer step: 8 x 4 = the paper's effective batch of 32."
    num_train_epochs: Annotated[float, Field(gt=0, le=2, description="KTO over-fits beyond 2 epochs")] = 1.0
    "Passes over the KTO data: 1, at most 2 (`max_steps` stops earlier)."
    max_length: Annotated[int, Field(ge=1)] = 512
    "Token limit of prompt + completion; longer ones are cut from the right."
    logging_steps: Annotated[int, Field(ge=1)] = 1
    seed: int = 0
    max_rows: Annotated[int, Field(ge=0)] = 0
    "Train on at most this many KTO rows, drawn at random (0 = all)."
    desirable_weight: Annotated[float, Field(gt=0)] | None = None
    "λD; empty = the value in the KTO dataset's report.json."
    undesirable_weight: Annotated[float, Field(gt=0)] | None = None
    "λU; empty = the value in the KTO dataset's report.json."
    precompute_ref_log_probs: bool = False
    "Compute the SFT reference's log-probs once before training instead of at every step."
    save_steps: Annotated[int, Field(ge=1)] = 20
    "Checkpoint every this many steps (what `--resume` continues from)."
    evaluate: bool = True
    "Measure loss and rewards on the KTO eval split after training (report.json)."
    reward_measures: Annotated[int, Field(ge=1)] = 3
    "With `evaluate`: times the eval rows' rewards per strategy are measured, evenly spread, the last step "
    "included (rewards.png); each scores the eval rows with both adapters (~11 s on 2 cores for the demo)."
    base_model: str | None = None
    "Base model the run must use; empty = the SFT adapter's. A mismatch with the SFT adapter is an error."
    sft_weight: Annotated[float, Field(ge=0)] = 0.0
    "Adds this times the token NLL of the batch's desirable completions to the KTO loss (as DPO's "
    "`rpo_alpha`): keeps the policy writing the real replies, their length included, while the negatives are "
    "pushed down (self-play negatives alone shortened the replies). 0 = plain KTO; costs a forward pass."
    rounds: Annotated[int, Field(ge=1)] = 1
    "KTO rounds. Round k (k >= 2) samples the round k-1 policy on the KTO prompts, relabels the samples "
    "with kto-data's judges and trains from that policy, with it as the reference. Every round is kept in "
    "kto/rounds/<k>/; the one with the best eval rewards/margins becomes the output."

    @classmethod
    def upgrade_keys(cls, data: dict[str, Any], origin: str) -> dict[str, Any]:
        """KTO's keys from before the shared training config still load (with a note): `epochs`,
        `per_device_batch_size` (train and eval), `effective_batch_size` (-> accumulation steps), `bf16`."""
        converted = ("per_device_batch_size", "effective_batch_size", "bf16")
        old = {key: data[key] for key in converted if key in data}
        data = super().upgrade_keys(data, origin)
        if isinstance(old.get("per_device_batch_size"), int):
            data.setdefault("per_device_eval_batch_size", old["per_device_batch_size"])
        per_device = data.get("per_device_train_batch_size", cls.per_device_train_batch_size)
        effective = old.get("effective_batch_size")
        if isinstance(effective, int) and isinstance(per_device, int) and per_device > 0:
            data["gradient_accumulation_steps"] = max(1, math.ceil(effective / per_device))
        if "bf16" in old:
            data["dtype"] = {None: "auto", True: "bfloat16", False: "float32"}.get(old["bf16"], old["bf16"])
        return data


KtoConfig = KTOStageConfig
"The name before SFT and KTO shared one config base (kept for imports)."


# --- inputs -------------------------------------------------------------------------------------------------


@dataclass
class KtoData:
    train: list[KtoRow]
    eval: list[KtoRow]
    desirable_weight: float
    undesirable_weight: float
    report_path: Path
    relabel: dict[str, Any] | None = None  # round k >= 2: how the previous policy's samples were relabelled


def load_kto_data(data_dir: Path, config: KTOStageConfig) -> KtoData:
    """train/eval KtoRows and λD/λU (config values win over the dataset report's)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise input_error(data_dir, "KTO data directory not found; run `chatlikeme kto-data` first")
    train = read_jsonl(data_dir / "train.jsonl", KtoRow)
    eval_rows = read_jsonl(data_dir / "eval.jsonl", KtoRow) if (data_dir / "eval.jsonl").is_file() else []
    desirable = sum(row.label for row in train)
    if desirable == 0 or desirable == len(train):
        which = "desirable" if desirable == 0 else "undesirable"
        raise input_error(data_dir / "train.jsonl", f"has no {which} rows: KTO needs both labels")
    for row_number, row in enumerate(train, 1):
        if len(row.completion) != 1 or row.completion[0].role != "assistant" or not row.prompt:
            raise input_error(
                f"{data_dir / 'train.jsonl'}:{row_number}",
                "a KTO row needs a non-empty prompt and exactly one assistant message as completion",
            )
    report_path = data_dir / "report.json"
    weights = _report_weights(report_path) if report_path.is_file() else {}
    lambda_d = (
        config.desirable_weight if config.desirable_weight is not None else weights.get("desirable_weight")
    )
    lambda_u = (
        config.undesirable_weight
        if config.undesirable_weight is not None
        else weights.get("undesirable_weight")
    )
    if lambda_d is None or lambda_u is None:
        raise input_error(
            report_path,
            "not found or without weights.desirable_weight/undesirable_weight; run `chatlikeme kto-data` "
            "or set desirable_weight and undesirable_weight in the KTO config",
        )
    return KtoData(train, eval_rows, float(lambda_d), float(lambda_u), report_path)


def _report_weights(path: Path) -> dict[str, float]:
    try:
        weights = json.loads(path.read_text(encoding="utf-8")).get("weights") or {}
    except (OSError, json.JSONDecodeError, AttributeError):
        raise input_error(path, "not a valid KTO dataset report (JSON object with 'weights')") from None
    return {key: weights[key] for key in ("desirable_weight", "undesirable_weight") if key in weights}


def resolve_base_model(sft_dir: Path, config: KTOStageConfig) -> str:
    """The SFT adapter's base model, which must match `config.base_model` when one is set."""
    base = adapter_base_model(sft_dir)
    if config.base_model and not same_base_model(config.base_model, base):
        raise input_error(
            sft_dir,
            f"the SFT adapter was trained on base model {base}, but the KTO config asks for "
            f"{config.base_model}: KTO must continue the SFT adapter on the same base model",
        )
    looks_local = base.startswith(("/", ".", "~")) or Path(base).exists()
    if looks_local and not Path(base).expanduser().is_dir():
        raise input_error(base, "base model of the SFT adapter not found; run `chatlikeme model prepare`")
    return base


def as_trl_dataset(rows: list[KtoRow], seed: int, limit: int = 0):
    """TRL's conversational unpaired format, shuffled once.

    TRL reads batches in order (the KL term pairs neighbours), so the shuffle is what mixes desirable and
    undesirable rows, and rows about one conversation, inside every batch.
    """
    from datasets import Dataset

    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    if limit > 0:
        order = order[:limit]
    records = [
        {
            "prompt": [{"role": m.role, "content": m.content} for m in rows[i].prompt],
            "completion": [{"role": m.role, "content": m.content} for m in rows[i].completion],
            "label": rows[i].label,
        }
        for i in order
    ]
    return Dataset.from_list(records)


# --- the trainer --------------------------------------------------------------------------------------------


def build_trainer(
    base_model: str,
    sft_dir: Path,
    data: KtoData,
    config: KTOStageConfig,
    work_dir: Path,
    callbacks: list | None = None,
):
    """A `KTOTrainer` whose policy is the SFT adapter (trainable) and whose reference is a frozen copy."""
    from peft import PeftModel
    from trl import KTOConfig

    from align.models import load_model, load_tokenizer

    precision = choose_precision(config.dtype)
    tokenizer_source = sft_dir if (sft_dir / "tokenizer_config.json").is_file() else base_model
    tokenizer = load_tokenizer(str(tokenizer_source))
    model = load_model(base_model, precision, attn_implementation=config.attn_implementation)
    # No peft_config and no ref_model: TRL copies this adapter into a frozen "ref" adapter = the SFT policy.
    model = PeftModel.from_pretrained(model, str(sft_dir), is_trainable=True)

    args = KTOConfig(
        **trainer_arguments(config, work_dir, precision),
        beta=config.beta,
        desirable_weight=data.desirable_weight,
        undesirable_weight=data.undesirable_weight,
        max_length=config.max_length,
        precompute_ref_log_probs=config.precompute_ref_log_probs,
        save_strategy="steps",  # no evaluation while training: KTO keeps its last policy, not the "best"
        save_steps=config.save_steps,
        save_total_limit=1,
        data_seed=config.seed,
        disable_tqdm=False,
    )
    train = as_trl_dataset(data.train, config.seed, config.max_rows)
    evaluation = as_trl_dataset(data.eval, config.seed) if config.evaluate and len(data.eval) >= 2 else None
    return kto_trainer_class(config.sft_weight)(
        model=model,
        ref_model=None,
        args=args,
        train_dataset=train,
        eval_dataset=evaluation,
        processing_class=tokenizer,
        callbacks=callbacks,
    )


def kto_trainer_class(sft_weight: float) -> type:
    """TRL's `KTOTrainer`, or with `sft_weight` > 0 one whose loss adds the desirable completions' NLL."""
    from trl import KTOTrainer

    if sft_weight == 0:
        return KTOTrainer

    class AnchoredKTOTrainer(KTOTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            result = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            nll = desirable_nll(model, inputs)
            self._metrics["train" if self.model.training else "eval"]["nll/chosen"].append(nll.item())
            if return_outputs:
                return result[0] + sft_weight * nll, result[1]
            return result + sft_weight * nll

    return AnchoredKTOTrainer


def desirable_nll(model, inputs: dict[str, Any]):
    """Mean token NLL of the desirable rows' completions (their end-of-turn token included); 0 without any."""
    import torch

    chosen = torch.nonzero(torch.as_tensor(inputs["label"], dtype=torch.bool), as_tuple=False).view(-1)
    input_ids = inputs["input_ids"]
    if len(chosen) == 0:
        return torch.zeros((), device=input_ids.device)
    chosen = chosen.to(input_ids.device)
    labels = input_ids.masked_fill(inputs["completion_mask"] == 0, -100).index_select(0, chosen)
    outputs = model(
        input_ids=input_ids.index_select(0, chosen),
        attention_mask=inputs["attention_mask"].index_select(0, chosen),
        labels=labels,
        use_cache=False,
    )
    return outputs.loss


# --- the stage ----------------------------------------------------------------------------------------------


def train_kto(
    data_dir: Path,
    sft_dir: Path,
    out_dir: Path,
    config: KTOStageConfig,
    *,
    resume: bool = False,
    callbacks: list | None = None,
) -> Path:
    """KTO from the SFT adapter in `sft_dir` on the KTO data in `data_dir` -> `out_dir` (see module doc).

    With `config.rounds` > 1, round k starts from (and is referenced to) round k-1's policy, on the KTO rows
    relabelled with that policy's samples; the best round on the eval split is copied to `out_dir`.
    `callbacks`: extra `transformers.TrainerCallback`s (progress in flows, interruptions in tests).
    """
    data_dir, sft_dir, out_dir = Path(data_dir), Path(sft_dir), Path(out_dir)
    config = config.validated("kto config")
    require_adapter(sft_dir, "sft")
    base_model = resolve_base_model(sft_dir, config)
    data = load_kto_data(data_dir, config)
    if config.rounds == 1:
        return train_round(data, sft_dir, out_dir, config, base_model, resume=resume, callbacks=callbacks)

    rounds_dir = out_dir.parent / f".{out_dir.name}.rounds"
    settings = {
        "config": config.to_dict(),
        "base_model": base_model,
        "sft": str(sft_dir),
        "data": str(data_dir),
    }
    marker = rounds_dir / "chatlikeme-kto-rounds.json"
    process = training_processes(choose_precision(config.dtype))
    if process.is_main_process:
        if not resume or not marker.is_file() or json.loads(marker.read_text()) != settings:
            shutil.rmtree(rounds_dir, ignore_errors=True)  # finished rounds are reused only for the same run
        rounds_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(settings))
    process.wait_for_everyone()
    policy, summaries = sft_dir, []
    for k in range(1, config.rounds + 1):
        round_dir = rounds_dir / str(k)
        relabel: dict[str, Any] = {}
        if not (resume and (round_dir / "report.json").is_file()):
            round_data = data
            if k > 1:  # sampled and judged once, by the main process; every process trains on those rows
                mine = process.is_main_process
                sampled = relabelled(data_dir, data, policy, base_model, config, k, relabel) if mine else None
                round_data = broadcast_object_list([sampled])[0]  # one process: the list as it is
            train_round(
                round_data,
                policy,
                round_dir,
                config,
                base_model,
                resume=resume,
                callbacks=callbacks,
                round_number=k,
            )
        process.wait_for_everyone()  # round k's adapter is written (by the main process) before k+1 reads it
        summaries.append(round_summary(round_dir, k))
        policy = round_dir
    if not process.is_main_process:
        process.wait_for_everyone()  # until the main process has written `out_dir`
        return out_dir
    best = max(summaries, key=lambda r: (r["eval_margin"] is not None, r["eval_margin"] or 0, -r["round"]))
    with atomic_dir(out_dir) as tmp:
        best_dir = rounds_dir / str(best["round"])
        for path in best_dir.iterdir():  # the best round is the run's `kto`: later stages read it as before
            if path.is_file():
                shutil.copy2(path, tmp / path.name)
        shutil.copytree(rounds_dir, tmp / "rounds", ignore=shutil.ignore_patterns(marker.name, ".*"))
        report = json.loads((tmp / "report.json").read_text())
        report["rounds"] = {"count": config.rounds, "best": best["round"], "per_round": summaries}
        write_report(tmp, report, report_markdown(report))
    shutil.rmtree(rounds_dir, ignore_errors=True)
    process.wait_for_everyone()
    return out_dir


def relabelled(
    data_dir: Path,
    data: KtoData,
    policy: Path,
    base_model: str,
    config: KTOStageConfig,
    k: int,
    summary: dict,
) -> KtoData:
    """Round k's data: the policy-sampled rows replaced by samples of the round k-1 policy, judged again
    (`align.kto_data.relabel_on_policy`); λD/λU recomputed unless the config sets them."""
    from align.kto_data import KTODataConfig, kto_weights, relabel_on_policy

    train, info = relabel_on_policy(data_dir, data.train, policy, base_model, k)
    summary.update(info)
    n_desirable = sum(row.label for row in train)
    config_path = data_dir / "config.yaml"
    ratio_range = (
        KTODataConfig.load(config_path).weight_ratio_range if config_path.is_file() else (1.0, 4 / 3)
    )
    weights = kto_weights(n_desirable, len(train) - n_desirable, ratio_range)
    lambda_d = config.desirable_weight if config.desirable_weight is not None else weights["desirable_weight"]
    lambda_u = (
        config.undesirable_weight if config.undesirable_weight is not None else weights["undesirable_weight"]
    )
    return KtoData(train, data.eval, float(lambda_d), float(lambda_u), data.report_path, relabel=summary)


def round_summary(round_dir: Path, k: int) -> dict[str, Any]:
    report = json.loads((round_dir / "report.json").read_text())
    by_strategy = report.get("rewards_by_strategy") or {}
    return {
        "round": k,
        "eval_margin": report["eval"].get("rewards/margins"),
        "eval_loss": report["eval"].get("loss"),
        "final_margin": report["final"].get("rewards/margins"),
        "reference": report["reference"],
        "relabel": report.get("relabel") or {},
        "rewards_by_strategy": {name: values["mean"] for name, values in by_strategy.items()},
    }


def train_round(
    data: KtoData,
    sft_dir: Path,
    out_dir: Path,
    config: KTOStageConfig,
    base_model: str,
    *,
    resume: bool = False,
    callbacks: list | None = None,
    round_number: int = 1,
) -> Path:
    """One KTO training from (and referenced to) the adapter in `sft_dir` -> `out_dir`."""
    started = time.perf_counter()
    work_dir = checkpoint_dir(out_dir)
    settings = {"config": config.to_dict(), "base_model": base_model}
    checkpoint = resume_point(work_dir, settings, resume, "KTO")
    process = training_processes(choose_precision(config.dtype))
    if process.is_main_process:  # under `accelerate launch` every process runs this: one writes files
        start_checkpoints(work_dir, settings, checkpoint)
    process.wait_for_everyone()
    during = [StrategyRewards(data.eval, config)] if config.evaluate and data.eval else []
    recorder = MetricsRecorder(work_dir / "metrics.json")  # SFT's layout: {train, eval, final, best}
    trainer = build_trainer(
        base_model, sft_dir, data, config, work_dir, [recorder, *(callbacks or []), *during]
    )
    trainer.train(resume_from_checkpoint=checkpoint)
    eval_metrics = trainer.evaluate() if trainer.eval_dataset is not None else {}
    if during and trainer.state.global_step in during[0].by_step:
        # Measured by the callback on the policy as trained at its last step (KTO keeps the last model, not
        # the best): scoring it again would be another pass over the eval rows with both adapters.
        by_strategy = during[0].final
    else:
        by_strategy = strategy_rewards(trainer, data.eval, config) if config.evaluate else {}
    train_seconds = time.perf_counter() - started

    if not process.is_main_process:
        process.wait_for_everyone()  # until the main process has written `out_dir`
        return out_dir
    metrics = with_strategy_rewards(recorder.metrics, during[0].by_step if during else {})
    steps = metrics["train"]
    with atomic_dir(out_dir) as tmp:
        # Only the trained policy: the frozen "ref" copy stays behind.
        trainer.model.save_pretrained(str(tmp), selected_adapters=["default"])
        _record_base_model(tmp, base_model)
        trainer.processing_class.save_pretrained(str(tmp))
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
        plot_metrics(metrics, tmp / "loss.png", ["loss"], title=f"KTO loss ({Path(base_model).name})")
        plot_rewards(steps, tmp / "rewards.png")
        if by_strategy:
            plot_strategy_rewards(by_strategy, tmp / "rewards_by_strategy.png")
        config.save_yaml(tmp / "config.yaml")
        report = _report(config, data, base_model, sft_dir, steps, eval_metrics, train_seconds, trainer)
        report["rewards_by_strategy"] = by_strategy
        if round_number > 1:
            report["round"] = round_number
            report["reference"] = f"frozen round {round_number - 1} policy"
            report["relabel"] = data.relabel or {}
        write_report(tmp, report, report_markdown(report))
    shutil.rmtree(work_dir, ignore_errors=True)
    process.wait_for_everyone()
    return out_dir


def summary_line(out_dir: Path) -> str:
    report = json.loads((Path(out_dir) / "report.json").read_text())
    final = {k: (v if v is not None else float("nan")) for k, v in report["final"].items()}
    return (
        f"kto: {report['steps']} steps in {report['train_seconds']:.0f} s, "
        f"rewards/margins {final['rewards/margins']:+.3f}, kl {final['kl']:.3f} -> {out_dir}"
    )


def _record_base_model(adapter_dir: Path, base_model: str) -> None:
    """PEFT writes the name the model was loaded with; make sure it is the resolved base model path."""
    config_path = adapter_dir / "adapter_config.json"
    adapter_config = json.loads(config_path.read_text())
    adapter_config["base_model_name_or_path"] = base_model
    config_path.write_text(json.dumps(adapter_config, indent=2) + "\n")


def with_strategy_rewards(
    metrics: dict[str, Any], by_strategy: dict[int, dict[str, float]] | None = None
) -> dict[str, Any]:
    """`MetricsRecorder`'s metrics with the eval rows' mean reward per strategy
    (`rewards/strategy/<name>`) added to the train records of the steps where it was measured."""
    by_strategy = by_strategy or {}

    def per_strategy(step: int) -> dict[str, float]:
        return {f"rewards/strategy/{name}": value for name, value in by_strategy.get(step, {}).items()}

    train = [{**record, **per_strategy(record["step"])} for record in metrics["train"]]
    logged = {record["step"] for record in train}
    extra = [{"step": step, **per_strategy(step)} for step in sorted(by_strategy) if step not in logged]
    return {**metrics, "train": sorted(train + extra, key=lambda record: record["step"])}


def plot_rewards(steps: list[dict[str, float]], path: Path) -> Path:
    """Left: rewards/chosen, rewards/rejected, rewards/margins and kl per step. Right (when measured): the
    eval rows' mean reward per strategy over the steps, and its margin against the real replies."""
    import matplotlib.pyplot as plt

    names = sorted({k for entry in steps for k in entry if k.startswith("rewards/strategy/")})
    fig, axes = plt.subplots(1, 2 if names else 1, figsize=(12 if names else 7, 4.5), dpi=100, squeeze=False)
    ax = axes[0][0]
    for name in ("rewards/chosen", "rewards/rejected", "rewards/margins", "kl"):
        points = [(entry["step"], entry[name]) for entry in steps if name in entry]
        if points:
            ax.plot(*zip(*points, strict=True), label=name, linestyle="--" if name == "kl" else "-")
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("β · log-ratio to the reference")
    ax.set_title("KTO rewards: desirable (chosen) vs undesirable (rejected)")
    ax.legend()
    if names:
        right = axes[0][1]
        for name in names:
            points = [(entry["step"], entry[name]) for entry in steps if name in entry]
            label = name.removeprefix("rewards/strategy/")
            right.plot(
                *zip(*points, strict=True), marker="o", label=label, linewidth=2 if label == "real" else 1
            )
        right.axhline(0, color="grey", linewidth=0.5)
        right.set(xlabel="optimizer step", ylabel="mean reward (eval rows)", title="Rewards per strategy")
        right.legend(fontsize="small")
    return save_figure(fig, path)


class StrategyRewards:
    """A `TrainerCallback` (built on first use: transformers is imported late) that measures the eval rows'
    mean reward per strategy `config.reward_measures` times during training (the last step included):
    metrics.json and rewards.png then show which negatives the policy learned to push down, and when."""

    def __new__(cls, rows: list[KtoRow], config: KTOStageConfig):
        from transformers import TrainerCallback

        class Callback(TrainerCallback):
            def __init__(self) -> None:
                self.by_step: dict[int, dict[str, float]] = {}
                self.final: dict[str, dict[str, float]] = {}  # the last step's, in full: the trained policy's
                self.at: set[int] = set()

            def measure(self, step: int, model, tokenizer) -> None:
                training = model.training
                rewards = rewards_per_strategy(model, tokenizer, rows, config)
                self.by_step[step] = {name: values["mean"] for name, values in rewards.items()}
                self.final = rewards
                model.train(training)

            def on_train_begin(self, args, state, control, **kwargs):
                # Evenly spread, the last step included; step 0 needs no measure (every reward is 0). Each
                # measure scores the eval rows with both adapters (~11 s on 2 cores for the demo).
                points = config.reward_measures
                self.at = {max(1, round(k * state.max_steps / points)) for k in range(1, points + 1)}

            def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
                if state.global_step in self.at:
                    self.measure(state.global_step, model, processing_class)

        return Callback()


def strategy_rewards(trainer, rows: list[KtoRow], config: KTOStageConfig) -> dict[str, dict[str, float]]:
    return rewards_per_strategy(trainer.model, trainer.processing_class, rows, config)


def rewards_per_strategy(
    model, tokenizer, rows: list[KtoRow], config: KTOStageConfig
) -> dict[str, dict[str, float]]:
    """Mean KTO reward β·(log π(y|x) − log π_SFT(y|x)) of the eval rows, per strategy (`real` = the
    persona's replies): which negatives the policy learned to push down, and whether the real replies rose.

    The trained policy is the "default" adapter and the frozen SFT reference TRL's "ref" copy; each row's
    completion is scored after its prompt by both (`align.context_fit.ReplyScorer`, the prompt encoded once).
    """
    import torch

    from align.context_fit import ReplyScorer

    if not rows or "ref" not in getattr(model, "peft_config", {}):
        return {}
    device = next(model.parameters()).device
    scorer = ReplyScorer(model, tokenizer, device, config.max_length, config.per_device_eval_batch_size)
    contexts = [row.prompt for row in rows]
    requests = [(i, row.completion[0].content) for i, row in enumerate(rows)]
    scores = {}
    model.eval()
    with torch.no_grad():
        for adapter in ("default", "ref"):
            model.set_adapter(adapter)
            scores[adapter] = scorer.log_probs(contexts, requests)
    model.set_adapter("default")
    for name, parameter in model.named_parameters():  # the reference stays frozen
        if ".ref." in name:
            parameter.requires_grad_(False)
    rewards: dict[str, list[float]] = {}
    for row, policy, reference in zip(rows, scores["default"], scores["ref"], strict=True):
        rewards.setdefault(row.strategy, []).append(config.beta * float(policy - reference))
    return {
        name: {"mean": sum(values) / len(values), "rows": len(values)}
        for name, values in sorted(rewards.items())
    }


def plot_strategy_rewards(by_strategy: dict[str, dict[str, float]], path: Path) -> Path:
    """One bar per strategy: the mean reward of its eval rows after training (real replies first)."""
    names = sorted(by_strategy, key=lambda name: (name != "real", name))
    fig, ax = new_figure()
    values = [by_strategy[name]["mean"] for name in names]
    ax.bar(names, values, color=["tab:green" if name == "real" else "tab:red" for name in names])
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_ylabel("mean reward β·log π/π_SFT (eval rows)")
    ax.set_title("What KTO learned: real replies up, each negative strategy down")
    ax.tick_params(axis="x", labelrotation=30)
    return save_figure(fig, path)


def _report(config, data, base_model, sft_dir, steps, eval_metrics, train_seconds, trainer) -> dict:
    def mean_of(name: str, window: list[dict]) -> float | None:
        values = [entry[name] for entry in window if name in entry]
        return sum(values) / len(values) if values else None

    head, tail = steps[: max(1, len(steps) // 5)], steps[-max(1, len(steps) // 5) :]
    n_desirable = sum(row.label for row in data.train)
    return {
        "steps": trainer.state.global_step,
        "train_seconds": train_seconds,
        "seconds_per_step": train_seconds / max(1, trainer.state.global_step),
        "base_model": base_model,
        "sft_adapter": str(sft_dir),
        "reference": "precomputed SFT log-probs" if config.precompute_ref_log_probs else "frozen SFT adapter",
        "train_rows": len(trainer.train_dataset),
        "n_desirable": n_desirable,
        "n_undesirable": len(data.train) - n_desirable,
        "eval_rows": len(data.eval),
        "desirable_weight": data.desirable_weight,
        "undesirable_weight": data.undesirable_weight,
        "weights_from": str(data.report_path),
        "gradient_accumulation_steps": trainer.args.gradient_accumulation_steps,
        "first": {name: mean_of(name, head) for name in LOGGED_METRICS},
        "final": {name: mean_of(name, tail) for name in LOGGED_METRICS},
        "eval": {k.removeprefix("eval_"): v for k, v in eval_metrics.items()},
        "config": config.to_dict(),
    }


def report_markdown(report: dict) -> str:
    rows = [
        [name, report["first"][name], report["final"][name], report["eval"].get(name, "")]
        for name in LOGGED_METRICS
    ]
    return "\n".join(
        [
            "# KTO from the SFT adapter",
            "",
            f"{report['steps']} optimizer steps on {report['train_rows']} rows "
            f"({report['n_desirable']} desirable, {report['n_undesirable']} undesirable in the dataset), "
            f"λD = {report['desirable_weight']:g}, λU = {report['undesirable_weight']:g}, "
            f"β = {report['config']['beta']:g}, lr = {report['config']['learning_rate']:g}, "
            f"reference: {report['reference']}. "
            f"{report['train_seconds']:.0f} s ({report['seconds_per_step']:.1f} s/step).",
            "",
            md_table(["metric", "first steps", "last steps", "eval split"], rows),
            "",
            "Rewards are β · (log π(y|x) − log π_SFT(y|x)): training should push desirable (chosen) replies "
            "up and undesirable (rejected) ones down, so rewards/margins grows while kl stays small.",
            "",
            "![rewards](rewards.png)",
            *strategy_lines(report.get("rewards_by_strategy") or {}),
            *round_lines(report.get("rounds") or {}),
        ]
    )


def round_lines(rounds: dict[str, Any]) -> list[str]:
    if not rounds:
        return []
    rows = [
        [r["round"], r["reference"], r["eval_margin"], r["eval_loss"], r["relabel"].get("undesirable", "")]
        for r in rounds["per_round"]
    ]
    return [
        "",
        f"## Rounds: round {rounds['best']} of {rounds['count']} is this adapter (best eval rewards/margins)",
        "",
        md_table(["round", "reference", "eval margin", "eval loss", "relabelled negatives"], rows),
        "",
        "Every round's adapter, metrics and report: `rounds/<k>/`.",
    ]


def strategy_lines(by_strategy: dict[str, dict[str, float]]) -> list[str]:
    if not by_strategy:
        return []
    rows = [[name, values["rows"], values["mean"]] for name, values in by_strategy.items()]
    return [
        "",
        "## Rewards per strategy (eval split, after training)",
        "",
        md_table(["strategy", "eval rows", "mean reward"], rows),
        "",
        "![rewards per strategy](rewards_by_strategy.png)",
    ]


if __name__ == "__main__":
    # `accelerate launch -m align.kto --data DATA/kto --sft RUN/sft --out RUN/kto [...]`: one process per GPU,
    # each running `chatlikeme kto` without flows (Prefect) imported. The command imports this module again as
    # `align.kto`.
    from align.commands.kto import kto
    from core.cli import run_command

    run_command(kto)
