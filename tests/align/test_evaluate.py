import json
import shutil
from pathlib import Path

import pytest
import yaml

from align.evaluate import (
    EvalConfig,
    compare_eval_runs,
    held_out_split_path,
    load_eval_items,
    select_items,
)
from core.errors import ChatLikeMeError
from core.io import write_jsonl
from core.schema import ChatMessage, SftSample
from tests.conftest import run_cli

EXCHANGES = [
    ("ciao, stasera ci sei?", "si dai verso le 9"),
    ("hai visto la partita?", "ahah si che disastro 😂"),
    ("mi passi il numero di Marco?", "te lo mando dopo"),
    ("dove andiamo a mangiare", "boh pizza?"),
    ("sei arrivato?", "quasi, 5 min"),
    ("che fai domani", "lavoro tutto il giorno uff"),
]


def held_out_split(data_dir: Path, sessions: int = 3, split: str = "test") -> Path:
    """DATA/sft/<split>.jsonl: a few two-exchange sessions of one chat."""
    samples = []
    for session in range(sessions):
        messages = [ChatMessage("system", "You are Pasquale, chatting with Lorenzo.")]
        for prompt, reply in EXCHANGES[session * 2 : session * 2 + 2]:
            messages += [ChatMessage("user", prompt, name="Lorenzo"), ChatMessage("assistant", reply)]
        samples.append(SftSample(messages, id=f"c1/{session}/0", chat_id="c1", session=session))
    return write_jsonl(data_dir / "sft" / f"{split}.jsonl", samples)


def run_dir_with(adapters: dict[str, Path], root: Path) -> Path:
    run = root / "run"
    for name, path in adapters.items():
        shutil.copytree(path, run / name)
    return run


def test_every_persona_turn_is_a_prompt_with_its_context(tmp_path: Path) -> None:
    items = load_eval_items(held_out_split(tmp_path), max_context_messages=2)
    assert [item.reply for item in items] == [reply for _, reply in EXCHANGES]
    second = items[1]
    assert [m.role for m in second.prompt] == ["system", "assistant", "user"]  # system + last 2 messages
    assert second.prompt[-1].content == EXCHANGES[1][0]
    assert [item.reply for item in select_items(items, 3)] == [EXCHANGES[i][1] for i in (0, 2, 5)]


