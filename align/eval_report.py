"""The `eval` stage's report: report.json (every number with its 95 % interval), report.md, and plots."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from align.fidelity import (
    CONTROLS,
    FIDELITY_FORMULA,
    FIDELITY_WEIGHTS,
    REAL,
    SHUFFLED,
    STYLE_RATES,
    Bootstrap,
    Interval,
    SetFeatures,
)
from core.report import md_table, new_figure, save_figure
from core.schema import ChatMessage

if TYPE_CHECKING:
    from align.evaluate import EvalConfig, EvalItem

# The metrics in the report's main table, in order, with what they mean.
METRIC_LABELS = {
    "fidelity": "**fidelity score** (higher is better)",
    "detectability_auc": "**detectability AUC** (0.5 = indistinguishable)",
    "relevance": "**context fit: relevance** (nats, PMI with own conversation)",
    "matching": "**context fit: matching** accuracy",
    "copy_rate": "copy rate (training reply or reply to another prompt)",
    "length_ks": "reply length KS distance",
    "median_chars": "median reply length (chars)",
    **{f"{name}_rate": f"{name} rate" for name in STYLE_RATES},
    "assistant_voice_rate": "assistant voice rate",
    "chrf": "chrF vs real reply",
    "distinct_2": "distinct-2",
    "perplexity": "perplexity of the real replies",
}
CONTROL_NOTES = {
    REAL: "the persona's real held-out replies, scored as if a model wrote them",
    SHUFFLED: "real persona replies of *other* conversations: the right voice in the wrong context",
}


def build_report(
    result: Bootstrap,
    features: dict[str, SetFeatures],
    items: list[EvalItem],
    config: EvalConfig,
    split: Path,
    warning: str | None,
    base_model: str,
    adapters: dict[str, Path],
    timings: dict[str, float],
) -> dict:
    from align.evaluate import MODELS, verdicts

    def entry(name: str) -> dict:
        metrics = result.metrics[name]
        return {
            "fidelity": metrics["fidelity"].value,
            "fidelity_interval": [metrics["fidelity"].low, metrics["fidelity"].high],
            "detectability_auc": metrics["detectability_auc"].value,
            "components": {term: metrics[f"term_{term}"].value for term in FIDELITY_WEIGHTS},
            "metrics": {key: value.to_list() for key, value in metrics.items()},
            "samples_per_prompt": features[name].samples,
        }

    sets = {name: entry(name) for name in (*MODELS, *CONTROLS)}
    fit_visible = result.metrics[REAL]["relevance"].low > 0
    return {
        "fidelity": {name: sets[name]["fidelity"] for name in sets},
        "fidelity_interval": {name: sets[name]["fidelity_interval"] for name in sets},
        "detectability_auc": {name: sets[name]["detectability_auc"] for name in sets},
        "verdicts": verdicts(result),
        "differences": {
            pair: {key: value.to_list() for key, value in metrics.items()}
            for pair, metrics in result.differences.items()
        },
        "fidelity_formula": FIDELITY_FORMULA,
        "fidelity_weights": FIDELITY_WEIGHTS,
        "models": {name: sets[name] for name in MODELS},
        "controls": {name: sets[name] for name in CONTROLS},
        "interval_note": "[value, 2.5th percentile, 97.5th percentile] of a paired bootstrap over prompts "
        f"({result.rounds} rounds)",
        "context_fit_visible": fit_visible,
        "n_prompts": len(items),
        "n_conversations": len({item.conversation for item in items}),
        "samples_per_prompt": config.samples_per_prompt,
        "eval_split": str(split),
        "warnings": [w for w in (warning, _fit_warning(fit_visible)) if w],
        "base_model": base_model,
        "scorer_model": base_model,
        "adapters": {name: str(path) for name, path in adapters.items()},
        "timings": timings,
        "config": config.to_dict(),
    }


def _fit_warning(visible: bool) -> str | None:
    if visible:
        return None
    return (
        "the real replies' relevance interval reaches 0: on this split the scorer cannot tell a reply's own "
        "conversation from others, so the context-fit terms carry no signal"
    )


# --- markdown -----------------------------------------------------------------------------------------------


def fmt(value: list[float] | Interval) -> str:
    """`0.812 [0.790, 0.831]`"""
    point, low, high = value.to_list() if isinstance(value, Interval) else value
    if max(abs(point), abs(low), abs(high)) >= 100:
        return f"{point:.1f} [{low:.1f}, {high:.1f}]"
    return f"{point:.3f} [{low:.3f}, {high:.3f}]"


def _sampled(report: dict) -> str:
    """'every model sampled 3 times per prompt', or with the base model's own count where it differs."""
    base = report["models"]["base"]["samples_per_prompt"]
    if base == report["samples_per_prompt"]:
        return f"every model sampled {report['samples_per_prompt']} times per prompt"
    times = "once" if base == 1 else f"{base} times"
    return f"sft and kto sampled {report['samples_per_prompt']} times per prompt, base {times}"


