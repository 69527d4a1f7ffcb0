"""Measurable traits of a chat writing style, and a judge that tells one person's replies from others'.

The judge is a character n-gram + style-feature logistic regression: cheap, language-agnostic, and sharp on
exactly what makes a persona recognisable in chat (casing, emoji, laughter, slang, length, punctuation).
Evaluation uses it as the detectability metric; the KTO-data builder uses it to drop persona-like synthetic
negatives and to pick the SFT model's replies that give themselves away as negatives.

`assistant_voice` and `distinct_n` measure the two ways a chat model most often fails to sound like a person:
talking like a helpful assistant, and saying the same few things over and over.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import regex
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler

EMOJI = regex.compile(r"\p{Extended_Pictographic}")
LAUGHTER = regex.compile(r"\b(?:a?(?:ha){2,}h?|a?(?:ah){2,}|(?:he){2,}|(?:hi){2,}|lol|lmao|xd+)\b", regex.I)
LETTER = regex.compile(r"\p{L}")
UPPER = regex.compile(r"\p{Lu}")


def style_features(text: str) -> dict[str, float]:
    """Per-reply style measurements (rates are per character where a count would just track length)."""
    stripped = text.strip()
    letters = len(LETTER.findall(stripped)) or 1
    return {
        "chars": float(len(stripped)),
        "words": float(len(stripped.split())),
        "lines": float(stripped.count("\n") + 1 if stripped else 0),
        "emoji": float(len(EMOJI.findall(stripped))),
        "uppercase_ratio": len(UPPER.findall(stripped)) / letters,
        "starts_upper": float(bool(stripped) and stripped[0].isupper()),
        "ends_with_period": float(stripped.endswith(".")),
        "question": float("?" in stripped),
        "exclamation": float("!" in stripped),
        "ellipsis": float("..." in stripped or "…" in stripped),
        "laughter": float(bool(LAUGHTER.search(stripped))),
        "commas_per_word": stripped.count(",") / max(1, len(stripped.split())),
    }


STYLE_FEATURE_NAMES = tuple(style_features("x"))

# --- assistant voice ----------------------------------------------------------------------------------------
# Phrases that give a reply away as a chat assistant rather than a person, in English and Italian (the
# languages of the project's users so far). Each family is a separate rate in the evaluation report.
_FORMAL_OPENER = regex.compile(
    r"^\W*(?:certainly|absolutely[!,]|(?:that's |what )?a great question|great question|"
    r"thank you for (?:your|the|reaching)|i appreciate your|thanks for reaching out|"
    r"i understand (?:your|that|how)|"
    r"i(?:'m| am) sorry,? but|i apologi[sz]e|dear\b|hello!? how can|hi there[!,]|greetings|"
    r"certamente|ottima domanda|gentile\b|egregi[oa]\b|la ringrazio|ti ringrazio per|"
    r"grazie (?:mille )?per (?:il|la|il tuo|il suo|la tua|la sua) (?:messaggio|domanda)|"
    r"mi dispiace,? ma|salve\b|capisco (?:perfettamente|la tua|il tuo|la sua|il suo))",
    regex.I,
)
_AI_IDENTITY = regex.compile(
    r"\b(?:as an ai|as a (?:large )?language model|i(?:'m| am) (?:just )?an? (?:ai|artificial intelligence|"
    r"virtual assistant|language model)|ai (?:language )?model|"
    r"in quanto (?:ia|ai|intelligenza artificiale|assistente|modello)|"
    r"come (?:un'|una |un )?(?:ia|intelligenza artificiale|assistente virtuale|modello linguistico)|"
    r"sono (?:solo )?(?:un'|una |un )(?:ia|intelligenza artificiale|assistente|modello linguistico))\b",
    regex.I,
)
_HELP_OFFER = regex.compile(
    r"\b(?:how (?:can|may) i (?:help|assist)|let me know if|feel free to|is there anything else|"
    r"i(?:'m| am) here to help|(?:happy|glad) to help|hope (?:this|that) helps|don'?t hesitate|"
    r"(?:felice|lieto|lieta|content[oa]) di (?:aiutar|esserti utile)|(?:come )?posso aiutarti|"
    r"come posso esserti utile|fammi sapere se|non esitare a|sono qui per aiutarti|"
    r"spero (?:che )?(?:questo|ti) (?:sia|possa|aiuti)|resto a (?:tua|sua|vostra) disposizione|"
    r"sono a (?:tua|sua) disposizione|se hai bisogno di (?:altro|aiuto|qualcosa))",
    regex.I,
)
_LIST_ITEM = regex.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+\S", regex.M)
LONG_LIST_ITEMS = 3
"A reply with this many bulleted or numbered lines reads like an assistant's answer, not a chat message."


def assistant_voice(text: str) -> dict[str, bool]:
    """Which assistant-voice tells a reply shows: formal opener, AI identity, offer of help, long list."""
    return {
        "formal_opener": bool(_FORMAL_OPENER.search(text)),
        "ai_identity": bool(_AI_IDENTITY.search(text)),
        "help_offer": bool(_HELP_OFFER.search(text)),
        "long_list": len(_LIST_ITEM.findall(text)) >= LONG_LIST_ITEMS,
    }


def assistant_voice_rates(replies: Sequence[str]) -> dict[str, float]:
    """Share of replies showing each assistant-voice tell, and `any` of them."""
    if not replies:
        return {name: 0.0 for name in (*assistant_voice(""), "any")}
    flags = [assistant_voice(text) for text in replies]
    rates = {name: float(np.mean([f[name] for f in flags])) for name in flags[0]}
    rates["any"] = float(np.mean([any(f.values()) for f in flags]))
    return rates


def distinct_n(replies: Sequence[str], n: int) -> float:
    """Distinct-n: unique / all word n-grams over a set of replies (1.0 = never repeats itself)."""
    grams: Counter[tuple[str, ...]] = Counter()
    for text in replies:
        words = text.lower().split()
        grams.update(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    total = sum(grams.values())
    return len(grams) / total if total else 0.0


class StyleFeatures(BaseEstimator, TransformerMixin):
    """sklearn transformer: texts -> the `style_features` matrix."""

    def fit(self, texts: Sequence[str], y: object = None) -> StyleFeatures:
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        rows = [style_features(t) for t in texts]
        return np.array([[row[name] for name in STYLE_FEATURE_NAMES] for row in rows], dtype=np.float64)


def judge_pipeline(seed: int = 0) -> Pipeline:
    """Untrained classifier: label 1 = the persona wrote it."""
    features = FeatureUnion(
        [
            (
                "chars",
                TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, lowercase=False),
            ),
            ("style", Pipeline([("measure", StyleFeatures()), ("scale", StandardScaler())])),
        ]
    )
    classifier = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced", random_state=seed)
    return Pipeline([("features", features), ("classify", classifier)])


class PersonaJudge:
    """Scores how likely a reply is the persona's own, trained on real replies vs. anyone else's."""

    def __init__(self, seed: int = 0) -> None:
        self.pipeline = judge_pipeline(seed)

    def fit(self, persona_replies: Sequence[str], other_replies: Sequence[str]) -> PersonaJudge:
        texts = [*persona_replies, *other_replies]
        labels = [1] * len(persona_replies) + [0] * len(other_replies)
        self.pipeline.fit(texts, labels)
        return self

    def persona_probability(self, replies: Sequence[str]) -> np.ndarray:
        return self.pipeline.predict_proba(list(replies))[:, 1]


def out_of_fold_probabilities(
    real: Sequence[str],
    generated: Sequence[str],
    folds: int = 5,
    seed: int = 0,
    groups: Sequence[int] | None = None,
) -> np.ndarray:
    """P(real) of every text of `real + generated` (in that order), each from a judge trained to tell `real`
    from `generated` on the other folds only, so that no text is scored by a judge that saw it.

    Texts of one group always share a fold (by default a group is one text; the evaluation groups by prompt,
    so that a real reply and the replies to its prompt never sit in different folds). Whatever the groups,
    a judge never trains on a copy of a text it scores: otherwise a reply present in both sets is "learned"
    with the opposite label from the training folds, and identical sets score an AUC far below 0.5.
    """
    texts = [*real, *generated]
    labels = np.array([1] * len(real) + [0] * len(generated))
    keys = np.unique([" ".join(t.split()).lower() for t in texts], return_inverse=True)[1]
    groups = keys if groups is None else np.asarray(groups)
    folds = min(folds, len(set(groups.tolist())))
    if min(len(real), len(generated)) < 2 or folds < 2:
        raise ValueError("telling two sets of replies apart needs at least 2 of each")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = np.full(len(texts), 0.5)
    for train, test in splitter.split(texts, labels, groups):
        train = train[~np.isin(keys[train], keys[test])]
        if len(set(labels[train].tolist())) < 2:
            continue  # nothing left to learn from in this fold: its texts keep the uninformed 0.5
        pipeline = judge_pipeline(seed).fit([texts[i] for i in train], labels[train])
        scores[test] = pipeline.predict_proba([texts[i] for i in test])[:, 1]
    return scores


def detectability_auc(real: Sequence[str], generated: Sequence[str], folds: int = 5, seed: int = 0) -> float:
    """Cross-validated ROC-AUC of a judge telling `real` from `generated` replies.

    0.5: the sets are indistinguishable (the goal); 1.0: every generated reply gives itself away. For
    identical sets the AUC is about 0.5, not below: copies of one text share a fold.
    """
    scores = out_of_fold_probabilities(real, generated, folds, seed)
    labels = np.array([1] * len(real) + [0] * len(generated))
    return float(roc_auc_score(labels, scores))
