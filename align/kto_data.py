"""The KTO dataset: the persona's real replies (desirable) and synthetic negatives (undesirable).

    config = KTODataConfig.load("cpu-demo")
    build_kto_data("data/sft", "data/kto", config, sft_adapter="runs/1/sft")

1. Positives: every persona (assistant) turn of the SFT data, with everything before it as the prompt,
   deduplicated across overlapping windows and capped per session.
2. Negatives: `negatives_per_positive` per positive, divided among the strategies of `align.negatives` by
   their shares; strategies that cannot run (no SFT adapter, no votes) pass their share on to the others.
   Every model generation of every strategy runs in ONE `align.generation.generate` call.
3. Guarantees: no negative equals or nearly copies (normalised) the real reply of its own prompt (a real
   reply of *another* conversation may be one: `wrong_context` is exactly that);
   duplicates removed; the eval split is built from eval-split samples only; same seed, same dataset.
4. Weights λD, λU such that λD·nD / (λU·nU) falls inside `weight_ratio_range` (KTO paper, eq. 8), written
   to `report.json["weights"]`, where the KTO stage reads them.

Output: `{train,eval}.jsonl` (TRL's unpaired conversational format + metadata), `axolotl/{train,eval}.jsonl`
(system/prompt/completion/label), `report.{json,md}`, `lengths.png`, `config.yaml`.
"""

from __future__ import annotations

import dataclasses
import json
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import msgspec
import regex
from pydantic import Field
from tqdm.auto import tqdm

from align.context_fit import LazyScorer
from align.generation import GenerationJob, generate, vllm_available
from align.negatives import OtherTurn, Slot, Split, Strategy, StrategyContext, get_strategy
from align.negatives.base_sampling import BaseSamplingOptions
from align.negatives.contamination import ContaminationOptions
from align.negatives.contextual_templates import ContextualTemplatesOptions
from align.negatives.corruption import CorruptionOptions
from align.negatives.off_context import OffContextOptions
from align.negatives.off_persona import OffPersonaOptions
from align.negatives.on_policy import ONPOLICY_PROMPT, OnPolicyOptions
from align.negatives.paraphrase import ParaphraseOptions
from align.negatives.text import check_language, detect_language, normalize, template_bank, trim_to_sentence
from align.negatives.wrong_context import WrongContextOptions
from align.style import PersonaJudge
from core.config import StageConfig
from core.errors import ChatLikeMeError, input_error
from core.io import atomic_dir, read_jsonl, write_jsonl
from core.report import md_table, save_figure, write_report
from core.schema import ChatMessage, KtoRow, SftSample

SPLITS: tuple[Split, ...] = ("train", "eval")
REAL = "real"  # the `strategy` of the persona's own replies
ONPOLICY_FILE = "onpolicy.jsonl"  # ingest's training sessions kept out of SFT (`onpolicy_fraction`)
SHARE_TOLERANCE = 0.01

# The context-aware strategies carry most of the weight: the easy ones (base sampling, corruption,
# contamination, paraphrase, templates) write replies the SFT model already never writes, so they are
# capped to a minority share.
DEFAULT_SHARES = {
    "wrong_context": 0.25,
    "on_policy": 0.15,
    "off_context": 0.15,
    "off_persona": 0.05,
    "arena_votes": 0.1,
    "base_sampling": 0.1,
    "corruption": 0.05,
    "contamination": 0.05,
    "paraphrase": 0.05,
    "contextual_templates": 0.05,
}


@dataclass
class KTODataConfig(StageConfig):
    """How the KTO dataset is built (presets: `cpu-demo`, `gpu`)."""

    presets_dir: ClassVar[Path] = Path(__file__).parent / "configs" / "kto_data"

    seed: int = 0
    "Everything random (sampling of positives, slots, corruptions, generation) derives from it."
    strategies: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SHARES))
    "Share of the negatives each strategy writes (summing to 1). See `align.negatives` for the names."
    negatives_per_positive: Annotated[float, Field(gt=0)] = 1.0
    "Negatives to write per positive of each split (before filtering)."
    max_positives_per_session: Annotated[int, Field(ge=1)] = 6
    "Persona replies used per conversation session: keeps one long session from dominating the data."
    max_train_positives: int | None = None
    "Cap on the train split's positives (None: all)."
    max_eval_positives: int | None = None
    "Cap on the eval split's positives (None: all)."
    max_prompt_turns: Annotated[int, Field(ge=1)] | None = None
    "Keep only the last N turns before a reply in its prompt (the system prompt always stays; None: all)."
    weight_ratio_range: tuple[float, float] = (1.0, 4 / 3)
    "λD·nD / (λU·nU) must land in this range (KTO paper: [1, 4/3])."
    max_similarity: Annotated[float, Field(ge=0, le=1)] = 0.9
    "A negative this similar (0-1, normalised text) to the real reply it was made from is dropped."
    max_length_ratio: Annotated[float, Field(gt=0)] | None = 1.5
    "Synthetic negatives longer than this many times the real reply they stand beside (and than"
    " `min_cut_chars`) are cut at a sentence or word end. Chat replies are short and generic negatives long:"
    " uncut (or cut at 2x), KTO on the demo learned to shorten replies instead of the persona's style (None:"
    " keep them whole)."
    min_cut_chars: Annotated[int, Field(ge=1)] = 20
    "Negatives are never cut below this many characters."
    max_persona_probability: float | None = 0.5
    "Synthetic negatives the persona judge scores at least this persona-like are dropped (None: keep all)."
    language: str = "auto"
    "Language of the template banks: 'auto' (detected per chat) or a bank's code (it, en)."
    base_model: str | None = None
    "Base model for generation (None: the SFT adapter's base model, else the project default)."
    generation_backend: Literal["auto", "vllm", "transformers"] = "auto"
    "vLLM's offline engine ('auto' when installed) or transformers `generate`."
    generation_batch_size: Annotated[int, Field(ge=1)] = 16
    "Batch size of the transformers backend."
    votes_since: str | None = None
    "Only arena votes from this ISO date/time on (None: all)."
    base_sampling: BaseSamplingOptions = field(default_factory=BaseSamplingOptions)
    corruption: CorruptionOptions = field(default_factory=CorruptionOptions)
    contamination: ContaminationOptions = field(default_factory=ContaminationOptions)
    paraphrase: ParaphraseOptions = field(default_factory=ParaphraseOptions)
    contextual_templates: ContextualTemplatesOptions = field(default_factory=ContextualTemplatesOptions)
    off_persona: OffPersonaOptions = field(default_factory=OffPersonaOptions)
    wrong_context: WrongContextOptions = field(default_factory=WrongContextOptions)
    off_context: OffContextOptions = field(default_factory=OffContextOptions)
    on_policy: OnPolicyOptions = field(default_factory=OnPolicyOptions)

    def __post_init__(self) -> None:
        """Rules between fields and lookups (each field's own range is its `Field` constraint)."""
        for name in self.strategies:
            get_strategy(name)
        shares = self.strategies
        if any(share < 0 for share in shares.values()) or not any(shares.values()):
            raise ChatLikeMeError(f"strategy shares must be >= 0 with at least one > 0, got {shares}")
        total = sum(shares.values())
        if abs(total - 1) > SHARE_TOLERANCE:
            raise ChatLikeMeError(f"strategy shares must sum to 1, they sum to {total:.3g}: {shares}")
        low, high = self.weight_ratio_range
        if not 0 < low <= high:
            raise ChatLikeMeError(f"weight_ratio_range must satisfy 0 < low <= high, got [{low}, {high}]")
        check_language(self.language)