@pytest.mark.slow
def test_eval_end_to_end_on_a_tiny_model(tiny_adapters: dict[str, Path], tmp_path: Path) -> None:
    data, run = tmp_path / "data", run_dir_with(tiny_adapters, tmp_path)
    held_out_split(data)
    held_out_split(data, sessions=2, split="eval")  # picked checkpoints: never the one reported on
    config = tmp_path / "eval.yaml"
    settings = {"max_new_tokens": 12, "backend": "transformers", "examples": 4, "samples_per_prompt": 2}
    settings["base_samples_per_prompt"] = 1  # the control sampled once, as the CPU demo does
    config.write_text(yaml.safe_dump({**settings, "bootstrap_rounds": 200}))

    result = run_cli("eval", "--run", run, "--data", data, "--config", config)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fidelity on 6 held-out replies" in result.stdout and "kto vs sft:" in result.stdout

    report = json.loads((run / "eval" / "report.json").read_text())
    assert report["n_prompts"] == 6 and report["eval_split"].endswith("test.jsonl")
    assert report["samples_per_prompt"] == 2 and not any("no test split" in w for w in report["warnings"])
    assert report["pii"] == {  # the memorisation probe, here without a pii_mapping.json
        "mapping": None,
        **{name: {"original_values": 0, "detector_hits": 0} for name in ("base", "sft", "kto")},
    }
    for name in ("base", "sft", "kto", "real", "shuffled_real"):
        entry = {**report["models"], **report["controls"]}[name]
        assert 0 <= entry["fidelity"] <= 1 and 0 <= entry["detectability_auc"] <= 1
        low, high = entry["fidelity_interval"]
        assert low <= entry["fidelity"] <= high
        assert set(entry["components"]) == set(report["fidelity_weights"])
        assert {"relevance", "matching", "copy_rate"} <= set(entry["metrics"])
    assert report["controls"]["real"]["detectability_auc"] == 0.5  # a set cannot be told from itself
    perplexity = {name: report["models"][name]["metrics"]["perplexity"][0] for name in ("base", "sft", "kto")}
    assert min(perplexity.values()) > 1 and len({round(p, 3) for p in perplexity.values()}) == 3
    assert set(report["verdicts"]) == {"kto vs sft", "sft vs base"}
    assert set(report["verdicts"].values()) <= {"better", "tie", "worse"}
    value, low, high = report["differences"]["kto-sft"]["fidelity"]
    assert low <= value <= high

    rows = [json.loads(line) for line in (run / "eval" / "generations.jsonl").read_text().splitlines()]
    assert [row["real"] for row in rows] == [reply for _, reply in EXCHANGES]
    assert all(len(row["sft"]) == len(row["kto"]) == len(row["shuffled_real"]) == 2 for row in rows)
    assert all(len(row["base"]) == 1 for row in rows)
    assert {name: entry["samples_per_prompt"] for name, entry in report["models"].items()} == {
        "base": 1, "sft": 2, "kto": 2,
    }  # fmt: skip
    markdown = (run / "eval" / "report.md").read_text()
    assert "sft and kto sampled 2 times per prompt, base once" in markdown
    assert "## Verdicts" in markdown and "shuffled_real" in markdown
    assert "**4.**" in markdown and "**5.**" not in markdown
    assert (run / "eval" / "lengths.png").stat().st_size > 0 and (run / "eval" / "fidelity.png").is_file()

    # The gate's comparison: a model against itself gains exactly nothing; against another, an interval.
    same = compare_eval_runs(run / "eval", "kto", run / "eval", "kto", rounds=100, seed=0)
    assert same.differences["candidate-current"]["fidelity"].to_list() == [0.0, 0.0, 0.0]
    other = compare_eval_runs(run / "eval", "kto", run / "eval", "sft", rounds=100, seed=0)
    gain = other.differences["candidate-current"]["fidelity"]
    assert gain.low <= gain.value <= gain.high
    assert gain.value == pytest.approx(report["fidelity"]["kto"] - report["fidelity"]["sft"])


def test_the_test_split_is_scored_and_old_data_folders_fall_back_with_a_warning(tmp_path: Path) -> None:
    held_out_split(tmp_path / "new")
    held_out_split(tmp_path / "new", split="eval")
    assert held_out_split_path(tmp_path / "new") == (tmp_path / "new" / "sft" / "test.jsonl", None)
    held_out_split(tmp_path / "old", split="eval")
    path, warning = held_out_split_path(tmp_path / "old")
    assert path == tmp_path / "old" / "sft" / "eval.jsonl" and "no test split" in warning
    with pytest.raises(ChatLikeMeError, match=r"test\.jsonl"):
        held_out_split_path(tmp_path / "none")


def test_missing_adapter_and_empty_split_are_one_line_errors(
    tiny_adapters: dict[str, Path], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    held_out_split(data)
    only_sft = run_dir_with({"sft": tiny_adapters["sft"]}, tmp_path)
    result = run_cli("eval", "--run", only_sft, "--data", data)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "kto" in result.stderr and "chatlikeme kto" in result.stderr

    (data / "sft" / "test.jsonl").write_text("")
    with pytest.raises(ChatLikeMeError, match="held-out split is empty"):
        load_eval_items(data / "sft" / "test.jsonl", 8)


def test_adapters_on_different_base_models_are_refused(
    tiny_adapters: dict[str, Path], tmp_path: Path
) -> None:
    data, run = tmp_path / "data", run_dir_with(tiny_adapters, tmp_path)
    held_out_split(data)
    config_path = run / "kto" / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = str(tmp_path / "another-model")
    config_path.write_text(json.dumps(config))
    result = run_cli(
        "eval", "--run", run, "--data", data, "--config", EvalConfig.presets_dir / "cpu-demo.yaml"
    )
    assert result.returncode == 2 and "same base model" in result.stderr
