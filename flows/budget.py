"""Fit a whole run into a time budget: measurements in, plan out (the `cpu` pipeline preset).

    measured = measure(data_dir, configs)                    # a few real SFT steps + a short generation
    plan = plan_budget(measured, budget_minutes=60)          # pure: what to run so that it fits
    configs = apply_plan(configs, plan)                      # max_steps, max_length, eval sizes set

`plan_budget` starts from the full plan (the stage configs as they are) and, while the estimate is over the
budget, cuts in this order (cheapest loss of quality first):

1. eval samples per prompt, down to 1 (the intervals then hold the choice of prompts only);
2. eval prompts, down to `min_eval_prompts` (wider intervals, same verdicts on clear differences);
3. the SFT (and KTO) max_length, halved down to `min_max_length` (long samples lose their oldest turns;
   the reply and its nearest context stay);
4. the SFT and KTO optimizer steps, sharing what is left 2:1 (SFT:KTO, the demo's ratio of their times),
   down to `min_sft_steps` / `min_kto_steps`.

A budget that the minimum plan does not fit raises a `ChatLikeMeError` naming the minutes it needs.
The KTO-data time is estimated from the generation measurement and is never cut; it is in the table.
Time estimates are linear in tokens: seconds per trained token are measured on real SFT steps of the real
data; a KTO token costs `KTO_TOKEN_FACTOR` SFT tokens (policy and reference forwards on the KL pairs too).
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ChatLikeMeError
from core.io import atomic_file
from core.report import md_table

log = logging.getLogger(__name__)

KTO_TOKEN_FACTOR = 2.0
"A KTO row-token costs about this many SFT tokens: the reference model's forwards and the KL batch."
EVAL_SETS = 5
"Reply sets scored for context fit: base, sft, kto, real, shuffled-real."
GENERATED_MODELS = 3
KTO_DATA_GENERATIONS_PER_POSITIVE = 4.0
"kto-data's generated replies per positive (off_context, on_policy, base sampling, off_persona)."


@dataclass
class Measurements:
    """What the planner needs: the full plan's sizes and the measured speeds."""

    sample_tokens: list[int]
    "Token length of every SFT train sample (untruncated)."
    sft_seconds_per_token: float
    "Measured on real SFT steps (after warm-up)."
    sft_samples_per_step: int
    sft_full_steps: int
    sft_max_length: int
    kto_rows_per_step: int
    kto_full_steps: int
    kto_max_length: int
    generation_seconds_per_reply: float
    "Measured: one reply of eval's max_new_tokens, base model."
    scoring_seconds_per_pair: float
    "One reply scored after one conversation (a forward pass at eval's max_length)."
    eval_prompts: int
    "Held-out prompts of the full eval (after its max_prompts)."
    eval_samples_per_prompt: int
    eval_matching_candidates: int
    kto_data_positives: int
    kto_data_generation_scale: float = 0.5
    "kto-data's replies are shorter than eval's (max_new_tokens 32 vs 64)."
    spent_seconds: float = 0.0
    "Already spent measuring (and ingesting): comes off the budget."

    def mean_tokens(self, max_length: int) -> float:
        if not self.sample_tokens:
            return float(max_length)
        return sum(min(n, max_length) for n in self.sample_tokens) / len(self.sample_tokens)

    def sft_step_seconds(self, max_length: int) -> float:
        return self.sft_seconds_per_token * self.sft_samples_per_step * self.mean_tokens(max_length)

    def kto_step_seconds(self, max_length: int) -> float:
        tokens = self.mean_tokens(min(max_length, self.kto_max_length))
        return KTO_TOKEN_FACTOR * self.sft_seconds_per_token * self.kto_rows_per_step * tokens

    def eval_seconds(self, prompts: int, samples: int) -> float:
        per = (
            GENERATED_MODELS * self.generation_seconds_per_reply
            + EVAL_SETS * self.eval_matching_candidates * self.scoring_seconds_per_pair
        )
        return prompts * samples * per

    def kto_data_seconds(self) -> float:
        per = KTO_DATA_GENERATIONS_PER_POSITIVE * self.generation_seconds_per_reply
        return self.kto_data_positives * per * self.kto_data_generation_scale


@dataclass
class BudgetLimits:
    """The least a run may be cut to."""

    min_eval_prompts: int = 40
    min_max_length: int = 256
    min_sft_steps: int = 20
    min_kto_steps: int = 5
    sft_share: float = 2 / 3
    "SFT's part of the training time when both must be cut (the rest is KTO's)."