# --- weights ------------------------------------------------------------------------------------------------


def kto_weights(
    n_desirable: int, n_undesirable: int, ratio_range: tuple[float, float] = (1.0, 4 / 3)
) -> dict[str, float]:
    """λD, λU such that λD·nD / (λU·nU) lies in `ratio_range`, keeping one of them at 1.

    Balanced-enough data keeps both at 1. Otherwise the scarcer label is up-weighted to the middle of the
    range (robust to rounding): 1 positive per 10 negatives -> λD ≈ 11.7, λU = 1; nD = 9000, nU = 3000 ->
    λD = 1, λU ≈ 2.57 (the seed's worked examples, with the paper's range).
    """
    if n_desirable <= 0 or n_undesirable <= 0:
        raise ChatLikeMeError(
            f"KTO needs both desirable and undesirable rows (got {n_desirable} and {n_undesirable})"
        )
    low, high = ratio_range
    raw = n_desirable / n_undesirable
    target = (low + high) / 2
    desirable_weight, undesirable_weight = 1.0, 1.0
    if raw < low:
        desirable_weight = target / raw
    elif raw > high:
        undesirable_weight = raw / target
    ratio = desirable_weight * n_desirable / (undesirable_weight * n_undesirable)
    return {
        "desirable_weight": desirable_weight,
        "undesirable_weight": undesirable_weight,
        "ratio": ratio,
        "n_desirable": n_desirable,
        "n_undesirable": n_undesirable,
        "ratio_range": [low, high],
    }


# --- inputs -------------------------------------------------------------------------------------------------


def find_sft_dir(path: Path) -> Path:
    """The directory holding train.jsonl/eval.jsonl (DIR/sft, or DIR itself)."""
    for candidate in (path, path / "sft"):
        if (candidate / "train.jsonl").is_file():
            return candidate
    raise input_error(path, "not an SFT data directory (no train.jsonl; expected `ingest`'s DIR/sft)")


def find_adapter(path: Path) -> Path:
    for candidate in (path, path / "sft"):
        if (candidate / "adapter_config.json").is_file():
            return candidate
    raise input_error(path, "not a LoRA adapter directory (no adapter_config.json; expected RUN/sft)")


def read_split(sft_dir: Path, split: Split) -> list[SftSample]:
    path = sft_dir / f"{split}.jsonl"
    if split == "eval" and not path.exists():
        raise input_error(path, "missing: the SFT data has no eval split")
    return read_jsonl(path, SftSample)


def chat_languages(samples: list[SftSample], setting: str) -> tuple[str, dict[str, str]]:
    """The persona's language and each chat's (a chat with too little text takes the persona's)."""
    persona = [m.content for s in samples for m in s.messages if m.role == "assistant"]
    if setting != "auto":
        return setting, defaultdict(lambda: setting)
    persona_language = detect_language(persona)
    texts: dict[str, list[str]] = defaultdict(list)
    for sample in samples:
        texts[sample.chat_id].extend(m.content for m in sample.messages if m.role != "system")
    languages = {chat: detect_language(chat_texts, persona_language) for chat, chat_texts in texts.items()}
    return persona_language, defaultdict(lambda: persona_language, languages)


def trim_prompt(messages: list[ChatMessage], max_turns: int | None) -> tuple[ChatMessage, ...]:
    system = [m for m in messages if m.role == "system"]
    turns = [m for m in messages if m.role != "system"]
    return tuple(system + (turns[-max_turns:] if max_turns else turns))


