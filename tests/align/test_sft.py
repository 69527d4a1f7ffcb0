"""SFT: which tokens carry the loss, a tiny end-to-end run, resuming, presets, bad input, axolotl export."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
import yaml
from transformers import AutoModelForCausalLM, TrainerCallback

from align import sft as sft_module
from align.axolotl import write_axolotl_config
from align.generation import GenerationJob, SamplingConfig, generate, vllm_available
from align.models import bundled_tokenizer, choose_precision, default_model_dir, load_model, load_tokenizer
from align.sft import SFTStageConfig, build_trainer, encode_conversation, encode_split, train_sft
from align.training import MetricsRecorder, build_lora_config
from core.errors import ChatLikeMeError
from core.io import write_jsonl
from core.lora import VLLM_LORA_RANKS
from core.prompts import persona_system_prompt
from core.schema import ChatMessage, SftSample
from tests.conftest import run_cli

# --- hand-made persona data ---------------------------------------------------------------------------------

ASKS = [
    "ci vediamo stasera?",
    "hai visto la partita?",
    "che fai sabato?",
    "mangiamo una pizza?",
    "come stai?",
]
REPLIES = [
    "ahah si daje",
    "boh vediamo dopo",
    "ci sta 👍",
    "daje alle 9 al solito posto",
    "vabbè dai ok",
    "top",
]


def persona_samples(count: int, seed: int = 0) -> list[SftSample]:
    """Short chats where Marco answers in his lowercase slang (one to three exchanges each)."""
    rng = random.Random(seed)
    samples = []
    for i in range(count):
        contact = rng.choice(["Giulia", "Tommi", "Sarah"])
        messages = [ChatMessage("system", persona_system_prompt("Marco", contact))]
        for _ in range(rng.randint(1, 3)):
            messages.append(ChatMessage("user", rng.choice(ASKS), name=contact))
            messages.append(ChatMessage("assistant", rng.choice(REPLIES)))
        samples.append(SftSample(messages=messages, id=f"{contact}/{i}/0", chat_id=contact, session=i))
    return samples


@pytest.fixture
def sft_demo_data(demo_data) -> Path:
    """The demo export run through ingest (tests/conftest.py): its data directory."""
    return demo_data.data_dir


def write_data(data_dir: Path, train: int = 24, evaluation: int = 6) -> Path:
    write_jsonl(data_dir / "sft" / "train.jsonl", persona_samples(train, seed=1))
    write_jsonl(data_dir / "sft" / "eval.jsonl", persona_samples(evaluation, seed=2))
    return data_dir


def tiny_config(tiny_model: Path, **changes) -> SFTStageConfig:
    """Few fast steps on the tiny model; a high learning rate so a handful of steps visibly learn."""
    settings = dict(
        base_model=str(tiny_model),
        num_train_epochs=2,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=8,
        learning_rate=1e-2,
        warmup_ratio=0.0,
        logging_steps=1,
        dtype="float32",
    )
    return SFTStageConfig(**{**settings, **changes})


def labelled_text(tokenizer, ids: list[int], labels: list[int]) -> list[str]:
    """The labelled stretches of a sequence, decoded (special tokens kept)."""
    spans, current = [], []
    for token, label in zip(ids, labels, strict=True):
        if label != -100:
            current.append(token)
        elif current:
            spans.append(tokenizer.decode(current))
            current = []
    return [*spans, tokenizer.decode(current)] if current else spans


# --- the loss mask ------------------------------------------------------------------------------------------

CHAT = [
    {"role": "system", "content": "You are Marco, chatting with Giulia."},
    {"role": "user", "content": "Ci vediamo stasera?", "name": "Giulia"},
    {"role": "assistant", "content": "ahah si daje"},
    {"role": "user", "content": "A che ora?", "name": "Giulia"},
    {"role": "assistant", "content": "alle 9 👍"},
]


def test_only_assistant_turns_and_their_end_of_turn_token_are_labelled(
    tiny_model: Path, tmp_path: Path
) -> None:
    """Checked on the labels TRL itself builds and on a collated, padded batch (pad == eos == <|im_end|>)."""
    tokenizer = load_tokenizer(str(tiny_model))
    assert tokenizer.pad_token == tokenizer.eos_token == "<|im_end|>"
    sample = SftSample(messages=[ChatMessage(**m) for m in CHAT])
    short = SftSample(messages=[ChatMessage(**m) for m in CHAT[:3]])
    split = encode_split(tokenizer, [sample, short], max_length=512, targets="all_turns")
    config = tiny_config(tiny_model)
    precision = choose_precision("float32")
    lora = build_lora_config(config.lora)
    model = load_model(str(tiny_model), precision)
    trainer = build_trainer(model, tokenizer, split, split, config, precision, lora, tmp_path, [])

    row = next(r for r in trainer.train_dataset if len(r["input_ids"]) == len(split.input_ids[0]))
    assert labelled_text(tokenizer, row["input_ids"], row["labels"]) == [
        "ahah si daje<|im_end|>",
        "alle 9 👍<|im_end|>",
    ]
    unlabelled = tokenizer.decode(
        [t for t, lab in zip(row["input_ids"], row["labels"], strict=True) if lab == -100]
    )
    assert (
        "You are Marco" in unlabelled and "Ci vediamo stasera?" in unlabelled and "A che ora?" in unlabelled
    )

    batch = trainer.data_collator([dict(r) for r in trainer.train_dataset])
    eos = tokenizer.eos_token_id
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"], strict=True):
        real = mask.bool()
        assert (labels[~real] == -100).all()  # padding (also <|im_end|>) never labelled ...
        assert ((ids == eos) & (labels == eos) & real).sum() >= 1  # ... the assistant's <|im_end|> always


def test_last_turn_targets_only_the_final_reply() -> None:
    tokenizer = bundled_tokenizer()
    ids, mask = encode_conversation(tokenizer, CHAT, targets="last_turn")
    assert labelled_text(tokenizer, ids, [t if m else -100 for t, m in zip(ids, mask, strict=True)]) == [
        "alle 9 👍<|im_end|>"
    ]


def test_the_mask_follows_any_chat_template_not_only_chatml() -> None:
    """A Llama-3-style template: special-token headers, <|eot_id|> ends a turn (not eos), no newline after."""
    tokenizer = bundled_tokenizer()
    tokenizer.add_special_tokens(
        {
            "additional_special_tokens": [
                "<|begin_of_text|>",
                "<|start_header_id|>",
                "<|end_header_id|>",
                "<|eot_id|>",
            ]
        }
    )
    tokenizer.chat_template = (
        "{{ '<|begin_of_text|>' }}{% for m in messages %}"
        "{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + m['content'] + '<|eot_id|>' }}"
        "{% endfor %}{% if add_generation_prompt %}"
        "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
    )
    ids, mask = encode_conversation(tokenizer, CHAT)
    labels = [t if m else -100 for t, m in zip(ids, mask, strict=True)]
    assert labelled_text(tokenizer, ids, labels) == ["ahah si daje<|eot_id|>", "alle 9 👍<|eot_id|>"]


def test_long_samples_lose_their_oldest_turns_first(tiny_model: Path) -> None:
    tokenizer = load_tokenizer(str(tiny_model))
    long_chat = [CHAT[0]] + [
        {"role": role, "content": f"{role} message number {i} " * 3}
        for i in range(20)
        for role in ("user", "assistant")
    ]
    split = encode_split(
        tokenizer, [SftSample(messages=[ChatMessage(**m) for m in long_chat])], 120, "all_turns"
    )
    assert (split.trimmed, split.cut, split.dropped) == (1, 0, 0)
    ids = split.input_ids[0]
    text = tokenizer.decode(ids)
    assert len(ids) <= 120 and text.startswith("<|im_start|>system\nYou are Marco")
    assert "assistant message number 19" in text and "message number 0 " not in text


# --- a tiny end-to-end run ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_sft_run(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 12-step SFT run of the tiny model on hand-made persona chats: its RUN folder."""
    root = tmp_path_factory.mktemp("tiny-sft")
    assert (
        train_sft(write_data(root / "data"), root / "run" / "sft", tiny_config(tiny_model))
        == root / "run" / "sft"
    )
    return root / "run"