@dataclass
class BudgetPlan:
    """What the run will do, what the full plan would have done, and the estimates."""

    budget_minutes: float
    sft_steps: int
    sft_full_steps: int
    max_length: int
    full_max_length: int
    kto_steps: int
    kto_full_steps: int
    kto_max_length: int
    kto_full_max_length: int
    eval_prompts: int
    eval_full_prompts: int
    samples_per_prompt: int
    full_samples_per_prompt: int
    minutes: dict[str, float] = field(default_factory=dict)
    "Estimated minutes per stage (measure, sft, kto-data, kto, eval) and total."
    full_minutes: float = 0.0

    def cuts(self) -> list[str]:
        """What was cut compared with the full plan, in words ([] when nothing was)."""
        sizes = [
            ("SFT {} of {} steps", self.sft_steps, self.sft_full_steps),
            ("max_length {1}→{0}", self.max_length, self.full_max_length),
            ("KTO {} of {} steps", self.kto_steps, self.kto_full_steps),
            ("KTO max_length {1}→{0}", self.kto_max_length, self.kto_full_max_length),
            ("eval {} of {} prompts", self.eval_prompts, self.eval_full_prompts),
            ("eval samples per prompt {1}→{0}", self.samples_per_prompt, self.full_samples_per_prompt),
        ]
        return [text.format(planned, full) for text, planned, full in sizes if planned < full]

    def table(self) -> str:
        m = self.minutes
        rows = [
            ["measure", "done: ingest, a few SFT steps, one generation", f"{m['measure']:.1f}"],
            ["sft", f"{self.sft_steps} of {self.sft_full_steps} steps, max_length {self.max_length}",
             f"{m['sft']:.1f}"],
            ["kto-data", "(not cut)", f"{m['kto-data']:.1f}"],
            ["kto", f"{self.kto_steps} of {self.kto_full_steps} steps, max_length {self.kto_max_length}",
             f"{m['kto']:.1f}"],
            ["eval", f"{self.eval_prompts} of {self.eval_full_prompts} prompts × {self.samples_per_prompt}",
             f"{m['eval']:.1f}"],
            ["total", f"budget {self.budget_minutes:g} min (full plan: {self.full_minutes:.0f} min)",
             f"{m['total']:.1f}"],
        ]  # fmt: skip
        cut = "; ".join(self.cuts()) or "nothing: the full plan fits"
        return md_table(["stage", "planned", "estimated minutes"], rows) + f"\n\nCut: {cut}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cuts": self.cuts()}


