"""The `eval` stage: how much base, sft and kto write like the persona, on sessions none of them trained on.

    evaluate(Path("runs/1"), Path("data"), EvalConfig.load("cpu-demo"))  ->  runs/1/eval/

1. Every persona turn of the held-out split (`DATA/sft/eval.jsonl`), with the conversation before it, is a
   prompt; the persona's real reply is the reference.
2. base, sft and kto each reply to every prompt (`align.generation`: one vLLM engine for the three, or
   transformers; the same sampling for all).
3. The replies are compared with the real ones (`align.fidelity`), and the real replies' perplexity is
   measured under each model (one model in memory, adapters switched).
4. `RUN/eval/`: report.json + report.md (table, fidelity score and its formula, 10 side-by-side examples),
   lengths.png, metrics.png, and generations.jsonl with every reply.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import msgspec
import numpy as np

from align.adapters import require_adapter, shared_base_model
from align.fidelity import (
    FIDELITY_FORMULA,
    FIDELITY_WEIGHTS,
    compare_replies,
    fidelity_components,
    fidelity_score,
    real_reference,
)
from align.generation import Backend, GenerationJob, SamplingConfig, generate
from core.config import StageConfig
from core.errors import input_error
from core.io import atomic_dir, read_jsonl, write_jsonl
from core.report import md_table, new_figure, save_figure, write_report
from core.schema import ChatMessage, SftSample

MODELS = ("base", "sft", "kto")


@dataclass
class EvalConfig(StageConfig):
    """How the held-out evaluation runs (presets: align/configs/eval/*.yaml)."""

    presets_dir: ClassVar[Path] = Path(__file__).parent / "configs" / "eval"

    max_prompts: int = 0
    "Evaluate on at most this many held-out persona turns, spread evenly over the split (0 = all of them)."
    max_context_messages: int = 12
    "Messages of conversation before the reply given to the models (the system prompt is always kept)."
    temperature: float = 0.7
    "Sampling temperature, the same for every model (0 = greedy)."
    top_p: float = 0.9
    max_new_tokens: int = 96
    backend: Backend = "auto"
    "Generation backend: auto (vLLM if installed, else transformers), vllm, transformers, server."
    api_url: str | None = None
    "URL of a running `chatlikeme serve` for the `server` backend (it must serve base, sft and kto)."
    generation_batch_size: int = 16
    "Prompts per batch with the transformers backend."
    perplexity_batch_size: int = 8
    max_length: int = 1024
    "Token limit of prompt + reply when measuring perplexity (the context is cut from the left)."
    examples: int = 10
    "Side-by-side examples in the report."
    seed: int = 0

    def sampling(self) -> SamplingConfig:
        return SamplingConfig(self.temperature, self.top_p, self.max_new_tokens, self.seed)


@dataclass
class EvalItem:
    """One held-out persona turn: the conversation before it, and what the persona really replied."""

    prompt: list[ChatMessage]
    reply: str
    sample_id: str = ""
    chat_id: str = ""
    replies: dict[str, str] = field(default_factory=dict)


def evaluate(run_dir: Path, data_dir: Path, config: EvalConfig) -> Path:
    """Evaluate RUN's sft and kto adapters (and their base model) on DATA's held-out split -> RUN/eval."""
    started = time.perf_counter()
    run_dir, data_dir = Path(run_dir), Path(data_dir)
    adapters = {
        "sft": require_adapter(run_dir / "sft", "sft"),
        "kto": require_adapter(run_dir / "kto", "kto"),
    }
    base_model = shared_base_model(adapters)
    eval_path = eval_split_path(data_dir)
    items = select_items(load_eval_items(eval_path, config.max_context_messages), config.max_prompts)

    timings: dict[str, float] = {}
    clock = time.perf_counter()
    prompts = [item.prompt for item in items]
    jobs = [GenerationJob(name, adapters.get(name), prompts, config.sampling()) for name in MODELS]
    replies = generate(
        base_model, jobs, config.backend, api_url=config.api_url, batch_size=config.generation_batch_size
    )
    for item_index, item in enumerate(items):
        item.replies = {name: replies[name][item_index] for name in MODELS}
    timings["generation_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    perplexity, vocab_size = reply_perplexities(
        base_model, adapters, items, config.perplexity_batch_size, config.max_length
    )
    timings["perplexity_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    real = [item.reply for item in items]
    reference = real_reference(real)
    models: dict[str, dict] = {}
    for name in MODELS:
        metrics = compare_replies(real, replies[name], seed=config.seed)
        metrics["perplexity"] = perplexity[name]
        metrics["components"] = fidelity_components(metrics, reference, perplexity[name], vocab_size)
        metrics["fidelity"] = fidelity_score(metrics["components"])
        models[name] = metrics
    timings["metrics_s"] = time.perf_counter() - clock
    timings["total_s"] = time.perf_counter() - started

    report = {
        "fidelity": {name: models[name]["fidelity"] for name in MODELS},
        "detectability_auc": {name: models[name]["detectability_auc"] for name in MODELS},
        "fidelity_formula": FIDELITY_FORMULA,
        "fidelity_weights": FIDELITY_WEIGHTS,
        "models": models,
        "real": reference,
        "n_prompts": len(items),
        "eval_split": str(eval_path),
        "run": str(run_dir),
        "base_model": base_model,
        "adapters": {name: str(path) for name, path in adapters.items()},
        "vocab_size": vocab_size,
        "timings": timings,
        "config": config.to_dict(),
    }
    out = run_dir / "eval"
    with atomic_dir(out) as tmp:
        write_jsonl(tmp / "generations.jsonl", [_generation_row(item) for item in items])
        plot_lengths(real, replies, tmp / "lengths.png")
        plot_components(models, tmp / "metrics.png")
        write_report(tmp, report, report_markdown(report, example_items(items, config.examples)))
    return out


def summary_line(report_dir: Path) -> str:
    """One line for the terminal: the fidelity and detectability of each model."""
    import json

    report = json.loads((Path(report_dir) / "report.json").read_text())
    parts = [
        f"{name} {report['fidelity'][name]:.3f} (AUC {report['detectability_auc'][name]:.3f})"
        for name in MODELS
    ]
    return f"fidelity on {report['n_prompts']} held-out replies: " + ", ".join(parts) + f" -> {report_dir}"


# --- the held-out prompts -----------------------------------------------------------------------------------


def eval_split_path(data_dir: Path) -> Path:
    """DATA/sft/eval.jsonl (DATA may also be the sft folder itself)."""
    for candidate in (data_dir / "sft" / "eval.jsonl", data_dir / "eval.jsonl"):
        if candidate.is_file():
            return candidate
    raise input_error(data_dir / "sft" / "eval.jsonl", "file not found; run `chatlikeme ingest` first")


def load_eval_items(path: Path, max_context_messages: int) -> list[EvalItem]:
    """Every persona turn of the held-out split with its context (a turn seen in two windows counts once)."""
    items: list[EvalItem] = []
    seen: set[tuple[str, ...]] = set()
    for sample in read_jsonl(path, SftSample):
        messages = sample.messages
        system = [m for m in messages[:1] if m.role == "system"]
        for index, message in enumerate(messages):
            if message.role != "assistant" or not message.content.strip():
                continue
            context = [m for m in messages[len(system) : index] if m.role != "system"]
            context = context[-max_context_messages:] if max_context_messages > 0 else context
            key = (sample.chat_id, *(m.content for m in context[-3:]), message.content)
            if key in seen:
                continue
            seen.add(key)
            items.append(EvalItem([*system, *context], message.content, sample.id, sample.chat_id))
    if not items:
        raise input_error(path, "the eval split is empty: no held-out persona replies to evaluate on")
    if len(items) < 4:
        raise input_error(path, f"only {len(items)} held-out persona replies: too few to compare models")
    return items


def select_items(items: list[EvalItem], max_prompts: int) -> list[EvalItem]:
    """At most `max_prompts` items, evenly spread over the split (so every chat and period is represented)."""
    if max_prompts <= 0 or len(items) <= max_prompts:
        return items
    keep = np.unique(np.linspace(0, len(items) - 1, max_prompts).round().astype(int))
    return [items[i] for i in keep]


def example_items(items: list[EvalItem], count: int) -> list[EvalItem]:
    return select_items(items, count)


# --- perplexity of the real replies -------------------------------------------------------------------------


def reply_perplexities(
    base_model: str, adapters: dict[str, Path], items: list[EvalItem], batch_size: int, max_length: int
) -> tuple[dict[str, float], int]:
    """Perplexity of the real replies (given their context) under base and each adapter; and the vocab size.

    One copy of the base model is loaded; PEFT switches between the adapters (base = adapters disabled).
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(base_model, dtype=dtype).to(device)
    (first, first_path), *rest = adapters.items()
    model = PeftModel.from_pretrained(model, str(first_path), adapter_name=first)
    for name, path in rest:
        model.load_adapter(str(path), adapter_name=name)
    model.eval()

    encoded = [encode_reply(tokenizer, item.prompt, item.reply, max_length) for item in items]
    # Similar lengths side by side: less padding.
    encoded.sort(key=lambda pair: len(pair[0]))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    results: dict[str, float] = {}
    for name in MODELS:
        if name == "base":
            with model.disable_adapter():
                nll, tokens = _total_nll(model, encoded, batch_size, pad_id, device)
        else:
            model.set_adapter(name)
            nll, tokens = _total_nll(model, encoded, batch_size, pad_id, device)
        results[name] = math.exp(nll / max(tokens, 1))
    return results, len(tokenizer)


def encode_reply(tokenizer, prompt: list[ChatMessage], reply: str, max_length: int) -> tuple[list[int], int]:
    """Token ids of prompt + reply in the chat template, and how many of the last ones are the reply."""
    messages = msgspec.to_builtins(prompt)
    prompt_text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    full_text = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": reply}], tokenize=False
    )
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    full_ids = tokenizer(full_text, add_special_tokens=False)["input_ids"]
    shared = 0
    while shared < min(len(prompt_ids), len(full_ids)) and prompt_ids[shared] == full_ids[shared]:
        shared += 1
    reply_tokens = min(len(full_ids) - shared, max_length - 1)
    return full_ids[-max_length:], reply_tokens


def _total_nll(model, encoded, batch_size: int, pad_id: int, device: str) -> tuple[float, int]:
    """Summed negative log-likelihood of the reply tokens, and their number.

    Rows are left-padded so that every reply ends at the right edge: the output head (a third of SmolLM2's
    compute) then only runs on the last positions (`logits_to_keep`), not on the whole context.
    """
    import torch

    total, count = 0.0, 0
    for start in range(0, len(encoded), batch_size):
        batch = encoded[start : start + batch_size]
        width = max(len(ids) for ids, _ in batch)
        keep = max(reply_tokens for _, reply_tokens in batch) + 1
        input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        scored = torch.zeros((len(batch), keep - 1), dtype=torch.bool)
        for row, (ids, reply_tokens) in enumerate(batch):
            input_ids[row, width - len(ids) :] = torch.tensor(ids)
            attention[row, width - len(ids) :] = 1
            scored[row, keep - 1 - reply_tokens :] = True
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        with torch.no_grad():
            logits = model(
                input_ids=input_ids.to(device),
                attention_mask=attention.to(device),
                position_ids=positions.to(device),
                logits_to_keep=keep,
            ).logits[:, :-1]
        targets = input_ids[:, width - keep + 1 :].to(device)
        nll = torch.nn.functional.cross_entropy(logits.float().transpose(1, 2), targets, reduction="none")
        total += float(nll[scored.to(device)].sum())
        count += int(scored.sum())
    return total, count


# --- the report ---------------------------------------------------------------------------------------------


def _generation_row(item: EvalItem) -> dict:
    return {
        "sample_id": item.sample_id,
        "chat_id": item.chat_id,
        "prompt": msgspec.to_builtins(item.prompt),
        "real": item.reply,
        **item.replies,
    }


def plot_lengths(real: list[str], replies: dict[str, list[str]], path: Path) -> Path:
    """Overlaid histograms of reply length (characters, log-spaced bins): real vs each model."""
    fig, ax = new_figure()
    lengths = {"real": real, **replies}
    longest = max(max((len(t.strip()) for t in texts), default=1) for texts in lengths.values())
    bins = np.geomspace(1, max(2, longest + 1), 30)
    for name, texts in lengths.items():
        values = [max(1, len(t.strip())) for t in texts]
        ax.hist(values, bins=bins, histtype="step", linewidth=2 if name == "real" else 1.4, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("reply length (characters)")
    ax.set_ylabel("replies")
    ax.set_title("Reply length: real persona vs models (held-out sessions)")
    ax.legend()
    return save_figure(fig, path)


def plot_components(models: dict[str, dict], path: Path) -> Path:
    """Grouped bars: each fidelity term and the fidelity score, per model (1 = like the persona)."""
    names = [*FIDELITY_WEIGHTS, "fidelity"]
    fig, ax = new_figure(9, 4)
    width = 0.8 / len(models)
    for offset, (model, metrics) in enumerate(models.items()):
        values = [*(metrics["components"][n] for n in FIDELITY_WEIGHTS), metrics["fidelity"]]
        ax.bar(np.arange(len(names)) + offset * width, values, width, label=model)
    ax.set_xticks(np.arange(len(names)) + width * (len(models) - 1) / 2, names)
    ax.set_ylim(0, 1)
    ax.set_ylabel("score (1 = like the persona)")
    ax.set_title("Fidelity terms per model")
    ax.legend()
    return save_figure(fig, path)


def metric_rows(report: dict) -> list[list]:
    """The base/sft/kto table: one row per metric, with the real replies' value where there is one."""
    models, real = report["models"], report["real"]

    def row(label: str, get, real_value="") -> list:
        return [label, real_value, *(get(models[name]) for name in MODELS)]

    rows = [
        row("**fidelity score** (higher is better)", lambda m: m["fidelity"]),
        row("**detectability AUC** (0.5 = indistinguishable)", lambda m: m["detectability_auc"]),
        row("reply length KS distance", lambda m: m["length_ks"]),
        row("median reply length (chars)", lambda m: m["median_chars"], real["median_chars"]),
        row("mean reply length (words)", lambda m: m["mean_words"], real["mean_words"]),
    ]
    for rate in real["style_rates"]:
        rows.append(row(f"{rate} rate", lambda m, r=rate: m["style_rates"][r], real["style_rates"][rate]))
    rows += [
        row("chrF vs real reply", lambda m: m["chrf"], real["chrf_real_vs_real"]),
        row("distinct-1", lambda m: m["distinct_1"], real["distinct_1"]),
        row("distinct-2", lambda m: m["distinct_2"], real["distinct_2"]),
    ]
    for tell in real["assistant_voice"]:
        rows.append(
            row(
                f"assistant voice: {tell}",
                lambda m, t=tell: m["assistant_voice"][t],
                real["assistant_voice"][tell],
            )
        )
    rows.append(row("perplexity of the real replies", lambda m: m["perplexity"]))
    return rows


def report_markdown(report: dict, examples: list[EvalItem]) -> str:
    timings = report["timings"]
    lines = [
        "# Persona fidelity on the held-out sessions",
        "",
        f"{report['n_prompts']} persona replies from `{report['eval_split']}` (never trained on); base model "
        f"`{report['base_model']}`; every model sampled the same way "
        f"(temperature {report['config']['temperature']}, top-p {report['config']['top_p']}, "
        f"at most {report['config']['max_new_tokens']} new tokens).",
        "",
        md_table(["metric", "real", *MODELS], metric_rows(report)),
        "",
        "The *real* column is the persona's own value "
        "(for chrF: a real reply scored against another real reply).",
        "",
        "## Fidelity score",
        "",
        f"`{report['fidelity_formula']}`",
        "",
        md_table(
            ["term", "weight", *MODELS],
            [
                [term, weight, *(report["models"][m]["components"][term] for m in MODELS)]
                for term, weight in report["fidelity_weights"].items()
            ],
        ),
        "",
        "![reply lengths](lengths.png)",
        "",
        "![fidelity terms](metrics.png)",
        "",
        "## Side by side",
        "",
    ]
    for number, item in enumerate(examples, 1):
        context = " / ".join(f"{_speaker(m)}: {m.content}" for m in item.prompt[-3:] if m.role != "system")
        lines += [
            f"**{number}.** {context or '(the persona starts the conversation)'}",
            "",
            md_table(["who", "reply"], [["real", item.reply], *([n, item.replies[n]] for n in MODELS)]),
            "",
        ]
    lines.append(
        f"Generation {timings['generation_s']:.0f} s, perplexity {timings['perplexity_s']:.0f} s, "
        f"metrics {timings['metrics_s']:.0f} s, total {timings['total_s']:.0f} s."
    )
    return "\n".join(lines)


def _speaker(message: ChatMessage) -> str:
    return message.name or ("persona" if message.role == "assistant" else message.role)
