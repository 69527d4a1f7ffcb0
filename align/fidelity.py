"""Persona-fidelity metrics with confidence intervals, for models and for two controls.

A *reply set* is what one "model" wrote: `replies[i][s]`, sample s of the reply to held-out prompt i. The
models (base, sft, kto) have several samples per prompt; two controls show the scale of every number:

- `real`: the persona's held-out replies themselves, scored as if they were a model (the ceiling);
- `shuffled_real`: the persona's real replies to *other* conversations (the perfect "right voice, wrong
  context" model: stock replies sent anywhere).

`set_features` turns a reply set into per-prompt numbers; `set_metrics` turns the features of any subset of
prompts into the metrics and the fidelity score. So a paired bootstrap over prompts (`bootstrap`) gives a 95 %
interval for every metric of every set and for the difference of any two sets on the same prompts.

    fidelity = 0.25*detect + 0.15*relevance + 0.10*matching + 0.05*copy
             + 0.10*length + 0.10*style + 0.10*voice + 0.10*words + 0.05*diversity

    detect     = min(1, 2 * (1 - AUC))           judge telling real from generated replies, cross-validated
                                                 with folds grouped by prompt: AUC 0.5 -> 1, AUC 1 -> 0
    relevance  = clip(relevance / real relevance) context fit (`align.context_fit`): log p(reply | own
                                                 conversation) - mean log p(reply | other conversations),
                                                 as a share of the real replies' own context fit
    matching   = clip((acc - chance) / (real acc - chance))  how often the reply's own conversation beats k-1
                                                 others under the scorer, relative to the real replies
    copy       = 1 - max(0, copy rate - real copy rate)  copies: replies equal (case, punctuation and spacing
                                                 aside) to a training reply or to a reply to another prompt
    length     = 1 - KS(chars)                   Kolmogorov-Smirnov distance of the reply-length distributions
    style      = 1 - mean |rate - real rate|     over the emoji, punctuation, capitalisation, question rates
    voice      = 1 - max(0, assistant-voice rate - real rate)
    words      = min(1, chrF / chrF(shuffled))   sentence chrF against the real reply, relative to a real
                                                 reply of another conversation (same writer, other context)
    diversity  = 1 - |distinct-2 - real distinct-2|   (distinct-2 per sample, averaged over samples)

Context fit (relevance + matching) is what separates a model that answers the conversation from one that
writes the persona's words anywhere: the shuffled-real control scores ~1 on every other term and ~0 there.
The perplexity of the real replies under each model is reported beside the score, not in it: a control has
no perplexity. The weights are fixed on purpose: the promotion gate compares scores between runs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import regex
from sacrebleu.metrics import CHRF
from scipy.stats import rankdata

from align.context_fit import ContextFit
from align.style import EMOJI, assistant_voice_rates, out_of_fold_probabilities

FIDELITY_WEIGHTS = {
    "detect": 0.25,
    "relevance": 0.15,
    "matching": 0.10,
    "copy": 0.05,
    "length": 0.10,
    "style": 0.10,
    "voice": 0.10,
    "words": 0.10,
    "diversity": 0.05,
}
FIDELITY_FORMULA = (
    "fidelity = 0.25*detect + 0.15*relevance + 0.10*matching + 0.05*copy + 0.10*length + 0.10*style "
    "+ 0.10*voice + 0.10*words + 0.05*diversity; detect = min(1, 2*(1-AUC)) (folds grouped by prompt); "
    "relevance = clip(mean PMI / real mean PMI), PMI = log p(reply|own context) - mean log p(reply|other "
    "contexts) under the base model; matching = clip((acc - chance)/(real acc - chance)); "
    "copy = 1 - max(0, copy rate - real copy rate); length = 1 - KS(reply chars); "
    "style = 1 - mean|rate - real rate| (emoji, punctuation, capitalisation, question); "
    "voice = 1 - max(0, assistant-voice rate - real rate); words = min(1, chrF / chrF(shuffled real)); "
    "diversity = 1 - |distinct-2 - real distinct-2|"
)
STYLE_RATES = ("emoji", "punctuation", "capitalisation", "question")
REAL, SHUFFLED = "real", "shuffled_real"
CONTROLS = (REAL, SHUFFLED)

_TERMINAL_PUNCTUATION = regex.compile(r"[.!?…]\W*$")
_NOT_WORD = regex.compile(r"[^\p{L}\p{N}\p{Extended_Pictographic}]+")
_CHRF = CHRF()


# --- per-reply measurements ---------------------------------------------------------------------------------


def style_flags(text: str) -> list[bool]:
    """Emoji, ends on punctuation, starts with a capital, asks a question (the `STYLE_RATES`)."""
    text = text.strip()
    return [
        bool(EMOJI.search(text)),
        bool(_TERMINAL_PUNCTUATION.search(text)),
        bool(text) and text[0].isupper(),
        "?" in text,
    ]


def style_rates(replies: Sequence[str]) -> dict[str, float]:
    """Share of replies with an emoji, ending on punctuation, starting with a capital letter, asking."""
    flags = np.array([style_flags(t) for t in replies], dtype=float).reshape(-1, len(STYLE_RATES))
    return {name: float(flags[:, k].mean()) if len(flags) else 0.0 for k, name in enumerate(STYLE_RATES)}


def normalized(text: str) -> str:
    """A reply with case, punctuation and spacing removed: two replies equal after this are copies."""
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


def sentence_chrf(hypothesis: str, reference: str) -> float:
    return float(_CHRF.sentence_score(hypothesis, [reference]).score)


# --- a reply set's per-prompt features ----------------------------------------------------------------------


@dataclass
class SetFeatures:
    """Per-prompt numbers of one reply set; arrays are (prompts, samples) unless said otherwise."""

    name: str
    replies: list[list[str]]
    chars: np.ndarray
    style: np.ndarray
    "(prompts, samples, 4): the `STYLE_RATES` flags."
    voice: np.ndarray
    chrf: np.ndarray
    copy: np.ndarray
    relevance: np.ndarray
    matched: np.ndarray
    chance: float
    detect_generated: np.ndarray
    "Out-of-fold P(real) of each reply of this set, from a judge telling the real replies from this set."
    detect_real: np.ndarray
    "(prompts,): out-of-fold P(real) of the real replies, from the same judge."
    distinct_share: np.ndarray
    "Each reply's share of its sample's distinct word bigrams (`distinct_shares`)."
    bigram_count: np.ndarray
    nll: np.ndarray | None = None
    "(prompts,): negative log-likelihood of the real reply under this model (None for controls)."
    tokens: np.ndarray | None = None

    @property
    def samples(self) -> int:
        return self.chars.shape[1]


def distinct_shares(replies: list[list[str]], n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Each reply's share of distinct-n, so that distinct-n of any subset of prompts is a ratio of sums.

    Within one sample s (a column of `replies`), every occurrence of an n-gram counts 1 / (its occurrences
    in the column): the shares of all replies add up to the column's number of distinct n-grams. Returns
    (shares, n-gram counts), both (prompts, samples); shares[idx].sum() / counts[idx].sum() is distinct-n.
    """
    prompts, samples = len(replies), len(replies[0])
    shares, counts = np.zeros((prompts, samples)), np.zeros((prompts, samples))
    for s in range(samples):
        grams = [_ngrams(replies[i][s], n) for i in range(prompts)]
        occurrences = Counter(gram for reply in grams for gram in reply)
        for i, reply in enumerate(grams):
            shares[i, s] = sum(1 / occurrences[gram] for gram in reply)
            counts[i, s] = len(reply)
    return shares, counts


