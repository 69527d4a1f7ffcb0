"""The pipeline's pii-check: an original value in the training data fails the run; one in a trained model's
generations (the eval's memorisation probe) blocks its promotion."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from core.errors import ChatLikeMeError
from flows.caching import StageResult
from flows.pipeline import block_leaks, run_pipeline
from flows.registry import GateDecision, Registry
from flows.stages import training_data_pii_check
from tests.flows.conftest import FirstRun, tiny_pipeline_config

KTO_ROW = {
    "prompt": [{"role": "user", "content": "dove ci vediamo?", "name": "Giulia"}],
    "completion": [{"role": "assistant", "content": "da me"}],
    "label": True,
}


def result(stage: str, output: Path) -> StageResult:
    return StageResult(stage, "key", output, "sha", 0.0)


def fake_data(tmp_path: Path) -> tuple[StageResult, StageResult]:
    data, kto = tmp_path / "data" / "ingest" / "k", tmp_path / "data" / "kto-data" / "k"
    (data / "sft").mkdir(parents=True)
    (data / "private").mkdir()
    kto.mkdir(parents=True)
    (data / "private" / "pii_mapping.json").write_text(json.dumps({"<PHONE_1>": ["333 123 4567"]}))
    sample = {
        "messages": [{"role": "user", "content": "numero?"}, {"role": "assistant", "content": "<PHONE_1>"}]
    }
    (data / "sft" / "train.jsonl").write_text(json.dumps(sample) + "\n")
    (kto / "train.jsonl").write_text(json.dumps(KTO_ROW) + "\n")
    return result("ingest", data), result("kto-data", kto)


def test_training_data_check_passes_clean_data_and_fails_on_an_original_value(tmp_path: Path) -> None:
    data, kto = fake_data(tmp_path)
    assert training_data_pii_check(data, kto).hits == []
    row = {**KTO_ROW, "completion": [{"role": "assistant", "content": "chiama il 333 123 4567"}]}
    (kto.output / "train.jsonl").write_text(json.dumps(KTO_ROW) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(ChatLikeMeError, match="original value") as err:
        training_data_pii_check(data, kto)
    assert f"{kto.output / 'train.jsonl'}:2:" in str(err.value) and "123 4567" not in str(err.value)


def test_a_leaking_model_is_never_promoted(tmp_path: Path) -> None:
    report = {"pii": {"mapping": "m.json", **{m: {"original_values": 0, "detector_hits": 0} for m in "ab"}}}
    report["pii"]["kto"] = {"original_values": 2, "detector_hits": 0}
    (tmp_path / "report.json").write_text(json.dumps(report))
    decision = block_leaks(GateDecision(True, ["no current run yet"]), tmp_path)
    assert (
        not decision.promote
        and "memorisation probe" in decision.reasons[0]
        and "kto 2" in decision.reasons[0]
    )
    report["pii"]["kto"]["original_values"] = 0
    (tmp_path / "report.json").write_text(json.dumps(report))
    assert block_leaks(GateDecision(True, ["ok"]), tmp_path).promote


def original_phone(workdir: Path) -> str:
    (mapping,) = (workdir / "data" / "ingest").glob("*/private/pii_mapping.json")
    values = json.loads(mapping.read_text(encoding="utf-8"))
    return next(v[0] for key, v in values.items() if key.startswith("<PHONE_"))


@pytest.mark.slow
def test_a_leak_in_the_training_data_fails_the_run(
    first_run: FirstRun, demo_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.pipeline

    phone = original_phone(first_run.workdir)
    real_flow = flows.pipeline.kto_data_flow

    def leaking_kto_data(**parameters):  # the real (cached) step, then a copy of its data with a leak
        done = real_flow(**parameters)
        copy = tmp_path / "kto-data"
        shutil.copytree(done.output, copy)
        rows = (copy / "train.jsonl").read_text(encoding="utf-8").splitlines()
        row = json.loads(rows[2])
        row["completion"][0]["content"] += f" chiamami al {phone}"
        rows[2] = json.dumps(row, ensure_ascii=False)
        (copy / "train.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
        return dataclasses.replace(done, output=copy)

    monkeypatch.setattr(flows.pipeline, "kto_data_flow", leaking_kto_data)
    registry = Registry(first_run.workdir / "runs")
    before = [run.id for run in registry.runs()]
    with pytest.raises(ChatLikeMeError, match="original value") as err:
        run_pipeline([demo_export], first_run.config)
    assert f"{tmp_path / 'kto-data' / 'train.jsonl'}:3:" in str(err.value)
    assert [run.id for run in registry.runs()] == before


@pytest.mark.slow
def test_a_generation_leak_blocks_promotion(
    first_run: FirstRun, tiny_model: Path, demo_export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import align.evaluate

    phone = original_phone(first_run.workdir)

    def generate(base_model, jobs, backend, **kwargs):  # kto "remembers" a phone number of the data
        return {
            job.name: [f"ok {phone}" if job.name == "kto" else "ok ahah" for _ in job.prompts] for job in jobs
        }

    monkeypatch.setattr(align.evaluate, "generate", generate)
    config = tiny_pipeline_config(
        first_run.workdir,
        tiny_model,
        eval={"overrides": {**first_run.config.eval.overrides, "seed": 7}},
        gate={"min_gain": -1.0},  # without the leak, any candidate would pass
        fresh_processes=False,  # the eval stage in this process, where `generate` is replaced
    )
    outcome = run_pipeline([demo_export], config)
    assert outcome.new_run and not outcome.promoted
    report = json.loads((outcome.run_path / "eval" / "report.json").read_text())
    assert report["pii"]["kto"]["original_values"] > 0 and report["pii"]["sft"]["original_values"] == 0
    assert "memorisation probe" in outcome.gate["reasons"][0]
    page = (outcome.run_path / "report.md").read_text()
    assert "Kept as a candidate: blocked by the memorisation probe" in page
    assert "Memorisation probe" in (outcome.run_path / "eval" / "report.md").read_text()
    assert Registry(first_run.workdir / "runs").current().id == first_run.outcome.run_id
