import random

from align.style import PersonaJudge, detectability_auc, style_features

SLANG = [
    "ahah si dai",
    "boh vediamo stasera 😂",
    "daje!!",
    "cmq ci sta",
    "nono tranqui",
    "ahahah ma che dici",
    "si si arrivo 10 min",
    "boh non so 🤷",
    "ok daje",
    "madò che fame",
    "sto a casa ahah",
    "vabbè dai",
]
FORMAL = [
    "Thank you for your message. I will carefully consider it.",
    "Certainly! Here are a few options to consider.",
    "I appreciate your patience. Please let me know if you need anything else.",
    "As an AI language model, I do not have personal plans.",
    "Good evening. I would be happy to help you.",
    "That is an excellent question. Let me explain in detail.",
]


def test_style_features_capture_casing_emoji_and_laughter() -> None:
    slang, formal = style_features("ahahah daje 😂"), style_features("Thank you. I will consider it.")
    assert slang["emoji"] == 1 and slang["laughter"] == 1 and slang["starts_upper"] == 0
    assert formal["emoji"] == 0 and formal["laughter"] == 0 and formal["starts_upper"] == 1
    assert formal["ends_with_period"] == 1 and formal["uppercase_ratio"] > slang["uppercase_ratio"]


def test_identical_sets_are_indistinguishable() -> None:
    replies = SLANG * 4
    assert abs(detectability_auc(replies, list(replies)) - 0.5) < 0.1


def test_formal_replies_are_detected_among_slangy_ones() -> None:
    rng = random.Random(0)
    real = [rng.choice(SLANG) + rng.choice(["", " ahah", " 😂", "!!"]) for _ in range(40)]
    fake = [rng.choice(FORMAL) for _ in range(40)]
    assert detectability_auc(real, fake) > 0.95


def test_judge_scores_persona_replies_higher() -> None:
    judge = PersonaJudge().fit(SLANG * 3, FORMAL * 3)
    persona, other = judge.persona_probability(["ahah boh daje 😂", "Thank you for your kind message."])
    assert persona > 0.5 > other
