"""Fidelity metrics, controls and paired-bootstrap intervals on hand-made reply sets."""

import random

import numpy as np
import pytest

from align.context_fit import ContextFit, distractor_contexts, shuffled_partners
from align.fidelity import (
    FIDELITY_WEIGHTS,
    REAL,
    SHUFFLED,
    bootstrap,
    distinct_shares,
    normalized,
    set_features,
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
PROMPTS = 60


def slangy(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(SLANG) + rng.choice(["", " ahah", " 😂", "!!", " cmq"]) for _ in range(count)]


def fit(relevance: float, matched: float, samples: int, seed: int) -> ContextFit:
    """Context fit numbers as the scorer would give them: `relevance` nats on average, `matched` share."""
    rng = np.random.default_rng(seed)
    return ContextFit(
        relevance=rng.normal(relevance, 0.5, (PROMPTS, samples)),
        matched=(rng.random((PROMPTS, samples)) < matched).astype(float),
        chance=0.2,
    )


def scenario(**models: tuple[list[list[str]], ContextFit]) -> dict:
    """Real replies (a context fit of 2 nats, 80 % matched), the shuffled-real control, and `models`."""
    real = slangy(PROMPTS, seed=1)
    conversations = [f"c{i // 2}" for i in range(PROMPTS)]
    partners = shuffled_partners(conversations, np.random.default_rng(0))
    sets = {
        REAL: ([[r] for r in real], fit(2.0, 0.8, 1, seed=10)),
        SHUFFLED: ([[real[p]] for p in partners], fit(0.0, 0.2, 1, seed=11)),
        **models,
    }
    features = {
        name: set_features(name, replies, real, context, training_replies=set())
        for name, (replies, context) in sets.items()
    }
    return features


def run(features: dict, pairs=(), rounds: int = 300):
    ceiling = features[SHUFFLED].chrf.mean(axis=1)
    return bootstrap(features, ceiling, list(pairs), rounds=rounds, seed=0)


def samples_of(replies: list[str], samples: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    return [[reply, *(rng.choice(SLANG) for _ in range(samples - 1))] for reply in replies]


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


def test_style_rates_copies_and_distinct_shares() -> None:
    rates = style_rates(["Ciao.", "ciao 😂", "Come stai?", "boh"])
    assert rates == {"emoji": 0.25, "punctuation": 0.5, "capitalisation": 0.5, "question": 0.25}
    assert normalized("Ahah, OK!! ") == normalized("ahah ok") == "ahah ok"
    replies = [["a b c", "x y"], ["a b c", "x y z"], ["d e f", "x y"]]
    shares, counts = distinct_shares(replies)
    for s in range(2):  # per sample, the shares add up to distinct-2 of that sample's replies
        column = [row[s] for row in replies]
        assert shares[:, s].sum() / counts[:, s].sum() == pytest.approx(distinct_n(column, 2))


def test_the_controls_and_their_distance() -> None:
    """The real replies score as the best "model"; shuffled-real (right voice, wrong context) far below."""
    real = slangy(PROMPTS, seed=1)
    features = scenario(
        sft=(samples_of(slangy(PROMPTS, seed=2), 2, seed=3), fit(1.2, 0.55, 2, seed=12)),
        formal=([[random.Random(i).choice(FORMAL)] * 2 for i in range(PROMPTS)], fit(0.3, 0.3, 2, seed=13)),
    )
    result = run(features, [(REAL, SHUFFLED)])
    fidelity = {name: result.metrics[name]["fidelity"] for name in features}
    assert fidelity[REAL].value == pytest.approx(1.0, abs=0.02)
    assert all(fidelity[REAL].value >= interval.value for interval in fidelity.values())
    margin = result.differences[f"{REAL}-{SHUFFLED}"]["fidelity"]
    assert margin.value > 0.2 and margin.low > 0.15  # far outside the noise
    assert fidelity[SHUFFLED].value > fidelity["formal"].value  # the persona's words, at least
    assert result.metrics[REAL]["detectability_auc"].value == pytest.approx(0.5)
    assert result.metrics[SHUFFLED]["term_relevance"].value < 0.1
    assert result.metrics[REAL]["copy_rate"].value == result.metrics[SHUFFLED]["copy_rate"].value
    assert len(real) == PROMPTS


def test_identical_sets_tie_and_a_better_set_wins() -> None:
    replies = samples_of(slangy(PROMPTS, seed=2), 2, seed=3)
    formal = [[random.Random(i).choice(FORMAL), random.Random(-i).choice(FORMAL)] for i in range(PROMPTS)]
    features = scenario(
        sft=(replies, fit(1.2, 0.55, 2, seed=12)),
        kto=(replies, fit(1.2, 0.55, 2, seed=12)),
        base=(formal, fit(0.3, 0.25, 2, seed=14)),
    )
    result = run(features, [("kto", "sft"), ("sft", "base")])
    same = result.differences["kto-sft"]["fidelity"]
    assert same.low <= 0 <= same.high
    better = result.differences["sft-base"]["fidelity"]
    assert better.low > 0 and better.value > 0.2
    for name in ("sft", "base"):  # every interval holds its point value
        for interval in result.metrics[name].values():
            assert interval.low - 1e-9 <= interval.value <= interval.high + 1e-9


def test_two_samples_of_one_model_tie() -> None:
    """Sampling noise alone (same model, other replies and fits) gives an interval containing 0."""
    features = scenario(
        one=(samples_of(slangy(PROMPTS, seed=2), 2, seed=3), fit(1.2, 0.55, 2, seed=12)),
        two=(samples_of(slangy(PROMPTS, seed=4), 2, seed=5), fit(1.2, 0.55, 2, seed=15)),
    )
    difference = run(features, [("one", "two")]).differences["one-two"]["fidelity"]
    assert difference.low < 0 < difference.high


def test_distractors_and_shuffled_partners_never_use_their_own_conversation() -> None:
    conversations = [f"c{i % 7}" for i in range(50)]
    for i, others in enumerate(distractor_contexts(conversations, k=5, seed=0)):
        assert len(others) == 4 and i not in others
        assert all(conversations[j] != conversations[i] for j in others)
    partners = shuffled_partners(conversations, np.random.default_rng(1))
    assert all(conversations[p] != conversations[i] for i, p in enumerate(partners))
    assert sorted(partners) == list(range(50))  # a permutation: every real reply is used once


def test_fidelity_weights_sum_to_one() -> None:
    assert sum(FIDELITY_WEIGHTS.values()) == pytest.approx(1.0)


# --- the scorer on a real model -----------------------------------------------------------------------------

EXCHANGES = [
    ("stasera pizza o sushi?", "sushi dai, la pizza l'abbiamo fatta ieri"),
    ("hai visto dune?", "si dune è pazzesco ahah"),
    ("a che ora ci vediamo da pippo?", "da pippo alle 9 ok?"),
    ("vieni a napoli sabato?", "napoli sabato ci sta, prendo il treno"),
    ("la roma ha perso di nuovo", "la roma mi fa impazzire boh"),
    ("mi presti la bici domani?", "la bici domani te la lascio sotto casa"),
    ("com'è andato l'esame di chimica?", "chimica passato ahah 28"),
    ("che regalo facciamo a Chiara?", "a chiara un libro? le piacciono i gialli"),
]
STOCK = ["ahah ok", "daje", "boh", "👍", "ahah", "ok", "vabbè", "ci sta"]


@pytest.mark.slow
def test_context_fit_under_smollm2_sees_what_a_reply_answers() -> None:
    """Real replies that pick up the question fit their own conversation; stock replies sent at random and
    the real replies of other conversations do not. Cached and batched scoring equal a plain forward pass."""
    import torch

    from align.context_fit import ReplyScorer, context_fit
    from align.models import choose_precision, load_model, load_tokenizer, prepare_default_model
    from core.prompts import persona_system_prompt
    from core.schema import ChatMessage

    base = str(prepare_default_model())
    # float32 everywhere: on a CPU with native bf16 the default precision rounds the cached and the direct
    # pass differently (0.24 nats apart seen here), and the check below is about the cache, not rounding.
    tokenizer, precision = load_tokenizer(base), choose_precision("float32")
    model = load_model(base, precision).eval()
    model.config.use_cache = True
    system = ChatMessage("system", persona_system_prompt("Marco", "Giulia"))
    contexts = [[system, ChatMessage("user", question, name="Giulia")] for question, _ in EXCHANGES]
    sets = {
        "real": [[reply] for _, reply in EXCHANGES],
        "stock": [[random.Random(i).choice(STOCK)] for i in range(len(EXCHANGES))],
        "shuffled": [[EXCHANGES[(i + 3) % len(EXCHANGES)][1]] for i in range(len(EXCHANGES))],
    }
    scorer = ReplyScorer(model, tokenizer, precision.device)
    distractors = distractor_contexts([str(i) for i in range(len(EXCHANGES))], k=5, seed=0)
    with torch.no_grad():
        fits = context_fit(scorer, contexts, sets, distractors)
    assert fits["real"].relevance.mean() > 5 and fits["real"].matched.mean() >= 0.75
    for name in ("stock", "shuffled"):
        assert fits[name].relevance.mean() < 1.5 and fits[name].matched.mean() <= 0.375
    assert fits["real"].chance == pytest.approx(0.2)

    context_ids, reply_ids = scorer.context_ids(contexts[0]), scorer.reply_ids(EXCHANGES[0][1])
    with torch.no_grad():
        log_probs = model(torch.tensor([context_ids + reply_ids])).logits.float().log_softmax(-1)[0]
    direct = sum(float(log_probs[len(context_ids) - 1 + j, t]) for j, t in enumerate(reply_ids))
    cached = scorer.log_probs(contexts, [(0, EXCHANGES[0][1]), (0, "ahah")])[0]  # a shared context's cache
    # One reply per context: whole sequences in one right-padded batch of different lengths.
    batched = scorer.log_probs(contexts, [(0, EXCHANGES[0][1]), (1, "ahah"), (2, EXCHANGES[5][1])])[0]
    assert cached == pytest.approx(direct, abs=1e-3)
    assert batched == pytest.approx(direct, abs=1e-3)