def plan_budget(
    measured: Measurements, budget_minutes: float, limits: BudgetLimits | None = None
) -> BudgetPlan:
    """The largest plan (cutting in the module's order) whose estimate fits `budget_minutes`."""
    limits = limits or BudgetLimits()
    if budget_minutes <= 0:
        raise ChatLikeMeError(f"time_budget_minutes must be > 0 (got {budget_minutes:g})")
    budget = budget_minutes * 60 - measured.spent_seconds
    fixed = measured.kto_data_seconds()
    full_len, kto_full_len = measured.sft_max_length, measured.kto_max_length
    prompts, samples = measured.eval_prompts, measured.eval_samples_per_prompt
    min_prompts = min(prompts, limits.min_eval_prompts)

    def training(length: int, sft_steps: int, kto_steps: int) -> float:
        return sft_steps * measured.sft_step_seconds(length) + kto_steps * measured.kto_step_seconds(length)

    full_training = training(full_len, measured.sft_full_steps, measured.kto_full_steps)
    full_total = fixed + full_training + measured.eval_seconds(prompts, samples)

    def plan(length: int, sft_steps: int, kto_steps: int, prompts: int, samples: int) -> BudgetPlan:
        sft_s = sft_steps * measured.sft_step_seconds(length)
        kto_s = kto_steps * measured.kto_step_seconds(length)
        eval_s = measured.eval_seconds(prompts, samples)
        minutes = {
            "measure": measured.spent_seconds / 60,
            "sft": sft_s / 60,
            "kto-data": fixed / 60,
            "kto": kto_s / 60,
            "eval": eval_s / 60,
        }
        minutes = {k: round(v, 2) for k, v in minutes.items()}
        minutes["total"] = round(sum(minutes.values()), 2)
        return BudgetPlan(
            budget_minutes, sft_steps, measured.sft_full_steps, length, full_len, kto_steps,
            measured.kto_full_steps, min(length, kto_full_len), kto_full_len, prompts, measured.eval_prompts,
            samples, measured.eval_samples_per_prompt, minutes,
            round((full_total + measured.spent_seconds) / 60, 2),
        )  # fmt: skip

    left = budget - fixed - full_training  # what eval may take with full training
    # 1. samples per prompt, 2. prompts
    if measured.eval_seconds(prompts, samples) > left:
        per_prompt = measured.eval_seconds(1, 1)
        samples = max(1, int(left // (per_prompt * prompts))) if per_prompt > 0 else samples
        if samples == 1:
            fit = int(left // per_prompt) if per_prompt > 0 else prompts
            prompts = max(min_prompts, min(prompts, fit))
    eval_s = measured.eval_seconds(prompts, samples)
    train_budget = budget - fixed - eval_s
    # 3. max_length, halved while the full steps do not fit
    length = full_len
    while training(length, measured.sft_full_steps, measured.kto_full_steps) > train_budget:
        shorter = max(limits.min_max_length, length // 2)
        if shorter >= length:
            break
        length = shorter
    # 4. steps, sharing what is left
    sft_steps, kto_steps = measured.sft_full_steps, measured.kto_full_steps
    if training(length, sft_steps, kto_steps) > train_budget:
        sft_step, kto_step = measured.sft_step_seconds(length), measured.kto_step_seconds(length)
        sft_steps = min(sft_steps, int(train_budget * limits.sft_share // sft_step))
        kto_steps = min(kto_steps, int(max(0.0, train_budget - sft_steps * sft_step) // kto_step))
        sft_steps = min(
            measured.sft_full_steps, int(max(0.0, train_budget - kto_steps * kto_step) // sft_step)
        )
        min_sft = min(limits.min_sft_steps, measured.sft_full_steps)
        min_kto = min(limits.min_kto_steps, measured.kto_full_steps)
        if sft_steps < min_sft or kto_steps < min_kto:
            need = plan(length, min_sft, min_kto, prompts, samples).minutes["total"]
            raise ChatLikeMeError(
                f"time budget of {budget_minutes:g} minutes is too small: the smallest plan "
                f"(SFT {min_sft} steps, KTO {min_kto} steps, max_length {length}, eval {prompts} prompts) "
                f"needs about {math.ceil(need)} minutes; raise time_budget_minutes (--time-budget)"
            )
    return plan(length, sft_steps, kto_steps, prompts, samples)


def apply_plan(configs: dict[str, Any], plan: BudgetPlan) -> dict[str, Any]:
    """The stage configs with the plan's sizes set (steps -1 stays -1 when nothing was cut)."""
    sft, kto, evaluation = configs["sft"], configs["kto"], configs["eval"]
    return {
        **configs,
        "sft": sft.replace(
            max_steps=plan.sft_steps if plan.sft_steps < plan.sft_full_steps else sft.max_steps,
            max_length=plan.max_length,
        ),
        "kto": kto.replace(
            max_steps=plan.kto_steps if plan.kto_steps < plan.kto_full_steps else kto.max_steps,
            max_length=plan.kto_max_length,
        ),
        "eval": evaluation.replace(max_prompts=plan.eval_prompts, samples_per_prompt=plan.samples_per_prompt),
    }


# --- the measuring part -------------------------------------------------------------------------------------


def measure(data_dir: Path, configs: dict[str, Any], warmup_steps: int = 1, steps: int = 2) -> Measurements:
    """Real SFT steps of `configs['sft']` on DATA/sft/train.jsonl with its base model (after `warmup_steps`),
    and one batch of base-model replies to held-out prompts with eval's settings."""
    import tempfile

    import msgspec

    from align.evaluate import held_out_split_path, load_eval_items, select_items
    from align.generation import GenerationJob, generate
    from align.models import choose_precision, load_model, load_tokenizer, resolve_base_model
    from align.sft import build_trainer, encode_split, load_split

    started = time.perf_counter()
    sft, kto, kto_data, evaluation = configs["sft"], configs["kto"], configs["kto-data"], configs["eval"]
    data_dir = Path(data_dir)
    train = load_split(data_dir / "sft" / "train.jsonl")
    base = resolve_base_model(sft.base_model)
    tokenizer = load_tokenizer(base)
    lengths = [
        len(tokenizer(tokenizer.apply_chat_template(msgspec.to_builtins(s.messages), tokenize=False),
                      add_special_tokens=False)["input_ids"])
        for s in train
    ]  # fmt: skip
    per_step = sft.per_device_train_batch_size * sft.gradient_accumulation_steps
    full_steps = math.ceil(len(train) / per_step) * sft.num_train_epochs
    full_steps = sft.max_steps if sft.max_steps > 0 else math.ceil(full_steps)

    # a few real SFT steps, timed after the warm-up
    precision = choose_precision(sft.dtype)
    timer = _StepTimer(warmup_steps)
    with tempfile.TemporaryDirectory(prefix="chatlikeme-measure-") as tmp:
        probe = sft.replace(max_steps=warmup_steps + steps, eval_steps=None, logging_steps=1000)
        wanted = per_step * (warmup_steps + steps) * 2  # spread over the split: its lengths, not the oldest
        spread = train[:: max(1, len(train) // wanted)][:wanted]
        split = encode_split(tokenizer, spread, sft.max_length, sft.targets)
        small_eval = encode_split(tokenizer, train[:1], sft.max_length, sft.targets)
        model = load_model(base, precision, attn_implementation=sft.attn_implementation)
        from align.training import build_lora_config

        trainer = build_trainer(
            model,
            tokenizer,
            split,
            small_eval,
            probe,
            precision,
            build_lora_config(sft.lora),
            Path(tmp),
            [timer],
        )
        trainer.args.eval_on_start = False
        trainer.args.save_strategy = "no"
        trainer.args.eval_strategy = "no"
        trainer.args.load_best_model_at_end = False
        trainer.train()
    seconds_per_token = timer.seconds / max(1, timer.tokens)

    # one batch of replies
    split_path, _ = held_out_split_path(data_dir)
    items = select_items(load_eval_items(split_path, evaluation.max_context_messages), evaluation.max_prompts)
    probe_prompts = [item.prompt for item in items[:4]]
    gen_started = time.perf_counter()
    generate(base, [GenerationJob("base", None, probe_prompts, evaluation.sampling())], "transformers",
             batch_size=evaluation.generation_batch_size)  # fmt: skip
    per_reply = (time.perf_counter() - gen_started) / max(1, len(probe_prompts))

    kto_rows = kto_data.max_train_positives * (1 + kto_data.negatives_per_positive)
    kto_rows = min(kto_rows, kto.max_rows) if kto.max_rows > 0 else kto_rows
    kto_epoch_steps = kto_rows / kto.effective_batch_size
    kto_full = kto.max_steps if kto.max_steps > 0 else math.ceil(kto_epoch_steps * kto.num_train_epochs)
    mean_eval_tokens = min(evaluation.max_length, sum(lengths) / max(1, len(lengths)))
    return Measurements(
        sample_tokens=lengths,
        sft_seconds_per_token=seconds_per_token,
        sft_samples_per_step=per_step,
        sft_full_steps=int(full_steps),
        sft_max_length=sft.max_length,
        kto_rows_per_step=kto.effective_batch_size,
        kto_full_steps=int(kto_full),
        kto_max_length=kto.max_length,
        generation_seconds_per_reply=per_reply,
        scoring_seconds_per_pair=seconds_per_token / 3 * mean_eval_tokens,  # forward only: ~1/3 of a step
        eval_prompts=len(items),
        eval_samples_per_prompt=evaluation.samples_per_prompt,
        eval_matching_candidates=evaluation.matching_candidates,
        kto_data_positives=min(len(train), kto_data.max_train_positives + kto_data.max_eval_positives),
        spent_seconds=time.perf_counter() - started,
    )


class _StepTimer:
    """A Trainer callback: seconds and real input tokens of the steps after the warm-up."""

    def __new__(cls, warmup: int):
        from transformers import TrainerCallback

        class StepTimer(TrainerCallback):
            def __init__(self) -> None:
                self.seconds, self.tokens, self._began, self._tokens = 0.0, 0, 0.0, 0

            def on_step_begin(self, args, state, control, **kw):
                self._began, self._tokens = time.perf_counter(), state.num_input_tokens_seen

            def on_step_end(self, args, state, control, **kw):
                if state.global_step > warmup:
                    self.seconds += time.perf_counter() - self._began
                    self.tokens += state.num_input_tokens_seen - self._tokens

        return StepTimer()


# --- the pipeline's use -------------------------------------------------------------------------------------


def fit_to_budget(
    configs: dict[str, Any],
    data_dir: Path,
    budget_minutes: float,
    limits: BudgetLimits,
    record: Path,
    spent_seconds: float = 0.0,
) -> tuple[dict[str, Any], BudgetPlan]:
    """Measure, plan, log the plan and return the configs fitted to it.

    The plan is kept in `record` (named by the inputs' key): running the same inputs again reuses it, so
    the stages' configs, hence their cache keys, stay the same and nothing is trained again.
    """
    if record.is_file():
        saved = json.loads(record.read_text(encoding="utf-8"))
        plan = BudgetPlan(**{k: v for k, v in saved.items() if k != "cuts"})
        origin = f"the plan measured before ({record})"
    else:
        measured = measure(data_dir, configs)
        measured.spent_seconds += spent_seconds
        plan = plan_budget(measured, budget_minutes, limits)
        record.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(record) as tmp:
            tmp.write_text(json.dumps(plan.to_dict(), indent=1) + "\n", encoding="utf-8")
        origin = f"measured: {measured.sft_step_seconds(measured.sft_max_length):.1f} s per SFT step at "
        origin += (
            f"max_length {measured.sft_max_length}, {measured.generation_seconds_per_reply:.2f} s per reply"
        )
    log.info(f"time budget {budget_minutes:g} minutes ({origin}):\n\n{plan.table()}")
    return apply_plan(configs, plan), plan