def _ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    words = text.lower().split()
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def set_features(
    name: str,
    replies: list[list[str]],
    real: list[str],
    fit: ContextFit,
    training_replies: set[str],
    *,
    seed: int = 0,
    nll: np.ndarray | None = None,
    tokens: np.ndarray | None = None,
) -> SetFeatures:
    """Every per-prompt number of `replies` against the aligned `real` replies (`training_replies`:
    the normalized training replies, for the copy rate)."""
    n, samples = len(replies), len(replies[0])
    if n != len(real) or any(len(row) != samples for row in replies):
        raise ValueError(f"{name}: expected {len(real)} prompts with the same number of samples each")
    flat = [reply for row in replies for reply in row]
    groups = [*range(n), *np.repeat(np.arange(n), samples)]
    scores = out_of_fold_probabilities(real, flat, seed=seed, groups=groups)
    voice = [assistant_voice_rates([reply])["any"] for reply in flat]
    shares, bigrams = distinct_shares(replies)
    return SetFeatures(
        name=name,
        replies=replies,
        chars=np.array([len(r.strip()) for r in flat], dtype=float).reshape(n, samples),
        style=np.array([style_flags(r) for r in flat], dtype=float).reshape(n, samples, len(STYLE_RATES)),
        voice=np.array(voice).reshape(n, samples),
        chrf=np.array([sentence_chrf(r, real[i // samples]) for i, r in enumerate(flat)]).reshape(n, samples),
        copy=copy_flags(replies, training_replies),
        relevance=fit.relevance,
        matched=fit.matched,
        chance=fit.chance,
        detect_generated=scores[n:].reshape(n, samples),
        detect_real=scores[:n],
        distinct_share=shares,
        bigram_count=bigrams,
        nll=nll,
        tokens=tokens,
    )


def copy_flags(replies: list[list[str]], training_replies: set[str]) -> np.ndarray:
    """1 where reply s to prompt i is a copy of a training reply or of reply s to another prompt."""
    n, samples = len(replies), len(replies[0])
    flags = np.zeros((n, samples))
    for s in range(samples):
        column = [normalized(replies[i][s]) for i in range(n)]
        counts: dict[str, int] = {}
        for text in column:
            counts[text] = counts.get(text, 0) + 1
        for i, text in enumerate(column):
            flags[i, s] = bool(text) and (text in training_replies or counts[text] > 1)
    return flags


# --- metrics of a set on a subset of prompts ----------------------------------------------------------------


def set_metrics(features: SetFeatures, real: SetFeatures, ceiling: np.ndarray, idx: np.ndarray) -> dict:
    """Every metric, the fidelity terms and the fidelity score of `features` on prompts `idx` (which may
    repeat: a bootstrap resample). `real` is the real-replies control; `ceiling` the per-prompt chrF of a
    real reply of another conversation against the real reply."""
    f, r = features, real
    generated_chars = f.chars[idx].ravel()
    rates = f.style[idx].reshape(-1, len(STYLE_RATES)).mean(0)
    real_rates = r.style[idx, 0].mean(0)
    metrics = {
        "detectability_auc": auc(f.detect_real[idx], f.detect_generated[idx].ravel()),
        "length_ks": ks_distance(r.chars[idx, 0], generated_chars),
        "median_chars": float(np.median(generated_chars)),
        **{f"{name}_rate": float(rate) for name, rate in zip(STYLE_RATES, rates, strict=True)},
        "assistant_voice_rate": float(f.voice[idx].mean()),
        "chrf": float(f.chrf[idx].mean()),
        "distinct_2": distinct(f, idx),
        "relevance": float(f.relevance[idx].mean()),
        "matching": float(f.matched[idx].mean()),
        "copy_rate": float(f.copy[idx].mean()),
    }
    if f.nll is not None and f.tokens is not None:
        metrics["perplexity"] = math.exp(f.nll[idx].sum() / max(f.tokens[idx].sum(), 1))
    real_relevance = float(r.relevance[idx].mean())
    real_matching = float(r.matched[idx].mean())
    terms = {
        "detect": _unit(2 * (1 - metrics["detectability_auc"])),
        "relevance": _unit(metrics["relevance"] / real_relevance) if real_relevance > 0 else 0.0,
        "matching": (
            _unit((metrics["matching"] - f.chance) / (real_matching - r.chance))
            if real_matching > r.chance
            else 0.0
        ),
        "copy": _unit(1 - max(0.0, metrics["copy_rate"] - float(r.copy[idx].mean()))),
        "length": _unit(1 - metrics["length_ks"]),
        "style": _unit(1 - float(np.abs(rates - real_rates).mean())),
        "voice": _unit(1 - max(0.0, metrics["assistant_voice_rate"] - float(r.voice[idx].mean()))),
        "words": _unit(metrics["chrf"] / ceiling[idx].mean()) if ceiling[idx].mean() > 0 else 0.0,
        "diversity": _unit(1 - abs(metrics["distinct_2"] - distinct(r, idx))),
    }
    metrics["fidelity"] = float(sum(FIDELITY_WEIGHTS[name] * terms[name] for name in FIDELITY_WEIGHTS))
    metrics.update({f"term_{name}": value for name, value in terms.items()})
    return metrics


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance: the largest gap between the two empirical distribution functions."""
    a, b = np.sort(a), np.sort(b)
    values = np.concatenate([a, b])
    below_a = np.searchsorted(a, values, side="right") / len(a)
    below_b = np.searchsorted(b, values, side="right") / len(b)
    return float(np.abs(below_a - below_b).max())


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """ROC-AUC of scores (Mann-Whitney U): P(a positive scores above a negative), ties counting half."""
    ranks = rankdata(np.concatenate([positive, negative]))
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def distinct(features: SetFeatures, idx: np.ndarray) -> float:
    """Distinct-2 of the replies to prompts `idx`, per sample, averaged over the samples."""
    counts = features.bigram_count[idx].sum(0)
    shares = features.distinct_share[idx].sum(0)
    return float(np.mean(np.divide(shares, counts, out=np.zeros_like(shares), where=counts > 0)))


def _unit(value: float) -> float:
    return float(min(1.0, max(0.0, value)))


# --- the paired bootstrap -----------------------------------------------------------------------------------


@dataclass
class Interval:
    value: float
    low: float
    high: float

    def to_list(self) -> list[float]:
        return [self.value, self.low, self.high]


def verdict(difference: Interval, better: str, worse: str) -> str:
    """ "better" when the whole 95 % interval is above 0, "worse" when below, else "tie"."""
    if difference.low > 0:
        return better
    if difference.high < 0:
        return worse
    return "tie"


@dataclass
class Bootstrap:
    """Point values and 95 % intervals of every metric of every set, and of set differences."""

    metrics: dict[str, dict[str, Interval]]
    differences: dict[str, dict[str, Interval]]
    rounds: int


def bootstrap(
    sets: dict[str, SetFeatures],
    ceiling: np.ndarray,
    pairs: Sequence[tuple[str, str]],
    rounds: int = 1000,
    seed: int = 0,
    reference: str = REAL,
) -> Bootstrap:
    """Paired bootstrap over prompts: every round resamples the prompts once, for every set at the same time,
    so that a difference's interval reflects only the sets' disagreement, not the choice of prompts."""
    real = sets[reference]
    n = len(real.replies)
    rng = np.random.default_rng(seed)
    point = {name: set_metrics(f, real, ceiling, np.arange(n)) for name, f in sets.items()}
    draws: dict[str, dict[str, list[float]]] = {name: {k: [] for k in point[name]} for name in sets}
    for _ in range(rounds):
        idx = rng.integers(0, n, n)
        for name, f in sets.items():
            for key, value in set_metrics(f, real, ceiling, idx).items():
                draws[name][key].append(value)

    def interval(value: float, values: Sequence[float]) -> Interval:
        low, high = np.percentile(values, [2.5, 97.5]) if len(values) else (value, value)
        return Interval(float(value), float(low), float(high))

    metrics = {
        name: {key: interval(point[name][key], draws[name][key]) for key in point[name]} for name in sets
    }
    differences = {}
    for a, b in pairs:
        shared = [key for key in point[a] if key in point[b]]
        differences[f"{a}-{b}"] = {
            key: interval(point[a][key] - point[b][key], np.subtract(draws[a][key], draws[b][key]).tolist())
            for key in shared
        }
    return Bootstrap(metrics, differences, rounds)
