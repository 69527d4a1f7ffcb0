"""The arena's leaderboard, computed from the stored votes (`core.votes`).

    board = leaderboard("votes.sqlite", run_id="r7")   # Bradley-Terry scores + bootstrap CIs, win rates

Leaderboard (after the Chatbot Arena): a Bradley-Terry model fitted by maximum likelihood, on the Elo scale
(400 points = 10:1 odds) with `base` anchored at 1000; `tie` and `both_bad` count as half a win for each
side. Confidence intervals are the 2.5-97.5 percentiles over bootstrap resamples of the battles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.votes import Vote, VoteStore

ELO_SCALE, ELO_BASE, ELO_INIT = 400.0, 10.0, 1000.0


def battles_frame(votes: list[Vote], *, label_by_run: bool = False) -> pd.DataFrame:
    """One row per battle: `model_a`, `model_b`, `winner` in {a, b, tie} (`both_bad` is a tie)."""
    rows = []
    for vote in votes:
        if vote.mode == "single":
            continue
        a, b = vote.model_a, vote.model_b
        if label_by_run:  # across runs, sft of run 1 and sft of run 2 are different players
            a, b = _player(a, vote.run_id), _player(b, vote.run_id)
        winner = "tie" if vote.outcome == "both_bad" else vote.outcome
        rows.append({"model_a": a, "model_b": b, "winner": winner})
    return pd.DataFrame(rows, columns=["model_a", "model_b", "winner"])


def _player(model: str, run_id: str) -> str:
    return model if model == "base" else f"{model}@{run_id}"


def _encode(battles: pd.DataFrame, players: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Battles as arrays: index of model A, index of model B, A's credit (1 win, 0 loss, 0.5 tie)."""
    index = {p: i for i, p in enumerate(players)}
    a = battles["model_a"].map(index).to_numpy()
    b = battles["model_b"].map(index).to_numpy()
    credit_a = battles["winner"].map({"a": 1.0, "b": 0.0, "tie": 0.5}).to_numpy()
    return a, b, credit_a


def _win_matrix(a: np.ndarray, b: np.ndarray, credit_a: np.ndarray, size: int) -> np.ndarray:
    """W[i, j] = wins of i over j, a tie counting half for each."""
    wins = np.zeros((size, size))
    np.add.at(wins, (a, b), credit_a)
    np.add.at(wins, (b, a), 1.0 - credit_a)
    return wins


def _fit_strengths(wins: np.ndarray, prior: float) -> np.ndarray:
    """Maximum a posteriori Bradley-Terry strengths (natural-log odds), fitted as FastChat fits its arena: a
    logistic regression without intercept on rows "i played j" (+1 for i, -1 for j), labelled by who won.

    The L2 penalty is the weak Gaussian prior that keeps a model's strength finite when it has won every one
    of its battles. Each game is given once as (i - j, won) and once as (j - i, lost), so that both classes
    exist after a single battle; that doubles the likelihood, hence C = 1 / (2 * prior).
    """
    from sklearn.linear_model import LogisticRegression  # ~1 s to import: only when a leaderboard is made

    winner, loser = np.nonzero(wins)
    if len(winner) == 0:
        return np.zeros(len(wins))
    rows = np.zeros((len(winner), len(wins)))
    rows[np.arange(len(winner)), winner] = 1.0
    rows[np.arange(len(winner)), loser] = -1.0
    model = LogisticRegression(
        C=1.0 / (2.0 * prior), fit_intercept=False, solver="newton-cholesky", tol=1e-10, max_iter=100
    )
    labels = np.concatenate([np.ones(len(winner)), np.zeros(len(winner))])
    model.fit(np.vstack([rows, -rows]), labels, sample_weight=np.tile(wins[winner, loser], 2))
    return model.coef_[0]


def _elo(theta: np.ndarray, players: list[str], anchor: str) -> np.ndarray:
    """Strengths on the Elo scale, `anchor` (if present) at 1000, else the mean at 1000."""
    scores = ELO_SCALE / np.log(ELO_BASE) * theta
    offset = scores[players.index(anchor)] if anchor in players else scores.mean()
    return ELO_INIT + scores - offset


def bradley_terry(battles: pd.DataFrame, *, anchor: str = "base", prior: float = 0.1) -> pd.Series:
    """Bradley-Terry scores on the Elo scale (400 points = 10:1 odds), `anchor` at 1000."""
    players = _players(battles)
    wins = _win_matrix(*_encode(battles, players), len(players))
    return pd.Series(_elo(_fit_strengths(wins, prior), players, anchor), index=players)