def persona_slots(
    samples: list[SftSample], languages: dict[str, str], config: KTODataConfig, split: Split
) -> tuple[list[Slot], dict[str, int]]:
    """Every persona reply with its own context, deduplicated, capped per session and per split."""
    best: dict[tuple, tuple[int, Slot]] = {}
    stats: Counter[str] = Counter()
    for sample in samples:
        for i, message in enumerate(sample.messages):
            if message.role != "assistant" or not normalize(message.content):
                continue
            stats["persona_turns"] += 1
            before = sample.messages[:i]
            if not any(m.role == "user" for m in before):
                stats["skipped_no_preceding_message"] += 1
                continue
            slot = Slot(
                prompt=trim_prompt(before, config.max_prompt_turns),
                reply=message.content,
                sample_id=sample.id,
                chat_id=sample.chat_id,
                session=sample.session,
                language=languages[sample.chat_id],
            )
            # Overlapping windows repeat a reply: keep it once, with its longest context.
            key = (sample.chat_id, sample.session, normalize(slot.last_message), normalize(slot.reply))
            if key not in best or len(before) > best[key][0]:
                best[key] = (len(before), slot)
    stats["duplicate_turns"] = stats["persona_turns"] - stats["skipped_no_preceding_message"] - len(best)

    rng = random.Random(f"{config.seed}/{split}/positives")
    sessions: dict[tuple, list[Slot]] = defaultdict(list)
    for _, slot in best.values():
        sessions[(slot.chat_id, slot.session)].append(slot)
    slots = []
    for session_slots in sessions.values():
        keep = min(len(session_slots), config.max_positives_per_session)
        slots += rng.sample(session_slots, keep) if keep < len(session_slots) else session_slots
    stats["capped_per_session"] = len(best) - len(slots)
    cap = config.max_train_positives if split == "train" else config.max_eval_positives
    if cap is not None and len(slots) > cap:
        stats["capped_per_split"] = len(slots) - cap
        slots = rng.sample(slots, cap)
    stats["positives"] = len(slots)
    return slots, dict(stats)


def other_turns(samples: list[SftSample], languages: dict[str, str]) -> list[OtherTurn]:
    """Other speakers' messages, once each (the material of contamination and of the judge's other class)."""
    seen: set[str] = set()
    turns = []
    for sample in samples:
        for message in sample.messages:
            key = normalize(message.content)
            if message.role == "user" and key and key not in seen:
                seen.add(key)
                turns.append(OtherTurn(message.content, sample.id, sample.chat_id, languages[sample.chat_id]))
    return turns


# --- planning and generation --------------------------------------------------------------------------------


def effective_shares(config: KTODataConfig, split: Split, available: set[str]) -> dict[str, float]:
    """Shares of the strategies that can run for `split`, rescaled to sum to 1."""
    runnable = {}
    for name, share in config.strategies.items():
        strategy = get_strategy(name)
        can_run = strategy.requires is None or strategy.requires in available
        if share > 0 and split in strategy.splits and can_run:
            runnable[name] = share
    total = sum(runnable.values())
    if split == "train" and not total:
        needs = [f"{n} {requirement(get_strategy(n))}" for n, s in config.strategies.items() if s > 0]
        raise ChatLikeMeError(f"no negative strategy with a share can run here ({'; '.join(needs)})")
    return {name: share / total for name, share in runnable.items()}


def requirement(strategy: Strategy) -> str:
    if strategy.requires is None:
        return "needs nothing"
    if strategy.requires == "onpolicy":
        return f"needs --sft-adapter and {ONPOLICY_FILE} (ingest's onpolicy_fraction)"
    return f"needs --{strategy.requires.replace('_', '-')}"


