"""`chatlikeme kto --rounds N`: round k starts from, and is referenced to, round k-1's policy, on rows
relabelled with that policy's samples; every round is kept and the best on the eval split becomes `kto`."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
import torch
from transformers import TrainerCallback

from align.kto import KTOStageConfig, train_kto
from align.kto_data import relabel_on_policy
from align.negatives.on_policy import ONPOLICY_PROMPT
from align.negatives.text import normalize
from core.io import read_jsonl
from core.schema import KtoRow
from tests.align.test_kto import FAST, kto_rows, write_kto_data
from tests.conftest import make_lora_adapter, run_cli

PROBE = "ciao, stasera? ahah si dai 😂"


def probe_logps(model, tokenizer) -> torch.Tensor:
    """Per-token log-probabilities of a fixed text under the model's active adapter."""
    ids = torch.tensor([tokenizer(PROBE)["input_ids"]], device=next(model.parameters()).device)
    with torch.no_grad():
        logits = model(input_ids=ids).logits[:, :-1].float()
    return torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None]).squeeze(-1).cpu()


class ReferenceAtStart(TrainerCallback):
    """At the start of every round: the reference's and the policy's log-probs of the probe text."""

    def __init__(self) -> None:
        self.rounds: list[dict[str, torch.Tensor]] = []

    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
        seen = {}
        for adapter in ("ref", "default"):
            model.set_adapter(adapter)
            seen[adapter] = probe_logps(model, processing_class)
        model.set_adapter("default")
        for name, parameter in model.named_parameters():  # set_adapter may have unfrozen the reference
            if ".ref." in name:
                parameter.requires_grad_(False)
        self.rounds.append(seen)


def saved_logps(base_model: Path, adapter: Path) -> torch.Tensor:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from align.models import load_tokenizer

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_model), str(adapter))
    return probe_logps(model.eval(), load_tokenizer(str(base_model)))


@pytest.fixture
def kto_data(tmp_path: Path) -> Path:
    data = write_kto_data(tmp_path / "data" / "kto", train_count=16)
    (data / "config.yaml").write_text(
        "generation_backend: transformers\noff_context:\n  samples_per_prompt: 1\n  max_new_tokens: 8\n"
    )
    return data


@pytest.mark.slow
def test_rounds_chain_references_and_keep_every_round(
    kto_data: Path, tiny_model: Path, tmp_path: Path
) -> None:
    sft = make_lora_adapter(tiny_model, tmp_path / "run" / "sft", seed=7)
    out = tmp_path / "run" / "kto"
    probe = ReferenceAtStart()
    config = FAST.replace(rounds=2, max_steps=2)
    train_kto(kto_data, sft, out, config, callbacks=[probe])

    assert len(probe.rounds) == 2
    sft_logps = saved_logps(tiny_model, sft)
    round1 = saved_logps(tiny_model, out / "rounds" / "1")
    # Round 1: policy and reference start as the SFT adapter. Round 2: both start as round 1's policy.
    assert torch.allclose(probe.rounds[0]["ref"], sft_logps, atol=1e-4)
    assert torch.allclose(probe.rounds[1]["ref"], round1, atol=1e-4)
    assert torch.allclose(probe.rounds[1]["default"], round1, atol=1e-4)
    assert not torch.allclose(round1, sft_logps, atol=1e-3)  # round 1 did move the policy

    report = json.loads((out / "report.json").read_text())
    rounds = report["rounds"]
    assert rounds["count"] == 2 and [r["round"] for r in rounds["per_round"]] == [1, 2]
    best = max(rounds["per_round"], key=lambda r: r["eval_margin"])
    assert rounds["best"] == best["round"]
    for k in ("1", "2"):
        kept = out / "rounds" / k
        assert (kept / "adapter_model.safetensors").is_file() and (kept / "metrics.json").is_file()
    # The run's kto is the best round's adapter, where every later stage reads it.
    best_dir = out / "rounds" / str(rounds["best"])
    assert (out / "adapter_model.safetensors").read_bytes() == (
        best_dir / "adapter_model.safetensors"
    ).read_bytes()
    second = json.loads((out / "rounds" / "2" / "report.json").read_text())
    assert second["reference"] == "frozen round 1 policy"
    assert second["relabel"]["strategy"] == "off_context" and second["relabel"]["samples"] > 0
    assert not (out.parent / ".kto.rounds").exists()
    assert f"round {rounds['best']} of 2" in (out / "report.md").read_text()


def test_relabel_samples_the_policy_on_the_onpolicy_prompts_only(tmp_path: Path, tiny_model: Path) -> None:
    adapter = make_lora_adapter(tiny_model, tmp_path / "policy", seed=3)
    rows = kto_rows(8)
    for row in rows[:4]:  # two on-policy prompts (real reply + an old on-policy negative each)
        row.detail = ONPOLICY_PROMPT if row.label else row.detail
        row.strategy = row.strategy if row.label else "on_policy"
    (tmp_path / "config.yaml").write_text(
        "generation_backend: transformers\nmax_similarity: 0.5\n"
        "on_policy:\n  samples_per_prompt: 3\n  max_new_tokens: 8\n  min_persona_probability: 1.0\n"
    )
    new, summary = relabel_on_policy(tmp_path, rows, adapter, str(tiny_model), 2)
    assert summary["strategy"] == "on_policy" and summary["prompts"] == 2 and summary["samples"] == 6
    assert summary["replaced_rows"] == 2
    assert [r for r in new if r.strategy != "on_policy"] == [r for r in rows if r.strategy != "on_policy"]
    onpolicy_prompts = {msgspec.json.encode(r.prompt) for r in rows[:4]}
    real = {(r.sample_id, msgspec.json.encode(r.prompt)): r.completion[0].content for r in rows if r.label}
    fresh = [r for r in new if r.strategy == "on_policy"]
    assert fresh and len(fresh) == summary["undesirable"]  # every sample "too generic" for this judge
    for row in fresh:
        assert not row.label and msgspec.json.encode(row.prompt) in onpolicy_prompts
        assert normalize(row.completion[0].content) != normalize(
            real[(row.sample_id, msgspec.json.encode(row.prompt))]
        )


def test_rounds_from_the_cli_and_a_bad_value(kto_data: Path, tmp_path: Path) -> None:
    config = FAST.save_yaml(tmp_path / "kto.yaml")
    result = run_cli(
        "kto",
        "--data",
        kto_data,
        "--sft",
        tmp_path,
        "--out",
        tmp_path / "o",
        "--config",
        config,
        "--rounds",
        "0",
    )
    assert result.returncode == 2 and "rounds must be at least 1" in result.stderr


def test_one_round_is_the_plain_run(kto_data: Path) -> None:
    assert (
        KTOStageConfig().rounds == 1
        and KTOStageConfig.load("cpu-demo").rounds == 1
        and KTOStageConfig.load("gpu").rounds == 2
    )
    assert all(isinstance(row, KtoRow) for row in read_jsonl(kto_data / "train.jsonl", KtoRow))
