"""`chatlikeme pii-check DIR`: the datasets ingest writes are clean; a planted original value is found."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ingest.pii_check import PiiChecker, check_files, check_texts, pii_check
from tests.conftest import run_cli

MAPPING = {"<PHONE_1>": ["333 123 4567"], "<PERSON_1>": ["Lorenzo"], "<EMAIL_1>": ["paola@studio.it"]}


def copy_data(demo_data, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(demo_data.data_dir, data)
    return data


def plant(path: Path, line: int, text: str) -> None:
    """Append `text` to the last (assistant) message of sample `line` (1-based)."""
    rows = path.read_text(encoding="utf-8").splitlines()
    row = json.loads(rows[line - 1])
    row["messages"][-1]["content"] += text
    rows[line - 1] = json.dumps(row, ensure_ascii=False)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_the_ingested_demo_data_is_clean(demo_data):
    done = run_cli("pii-check", demo_data.data_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 hits" in done.stdout and "3 files" in done.stdout and "1 pii_mapping.json" in done.stdout


def test_a_planted_original_value_is_found_with_its_file_and_line(demo_data, tmp_path):
    data = copy_data(demo_data, tmp_path)
    mapping = json.loads((data / "private" / "pii_mapping.json").read_text(encoding="utf-8"))
    phone = next(values[0] for key, values in mapping.items() if key.startswith("<PHONE_"))
    plant(data / "sft" / "train.jsonl", 7, f" chiamami al {phone}")
    done = run_cli("pii-check", data)
    assert done.returncode == 1, done.stdout + done.stderr
    train = data / "sft" / "train.jsonl"
    assert f"{train}:7: original PHONE {phone[0]}***" in done.stdout
    assert phone not in done.stdout  # the value itself is masked
    assert "original PHONE       1" in done.stdout


def test_json_output_and_mapping_option(demo_data, tmp_path):
    data = copy_data(demo_data, tmp_path)
    plant(data / "sft" / "eval.jsonl", 2, " scrivi a paola@studio.it o a Lorenzo, <PHONE_1>")
    mapping = tmp_path / "elsewhere.json"
    mapping.write_text(json.dumps(MAPPING), encoding="utf-8")
    done = run_cli("pii-check", data / "sft", "--mapping", mapping, "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["counts"] == {"original EMAIL": 1, "original PERSON": 1}
    assert report["mappings"] == [str(mapping)] and not report["clean"]
    assert {(h["file"], h["line"], h["value"]) for h in report["hits"]} == {
        (str(data / "sft" / "eval.jsonl"), 2, "p***"),
        (str(data / "sft" / "eval.jsonl"), 2, "L***"),
    }


def test_bad_input_exits_2_naming_the_file(tmp_path):
    missing = tmp_path / "nothing"
    done = run_cli("pii-check", missing)
    assert done.returncode == 2 and str(missing) in done.stderr and len(done.stderr.splitlines()) == 1
    (tmp_path / "sft").mkdir()
    broken = tmp_path / "sft" / "train.jsonl"
    broken.write_text('{"messages": []}\n{not json\n', encoding="utf-8")
    done = run_cli("pii-check", tmp_path)
    assert done.returncode == 2 and f"{broken}:2" in done.stderr
    done = run_cli("pii-check", tmp_path / "sft", "--mapping", tmp_path / "no-mapping.json")
    assert done.returncode == 2 and "no-mapping.json" in done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli("pii-check", empty).returncode == 2


def test_placeholders_and_prompt_names_are_not_hits():
    checker = PiiChecker(MAPPING)
    assert checker.check("chiama <PHONE_1> o scrivi a <EMAIL_1>, <PERSON_1>") == []
    assert checker.check("Lorenzo: chi c'è giovedì?", names=False) == []  # a speaker label in a prompt
    assert checker.check("dillo a lorenzo") == [("original", "PERSON", "lorenzo")]
    assert checker.check("il mio è +39 347 000 1111") == [("detector", "PHONE", "+39 347 000 1111")]


def test_generations_are_checked_per_model():
    replies = {"base": ["ciao"], "sft": ["chiama 333 123 4567"], "kto": ["ok <PHONE_1>"]}
    counts = check_texts(replies, MAPPING)
    assert counts["sft"] == {"original_values": 1, "detector_hits": 0}
    assert counts["base"] == counts["kto"] == {"original_values": 0, "detector_hits": 0}


def test_a_name_the_prompt_shows_is_not_a_hit_in_its_reply(tmp_path):
    """Prompts name the contact on purpose: "Dear Lorenzo" after "chatting with Lorenzo" reveals nothing
    (the English demo's KTO data failed the run on exactly this). A name the prompt does not show still is."""
    rows = tmp_path / "kto" / "train.jsonl"
    rows.parent.mkdir()
    system = {"role": "system", "content": "You are Marco, chatting with Lorenzo. Respond naturally."}
    rows.write_text(
        "\n".join(
            json.dumps(
                {
                    "prompt": [system, {"role": "user", "content": "ci sei?", "name": "Lorenzo"}],
                    "completion": [{"role": "assistant", "content": reply}],
                    "label": False,
                }
            )
            for reply in ("Dear Lorenzo, certo", "dillo a Giulia")
        )
        + "\n"
    )
    result = check_files([rows], PiiChecker({"<PERSON_1>": ["Lorenzo"], "<PERSON_2>": ["Giulia"]}))
    assert [(hit.line, hit.value) for hit in result.originals()] == [(2, "Giulia")]

    replies = {"kto": ["ciao Lorenzo", "ciao Lorenzo"]}
    prompts = [["You are Marco, chatting with Lorenzo."], ["You are Marco, chatting with Anna."]]
    assert check_texts(replies, MAPPING, {"kto": prompts})["kto"]["original_values"] == 1


def test_library_call_reports_lines(demo_data):
    result = pii_check(demo_data.data_dir)
    assert not result.hits and result.lines > 100 and len(result.files) == 3


def test_a_pipeline_workdir_kto_rows_and_generations(demo_data, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(demo_data.data_dir, work / "data" / "ingest" / "k")
    kto = work / "data" / "kto-data" / "k"
    kto.mkdir(parents=True)
    row = {
        "prompt": [{"role": "user", "content": "Lorenzo: chi c'è?", "name": "Lorenzo"}],
        "completion": [{"role": "assistant", "content": "io"}],
        "label": True,
    }
    (kto / "train.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    generations = work / "runs" / "r1" / "eval" / "generations.jsonl"
    generations.parent.mkdir(parents=True)
    generation = {
        "sample_id": "user1/2/0",
        "prompt": [],
        "real": "ok",
        "base": ["ok"],
        "kto": ["ok", "Lorenzo"],
    }
    generations.write_text(json.dumps(generation) + "\n", encoding="utf-8")
    (work / "runs" / "promotions.jsonl").write_text('{"by": "gate", "note": "call Lorenzo"}\n')
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING), encoding="utf-8")

    result = pii_check(work, mapping)
    assert len(result.files) == 5  # sft train/eval/test, the KTO rows, the generations
    assert [(h.path, h.line, h.where, h.category) for h in result.hits] == [
        (str(generations), 1, "kto[1]", "PERSON")
    ]  # the prompt names Lorenzo on purpose; a model writing his name is a hit
