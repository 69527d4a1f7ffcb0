"""Tiny random Llama models with the SmolLM2 tokenizer: they train and serve in seconds, for the tests."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase

from align.models import bundled_tokenizer


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
    config = tiny_llama_config(tokenizer, layers=layers, hidden=hidden, dtype=dtype)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(dtype)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def tiny_llama_config(
    tokenizer: PreTrainedTokenizerBase,
    *,
    layers: int = 2,
    hidden: int = 64,
    dtype: torch.dtype = torch.float32,
) -> LlamaConfig:
    return LlamaConfig(
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