def report_markdown(report: dict, examples: list[EvalItem], sets: dict[str, list[list[str]]]) -> str:
    from align.evaluate import MODELS

    columns = [*MODELS, *CONTROLS]
    everything = {**report["models"], **report["controls"]}
    rows = [
        [label, *(_cell(everything[name]["metrics"], key) for name in columns)]
        for key, label in METRIC_LABELS.items()
    ]
    differences = report["differences"]
    config = report["config"]
    lines = [
        "# Persona fidelity on the held-out sessions",
        "",
        f"{report['n_prompts']} persona replies from {report['n_conversations']} conversations of "
        f"`{report['eval_split']}` (never trained on, never used to pick a checkpoint); base model "
        f"`{report['base_model']}`; {_sampled(report)} "
        f"(temperature {config['temperature']}, top-p {config['top_p']}, at most {config['max_new_tokens']} "
        "new tokens). Every number is `value [95 % interval]` from a paired bootstrap over prompts"
        + (
            " (with fewer than 3 samples per prompt the intervals reflect the choice of prompts more than"
            " the models' sampling noise: the gpu preset takes 3)."
            if report["samples_per_prompt"] < 3
            else "."
        ),
        "",
        *(f"> **Warning:** {warning}" for warning in report["warnings"]),
        "",
        "## Verdicts",
        "",
        *verdict_lines(report),
        *pii_lines(report),
        "",
        "![fidelity with intervals](fidelity.png)",
        "",
        "## Every metric",
        "",
        md_table(["metric", *columns], rows),
        "",
        *(f"- *{name}*: {note}." for name, note in CONTROL_NOTES.items()),
        "",
        "## Differences",
        "",
        md_table(
            ["metric", *differences],
            [
                [label, *(_cell(differences[pair], key) for pair in differences)]
                for key, label in METRIC_LABELS.items()
            ],
        ),
        "",
        "## Fidelity score",
        "",
        f"`{report['fidelity_formula']}`",
        "",
        md_table(
            ["term", "weight", *columns],
            [
                [term, weight, *(f"{everything[name]['components'][term]:.3f}" for name in columns)]
                for term, weight in report["fidelity_weights"].items()
            ],
        ),
        "",
        "![reply lengths](lengths.png)",
        "",
        "## Side by side",
        "",
    ]
    for number, item in enumerate(examples, 1):
        context = " / ".join(f"{_speaker(m)}: {m.content}" for m in item.prompt[-3:] if m.role != "system")
        table = md_table(["who", "reply"], [["real", item.reply], *([n, item.replies[n][0]] for n in MODELS)])
        lines += [f"**{number}.** {context or '(the persona starts the conversation)'}", "", table, ""]
    timings = report["timings"]
    lines.append(
        f"Generation {timings['generation_s']:.0f} s, scoring (context fit, perplexity) "
        f"{timings['scoring_s']:.0f} s, metrics and bootstrap {timings['metrics_s']:.0f} s, "
        f"total {timings['total_s']:.0f} s."
    )
    return "\n".join(lines)


