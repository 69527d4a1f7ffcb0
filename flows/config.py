"""The pipeline's config: where things go, which config each stage runs with, and the promotion gate.

    # pipeline.yaml                      (presets: flows/configs/pipeline/{cpu,cpu-demo,gpu}.yaml)
    preset: cpu-demo                     # every stage's preset unless the stage names its own
    base_model: null                     # null = the default SmolLM2, prepared on first use
    sft:
      config: my-sft.yaml                # a preset name or a YAML file of SFTConfig
      overrides: {epochs: 2}             # then these keys
    gate: {min_votes: 50}

Relative paths are relative to `workdir`, itself relative to where the command runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from core.config import StageConfig
from flows.budget import BudgetLimits
from flows.registry import GateConfig

C = TypeVar("C", bound=StageConfig)


@dataclass
class StageSettings:
    """Which config one stage runs with."""

    config: str | None = None
    "A preset name (cpu-demo, gpu) or a YAML file of the stage's config; empty = the pipeline's `preset`."
    overrides: dict[str, Any] = field(default_factory=dict)
    "Keys of the stage's config to set on top (e.g. {epochs: 2})."


@dataclass
class PipelineConfig(StageConfig):
    """`chatlikeme run` / `demo` / `schedule`: the whole pipeline, ingest to promotion."""

    presets_dir: ClassVar[Path] = Path(__file__).parent / "configs" / "pipeline"

    workdir: Path = Path(".")
    "Base directory of the relative paths below."
    data_dir: Path = Path("data")
    "Datasets: DATA/ingest/<key>/ and DATA/kto-data/<key>/ (one directory per distinct input)."
    runs_dir: Path = Path("runs")
    "The run registry: RUNS/<run-id>/, RUNS/current (what `serve` uses), RUNS/.stages/ (training outputs)."
    preset: str | None = None
    "Preset used by every stage that names no config of its own (a stage without that preset: defaults)."
    base_model: str | None = None
    "Hugging Face id or local path of the base model for every stage; empty = the SFT config's, else SmolLM2."
    votes: Path | None = None
    "Arena votes (SQLite) that become KTO rows and decide win-rates; empty = votes.sqlite in workdir if any."
    time_budget_minutes: float | None = None
    "Fit the whole run into this many minutes (the `cpu` preset: 60): measure real SFT steps on the data, "
    "then cut eval sizes, max_length and SFT/KTO steps to fit (flows/budget.py); empty = configs as they are."
    budget_limits: BudgetLimits = field(default_factory=BudgetLimits)
    "The least a time budget may cut the run to."
    retries: int = 2
    "Retries of a step that failed for a reason other than bad input (a crash, a full disk, the network)."
    retry_delay_s: float = 10.0
    telegram: Path | None = None
    "TelegramConfig YAML for `schedule --telegram` (empty: defaults; api_id/api_hash from the environment)."
    deployments: dict[str, str] = field(default_factory=dict)
    "Stages to run as Prefect deployments on other workers, e.g. {sft: sft/sft-gpu} (see prefect.yaml)."
    fresh_processes: bool = True
    "Run SFT, KTO data, KTO and eval each in a Python process of its own: after SFT, the same process's heap "
    "made every later stage 1.7-2.6x slower on a CPU (flows.stages.in_process)."
    ingest: StageSettings = field(default_factory=StageSettings)
    sft: StageSettings = field(default_factory=StageSettings)
    kto_data: StageSettings = field(default_factory=StageSettings)
    kto: StageSettings = field(default_factory=StageSettings)
    eval: StageSettings = field(default_factory=StageSettings)
    gate: GateConfig = field(default_factory=GateConfig)

    def path(self, value: Path) -> Path:
        """`value` relative to `workdir`, absolute."""
        return (self.workdir / value).resolve() if not value.is_absolute() else value

    @property
    def data_path(self) -> Path:
        return self.path(self.data_dir)

    @property
    def runs_path(self) -> Path:
        return self.path(self.runs_dir)

    @property
    def votes_path(self) -> Path | None:
        if self.votes is not None:
            return self.path(self.votes)
        default = self.path(Path("votes.sqlite"))
        return default if default.is_file() else None

    def stage_config(self, stage: str, config_class: type[C], **forced: Any) -> C:
        """The resolved config of `stage`: its file/preset (or the pipeline's preset), overrides, `forced`."""
        settings: StageSettings = getattr(self, stage.replace("-", "_"))
        source: str | Path | None = settings.config
        if source is None and self.preset in config_class.presets():
            source = self.preset
        if source is not None and not Path(source).is_absolute() and self.path(Path(source)).is_file():
            source = self.path(Path(source))
        return config_class.load(source, {**settings.overrides, **forced})
