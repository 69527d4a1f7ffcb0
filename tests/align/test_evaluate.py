import json
import shutil
from pathlib import Path

import pytest

from align.evaluate import EvalConfig, load_eval_items, select_items
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


def held_out_split(data_dir: Path, sessions: int = 3) -> Path:
    """DATA/sft/eval.jsonl: a few two-exchange sessions of one chat."""
    samples = []
    for session in range(sessions):
        messages = [ChatMessage("system", "You are Pasquale, chatting with Lorenzo.")]
        for prompt, reply in EXCHANGES[session * 2 : session * 2 + 2]:
            messages += [ChatMessage("user", prompt, name="Lorenzo"), ChatMessage("assistant", reply)]
        samples.append(SftSample(messages, id=f"c1/{session}/0", chat_id="c1", session=session))
    return write_jsonl(data_dir / "sft" / "eval.jsonl", samples)


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


def test_eval_end_to_end_on_a_tiny_model(tiny_adapters: dict[str, Path], tmp_path: Path) -> None:
    data, run = tmp_path / "data", run_dir_with(tiny_adapters, tmp_path)
    held_out_split(data)
    config = tmp_path / "eval.yaml"
    config.write_text("max_new_tokens: 12\nbackend: transformers\nexamples: 4\n")

    result = run_cli("eval", "--run", run, "--data", data, "--config", config)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fidelity on 6 held-out replies" in result.stdout

    report = json.loads((run / "eval" / "report.json").read_text())
    assert report["n_prompts"] == 6
    for name in ("base", "sft", "kto"):
        model = report["models"][name]
        assert 0 <= model["fidelity"] <= 1 and 0 <= model["detectability_auc"] <= 1
        assert model["perplexity"] > 1 and set(model["components"]) == set(report["fidelity_weights"])
    # Different adapters -> different models: the real replies are not equally likely under each.
    assert len({round(report["models"][n]["perplexity"], 3) for n in ("base", "sft", "kto")}) == 3
    rows = [json.loads(line) for line in (run / "eval" / "generations.jsonl").read_text().splitlines()]
    assert [row["real"] for row in rows] == [reply for _, reply in EXCHANGES]
    assert all(set(row) >= {"prompt", "real", "base", "sft", "kto"} for row in rows)
    markdown = (run / "eval" / "report.md").read_text()
    assert "fidelity score" in markdown and "**4.**" in markdown and "**5.**" not in markdown
    assert (run / "eval" / "lengths.png").stat().st_size > 0 and (run / "eval" / "metrics.png").is_file()


def test_missing_adapter_and_empty_split_are_one_line_errors(
    tiny_adapters: dict[str, Path], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    held_out_split(data)
    only_sft = run_dir_with({"sft": tiny_adapters["sft"]}, tmp_path)
    result = run_cli("eval", "--run", only_sft, "--data", data)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "kto" in result.stderr and "chatlikeme kto" in result.stderr

    (data / "sft" / "eval.jsonl").write_text("")
    with pytest.raises(ChatLikeMeError, match="eval split is empty"):
        load_eval_items(data / "sft" / "eval.jsonl", 8)


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
