"""The `eval` stage: how much base, sft and kto write like the persona, with 95 % intervals and two controls.

    evaluate(Path("runs/1"), Path("data"), EvalConfig.load("cpu-demo"))  ->  runs/1/eval/

1. Every persona turn of the final held-out split (`DATA/sft/test.jsonl`: never used to pick a checkpoint or
   to stop training; older data folders fall back to `eval.jsonl`, with a warning in the report), with the
   conversation before it, is a prompt; the persona's real reply is the reference.
2. base, sft and kto each reply `samples_per_prompt` times to every prompt (`align.generation`; the same
   sampling and seed for all). Two controls join them: `real` (the real replies) and `shuffled_real` (real
   replies of other conversations: the right voice in the wrong context).
3. A fixed scorer (the base model, adapters off) measures each reply's context fit (`align.context_fit`);
   the real replies' perplexity is measured under each model (one model in memory, adapters switched).
4. `align.fidelity` turns it all into metrics and the fidelity score, with a paired bootstrap over prompts:
   95 % intervals for every number and for the differences kto - sft and sft - base, and a verdict.
5. `RUN/eval/`: report.json + report.md, plots, generations.jsonl (every reply) and features.json (the
   per-prompt numbers, so that the promotion gate can compare two runs on the same prompts).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar

import msgspec
import numpy as np
from pydantic import Field

from align.adapters import require_adapter, shared_base_model
from align.context_fit import ContextFit, ReplyScorer, context_fit, distractor_contexts, shuffled_partners
from align.fidelity import (
    CONTROLS,
    REAL,
    SHUFFLED,
    Bootstrap,
    SetFeatures,
    bootstrap,
    normalized,
    set_features,
    verdict,
)
from align.generation import Backend, GenerationJob, SamplingConfig, generate
from core.config import StageConfig
from core.errors import input_error
from core.io import atomic_dir, read_jsonl, write_jsonl
from core.report import write_report
from core.schema import ChatMessage, SftSample

MODELS = ("base", "sft", "kto")
PAIRS = (("kto", "sft"), ("sft", "base"))


@dataclass
class EvalConfig(StageConfig):
    """How the held-out evaluation runs (presets: align/configs/eval/*.yaml)."""

    presets_dir: ClassVar[Path] = Path(__file__).parent / "configs" / "eval"

    max_prompts: int = 0
    "Evaluate on at most this many held-out persona turns, spread evenly over the split (0 = all of them)."
    samples_per_prompt: Annotated[int, Field(ge=1)] = 3
    "Replies each model samples per prompt (independent samples): the intervals then include sampling noise."
    base_samples_per_prompt: Annotated[int | None, Field(ge=1)] = None
    """Replies the base model samples per prompt (empty: `samples_per_prompt`). The base model is the control
    that sft must beat by far (+0.16 to +0.19 on the demo); the CPU demo samples it once and spends the time
    on sft and kto, whose difference is the one inside the noise."""
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
    "Token limit of prompt + reply for perplexity and context fit (the context is cut from the left)."
    matching_candidates: Annotated[int, Field(ge=2)] = 5
    "Context fit: each reply is scored after its own conversation and after k-1 others (chance = 1/k)."
    bootstrap_rounds: Annotated[int, Field(ge=1)] = 1000
    "Resamples of the prompts for the 95 % intervals."
    examples: int = 10
    "Side-by-side examples in the report."
    seed: int = 0

    def sampling(self) -> SamplingConfig:
        return SamplingConfig(self.temperature, self.top_p, self.max_new_tokens, self.seed)

    def samples_of(self, model: str) -> int:
        """Replies `model` samples per prompt."""
        if model == "base" and self.base_samples_per_prompt is not None:
            return self.base_samples_per_prompt
        return self.samples_per_prompt


@dataclass
class EvalItem:
    """One held-out persona turn: the conversation before it, and what the persona really replied."""

    prompt: list[ChatMessage]
    reply: str
    sample_id: str = ""
    chat_id: str = ""
    conversation: str = ""
    "chat and session: replies of one conversation are never each other's distractors or shuffled partners."
    replies: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Evaluation:
    """Everything one evaluation measured: the reply sets, their per-prompt features, the bootstrap."""

    sets: dict[str, list[list[str]]]
    features: dict[str, SetFeatures]
    result: Bootstrap
    vocab_size: int
    timings: dict[str, float]


def evaluate(run_dir: Path, data_dir: Path, config: EvalConfig) -> Path:
    """Evaluate RUN's sft and kto adapters (and their base model) on DATA's held-out split -> RUN/eval."""
    run_dir, data_dir = Path(run_dir), Path(data_dir)
    adapters = {
        "sft": require_adapter(run_dir / "sft", "sft"),
        "kto": require_adapter(run_dir / "kto", "kto"),
    }
    base_model = shared_base_model(adapters)
    split, warning = held_out_split_path(data_dir)
    items = select_items(load_eval_items(split, config.max_context_messages), config.max_prompts)
    done = run_evaluation(base_model, adapters, items, split, config)

    from align.eval_report import build_report, plot_intervals, plot_lengths, report_markdown

    report = build_report(
        done.result, done.features, items, config, split, warning, base_model, adapters, done.timings
    )
    report["vocab_size"] = done.vocab_size
    report["pii"] = pii_probe(data_dir, done.sets, items)
    report["run"] = str(run_dir)
    out = run_dir / "eval"
    with atomic_dir(out) as tmp:
        rows = [_generation_row(item, done.sets, i) for i, item in enumerate(items)]
        write_jsonl(tmp / "generations.jsonl", rows)
        (tmp / "features.json").write_bytes(msgspec.json.encode(features_to_json(items, done.features)))
        plot_lengths(done.features, tmp / "lengths.png")
        plot_intervals(report, tmp / "fidelity.png")
        write_report(tmp, report, report_markdown(report, example_items(items, config.examples), done.sets))
    return out


def pii_probe(data_dir: Path, sets: dict[str, list[list[str]]], items: list[EvalItem]) -> dict:
    """The memorisation probe: original values of DATA's pii_mapping.json (and PII detector hits) in each
    model's replies. A trained model that writes an original value learned it: the run is never promoted.
    A name the reply's own prompt shows (the contact it is talking to) is not a leak."""
    from ingest.pii_check import MAPPING_FILE, check_texts, load_mapping, prompt_texts

    found = [p for p in (data_dir / MAPPING_FILE, data_dir.parent / MAPPING_FILE) if p.is_file()][:1]
    per_item = [prompt_texts(msgspec.to_builtins(item.prompt)) for item in items]
    replies = {name: [reply for samples in sets[name] for reply in samples] for name in MODELS}
    prompts = {
        name: [per_item[i] for i, samples in enumerate(sets[name]) for _ in samples] for name in MODELS
    }
    return {"mapping": str(found[0]) if found else None, **check_texts(replies, load_mapping(found), prompts)}


def run_evaluation(
    base_model: str, adapters: dict[str, Path], items: list[EvalItem], split: Path, config: EvalConfig
) -> Evaluation:
    """Generation -> the reply sets with the controls -> scoring -> features -> paired bootstrap, timed."""
    timings: dict[str, float] = {}
    started = clock = time.perf_counter()
    replies = sample_replies(base_model, adapters, items, config)
    timings["generation_s"] = time.perf_counter() - clock

    sets = reply_sets(items, replies, config)
    clock = time.perf_counter()
    fits, nll, tokens, vocab_size = score_replies(base_model, adapters, items, sets, config)
    timings["scoring_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    features = build_features(items, sets, fits, nll, tokens, training_replies(split.parent), config.seed)
    ceiling = features[SHUFFLED].chrf.mean(axis=1)
    result = bootstrap(features, ceiling, PAIRS, config.bootstrap_rounds, config.seed)
    timings["metrics_s"] = time.perf_counter() - clock
    timings["total_s"] = time.perf_counter() - started
    return Evaluation(sets, features, result, vocab_size, timings)


def summary_line(report_dir: Path) -> str:
    """One line for the terminal: each model's fidelity with its interval, the controls, the verdicts."""
    import json

    report = json.loads((Path(report_dir) / "report.json").read_text())
    intervals = report.get("fidelity_interval", {})

    def score(name: str) -> str:
        low, high = intervals.get(name, [report["fidelity"][name]] * 2)
        return f"{name} {report['fidelity'][name]:.3f} [{low:.3f}, {high:.3f}]"

    controls = [name for name in CONTROLS if name in report["fidelity"]]
    verdicts = "; ".join(f"{pair}: {word}" for pair, word in report.get("verdicts", {}).items())
    return (
        f"fidelity on {report['n_prompts']} held-out replies: "
        + ", ".join(score(name) for name in MODELS)
        + (" | controls " + ", ".join(score(name) for name in controls) if controls else "")
        + (f" | {verdicts}" if verdicts else "")
        + f" -> {report_dir}"
    )


# --- the held-out prompts -----------------------------------------------------------------------------------


def held_out_split_path(data_dir: Path) -> tuple[Path, str | None]:
    """DATA/sft/test.jsonl (DATA may also be the sft folder itself); an older data folder without a test
    split falls back to eval.jsonl, with a warning for the report (that split picked the checkpoints)."""
    for folder in (data_dir / "sft", data_dir):
        test, evaluation = folder / "test.jsonl", folder / "eval.jsonl"
        if test.is_file() and test.stat().st_size > 0:
            return test, None
        if evaluation.is_file():
            return evaluation, (
                f"{folder} has no test split (an older `chatlikeme ingest`): scored on eval.jsonl, the split "
                "that picked the SFT/KTO checkpoints, so these numbers are optimistic; re-run ingest"
            )
    raise input_error(data_dir / "sft" / "test.jsonl", "file not found; run `chatlikeme ingest` first")


def eval_split_path(data_dir: Path) -> Path:
    """The split `chatlikeme eval` scores (see `held_out_split_path`)."""
    return held_out_split_path(data_dir)[0]


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
            conversation = f"{sample.chat_id}/{sample.session}"
            items.append(
                EvalItem([*system, *context], message.content, sample.id, sample.chat_id, conversation)
            )
    if not items:
        raise input_error(path, "the held-out split is empty: no persona replies to evaluate on")
    if len(items) < 4:
        raise input_error(path, f"only {len(items)} held-out persona replies: too few to compare models")
    if len({item.conversation for item in items}) < 2:
        raise input_error(path, "all held-out replies come from one conversation: context fit needs two")
    return items


def select_items(items: list[EvalItem], max_prompts: int) -> list[EvalItem]:
    """At most `max_prompts` items, evenly spread over the split (so every chat and period is represented)."""
    if max_prompts <= 0 or len(items) <= max_prompts:
        return items
    keep = np.unique(np.linspace(0, len(items) - 1, max_prompts).round().astype(int))
    return [items[i] for i in keep]


def example_items(items: list[EvalItem], count: int) -> list[EvalItem]:
    return select_items(items, count)


def training_replies(sft_dir: Path) -> set[str]:
    """The normalized persona replies of the training split (a reply equal to one of them is a copy)."""
    path = sft_dir / "train.jsonl"
    if not path.is_file():
        return set()
    return {
        normalized(m.content)
        for sample in read_jsonl(path, SftSample)
        for m in sample.messages
        if m.role == "assistant"
    }


# --- replies: models and controls ---------------------------------------------------------------------------


def sample_replies(
    base_model: str, adapters: dict[str, Path], items: list[EvalItem], config: EvalConfig
) -> dict[str, list[list[str]]]:
    """`samples_per_prompt` replies of each model (base: `base_samples_per_prompt`) to each prompt:
    {model: replies[i][s]}.

    Each prompt is repeated in one job per model, so every backend samples the repeats independently.
    """
    samples = {name: config.samples_of(name) for name in MODELS}
    prompts = {name: [item.prompt for item in items for _ in range(n)] for name, n in samples.items()}
    jobs = [GenerationJob(name, adapters.get(name), prompts[name], config.sampling()) for name in MODELS]
    flat = generate(
        base_model, jobs, config.backend, api_url=config.api_url, batch_size=config.generation_batch_size
    )
    replies = {
        name: [flat[name][i * n : (i + 1) * n] for i in range(len(items))] for name, n in samples.items()
    }
    for i, item in enumerate(items):
        item.replies = {name: replies[name][i] for name in MODELS}
    return replies


def reply_sets(
    items: list[EvalItem], replies: dict[str, list[list[str]]], config: EvalConfig
) -> dict[str, list[list[str]]]:
    """The models' replies plus the two controls, all as replies[i][s]."""
    real = [item.reply for item in items]
    conversations = [item.conversation for item in items]
    rng = np.random.default_rng(config.seed)
    partners = [shuffled_partners(conversations, rng) for _ in range(config.samples_per_prompt)]
    shuffled = [[real[p[i]] for p in partners] for i in range(len(items))]
    return {**replies, REAL: [[reply] for reply in real], SHUFFLED: shuffled}


# --- scoring with the language models -----------------------------------------------------------------------


def score_replies(
    base_model: str,
    adapters: dict[str, Path],
    items: list[EvalItem],
    sets: dict[str, list[list[str]]],
    config: EvalConfig,
) -> tuple[dict[str, ContextFit], dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """Context fit of every reply set under the base model (adapters off), and the real replies'
    per-prompt negative log-likelihood under base and each adapter. One model in memory, adapters switched.

    The base model's likelihood of the real replies is the scorer's own-context score: computed once."""
    import torch
    from peft import PeftModel

    from align.models import choose_precision, load_model, load_tokenizer

    tokenizer = load_tokenizer(base_model)
    precision = choose_precision()
    model = load_model(base_model, precision).to(precision.device)
    model.config.use_cache = True  # load_model switches it off for training; the scorer reuses its cache
    (first, first_path), *rest = adapters.items()
    model = PeftModel.from_pretrained(model, str(first_path), adapter_name=first)
    for name, path in rest:
        model.load_adapter(str(path), adapter_name=name)
    model.eval()

    contexts = [item.prompt for item in items]
    distractors = distractor_contexts(
        [item.conversation for item in items], config.matching_candidates, config.seed
    )
    scorer = ReplyScorer(model, tokenizer, precision.device, config.max_length, config.perplexity_batch_size)
    with model.disable_adapter(), torch.no_grad():
        fits = context_fit(scorer, contexts, sets, distractors)

    real = [item.reply for item in items]
    tokens = np.array([len(scorer.reply_ids(reply)) for reply in real], dtype=float)
    nll = {"base": -fits[REAL].own[:, 0]}
    for name in adapters:
        model.set_adapter(name)
        with torch.no_grad():
            nll[name] = -scorer.log_probs(contexts, list(enumerate(real)))
    return fits, nll, dict.fromkeys(nll, tokens), len(tokenizer)


# --- features -----------------------------------------------------------------------------------------------


def build_features(
    items: list[EvalItem],
    sets: dict[str, list[list[str]]],
    fits: dict[str, ContextFit],
    nll: dict[str, np.ndarray],
    tokens: dict[str, np.ndarray],
    training: set[str],
    seed: int,
) -> dict[str, SetFeatures]:
    real = [item.reply for item in items]
    return {
        name: set_features(
            name,
            replies,
            real,
            fits[name],
            training,
            seed=seed,
            nll=nll.get(name),
            tokens=tokens.get(name),
        )
        for name, replies in sets.items()
    }


def features_to_json(items: list[EvalItem], features: dict[str, SetFeatures]) -> dict:
    """The per-prompt numbers of every set (what `compare_eval_runs` needs to pair two evaluations)."""
    arrays = (
        "chars",
        "style",
        "voice",
        "chrf",
        "copy",
        "relevance",
        "matched",
        "distinct_share",
        "bigram_count",
    )
    arrays += ("detect_generated", "detect_real", "nll", "tokens")
    return {
        "prompts": [{"sample_id": item.sample_id, "real": item.reply} for item in items],
        "sets": {
            name: {
                "replies": f.replies,
                "chance": f.chance,
                **{key: None if getattr(f, key) is None else getattr(f, key).tolist() for key in arrays},
            }
            for name, f in features.items()
        },
    }


def features_from_json(data: dict) -> dict[str, SetFeatures]:
    sets = {}
    for name, raw in data["sets"].items():
        arrays = {
            key: None if value is None else np.asarray(value, dtype=float)
            for key, value in raw.items()
            if key not in ("replies", "chance")
        }
        sets[name] = SetFeatures(name=name, replies=raw["replies"], chance=raw["chance"], **arrays)
    return sets


def compare_eval_runs(
    candidate_dir: Path, candidate_model: str, current_dir: Path, current_model: str, rounds: int, seed: int
) -> Bootstrap:
    """Paired bootstrap of the candidate model's metrics minus the current model's, from two evaluations on
    the same prompts (the gate's question: how much better is the new run, and how sure are we?)."""
    from core.errors import ChatLikeMeError

    loaded = []
    for eval_dir in (candidate_dir, current_dir):
        path = Path(eval_dir) / "features.json"
        if not path.is_file():
            raise input_error(path, "not found: evaluate this run again with the current `chatlikeme eval`")
        loaded.append(msgspec.json.decode(path.read_bytes()))
    if loaded[0]["prompts"] != loaded[1]["prompts"]:
        raise ChatLikeMeError(
            f"{candidate_dir} and {current_dir} were evaluated on different prompts: they cannot be paired"
        )
    candidate = features_from_json(loaded[0])
    current = features_from_json(loaded[1])
    sets = {REAL: candidate[REAL], "candidate": candidate[candidate_model], "current": current[current_model]}
    ceiling = candidate[SHUFFLED].chrf.mean(axis=1)
    return bootstrap(sets, ceiling, [("candidate", "current")], rounds, seed)


def _generation_row(item: EvalItem, sets: dict[str, list[list[str]]], index: int) -> dict:
    return {
        "sample_id": item.sample_id,
        "chat_id": item.chat_id,
        "prompt": msgspec.to_builtins(item.prompt),
        "real": item.reply,
        **{name: sets[name][index] for name in MODELS},
        SHUFFLED: sets[SHUFFLED][index],
    }


def verdicts(result: Bootstrap) -> dict[str, str]:
    """'kto vs sft': better / tie / worse, from the 95 % interval of the fidelity difference."""
    out = {}
    for a, b in PAIRS:
        out[f"{a} vs {b}"] = verdict(result.differences[f"{a}-{b}"]["fidelity"], "better", "worse")
    return out
