"""PipelineConfig: presets, per-stage config files/presets/overrides, paths relative to the workdir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from core.config import StageConfig
from core.errors import ChatLikeMeError
from flows.config import PipelineConfig


@dataclass
class ToyStageConfig(StageConfig):
    presets_dir: ClassVar[Path]
    epochs: int = 3
    lr: float = 1e-4


@pytest.fixture
def toy_presets(tmp_path: Path) -> Path:
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "cpu-demo.yaml").write_text("epochs: 1\n")
    ToyStageConfig.presets_dir = presets
    return presets


def test_stage_config_sources_and_overrides(tmp_path: Path, toy_presets: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "my-sft.yaml").write_text("lr: 0.5\n")

    plain = PipelineConfig(workdir=work)
    assert plain.stage_config("sft", ToyStageConfig) == ToyStageConfig()

    demo = PipelineConfig.from_dict({"workdir": str(work), "preset": "cpu-demo"})
    assert demo.stage_config("sft", ToyStageConfig).epochs == 1
    assert demo.stage_config("sft", ToyStageConfig, lr=0.1).lr == 0.1  # forced values win

    own = PipelineConfig.from_dict(
        {
            "workdir": str(work),
            "preset": "cpu-demo",
            "sft": {"config": "my-sft.yaml", "overrides": {"epochs": 7}},
        }
    )
    assert own.stage_config("sft", ToyStageConfig) == ToyStageConfig(epochs=7, lr=0.5)

    # a preset the stage does not have falls back to its defaults; a named one it lacks is an error
    assert PipelineConfig(preset="gpu").stage_config("kto", ToyStageConfig) == ToyStageConfig()
    with pytest.raises(ChatLikeMeError, match="no such config file or ToyStageConfig preset"):
        PipelineConfig.from_dict({"kto": {"config": "gpu"}}).stage_config("kto", ToyStageConfig)
    with pytest.raises(ChatLikeMeError, match="unknown key 'epoch'"):
        PipelineConfig.from_dict({"sft": {"overrides": {"epoch": 1}}}).stage_config("sft", ToyStageConfig)


def test_pipeline_yaml_paths_and_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(f"workdir: {tmp_path}\nruns_dir: /abs/runs\nkto_data: {{overrides: {{seed: 3}}}}\n")
    config = PipelineConfig.load(path)
    assert config.data_path == tmp_path / "data" and config.runs_path == Path("/abs/runs")
    assert config.votes_path is None
    (tmp_path / "votes.sqlite").write_bytes(b"")
    assert config.votes_path == tmp_path / "votes.sqlite"
    assert PipelineConfig.load("cpu-demo").preset == "cpu-demo"

    path.write_text("kto-data: {}\n")
    with pytest.raises(ChatLikeMeError, match="unknown key 'kto-data' for PipelineConfig"):
        PipelineConfig.load(path)
