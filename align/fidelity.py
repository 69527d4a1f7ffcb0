"""Persona-fidelity metrics: how close a set of generated replies is to the persona's real replies.

Every metric compares two aligned lists, `real[i]` (what the persona wrote) and `generated[i]` (what a model
wrote for the same prompt), and is a plain number. `fidelity_score` folds them into one number in [0, 1]:

    fidelity = 0.35 * detect + 0.10 * length + 0.15 * style + 0.10 * voice
             + 0.10 * words + 0.05 * diversity + 0.15 * likelihood

    detect     = min(1, 2 * (1 - AUC))           judge AUC 0.5 (indistinguishable) -> 1, AUC 1 -> 0
    length     = 1 - KS(chars)                   Kolmogorov-Smirnov distance of the reply-length distributions
    style      = 1 - mean |rate - real rate|     over the emoji, punctuation, capitalisation, question rates
    voice      = 1 - max(0, assistant-voice rate - real rate)
    words      = min(1, chrF / chrF(real, real)) chrF against the real reply, relative to the chrF a real
                                                 reply gets against another real reply (the persona's own
                                                 words in another context: what "same vocabulary" looks like)
    diversity  = 1 - |distinct-2 - real distinct-2|
    likelihood = 1 - ln(perplexity) / ln(vocab)  share of a uniform guesser's cross-entropy on the real
                                                 replies that the model removes (0 = knows nothing)

The weights are fixed on purpose: the retraining gate compares scores between runs, so they must mean the same
thing in every run. Detectability weighs most: it is the one metric that looks at everything at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import regex
from sacrebleu.metrics import CHRF
from scipy.stats import ks_2samp

from align.style import EMOJI, assistant_voice_rates, detectability_auc, distinct_n

FIDELITY_WEIGHTS = {
    "detect": 0.35,
    "length": 0.10,
    "style": 0.15,
    "voice": 0.10,
    "words": 0.10,
    "diversity": 0.05,
    "likelihood": 0.15,
}
FIDELITY_FORMULA = (
    "fidelity = 0.35*detect + 0.10*length + 0.15*style + 0.10*voice + 0.10*words + 0.05*diversity "
    "+ 0.15*likelihood; detect = min(1, 2*(1-AUC)); length = 1 - KS(reply chars); "
    "style = 1 - mean|rate - real rate| (emoji, punctuation, capitalisation, question); "
    "voice = 1 - max(0, assistant-voice rate - real rate); words = min(1, chrF / chrF(real vs other real)); "
    "diversity = 1 - |distinct-2 - real distinct-2|; likelihood = 1 - ln(perplexity)/ln(vocab size)"
)

_TERMINAL_PUNCTUATION = regex.compile(r"[.!?…]\W*$")


def style_rates(replies: Sequence[str]) -> dict[str, float]:
    """Share of replies with an emoji, ending on punctuation, starting with a capital letter, asking."""
    stripped = [text.strip() for text in replies]
    if not stripped:
        return {"emoji": 0.0, "punctuation": 0.0, "capitalisation": 0.0, "question": 0.0}
    return {
        "emoji": float(np.mean([bool(EMOJI.search(t)) for t in stripped])),
        "punctuation": float(np.mean([bool(_TERMINAL_PUNCTUATION.search(t)) for t in stripped])),
        "capitalisation": float(np.mean([bool(t) and t[0].isupper() for t in stripped])),
        "question": float(np.mean(["?" in t for t in stripped])),
    }


def chrf(generated: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF (0-100) of generated replies against the aligned references."""
    return float(CHRF().corpus_score(list(generated), [list(references)]).score)


def real_reference(real: Sequence[str]) -> dict[str, float | dict[str, float]]:
    """The persona's own numbers: the targets the generated replies are compared with."""
    # Each real reply is scored against one from half the set away: different context, same writer.
    shifted = [*real[len(real) // 2 :], *real[: len(real) // 2]]
    return {
        "style_rates": style_rates(real),
        "assistant_voice": assistant_voice_rates(real),
        "distinct_1": distinct_n(real, 1),
        "distinct_2": distinct_n(real, 2),
        "chrf_real_vs_real": chrf(shifted, real),
        "mean_words": float(np.mean([len(t.split()) for t in real])) if real else 0.0,
        "median_chars": float(np.median([len(t.strip()) for t in real])) if real else 0.0,
    }


def compare_replies(real: Sequence[str], generated: Sequence[str], seed: int = 0) -> dict:
    """Every text metric of `generated` against the aligned `real` replies (see the module docstring)."""
    if len(real) != len(generated):
        raise ValueError(f"{len(real)} real replies but {len(generated)} generated ones")
    reference = real_reference(real)
    rates = style_rates(generated)
    lengths = [len(t.strip()) for t in generated]
    return {
        "detectability_auc": detectability_auc(real, generated, seed=seed),
        "length_ks": float(ks_2samp([len(t.strip()) for t in real], lengths).statistic),
        "mean_words": float(np.mean([len(t.split()) for t in generated])),
        "median_chars": float(np.median(lengths)),
        "style_rates": rates,
        "style_deltas": {name: rates[name] - reference["style_rates"][name] for name in rates},
        "chrf": chrf(generated, real),
        "distinct_1": distinct_n(generated, 1),
        "distinct_2": distinct_n(generated, 2),
        "assistant_voice": assistant_voice_rates(generated),
        "empty_rate": float(np.mean([not t.strip() for t in generated])),
    }


def fidelity_components(
    metrics: dict, reference: dict, perplexity: float, vocab_size: int
) -> dict[str, float]:
    """The seven terms of the fidelity score, each in [0, 1] (1 = like the persona)."""
    style_gap = np.mean([abs(delta) for delta in metrics["style_deltas"].values()])
    voice_excess = metrics["assistant_voice"]["any"] - reference["assistant_voice"]["any"]
    ceiling = reference["chrf_real_vs_real"]
    return {
        "detect": _unit(2 * (1 - metrics["detectability_auc"])),
        "length": _unit(1 - metrics["length_ks"]),
        "style": _unit(1 - style_gap),
        "voice": _unit(1 - max(0.0, voice_excess)),
        "words": _unit(metrics["chrf"] / ceiling) if ceiling > 0 else 0.0,
        "diversity": _unit(1 - abs(metrics["distinct_2"] - reference["distinct_2"])),
        "likelihood": _unit(1 - math.log(max(perplexity, 1.0)) / math.log(vocab_size)),
    }


def fidelity_score(components: dict[str, float]) -> float:
    """The weighted sum of `fidelity_components` (the formula in the module docstring), in [0, 1]."""
    return float(sum(FIDELITY_WEIGHTS[name] * components[name] for name in FIDELITY_WEIGHTS))


def _unit(value: float) -> float:
    return float(min(1.0, max(0.0, value)))