def bootstrap_scores(
    battles: pd.DataFrame, *, rounds: int = 500, seed: int = 0, anchor: str = "base", prior: float = 0.1
) -> pd.DataFrame:
    """Bradley-Terry scores of `rounds` resamples (with replacement) of the battles: one row per resample."""
    players = _players(battles)
    a, b, credit_a = _encode(battles, players)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(rounds):
        pick = rng.integers(0, len(a), len(a))
        wins = _win_matrix(a[pick], b[pick], credit_a[pick], len(players))
        samples.append(_elo(_fit_strengths(wins, prior), players, anchor))
    return pd.DataFrame(samples, columns=players)


def _players(battles: pd.DataFrame) -> list[str]:
    return sorted(set(battles["model_a"]) | set(battles["model_b"]))


def win_rates(battles: pd.DataFrame) -> pd.DataFrame:
    """Share of battles the row model won against the column model (ties count half); NaN if never met."""
    players = _players(battles)
    wins = _win_matrix(*_encode(battles, players), len(players))
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = wins / (wins + wins.T)
    np.fill_diagonal(rates, np.nan)
    return pd.DataFrame(rates, index=players, columns=players)


def battle_counts(battles: pd.DataFrame) -> pd.DataFrame:
    """How many battles each pair of models fought (symmetric)."""
    counts = pd.crosstab(battles["model_a"], battles["model_b"])
    players = _players(battles)
    counts = counts.reindex(index=players, columns=players, fill_value=0)
    return counts + counts.T


@dataclass
class Leaderboard:
    """Everything the leaderboard tab shows, for one run (or all runs)."""

    run_id: str | None
    ratings: pd.DataFrame  # model, score, lower, upper, battles, wins, ties, losses
    win_rates: pd.DataFrame
    battle_counts: pd.DataFrame
    thumbs: pd.DataFrame  # model, up, down, approval
    votes: int


def leaderboard(
    db_path: str | Path,
    run_id: str | None = None,
    *,
    rounds: int = 500,
    seed: int = 0,
    models: list[str] | None = None,
) -> Leaderboard:
    """The leaderboard of one run's votes, or of every run (`run_id=None`, models named `model@run`).
    `models` are listed even without battles (no score yet), so that none seems to be missing."""
    votes = VoteStore(db_path, create=False).votes(run_id=run_id)
    battles = battles_frame(votes, label_by_run=run_id is None)
    return Leaderboard(
        run_id=run_id,
        ratings=_ratings_table(battles, rounds, seed, models or []),
        win_rates=win_rates(battles) if len(battles) else pd.DataFrame(),
        battle_counts=battle_counts(battles) if len(battles) else pd.DataFrame(),
        thumbs=_thumbs_table(votes, label_by_run=run_id is None),
        votes=len(votes),
    )


ANCHOR = "base"


def _ratings_table(battles: pd.DataFrame, rounds: int, seed: int, models: list[str]) -> pd.DataFrame:
    columns = ["model", "score", "lower", "upper", "battles", "wins", "ties", "losses", "note"]
    unplayed = pd.DataFrame(
        [
            {"model": m, "battles": 0, "wins": 0, "ties": 0, "losses": 0, "note": "no battles yet"}
            for m in models
        ],
        columns=columns,
    )
    if battles.empty:
        return unplayed
    scores = bradley_terry(battles, anchor=ANCHOR)
    samples = bootstrap_scores(battles, rounds=rounds, seed=seed)
    lower, upper = samples.quantile(0.025), samples.quantile(0.975)
    table = pd.DataFrame({"score": scores, "lower": lower, "upper": upper})
    for model in table.index:
        as_a, as_b = battles[battles.model_a == model], battles[battles.model_b == model]
        wins = (as_a.winner == "a").sum() + (as_b.winner == "b").sum()
        ties = (as_a.winner == "tie").sum() + (as_b.winner == "tie").sum()
        table.loc[model, ["battles", "wins", "ties"]] = [len(as_a) + len(as_b), wins, ties]
    table["losses"] = table["battles"] - table["wins"] - table["ties"]
    table = table.astype({"battles": int, "wins": int, "ties": int, "losses": int})
    table["note"] = ["anchor: fixed at 1000" if model == ANCHOR else "" for model in table.index]
    table = table.sort_values("score", ascending=False).rename_axis("model").reset_index()
    unplayed = unplayed[~unplayed.model.isin(table.model)]
    return pd.concat([table, unplayed], ignore_index=True)[columns] if len(unplayed) else table[columns]


def _thumbs_table(votes: list[Vote], *, label_by_run: bool) -> pd.DataFrame:
    rows = [
        {"model": _player(v.model_a, v.run_id) if label_by_run else v.model_a, "up": v.outcome == "up"}
        for v in votes
        if v.mode == "single"
    ]
    if not rows:
        return pd.DataFrame(columns=["model", "up", "down", "approval"])
    frame = pd.DataFrame(rows).groupby("model")["up"].agg(up="sum", total="count")
    frame["down"] = frame["total"] - frame["up"]
    frame["approval"] = frame["up"] / frame["total"]
    return frame.reset_index()[["model", "up", "down", "approval"]].astype({"up": int, "down": int})
