import dataclasses
import json
from pathlib import Path

import pytest
import torch
from transformers import TrainerCallback

from align.kto import KTOStageConfig, build_trainer, load_kto_data, resolve_base_model, train_kto
from align.models import choose_precision
from align.sft import SFTStageConfig
from align.training import TrainingStageConfig
from core.errors import ChatLikeMeError
from core.io import write_jsonl
from core.schema import ChatMessage, KtoRow
from tests.conftest import make_lora_adapter, run_cli

PROMPTS = ["ciao, stasera?", "hai visto la partita?", "dove andiamo?", "sei arrivato?"]
PERSONA = ["si dai", "ahah si 😂", "boh pizza?", "quasi 5 min"]
ASSISTANT = [
    "Thank you for your message. I will carefully consider it.",
    "Certainly! Here are a few options to consider.",
    "As an AI language model, I cannot go out tonight.",
    "I appreciate your patience. Let me know if you need anything else.",
]
# High enough that a tiny random model visibly moves in a handful of steps.
FAST = KTOStageConfig(
    learning_rate=2e-3,
    per_device_train_batch_size=4,
    per_device_eval_batch_size=4,
    gradient_accumulation_steps=2,
    num_train_epochs=1,
    save_steps=2,
    warmup_ratio=0,
    dtype="float32",  # float32: the exact policy/reference comparisons below; bf16 is checked on its own
)


def kto_rows(count: int) -> list[KtoRow]:
    rows = []
    for i in range(count):
        prompt = [
            ChatMessage("system", "You are Pasquale."),
            ChatMessage("user", PROMPTS[i % 4], name="Lorenzo"),
        ]
        rows.append(KtoRow(prompt, [ChatMessage("assistant", PERSONA[i % 4])], True, sample_id=str(i)))
        rows.append(KtoRow(prompt, [ChatMessage("assistant", ASSISTANT[i % 4])], False, strategy="formal"))
    return rows


def write_kto_data(data: Path, train_count: int = 32) -> Path:
    """DIR/kto as kto-data writes it: train/eval KtoRows and the report with λD/λU."""
    write_jsonl(data / "train.jsonl", kto_rows(train_count))
    write_jsonl(data / "eval.jsonl", kto_rows(4))
    report = {"weights": {"desirable_weight": 1.0, "undesirable_weight": 1.0, "ratio": 1.0}}
    (data / "report.json").write_text(json.dumps(report))
    return data


@pytest.fixture
def kto_data(tmp_path: Path) -> Path:
    return write_kto_data(tmp_path / "data" / "kto")