@pytest.mark.slow
def test_sft_learns_and_saves_a_servable_adapter_that_changes_the_output(
    tiny_model: Path, tiny_sft_run
) -> None:
    from peft import PeftModel

    out = tiny_sft_run / "sft"
    assert not (tiny_sft_run / ".sft.checkpoints").exists()
    expected = {
        "adapter_config.json",
        "adapter_model.safetensors",
        "tokenizer.json",
        "metrics.json",
        "loss.png",
    }
    assert expected | {"config.yaml", "report.json", "report.md"} <= {p.name for p in out.iterdir()}

    metrics = json.loads((out / "metrics.json").read_text())
    losses = [r["loss"] for r in metrics["train"]]
    assert len(losses) == 12 and sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.05
    assert all(r["tokens_per_second"] > 0 and "learning_rate" in r for r in metrics["train"][1:])
    assert [r["epoch"] for r in metrics["eval"]] == [0.0, 1.0, 2.0]  # the base model, then every epoch
    before, first, second = (r["eval_loss"] for r in metrics["eval"])
    assert second < first < before
    report = json.loads((out / "report.json").read_text())
    assert report["best"]["eval_loss"] == min(r["eval_loss"] for r in metrics["eval"])
    assert report["samples"] == {"train": 24, "eval": 6, "trimmed": 0, "cut": 0, "dropped": 0}
    assert SFTStageConfig.load(out / "config.yaml") == tiny_config(tiny_model)

    adapter = json.loads((out / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == str(tiny_model)
    assert adapter["r"] in VLLM_LORA_RANKS and not adapter["use_dora"] and adapter["bias"] == "none"
    assert not adapter["modules_to_save"]

    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    ids = load_tokenizer(str(tiny_model)).apply_chat_template(
        CHAT[:2], add_generation_prompt=True, return_tensors="pt"
    )
    ids = ids["input_ids"] if not torch.is_tensor(ids) else ids
    with torch.no_grad():
        before = base(ids).logits
        tuned = PeftModel.from_pretrained(base, out)
        after = tuned(ids).logits
    assert (after - before).abs().max() > 1e-3


@pytest.mark.vllm
@pytest.mark.skipif(not vllm_available(), reason="vLLM is not installed")
def test_vllm_serves_the_sft_adapter(tiny_sft_run: Path) -> None:
    """vLLM loads the adapter on its recorded `base_model_name_or_path`; its replies differ from the base."""
    adapter = tiny_sft_run / "sft"
    base = json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
    prompts = [
        [ChatMessage("system", persona_system_prompt("Marco", "Giulia")), ChatMessage("user", ask)]
        for ask in ASKS
    ]
    greedy = SamplingConfig(temperature=0.0, max_new_tokens=6)
    jobs = [GenerationJob("base", None, prompts, greedy), GenerationJob("sft", adapter, prompts, greedy)]
    replies = generate(base, jobs, backend="vllm")
    assert len(replies["sft"]) == len(ASKS) and replies["sft"] != replies["base"]


@pytest.mark.slow
def test_sft_of_the_real_default_model(sft_demo_data: Path, tmp_path: Path) -> None:
    """`chatlikeme sft`, cpu-demo preset cut to 8 steps, on the real SmolLM2 (prepared on first use)."""
    from peft import PeftModel

    config = SFTStageConfig.load("cpu-demo").replace(max_steps=8, eval_steps=4, logging_steps=2)
    done = run_cli(
        "sft", "--data", sft_demo_data, "--out", tmp_path / "run",
        "--config", config.save_yaml(tmp_path / "c.yaml"), timeout=1500,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1].startswith("SFT done in")
    out = tmp_path / "run" / "sft"
    base = json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"]
    assert base == str(default_model_dir())
    metrics = json.loads((out / "metrics.json").read_text())
    before, first, second = (r["eval_loss"] for r in metrics["eval"])
    assert second < first < before, metrics["eval"]

    tokenizer = load_tokenizer(base)
    model = load_model(base, choose_precision("float32"))
    prompt = tokenizer.apply_chat_template(
        [
            {"role": "system", "content": persona_system_prompt("Marco", "Giulia")},
            {"role": "user", "content": ASKS[0]},
        ],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    length = prompt["input_ids"].shape[1]
    before = model.generate(**prompt, max_new_tokens=12, do_sample=False)[0, length:]
    tuned = PeftModel.from_pretrained(model, out)
    after = tuned.generate(**prompt, max_new_tokens=12, do_sample=False)[0, length:]
    assert tokenizer.decode(after) != tokenizer.decode(before)


class PretendEpoch1IsBest(TrainerCallback):
    """Snapshots the adapter at each evaluation and reports epoch 1 as the best, whatever the real losses."""

    def __init__(self) -> None:
        self.snapshots: dict[int, dict[str, torch.Tensor]] = {}

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        from peft import get_peft_model_state_dict

        epoch = round(state.epoch)
        self.snapshots[epoch] = {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}
        metrics["eval_loss"] = 1.0 if epoch == 1 else 5.0


def test_the_adapter_written_is_the_best_checkpoint_not_the_last(
    tiny_model: Path, tmp_path: Path, monkeypatch
):
    from safetensors.torch import load_file

    judge = PretendEpoch1IsBest()
    monkeypatch.setattr(sft_module, "early_stopping_callbacks", lambda config: [judge])
    data = write_data(tmp_path / "data", train=16, evaluation=4)
    out = train_sft(data, tmp_path / "run" / "sft", tiny_config(tiny_model))

    saved = load_file(out / "adapter_model.safetensors")
    assert saved.keys() == judge.snapshots[1].keys()
    assert all(torch.equal(saved[k], judge.snapshots[1][k].to(saved[k].dtype)) for k in saved)
    assert not all(torch.equal(saved[k], judge.snapshots[2][k].to(saved[k].dtype)) for k in saved)
    report = json.loads((out / "report.json").read_text())
    assert (report["best"]["epoch"], report["best"]["eval_loss"]) == (1.0, 1.0)


class SimulatedCrash(Exception):
    pass


class CrashAtStep3(TrainerCallback):
    """Stands in for a crash or a killed job in the middle of training."""

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 3:
            raise SimulatedCrash


def test_an_interrupted_run_resumes_from_its_last_checkpoint(
    tiny_model: Path, tmp_path: Path, monkeypatch
) -> None:
    data, run = write_data(tmp_path / "data", train=16, evaluation=4), tmp_path / "run"
    out = run / "sft"
    config = tiny_config(tiny_model, num_train_epochs=1, eval_steps=2)  # 4 steps, a checkpoint every 2
    monkeypatch.setattr(sft_module, "early_stopping_callbacks", lambda config: [CrashAtStep3()])
    with pytest.raises(SimulatedCrash):
        train_sft(data, out, config)
    assert (run / ".sft.checkpoints" / "checkpoint-2").is_dir() and not out.exists()

    monkeypatch.undo()
    with pytest.raises(ChatLikeMeError, match="--resume"):
        train_sft(data, out, config)
    with pytest.raises(ChatLikeMeError, match=r"other settings \(learning_rate\)"):
        train_sft(data, out, config.replace(learning_rate=1e-3), resume=True)
    assert train_sft(data, out, config, resume=True) == out

    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["step"] for r in metrics["train"]] == [1, 2, 3, 4]
    assert [r["step"] for r in metrics["eval"]] == [0, 2, 4] and metrics["final"]["step"] == 4
    assert not (run / ".sft.checkpoints").exists()


# --- presets and configs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["cpu-demo", "cpu", "gpu"])
def test_presets_round_trip_through_yaml(preset: str, tmp_path: Path) -> None:
    config = SFTStageConfig.load(preset)
    assert SFTStageConfig.load(config.save_yaml(tmp_path / "config.yaml")) == config
    assert build_lora_config(config.lora).r == config.lora.r


def test_the_gpu_preset_is_the_qlora_recipe() -> None:
    gpu = SFTStageConfig.load("gpu")
    assert gpu.base_model == "meta-llama/Llama-3.1-8B-Instruct" and gpu.load_in_4bit
    assert (gpu.lora.r, gpu.lora.alpha, gpu.lora.dropout, gpu.lora.target_modules) == (
        64,
        32,
        0.05,
        "all-linear",
    )
    assert (gpu.learning_rate, gpu.lr_scheduler_type, gpu.warmup_ratio) == (2e-4, "cosine", 0.1)
    assert (gpu.max_length, gpu.dtype, gpu.gradient_checkpointing) == (4096, "bfloat16", True)
    # The defaults are the cpu-demo preset, but for its CPU attention kernel.
    assert SFTStageConfig.load("cpu-demo") == SFTStageConfig(attn_implementation="eager")


def test_config_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: 3\n")
    with pytest.raises(ChatLikeMeError, match="unknown key 'epochs'"):
        SFTStageConfig.load(bad)
    bad.write_text("lora:\n  rank: 16\n")
    with pytest.raises(ChatLikeMeError, match=r"unknown key 'lora\.rank'"):
        SFTStageConfig.load(bad)
    # Field constraints: the error names the range, or the allowed values and why.
    for lora, problem in (
        ({"r": 12}, r"lora\.r: Input should be 8, 16, .* \(got 12\): vLLM serves only these LoRA ranks"),
        ({"r": 16, "dropout": 1.5}, r"lora\.dropout must be in \[0, 1\), got 1\.5$"),
    ):
        with pytest.raises(ChatLikeMeError, match=problem):
            SFTStageConfig.from_dict({"lora": lora}, "sft.yaml")
    with pytest.raises(ChatLikeMeError, match=r"^sft\.yaml: eval_steps must be at least 1, got 0$"):
        SFTStageConfig.from_dict({"eval_steps": 0}, "sft.yaml")


# --- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("train_lines", "problem"),
    [
        (None, "train.jsonl: file not found"),
        ([], "train.jsonl: no samples"),
        (['{"prompt": "hi", "completion": "ciao"}'], "train.jsonl:1: not a valid SftSample line"),
        (
            ['{"messages": [{"role": "narrator", "content": "x"}]}'],
            "train.jsonl:1: not a valid SftSample line",
        ),
        (["not json"], "train.jsonl:1: not valid JSON"),
        (['{"messages": [{"role": "user", "content": "hi"}]}'], "sample 1 has no assistant turn"),
    ],
)
def test_bad_data_is_one_line_naming_the_file(
    tiny_model: Path, tmp_path: Path, train_lines, problem: str
) -> None:
    data = write_data(tmp_path / "data")
    train = data / "sft" / "train.jsonl"
    if train_lines is None:
        train.unlink()
    else:
        train.write_text("".join(line + "\n" for line in train_lines))
    with pytest.raises(ChatLikeMeError, match=problem.replace("?", r"\?")) as error:
        train_sft(data, tmp_path / "run" / "sft", tiny_config(tiny_model))
    assert "\n" not in str(error.value)
    assert not (tmp_path / "run" / "sft").exists()


def test_unloadable_base_model_and_finished_run_are_refused(tiny_model: Path, tmp_path: Path) -> None:
    data = write_data(tmp_path / "data")
    with pytest.raises(ChatLikeMeError, match="cannot load the base tokenizer"):
        train_sft(data, tmp_path / "run" / "sft", tiny_config(tmp_path / "no-model"))
    (tmp_path / "done" / "sft").mkdir(parents=True)
    with pytest.raises(ChatLikeMeError, match="already exists"):
        train_sft(data, tmp_path / "done" / "sft", tiny_config(tiny_model))


@pytest.mark.slow
def test_cli_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    missing = run_cli("sft", "--data", tmp_path / "nowhere", "--out", tmp_path / "run")
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "train.jsonl: file not found" in missing.stderr
    bad_config = tmp_path / "bad.yaml"
    bad_config.write_text("learning_rat: 0.1\n")
    unknown = run_cli("sft", "--data", tmp_path, "--out", tmp_path / "run", "--config", bad_config)
    assert unknown.returncode == 2 and "unknown key 'learning_rat'" in unknown.stderr


# --- axolotl ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_export_axolotl_writes_the_equivalent_recipe(tmp_path: Path) -> None:
    done = run_cli(
        "sft", "--data", tmp_path / "data", "--out", tmp_path / "run", "--config", "gpu",
        "--export-axolotl", tmp_path / "axolotl.yaml",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    recipe = yaml.safe_load((tmp_path / "axolotl.yaml").read_text())
    assert recipe["base_model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert (recipe["adapter"], recipe["load_in_4bit"], recipe["lora_r"], recipe["lora_alpha"]) == (
        "qlora",
        True,
        64,
        32,
    )
    assert recipe["lora_target_linear"] and recipe["peft_use_dora"] is False
    dataset = recipe["datasets"][0]
    assert (
        dataset["path"] == str(tmp_path / "data" / "sft" / "train.jsonl")
        and dataset["type"] == "chat_template"
    )
    assert (dataset["roles_to_train"], dataset["train_on_eos"]) == (["assistant"], "turn")
    assert recipe["test_datasets"][0]["path"].endswith("eval.jsonl")
    assert (recipe["sequence_len"], recipe["learning_rate"], recipe["lr_scheduler"]) == (4096, 2e-4, "cosine")
    assert recipe["load_best_model_at_end"] and recipe["metric_for_best_model"] == "eval_loss"
    assert not (tmp_path / "run").exists()  # exporting does not train
    with pytest.raises(ChatLikeMeError, match="all_turns"):
        write_axolotl_config(SFTStageConfig(targets="last_turn"), tmp_path, tmp_path, tmp_path / "x.yaml")


def test_metrics_recorder_keeps_records_up_to_the_checkpoint_on_resume(tmp_path: Path) -> None:
    from transformers import TrainerState

    path = tmp_path / "metrics.json"
    path.write_text(
        json.dumps({"train": [{"step": s, "loss": 1.0} for s in (1, 2, 3)], "eval": [{"step": 2}]})
    )
    recorder, state = MetricsRecorder(path), TrainerState()
    state.global_step = 2
    recorder.on_train_begin(None, state, None)
    assert [r["step"] for r in recorder.metrics["train"]] == [1, 2] and recorder.metrics["eval"] == [
        {"step": 2}
    ]