def allocate(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Split `total` by `shares` into integers summing to `total` (largest remainders first)."""
    raw = {name: total * share for name, share in shares.items()}
    counts = {name: int(value) for name, value in raw.items()}
    by_remainder = sorted(raw, key=lambda name: (counts[name] - raw[name], name))
    for name in by_remainder[: total - sum(counts.values())]:
        counts[name] += 1
    return counts


def pick_slots(slots: list[Slot], count: int, rng: random.Random) -> list[Slot]:
    """`count` slots, cycling through all of them in random order before any repeats."""
    picked: list[Slot] = []
    while slots and len(picked) < count:
        batch = slots[:]
        rng.shuffle(batch)
        picked += batch[: count - len(picked)]
    return picked


@dataclass
class Task:
    """One strategy's work on one split."""

    split: Split
    strategy: Strategy
    slots: list[Slot]
    target: int
    rng: random.Random
    prompts: list[list[ChatMessage]] = field(default_factory=list)  # its generation prompts, if any
    generated: list[str] = field(default_factory=list)


def plan_tasks(
    config: KTODataConfig,
    positives: dict[Split, list[Slot]],
    available: set[str],
    onpolicy: dict[Split, list[Slot]] | None = None,
) -> list[Task]:
    tasks = []
    for split in SPLITS:
        shares = effective_shares(config, split, available)
        budget = round(config.negatives_per_positive * len(positives[split]))
        for name, target in allocate(budget, shares).items():
            rng = random.Random(f"{config.seed}/{split}/{name}")
            strategy = get_strategy(name)
            if strategy.requires == "onpolicy":  # every held-out prompt (up to max_prompts), sampled anew
                pool = (onpolicy or {}).get(split, [])
                cap = config.on_policy.max_prompts
                slots = rng.sample(pool, cap) if cap is not None and cap < len(pool) else list(pool)
            else:
                slots = pick_slots(positives[split], target, rng) if strategy.requires != "votes" else []
            tasks.append(Task(split, strategy, slots, target, rng))
    return tasks


def base_model_for(explicit: str | None, sft_adapter: Path | None) -> str:
    """An explicit model, else the SFT adapter's base model, else the project default (prepared locally)."""
    from align.models import resolve_base_model  # imports torch: only when something is generated

    reference = explicit
    if reference is None and sft_adapter is not None:
        adapter_config = json.loads((sft_adapter / "adapter_config.json").read_text())
        reference = adapter_config.get("base_model_name_or_path")
    return resolve_base_model(reference)


def generation_jobs(
    tasks: list[Task], config: KTODataConfig, sft_adapter: Path | None
) -> list[GenerationJob]:
    """The model replies the tasks need, as one job per strategy over both splits (in task order)."""
    jobs: dict[str, GenerationJob] = {}
    for task in tasks:
        if task.strategy.generation is None or not task.slots:
            continue
        spec = task.strategy.generation(task.slots, getattr(config, task.strategy.name, None))
        if spec is None:
            continue
        task.prompts = spec.prompts
        adapter = sft_adapter if spec.model == "sft" else None
        sampling = dataclasses.replace(spec.sampling, seed=config.seed)
        job = jobs.setdefault(task.strategy.name, GenerationJob(task.strategy.name, adapter, [], sampling))
        job.prompts += spec.prompts
    return list(jobs.values())


def run_generation(
    tasks: list[Task], config: KTODataConfig, base_model: str | None, sft_adapter: Path | None
) -> dict[str, Any]:
    """Every task's model replies in one `generate` call (one engine for the base model and the adapter)."""
    jobs = generation_jobs(tasks, config, sft_adapter)
    if not jobs:
        return {"backend": None, "replies": 0, "seconds": 0.0}
    model = base_model_for(base_model or config.base_model, sft_adapter)
    count = sum(len(job.prompts) for job in jobs)
    backend = config.generation_backend
    if backend == "auto":
        backend = "vllm" if vllm_available() else "transformers"
    log(f"generating {count} replies ({', '.join(job.name for job in jobs)}) with {model} [{backend}]")
    started = time.perf_counter()
    replies = generate(model, jobs, backend=backend, batch_size=config.generation_batch_size)
    offsets: Counter[str] = Counter()
    for task in tasks:
        if task.prompts:
            start = offsets[task.strategy.name]
            task.generated = replies[task.strategy.name][start : start + len(task.prompts)]
            offsets[task.strategy.name] += len(task.prompts)
    return {
        "backend": backend,
        "base_model": model,
        "replies": count,
        "seconds": round(time.perf_counter() - started, 1),
    }


# --- building and filtering ---------------------------------------------------------------------------------


def positive_row(slot: Slot) -> KtoRow:
    return KtoRow(
        prompt=list(slot.prompt),
        completion=[ChatMessage("assistant", slot.reply)],
        label=True,
        strategy=REAL,
        sample_id=slot.sample_id,
        chat_id=slot.chat_id,
    )


def source_reply(row: KtoRow, replies_by_place: dict[tuple[str, int], str]) -> str | None:
    """The real reply that a negative stands in for (None for rows not made from an SFT reply)."""
    return replies_by_place.get((row.sample_id, msgspec.json.encode(row.prompt)))


def cut_to_length(
    rows: list[KtoRow], sources: dict, ratio: float, min_chars: int, cut: Counter[str]
) -> list[KtoRow]:
    """Synthetic negatives cut to at most `ratio` times their real reply's length (`min_chars` at least).
    Votes and rows picked by a judge of their own stay whole (their length is part of the verdict)."""
    out = []
    for row in rows:
        real = source_reply(row, sources)
        text = row.completion[0].content
        limit = max(min_chars, round(ratio * len(real or "")))
        if row.label or real is None or _judged_already(row.strategy) or len(text) <= limit:
            out.append(row)
            continue
        shorter = trim_to_sentence(text, limit, mark_cut=False)
        out.append(msgspec.structs.replace(row, completion=[ChatMessage("assistant", shorter)]))
        cut[row.strategy] += 1
    return out


def keep_rows(
    rows: list[KtoRow], sources: dict, max_similarity: float
) -> tuple[list[KtoRow], dict[str, Counter[str]]]:
    """Rows without empties, negatives equal or near to their own prompt's real reply, duplicates (drops
    counted). A real reply of another conversation may be a negative: the persona's words, wrong place."""
    kept, seen = [], set()
    dropped: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        text = normalize(row.completion[0].content)
        key = (msgspec.json.encode(row.prompt), text)
        reason = None
        if not text:
            reason = "empty"
        elif not row.label and text == normalize(source_reply(row, sources) or ""):
            reason = "equals its real reply"
        elif not row.label and similarity(text, source_reply(row, sources)) >= max_similarity:
            reason = "near-copy of its real reply"
        if reason is None and key in seen:
            reason = "duplicate"
        if reason:
            dropped[row.strategy][reason] += 1
            continue
        seen.add(key)
        kept.append(row)
    return kept, dropped


def drop_persona_like(
    rows: list[KtoRow], judge: PersonaJudge, max_probability: float, dropped: dict[str, Counter[str]]
) -> list[KtoRow]:
    """Synthetic negatives the persona judge finds persona-like are dropped: a negative that reads like the
    persona teaches KTO to avoid the persona's own voice. People's judgements (votes) are kept as they are."""
    judged = [i for i, row in enumerate(rows) if not row.label and not _judged_already(row.strategy)]
    if not judged:
        return rows
    scores = judge.persona_probability([rows[i].completion[0].content for i in judged])
    persona_like = {i for i, score in zip(judged, scores, strict=True) if score >= max_probability}
    for i in persona_like:
        dropped[rows[i].strategy]["judged persona-like"] += 1
    return [row for i, row in enumerate(rows) if i not in persona_like]


def _judged_already(name: str) -> bool:
    strategy = get_strategy(name)
    return strategy.human or strategy.judged


def similarity(normalized: str, source: str | None) -> float:
    if source is None:
        return 0.0
    return SequenceMatcher(None, normalized, normalize(source), autojunk=False).ratio()


class LazyJudge:
    """The persona judge, fitted on first use (after generation) from train-split data only: the persona's
    replies against everyone else — other speakers, stock formal phrases, the base model's replies."""

    def __init__(self, data: SftData, tasks: list[Task], seed: int) -> None:
        self.data, self.tasks, self.seed = data, tasks, seed
        self.judge: PersonaJudge | None = None

    def __call__(self) -> PersonaJudge:
        if self.judge is None:
            train = [t for t in self.tasks if t.split == "train" and t.strategy.name == "base_sampling"]
            base_replies = [reply for task in train for reply in task.generated]
            stock = list(template_bank(self.data.persona_language).formal_phrases)
            persona = sorted({slot.reply for slot in self.data.positives["train"]})
            others = [turn.text for turn in self.data.other_turns["train"]] + stock + base_replies
            log(f"fitting the persona judge on {len(persona)} persona and {len(others)} other replies")
            self.judge = PersonaJudge(self.seed).fit(persona, others)
        return self.judge


# --- the stage ----------------------------------------------------------------------------------------------


@dataclass
class SftData:
    """The SFT data as the KTO dataset sees it: per split, the positives and the other speakers' turns."""

    samples: dict[Split, list[SftSample]]
    persona_language: str
    languages: dict[str, str]  # chat id -> the language of its template bank
    positives: dict[Split, list[Slot]]
    positive_stats: dict[Split, dict[str, int]]
    other_turns: dict[Split, list[OtherTurn]]
    persona_replies: dict[Split, list[str]]  # every assistant turn of the split, deduplicated, in order
    real_replies: set[str]  # every persona reply of both splits, normalised: no negative may equal one
    # the persona's replies of sft/onpolicy.jsonl (training sessions SFT never saw), train only
    onpolicy: dict[Split, list[Slot]] = field(default_factory=lambda: {"train": [], "eval": []})


def load_sft_data(sft_dir: Path, config: KTODataConfig) -> SftData:
    samples = {split: read_split(sft_dir, split) for split in SPLITS}
    persona_language, languages = chat_languages(samples["train"] + samples["eval"], config.language)
    positives, positive_stats = {}, {}
    for split in SPLITS:
        positives[split], positive_stats[split] = persona_slots(samples[split], languages, config, split)
    if not positives["train"]:
        raise input_error(
            sft_dir / "train.jsonl", "no persona reply (an assistant turn after a user turn) to learn from"
        )
    persona = {split: persona_replies(samples[split]) for split in SPLITS}
    real_replies = {normalize(reply) for split in SPLITS for reply in persona[split]}
    others = {split: other_turns(samples[split], languages) for split in SPLITS}
    onpolicy: dict[Split, list[Slot]] = {"train": [], "eval": []}
    if (sft_dir / ONPOLICY_FILE).is_file():
        held_out = read_jsonl(sft_dir / ONPOLICY_FILE, SftSample)
        _, held_languages = chat_languages(held_out, persona_language)
        languages = defaultdict(lambda: persona_language, {**held_languages, **languages})
        onpolicy["train"] = persona_slots(held_out, languages, config, "train")[0]
    return SftData(
        samples,
        persona_language,
        languages,
        positives,
        positive_stats,
        others,
        persona,
        real_replies,
        onpolicy,
    )


def onpolicy_report(sft_dir: Path, data: SftData, rows: list[KtoRow], available: set[str]) -> dict[str, Any]:
    """How many on-policy prompts there were, and how the judges labelled the samples on them."""
    if not (sft_dir / ONPOLICY_FILE).is_file():
        return {
            "prompts": 0,
            "note": f"no {ONPOLICY_FILE} (a data folder from before ingest's onpolicy_fraction): on_policy "
            "is inactive; off_context and off_persona sample the SFT model on training prompts as before",
        }
    ours = [row for row in rows if row.strategy == "on_policy"]
    return {
        "prompts": len(data.onpolicy["train"]),
        "active": "onpolicy" in available,
        "undesirable_samples": sum(not row.label for row in ours),
        "desirable_samples": sum(row.label for row in ours),
        "real_replies": sum(row.strategy == REAL and row.detail == ONPOLICY_PROMPT for row in rows),
    }


def persona_replies(samples: list[SftSample]) -> list[str]:
    """Every assistant turn of the samples, once each, in order."""
    turns = (m.content for sample in samples for m in sample.messages if m.role == "assistant")
    return list(dict.fromkeys(turns))


@dataclass
class SplitRows:
    rows: list[KtoRow]
    produced: Counter[str]  # rows each strategy returned
    dropped: dict[str, Counter[str]]  # strategy -> reason -> rows dropped
    cut: Counter[str]  # strategy -> negatives cut to the length of their real reply


@dataclass
class Inputs:
    """What every strategy may draw on, besides its own task."""

    data: SftData
    judge: LazyJudge
    config: KTODataConfig
    votes_db: Path | None
    scorer: LazyScorer

    def context(self, task: Task) -> StrategyContext:
        return StrategyContext(
            split=task.split,
            target=task.target,
            rng=task.rng,
            options=getattr(self.config, task.strategy.name, None),
            other_turns=self.data.other_turns[task.split],
            persona_replies=self.data.persona_replies[task.split],
            generated=task.generated,
            votes_db=self.votes_db,
            votes_since=self.config.votes_since,
            split_slots=self.data.positives[task.split],
            scorer=self.scorer,
        )


def build_split(split: Split, tasks: list[Task], inputs: Inputs) -> SplitRows:
    """The positives and every strategy's negatives of one split, filtered and shuffled."""
    data, config, judge = inputs.data, inputs.config, inputs.judge
    candidates = [positive_row(slot) for slot in data.positives[split]]
    produced: Counter[str] = Counter()
    for task in tqdm([t for t in tasks if t.split == split], desc=f"negatives ({split})", unit="strategy"):
        made = task.strategy.build(task.slots, inputs.context(task))
        produced[task.strategy.name] += sum(row.strategy != REAL for row in made)  # not on_policy's real rows
        candidates += made
    sources = slot_places(data.positives[split] + data.onpolicy[split])
    cut: Counter[str] = Counter()
    if config.max_length_ratio is not None:
        candidates = cut_to_length(candidates, sources, config.max_length_ratio, config.min_cut_chars, cut)
    rows, dropped = keep_rows(candidates, sources, config.max_similarity)
    if config.max_persona_probability is not None:
        rows = drop_persona_like(rows, judge(), config.max_persona_probability, dropped)
    data.positive_stats[split]["duplicate_rows"] = dropped.pop(REAL, Counter())["duplicate"]
    random.Random(f"{config.seed}/{split}/order").shuffle(rows)  # batches mix labels and strategies
    return SplitRows(rows, produced, dropped, cut)


def build_kto_data(
    sft_dir: str | Path,
    out_dir: str | Path,
    config: KTODataConfig | None = None,
    *,
    base_model: str | None = None,
    sft_adapter: str | Path | None = None,
    votes_db: str | Path | None = None,
) -> Path:
    """Build `out_dir/{train,eval}.jsonl` (+ axolotl export, report) from the SFT data in `sft_dir`."""
    started = time.perf_counter()
    config = (config or KTODataConfig()).validated("kto-data config")
    sft_dir = find_sft_dir(Path(sft_dir))
    sft_adapter = find_adapter(Path(sft_adapter)) if sft_adapter is not None else None
    votes_db = Path(votes_db) if votes_db is not None else None
    if votes_db is not None and not votes_db.is_file():
        raise input_error(votes_db, "votes database not found")
    if votes_db is not None and not config.strategies.get("arena_votes"):
        raise ChatLikeMeError("--votes given but the config gives the 'arena_votes' strategy no share")

    data = load_sft_data(sft_dir, config)
    counts = {split: len(data.positives[split]) for split in SPLITS}
    log(f"{counts['train']} train and {counts['eval']} eval positives ({data.persona_language})")
    available = {name for name, given in (("sft_adapter", sft_adapter), ("votes", votes_db)) if given}
    if sft_adapter is not None and data.onpolicy["train"]:
        available.add("onpolicy")
    tasks = plan_tasks(config, data.positives, available, data.onpolicy)
    scorer = LazyScorer(lambda: base_model_for(base_model or config.base_model, sft_adapter))
    inputs = Inputs(data, LazyJudge(data, tasks, config.seed), config, votes_db, scorer)
    for task in tasks:  # bad input (a votes file of the wrong kind) fails now, not after generation
        if task.strategy.check is not None:
            task.strategy.check(inputs.context(task))
    generation = run_generation(tasks, config, base_model, sft_adapter)
    splits = {split: build_split(split, tasks, inputs) for split in SPLITS}

    train_labels = Counter(row.label for row in splits["train"].rows)
    if not train_labels[False]:
        drops = {name: dict(reasons) for name, reasons in splits["train"].dropped.items()}
        raise ChatLikeMeError(
            f"no undesirable train row is left after the filters (dropped: {drops}); give the strategies "
            "more share or loosen max_persona_probability / max_similarity"
        )
    weights = kto_weights(train_labels[True], train_labels[False], config.weight_ratio_range)
    report = {
        "sft_dir": str(sft_dir),
        "sft_adapter": str(sft_adapter) if sft_adapter else None,
        "votes_db": str(votes_db) if votes_db else None,
        "seed": config.seed,
        "persona_language": data.persona_language,
        "chats_per_language": chats_per_language(data),
        "positives": data.positive_stats,
        "onpolicy": onpolicy_report(sft_dir, data, splits["train"].rows, available),
        "strategies": strategy_report(config, tasks, splits, available),
        "counts": {split: label_counts(splits[split].rows) for split in SPLITS},
        "weights": weights,
        "lengths": length_stats(splits["train"].rows + splits["eval"].rows),
        "length_cut": length_cut_rule(config),
        "generation": generation,
        "examples": examples(splits["train"].rows, slot_places(data.positives["train"])),
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_dataset(Path(out_dir), {split: splits[split].rows for split in SPLITS}, report, config)
    log(
        f"wrote {out_dir}: {sum(train_labels.values())} train rows ({train_labels[True]} desirable), "
        f"{len(splits['eval'].rows)} eval rows; "
        f"λD={weights['desirable_weight']:.3g} λU={weights['undesirable_weight']:.3g}"
    )
    return Path(out_dir)


def chats_per_language(data: SftData) -> dict[str, int]:
    chats = {sample.chat_id for split in SPLITS for sample in data.samples[split]}
    return dict(Counter(data.languages[chat] for chat in chats))


def write_dataset(
    out_dir: Path, rows: dict[Split, list[KtoRow]], report: dict[str, Any], config: KTODataConfig
) -> None:
    """Every output file, atomically: a reader sees the previous complete dataset or the new one."""
    with atomic_dir(out_dir) as tmp:
        for split in SPLITS:
            # Every field on every line (msgspec would omit defaults such as strategy "real"): loaders that
            # infer a schema from the first rows (datasets) see the same columns throughout.
            write_jsonl(tmp / f"{split}.jsonl", (msgspec.structs.asdict(row) for row in rows[split]))
            write_jsonl(tmp / "axolotl" / f"{split}.jsonl", (axolotl_row(row) for row in rows[split]))
        config.save_yaml(tmp / "config.yaml")
        plot_lengths(rows["train"] + rows["eval"], tmp / "lengths.png")
        write_report(tmp, report, report_markdown(report))


def log(message: str) -> None:
    tqdm.write(f"kto-data: {message}", file=sys.stderr)


# --- exports and report -------------------------------------------------------------------------------------

PERSONA_NAME = regex.compile(r"^You are (.+?)(?:,| in a group chat)")


def axolotl_row(row: KtoRow) -> dict[str, Any]:
    """Axolotl's custom KTO format: one system string, the conversation so far as one prompt string."""
    system = "\n".join(m.content for m in row.prompt if m.role == "system")
    persona = PERSONA_NAME.match(system)
    turns = [m for m in row.prompt if m.role != "system"]
    if len(turns) == 1:
        prompt = turns[0].content
    else:
        me = persona.group(1) if persona else "assistant"
        speakers = [m.name or (me if m.role == "assistant" else "user") for m in turns]
        prompt = "\n".join(f"{who}: {m.content}" for who, m in zip(speakers, turns, strict=True))
    return {"system": system, "prompt": prompt, "completion": row.completion[0].content, "label": row.label}


def label_counts(rows: list[KtoRow]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"desirable": 0, "undesirable": 0})
    for row in rows:
        counts[row.strategy]["desirable" if row.label else "undesirable"] += 1
    total = {"desirable": sum(c["desirable"] for c in counts.values())}
    total["undesirable"] = sum(c["undesirable"] for c in counts.values())
    return {**dict(sorted(counts.items())), "total": total}


def strategy_report(
    config: KTODataConfig, tasks: list[Task], splits: dict[Split, SplitRows], available: set[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, share in config.strategies.items():
        strategy = get_strategy(name)
        entry: dict[str, Any] = {"share": share}
        if strategy.requires and strategy.requires not in available:
            entry["inactive"] = f"{requirement(strategy)}; its share went to the others"
        for split in SPLITS:
            task = next((t for t in tasks if t.split == split and t.strategy.name == name), None)
            entry[split] = {
                "requested": task.target if task else 0,
                "produced": splits[split].produced[name],
                "cut_to_length": splits[split].cut[name],
                "dropped": dict(splits[split].dropped.get(name, {})),
            }
        out[name] = entry
    return out


def length_cut_rule(config: KTODataConfig) -> str:
    if config.max_length_ratio is None:
        return "never (max_length_ratio: null)"
    return f"{config.max_length_ratio:g}x their real reply and {config.min_cut_chars} characters"


def length_stats(rows: list[KtoRow]) -> dict[str, dict[str, float]]:
    stats = {}
    for label, name in ((True, "desirable"), (False, "undesirable")):
        lengths = sorted(len(row.completion[0].content) for row in rows if row.label == label)
        if lengths:
            stats[name] = {
                "mean_chars": round(statistics.fmean(lengths), 1),
                "median_chars": statistics.median(lengths),
                "p90_chars": lengths[int(0.9 * (len(lengths) - 1))],
            }
    return stats


def slot_places(slots: list[Slot]) -> dict[tuple[str, bytes], str]:
    return {(s.sample_id, msgspec.json.encode(list(s.prompt))): s.reply for s in slots}


def examples(rows: list[KtoRow], replies: dict, per_strategy: int = 3) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if len(out[row.strategy]) < per_strategy:
            out[row.strategy].append(
                {
                    "prompt": next((m.content for m in reversed(row.prompt) if m.role != "system"), ""),
                    "completion": row.completion[0].content,
                    "label": row.label,
                    "real_reply": source_reply(row, replies) if not row.label else None,
                    "detail": row.detail,
                }
            )
    return dict(sorted(out.items()))


def plot_lengths(rows: list[KtoRow], path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), dpi=100)
    longest = max((len(row.completion[0].content) for row in rows), default=1)
    bins = [longest * i / 30 for i in range(31)]  # the same bins for both labels
    for label, name in ((True, "desirable"), (False, "undesirable")):
        lengths = [len(row.completion[0].content) for row in rows if row.label == label]
        if lengths:
            left.hist(lengths, bins=bins, alpha=0.6, label=f"{name} ({len(lengths)})")
    left.set(xlabel="completion length (characters)", ylabel="rows", title="Lengths per label")
    left.legend()
    by_strategy: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_strategy[row.strategy].append(len(row.completion[0].content))
    names = sorted(by_strategy, key=lambda n: (n != REAL, n))
    right.boxplot([by_strategy[n] for n in names], showfliers=False)
    right.set_xticks(range(1, len(names) + 1), names, rotation=30, ha="right")
    right.set(ylabel="characters", title="Lengths per strategy")
    return save_figure(fig, path)


def onpolicy_line(onpolicy: dict[str, Any]) -> str:
    if "note" in onpolicy:
        return onpolicy["note"].capitalize() + "."
    if not onpolicy["active"]:
        return f"{onpolicy['prompts']} on-policy prompts, unused (no --sft-adapter or no on_policy share)."
    return (
        f"{onpolicy['prompts']} prompts SFT never trained on: their {onpolicy['real_replies']} real replies "
        f"desirable, {onpolicy['undesirable_samples']} SFT samples a judge rejected undesirable, "
        f"{onpolicy['desirable_samples']} samples no judge told from the real reply desirable."
    )


def report_markdown(report: dict[str, Any]) -> str:
    weights = report["weights"]
    lines = [
        "# KTO dataset",
        "",
        f"SFT data `{report['sft_dir']}`; persona language **{report['persona_language']}**; "
        f"seed {report['seed']}; built in {report['seconds']} s.",
        "",
        "## Weights",
        "",
        f"λD = **{weights['desirable_weight']:.4g}**, λU = **{weights['undesirable_weight']:.4g}** for "
        f"nD = {weights['n_desirable']}, nU = {weights['n_undesirable']}: λD·nD / (λU·nU) = "
        f"{weights['ratio']:.4g}, inside [{weights['ratio_range'][0]:.4g}, {weights['ratio_range'][1]:.4g}].",
        "",
        "## On-policy samples",
        "",
        onpolicy_line(report["onpolicy"]),
        "",
        "## Rows per strategy and label",
        "",
    ]
    for split in SPLITS:
        counts = report["counts"][split]
        table = [(name, c["desirable"], c["undesirable"]) for name, c in counts.items()]
        lines += [f"**{split}**", "", md_table(["strategy", "desirable", "undesirable"], table), ""]
    strategy_rows = []
    for name, entry in report["strategies"].items():
        for split in SPLITS:
            s = entry[split]
            dropped = ", ".join(f"{reason}: {n}" for reason, n in s["dropped"].items()) or "-"
            note = entry.get("inactive", "")
            numbers = (entry["share"], s["requested"], s["produced"], s["cut_to_length"])
            strategy_rows.append((name, split, *numbers, dropped, note))
    header = ["strategy", "split", "share", "requested", "produced", "cut to length", "dropped", "note"]
    lines += [
        "## Strategies",
        "",
        f"Negatives longer than {report['length_cut']} were cut at a sentence or word end.",
        "",
        md_table(header, strategy_rows),
        "",
        "## Lengths",
        "",
        md_table(
            ["label", "mean chars", "median", "p90"],
            [(k, v["mean_chars"], v["median_chars"], v["p90_chars"]) for k, v in report["lengths"].items()],
        ),
        "",
        "![lengths](lengths.png)",
        "",
        "## Examples (train)",
        "",
    ]
    for name, items in report["examples"].items():
        table = [(e["prompt"], e["real_reply"] or "", e["completion"], e["detail"]) for e in items]
        lines += [f"**{name}**", "", md_table(["prompt", "real reply", "completion", "how"], table), ""]
    generation = report["generation"]
    if generation["replies"]:
        lines += [
            "## Generation",
            "",
            f"{generation['replies']} replies from `{generation['base_model']}` with the "
            f"{generation['backend']} backend in {generation['seconds']} s.",
        ]
    return "\n".join(lines)


# --- KTO rounds: the previous round's policy, sampled and judged again --------------------------------------

POLICY_SAMPLED = ("on_policy", "off_context", "off_persona")  # rows sampled from the policy being trained


def relabel_on_policy(
    data_dir: Path, rows: list[KtoRow], policy_adapter: Path, base_model: str, round_number: int
) -> tuple[list[KtoRow], dict[str, Any]]:
    """The train rows of KTO round `round_number`: the rows the SFT model's samples made (`on_policy`,
    `off_context`, `off_persona`) are replaced by samples of `policy_adapter` (the previous round's policy)
    judged by the same judges; every other row stays. On-policy prompts (the real replies marked
    `on-policy prompt`) are sampled with `on_policy`; a dataset without them (older data folders) with
    `off_context` on every real reply's prompt."""
    config_path = Path(data_dir) / "config.yaml"
    config = KTODataConfig.load(config_path) if config_path.is_file() else KTODataConfig()
    reals = [row for row in rows if row.label and row.strategy == REAL]
    onpolicy_reals = [row for row in reals if row.detail == ONPOLICY_PROMPT]
    name = "on_policy" if onpolicy_reals else "off_context"
    old = [row for row in rows if row.strategy in POLICY_SAMPLED]
    kept = [row for row in rows if row.strategy not in POLICY_SAMPLED]
    language = config.language
    if language == "auto":
        language = detect_language([row.completion[0].content for row in reals])
    all_slots = [real_slot(row, i, language) for i, row in enumerate(reals)]
    if not all_slots:
        return rows, {"strategy": None, "note": "no real reply to sample the policy on: rows unchanged"}
    rng = random.Random(f"{config.seed}/round{round_number}/{name}")
    target = sum(not row.label for row in old) or max(
        1, round(config.strategies.get(name, 0.25) * len(reals))
    )
    if name == "on_policy":
        slots = [slot for slot, row in zip(all_slots, reals, strict=True) if row.detail == ONPOLICY_PROMPT]
    else:
        slots = pick_slots(all_slots, target, rng)
    strategy, options = get_strategy(name), getattr(config, name)
    spec = strategy.generation(slots, options)
    sampling = dataclasses.replace(spec.sampling, seed=config.seed + round_number)
    backend = config.generation_backend
    if backend == "auto":
        backend = "vllm" if vllm_available() else "transformers"
    log(f"round {round_number}: sampling {len(spec.prompts)} replies of {policy_adapter} [{backend}]")
    job = GenerationJob(name, Path(policy_adapter), spec.prompts, sampling)
    generated = generate(base_model, [job], backend=backend, batch_size=config.generation_batch_size)[name]
    context = StrategyContext(
        split="train",
        target=target,
        rng=rng,
        options=options,
        other_turns=[],
        persona_replies=list(dict.fromkeys(row.completion[0].content for row in reals)),
        generated=generated,
        split_slots=all_slots,
        scorer=LazyScorer(lambda: base_model),
    )
    made = [row for row in strategy.build(slots, context) if row.strategy == name]
    new, dropped = keep_rows(made, slot_places(all_slots), config.max_similarity)
    summary = {
        "strategy": name,
        "policy": str(policy_adapter),
        "prompts": len(slots),
        "samples": len(generated),
        "replaced_rows": len(old),
        "undesirable": sum(not row.label for row in new),
        "desirable_samples": sum(row.label for row in new),
        "dropped": {reason: n for counts in dropped.values() for reason, n in counts.items()},
    }
    return kept + new, summary


def real_slot(row: KtoRow, index: int, language: str) -> Slot:
    """A desirable row as a slot; its session read back from the sample id (`chat/session/window`)."""
    parts = row.sample_id.split("/")
    session = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else -1 - index
    return Slot(tuple(row.prompt), row.completion[0].content, row.sample_id, row.chat_id, session, language)