def _cell(metrics: dict[str, list[float]], key: str) -> str:
    return fmt(metrics[key]) if key in metrics else "–"


WHAT_THE_INTERVAL_SAYS = {"better": "above 0", "worse": "below 0", "tie": "contains 0"}


def verdict_lines(report: dict) -> list[str]:
    fidelity = report["fidelity_interval"]
    lines = []
    for pair, word in report["verdicts"].items():
        a, b = pair.split(" vs ")
        difference = report["differences"][f"{a}-{b}"]["fidelity"]
        lines.append(
            f"- **{a} vs {b}: {word}** — fidelity difference {fmt(difference)} "
            f"(the interval {WHAT_THE_INTERVAL_SAYS[word]})"
        )
    real, shuffled = report["fidelity"][REAL], report["fidelity"][SHUFFLED]
    lines.append(
        f"- Controls: real {real:.3f} [{fidelity[REAL][0]:.3f}, {fidelity[REAL][1]:.3f}], shuffled-real "
        f"{shuffled:.3f} [{fidelity[SHUFFLED][0]:.3f}, {fidelity[SHUFFLED][1]:.3f}]: a model below "
        "shuffled-real writes like the persona less well than the persona's own words sent to the wrong chat."
    )
    return lines


def pii_lines(report: dict) -> list[str]:
    """The memorisation probe: original values of pii_mapping.json written by each model."""
    pii = report.get("pii")
    if not pii:
        return []
    from align.evaluate import MODELS

    counts = ", ".join(
        f"{name} {pii[name]['original_values']} ({pii[name]['detector_hits']} detector hits)"
        for name in MODELS
    )
    where = f"`{pii['mapping']}`" if pii["mapping"] else "no pii_mapping.json (detectors only)"
    return [f"- Memorisation probe, original values of {where} in the replies: {counts}"]


def _speaker(message: ChatMessage) -> str:
    return message.name or ("persona" if message.role == "assistant" else message.role)


# --- plots --------------------------------------------------------------------------------------------------


def plot_lengths(features: dict[str, SetFeatures], path: Path) -> Path:
    """Overlaid histograms of reply length (characters, log-spaced bins): real vs each model."""
    fig, ax = new_figure()
    lengths = {name: f.chars.ravel() for name, f in features.items() if name != SHUFFLED}
    longest = max(float(values.max(initial=1)) for values in lengths.values())
    bins = np.geomspace(1, max(2, longest + 1), 30)
    for name, values in lengths.items():
        weights = np.full(len(values), 1 / max(1, features[name].samples))
        line = 2 if name == REAL else 1.4
        ax.hist(
            np.maximum(1, values), bins=bins, weights=weights, histtype="step", linewidth=line, label=name
        )
    ax.set_xscale("log")
    ax.set_xlabel("reply length (characters)")
    ax.set_ylabel("replies per prompt set")
    ax.set_title("Reply length: real persona vs models (held-out sessions)")
    ax.legend()
    return save_figure(fig, path)


def plot_intervals(report: dict, path: Path) -> Path:
    """Fidelity and its two context-fit terms per model and control, with 95 % intervals."""
    everything = {**report["models"], **report["controls"]}
    keys = ["fidelity", "term_relevance", "term_matching", "term_detect"]
    fig, ax = new_figure(9, 4)
    width = 0.8 / len(everything)
    for offset, (name, entry) in enumerate(everything.items()):
        values = np.array([entry["metrics"][key] for key in keys])
        errors = np.abs(values[:, 1:].T - values[:, 0])
        ax.bar(np.arange(len(keys)) + offset * width, values[:, 0], width, yerr=errors, capsize=3, label=name)
    ax.set_xticks(np.arange(len(keys)) + width * (len(everything) - 1) / 2, keys)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (1 = like the persona)")
    ax.set_title("Fidelity and context fit, with 95 % intervals")
    ax.legend(fontsize=8)
    return save_figure(fig, path)