@pytest.fixture(scope="module")
def sft_adapter(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_lora_adapter(tiny_model, tmp_path_factory.mktemp("run") / "sft", seed=7)


def config_file(tmp_path: Path, config: KTOStageConfig, **changes) -> Path:
    return config.replace(**changes).save_yaml(tmp_path / "kto.yaml")


@pytest.mark.slow
def test_kto_pushes_desirable_up_and_undesirable_down(
    kto_data: Path, sft_adapter: Path, tiny_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run" / "kto"
    result = run_cli(
        "kto", "--data", kto_data, "--sft", sft_adapter, "--out", out, "--config", config_file(tmp_path, FAST)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "kto: 8 steps" in result.stdout

    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"train", "eval", "final", "best"}  # one layout for every training stage (SFT's)
    assert metrics["eval"][-1]["step"] == 8 and "eval_rewards/margins" in metrics["eval"][-1]
    steps = metrics["train"]
    assert [s["step"] for s in steps] == list(range(1, 9))
    assert all(
        {"loss", "kl", "rewards/chosen", "rewards/rejected", "rewards/margins"} <= set(s) for s in steps
    )
    # Step 1 runs before any update: the policy is exactly its SFT reference.
    assert steps[0]["rewards/chosen"] == pytest.approx(0, abs=1e-5) and steps[0]["kl"] == pytest.approx(0)
    last = steps[-3:]
    assert min(s["rewards/margins"] for s in last) > 0.05
    assert sum(s["rewards/chosen"] for s in last) > 0 > sum(s["rewards/rejected"] for s in last)
    assert steps[-1]["loss"] < steps[0]["loss"]

    adapter = json.loads((out / "adapter_config.json").read_text())
    assert Path(adapter["base_model_name_or_path"]) == tiny_model
    assert not adapter["use_dora"] and not adapter["modules_to_save"] and adapter["bias"] == "none"
    assert not (out / "ref").exists()  # the frozen reference copy is not part of the output
    report = json.loads((out / "report.json").read_text())
    assert report["eval"]["rewards/margins"] > 0 and report["reference"] == "frozen SFT adapter"
    assert (out / "rewards.png").stat().st_size > 0 and (out / "config.yaml").is_file()
    assert (out / "loss.png").stat().st_size > 0  # the plot every training stage writes
    assert not (out.parent / ".kto.checkpoints").exists()
    # Per strategy on the eval split: the real replies went up against the SFT reference, the negatives down.
    by_strategy = report["rewards_by_strategy"]
    assert by_strategy["real"]["mean"] > 0 and by_strategy["real"]["rows"] > 0
    negatives = [values["mean"] for name, values in by_strategy.items() if name != "real"]
    assert negatives and max(negatives) < 0
    assert (out / "rewards_by_strategy.png").stat().st_size > 0
    # metrics.json (and rewards.png) follow the rewards per strategy during training, the last step included.
    measured = [s for s in steps if "rewards/strategy/real" in s]
    assert [s["step"] for s in measured] == [3, 5, 8] and "rewards/strategy/formal" in measured[-1]
    assert measured[-1]["rewards/strategy/real"] > measured[-1]["rewards/strategy/formal"]
    assert "Rewards per strategy" in (out / "report.md").read_text()


def completion_logps(model, batch: dict) -> torch.Tensor:
    """Summed log-probability of each row's completion tokens."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    logps = torch.log_softmax(logits.float(), -1).gather(-1, batch["input_ids"][:, 1:, None]).squeeze(-1)
    return (logps * batch["completion_mask"][:, 1:]).sum(-1)


def test_the_reference_is_the_sft_policy(
    kto_data: Path, sft_adapter: Path, tiny_model: Path, tmp_path: Path
) -> None:
    config = FAST.replace(evaluate=False)
    trainer = build_trainer(
        str(tiny_model), sft_adapter, load_kto_data(kto_data, config), config, tmp_path / "work"
    )
    batch = next(iter(trainer.get_train_dataloader()))
    model = trainer.model
    with torch.no_grad():
        model.set_adapter("default")
        policy = completion_logps(model, batch)
        model.set_adapter("ref")
        reference = completion_logps(model, batch)
        with model.disable_adapter():
            base = completion_logps(model, batch)
        model.set_adapter("default")
        trl_reference, _ = trainer.compute_ref_log_probs(model, batch)
    assert torch.allclose(policy, reference, atol=1e-4)
    assert torch.allclose(trl_reference, reference, atol=1e-3)
    assert not torch.allclose(policy, base, atol=1e-2)  # the SFT adapter, not the raw base model
    assert not any(p.requires_grad for n, p in model.named_parameters() if ".ref." in n)
    assert any(p.requires_grad for n, p in model.named_parameters() if ".default." in n)


def test_sft_weight_adds_the_desirable_completions_token_nll_to_the_kto_loss(
    kto_data: Path, sft_adapter: Path, tiny_model: Path, tmp_path: Path
) -> None:
    losses, batches = {}, {}
    for weight in (0.0, 0.5):
        config = FAST.replace(evaluate=False, sft_weight=weight)
        trainer = build_trainer(
            str(tiny_model), sft_adapter, load_kto_data(kto_data, config), config, tmp_path / str(weight)
        )
        batches[weight] = batch = next(iter(trainer.get_train_dataloader()))
        with torch.no_grad():
            losses[weight] = trainer.compute_loss(trainer.model, batch).item()
    assert torch.equal(batches[0.0]["input_ids"], batches[0.5]["input_ids"])  # same seed, same batch
    # The desirable rows' completion tokens (the end-of-turn token included), each token counted once.
    chosen = torch.as_tensor(batch["label"])
    tokens = batch["completion_mask"][:, 1:][chosen].sum()
    with torch.no_grad():
        nll = -completion_logps(trainer.model, batch)[chosen].sum() / tokens
    assert tokens > 0 and tokens < batch["completion_mask"].sum()
    assert losses[0.5] == pytest.approx(losses[0.0] + 0.5 * nll.item(), rel=1e-4)
    assert trainer._metrics["train"]["nll/chosen"][-1] == pytest.approx(nll.item(), rel=1e-4)


def test_bf16_auto_trains_in_the_precision_the_hardware_computes_natively(
    kto_data: Path, sft_adapter: Path, tiny_model: Path, tmp_path: Path
) -> None:
    config = FAST.replace(evaluate=False, dtype="auto")
    trainer = build_trainer(
        str(tiny_model), sft_adapter, load_kto_data(kto_data, config), config, tmp_path / "work"
    )
    native = choose_precision("auto")
    assert trainer.args.bf16 == (native.mixed == "bf16")
    assert trainer.model.get_base_model().dtype == native.weights
    # LoRA weights stay float32 (PEFT upcasts them): lr 5e-6 updates would vanish in bf16 rounding.
    assert {p.dtype for p in trainer.model.parameters() if p.requires_grad} == {torch.float32}


class Interrupt(Exception):
    pass


class InterruptAtStep(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise Interrupt


@pytest.mark.slow
def test_an_interrupted_run_resumes_from_its_checkpoint(
    kto_data: Path, sft_adapter: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run" / "kto"
    config = FAST.replace(max_steps=5, evaluate=False, precompute_ref_log_probs=True)
    with pytest.raises(Interrupt):
        train_kto(kto_data, sft_adapter, out, config, callbacks=[InterruptAtStep(3)])
    assert not out.exists()
    assert (out.parent / ".kto.checkpoints" / "checkpoint-2").is_dir()

    train_kto(kto_data, sft_adapter, out, config, resume=True)
    steps = json.loads((out / "metrics.json").read_text())["train"]
    assert [s["step"] for s in steps] == [1, 2, 3, 4, 5]  # 1-2 from the checkpoint's log, 3-5 after resuming
    assert json.loads((out / "report.json").read_text())["reference"] == "precomputed SFT log-probs"


@pytest.mark.slow
def test_rewards_per_strategy_measured_as_often_as_configured(
    kto_data: Path, sft_adapter: Path, tmp_path: Path
) -> None:
    """`reward_measures: 1` measures once, after the last step (each measure is a pass over the eval rows)."""
    out = tmp_path / "kto"
    config = config_file(tmp_path, FAST, reward_measures=1)
    result = run_cli("kto", "--data", kto_data, "--sft", sft_adapter, "--out", out, "--config", config)
    assert result.returncode == 0, result.stderr[-3000:]
    steps = json.loads((out / "metrics.json").read_text())["train"]
    assert [s["step"] for s in steps if "rewards/strategy/real" in s] == [8]

    refused = run_cli(
        "kto", "--data", kto_data, "--sft", sft_adapter, "--out", tmp_path / "k0", "--config",
        config_file(tmp_path, FAST, reward_measures=0),
    )  # fmt: skip
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "reward_measures" in refused.stderr


def test_a_per_device_batch_of_one_is_refused_with_the_reason(
    kto_data: Path, sft_adapter: Path, tmp_path: Path
) -> None:
    config = config_file(tmp_path, FAST, per_device_train_batch_size=1)
    result = run_cli(
        "kto", "--data", kto_data, "--sft", sft_adapter, "--out", tmp_path / "kto", "--config", config
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "at least 2" in result.stderr and "mismatched pairs" in result.stderr


def test_missing_inputs_and_a_mismatched_base_model_are_errors(
    kto_data: Path, sft_adapter: Path, tmp_path: Path
) -> None:
    result = run_cli("kto", "--data", kto_data, "--sft", tmp_path / "nope", "--out", tmp_path / "kto")
    assert result.returncode == 2 and "chatlikeme sft" in result.stderr and result.stderr.count("\n") == 1
    with pytest.raises(ChatLikeMeError, match="kto-data"):
        load_kto_data(tmp_path / "missing", FAST)
    (kto_data / "report.json").unlink()
    with pytest.raises(ChatLikeMeError, match="desirable_weight"):
        load_kto_data(kto_data, FAST)
    assert (
        load_kto_data(kto_data, FAST.replace(desirable_weight=1.2, undesirable_weight=1.0)).desirable_weight
        == 1.2
    )
    with pytest.raises(ChatLikeMeError, match="same base model"):
        resolve_base_model(sft_adapter, FAST.replace(base_model=str(tmp_path)))


def test_old_kto_keys_still_load_with_a_note(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("per_device_batch_size: 4\neffective_batch_size: 16\nepochs: 2\nbf16: false\nbeta: 0.2\n")
    config = KTOStageConfig.load(old)
    assert (config.per_device_train_batch_size, config.per_device_eval_batch_size) == (4, 4)
    assert (config.gradient_accumulation_steps, config.effective_batch_size) == (4, 16)
    assert (config.num_train_epochs, config.dtype, config.beta) == (2, "float32", 0.2)
    notes = [record.getMessage() for record in caplog.records]
    assert len(notes) == 1 and "effective_batch_size -> gradient_accumulation_steps" in notes[0]
    both = tmp_path / "both.yaml"
    both.write_text("epochs: 1\nnum_train_epochs: 2\n")
    with pytest.raises(ChatLikeMeError, match="'epochs' is the old name of 'num_train_epochs'"):
        KTOStageConfig.load(both)
    # The new names are SFT's: one config base for both training stages.
    shared = {f.name for f in dataclasses.fields(TrainingStageConfig)}
    assert shared <= {f.name for f in dataclasses.fields(KTOStageConfig)}
    assert shared <= {f.name for f in dataclasses.fields(SFTStageConfig)}
