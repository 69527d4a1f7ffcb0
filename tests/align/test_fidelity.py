import random

import pytest

from align.fidelity import (
    FIDELITY_WEIGHTS,
    compare_replies,
    fidelity_components,
    fidelity_score,
    real_reference,
    style_rates,
)
from align.style import assistant_voice, assistant_voice_rates, distinct_n
from tests.align.test_style import SLANG

FORMAL = [
    "Thank you for your message. I will carefully consider it.",
    "Certainly! Here are a few options to consider.",
    "I appreciate your patience. Please let me know if you need anything else.",
    "As an AI language model, I do not have personal plans.",
    "Buongiorno. Sarei felice di aiutarti con qualsiasi cosa.",
    "La ringrazio per il suo messaggio. Valuterò attentamente.",
    "Capisco perfettamente la tua posizione. Come posso aiutarti?",
]


def slangy(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(SLANG) + rng.choice(["", " ahah", " 😂", "!!", " cmq"]) for _ in range(count)]


def formal(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(FORMAL) for _ in range(count)]


def score(real: list[str], generated: list[str], perplexity: float = 50.0) -> float:
    metrics = compare_replies(real, generated)
    return fidelity_score(fidelity_components(metrics, real_reference(real), perplexity, 49152))


def test_assistant_voice_tells_in_english_and_italian() -> None:
    assert assistant_voice("As an AI language model, I can't")["ai_identity"]
    assert assistant_voice("In quanto intelligenza artificiale non ho opinioni")["ai_identity"]
    assert assistant_voice("Certainly! Let me explain.")["formal_opener"]
    assert assistant_voice("La ringrazio per il suo messaggio.")["formal_opener"]
    assert assistant_voice("Ok. Let me know if you need anything else!")["help_offer"]
    assert assistant_voice("Ecco fatto, fammi sapere se ti serve altro")["help_offer"]
    assert assistant_voice("Options:\n1. pizza\n2. sushi\n3. kebab")["long_list"]
    assert not any(assistant_voice(text)[tell] for text in SLANG for tell in assistant_voice(text))
    assert assistant_voice_rates(SLANG)["any"] == 0.0
    assert assistant_voice_rates(FORMAL)["any"] > 0.8


def test_distinct_n_and_style_rates() -> None:
    assert distinct_n(["a b c", "a b c"], 2) == 0.5
    assert distinct_n(["a b c", "d e f"], 1) == 1.0
    assert distinct_n([""], 2) == 0.0
    rates = style_rates(["Ciao.", "ciao 😂", "Come stai?", "boh"])
    assert rates == {"emoji": 0.25, "punctuation": 0.5, "capitalisation": 0.5, "question": 0.25}


def test_identical_reply_sets_score_near_the_top() -> None:
    real = slangy(60, seed=1)
    metrics = compare_replies(real, list(real))
    assert abs(metrics["detectability_auc"] - 0.5) < 0.1
    assert metrics["length_ks"] == 0 and all(delta == 0 for delta in metrics["style_deltas"].values())
    assert metrics["chrf"] == 100.0


def test_formal_replies_are_detected_and_score_lower() -> None:
    real = slangy(60, seed=1)
    formal_metrics = compare_replies(real, formal(60, seed=2))
    assert formal_metrics["detectability_auc"] > 0.95
    assert formal_metrics["assistant_voice"]["any"] > 0.8
    # Another slangy sample (same person, different replies) is much closer than the formal one.
    same_person, assistant = score(real, slangy(60, seed=3)), score(real, formal(60, seed=2))
    assert 0 <= assistant < same_person <= 1
    assert same_person - assistant > 0.3


def test_fidelity_weights_sum_to_one_and_perplexity_counts() -> None:
    assert sum(FIDELITY_WEIGHTS.values()) == pytest.approx(1.0)
    real, generated = slangy(40, seed=1), slangy(40, seed=5)
    assert score(real, generated, perplexity=20.0) > score(real, generated, perplexity=2000.0)
