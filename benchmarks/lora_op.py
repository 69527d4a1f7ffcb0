"""LoRA on vLLM's CPU backend: the plugin's op (serve/vllm_cpu_lora.py) against vLLM's own wrapper, per step.

    python benchmarks/lora_op.py                     # SmolLM2-135M's layer shapes, rank 16, bf16
    python benchmarks/lora_op.py --dtype float32 --rank 8 --tokens 1 16 64 --threads 1

Times one decoding (or prefill) step's LoRA work: every LoRA layer of a Llama-shaped model (q/k/v, o,
gate/up, down; SmolLM2-135M's sizes by default) applied to a batch of N tokens, all through one adapter, or
none (a batch of base-model requests). Both sides get the same `PunicaWrapperCPU`, told the batch's adapters
by vLLM's own `update_metadata`:
- `vllm`: vLLM's `PunicaWrapperCPU.add_lora_linear` with its per-token CPU ops (what runs without the plugin);
- `chatlikeme`: the plugin's `add_lora_linear`, the custom op vLLM's compiled model calls.
Both run eagerly here (the op is opaque to the compiler, so its cost is the same inside the compiled model).
Writes a table to stdout and JSON to benchmarks/results/lora_op.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this folder holds a `serve.py`: make `import serve` find the package

from serve import vllm_cpu_lora as plugin  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
VOCAB_SIZE = 49152  # SmolLM2's; the wrapper only needs it for the LM head's LoRA, not timed here


def layers(hidden: int, kv: int, intermediate: int) -> dict[str, tuple[list[int], int]]:
    """Each LoRA layer of a Llama block: its output slices and its input size."""
    return {
        "qkv": ([hidden, kv, kv], hidden), "o": ([hidden], hidden),
        "gate_up": ([intermediate, intermediate], hidden), "down": ([hidden], intermediate),
    }  # fmt: skip


def step_ms(method, wrapper, weights, repeats: int) -> float:
    """Milliseconds for one block's LoRA work through `method`: one call per layer shape (the caller
    multiplies by the number of blocks)."""
    per_shape = []
    for (a, b, slices), x, y in weights:
        for _ in range(5):  # warm-up (the plugin builds its fused matrices on first use)
            method(wrapper, y, x, tuple(a), tuple(b), 1.0, slices)
        start = time.perf_counter()
        for _ in range(repeats):
            method(wrapper, y, x, tuple(a), tuple(b), 1.0, slices)
        per_shape.append((time.perf_counter() - start) / repeats)
    return sum(per_shape) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[1, 16, 300])
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--dtype", choices=["bfloat16", "float32"], default="bfloat16")
    parser.add_argument("--hidden", type=int, default=576)
    parser.add_argument("--kv", type=int, default=192)
    parser.add_argument("--intermediate", type=int, default=1536)
    parser.add_argument("--blocks", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument(
        "--threads", type=int, default=None,
        help="torch's CPU threads (default: torch's own); vLLM's worker on a 2-core CPU computes on 1.",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS / "lora_op.json")
    args = parser.parse_args()
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")

    if args.threads:
        torch.set_num_threads(args.threads)
    from vllm.lora.layers.utils import LoRAMapping
    from vllm.lora.punica_wrapper.punica_cpu import PunicaWrapperCPU

    vllm_method = PunicaWrapperCPU.add_lora_linear  # vLLM's own: the plugin is not registered here
    update = plugin.counting(PunicaWrapperCPU.update_metadata, "indices")  # as the plugin makes it count
    dtype = getattr(torch, args.dtype)
    generator = torch.Generator().manual_seed(0)
    shapes = layers(args.hidden, args.kv, args.intermediate)
    adapters = 2  # slots; the batch uses slot 0
    rows = []
    torch.set_grad_enabled(False)
    for tokens in args.tokens:
        for adapter in (0, -1):
            wrapper = PunicaWrapperCPU(max_num_batched_tokens=max(args.tokens), max_batches=512, device="cpu")
            lora_ids = [adapter + 1] * tokens  # lora id 0: no adapter
            is_prefill = tokens > 16  # more tokens than chats: a prompt, which vLLM's wrapper treats apart
            update(wrapper, LoRAMapping(lora_ids, lora_ids, is_prefill), [1, 2], adapters, VOCAB_SIZE)
            weights = []
            for slices, size in shapes.values():
                a = [torch.randn(adapters, 1, args.rank, size, generator=generator).to(dtype) for _ in slices]
                b = [torch.randn(adapters, 1, n, args.rank, generator=generator).to(dtype) for n in slices]
                x = torch.randn(tokens, size, generator=generator).to(dtype)
                weights.append(((a, b, tuple(slices)), x, torch.zeros(tokens, sum(slices), dtype=dtype)))
            times = {
                name: step_ms(method, wrapper, weights, args.repeats) * args.blocks
                for name, method in (("vllm", vllm_method), ("chatlikeme", plugin.add_lora_linear))
            }
            rows.append({
                "tokens": tokens, "batch": "adapter" if adapter >= 0 else "base only",
                "vllm_ms": round(times["vllm"], 2), "chatlikeme_ms": round(times["chatlikeme"], 2),
                "speedup": round(times["vllm"] / times["chatlikeme"], 2),
            })  # fmt: skip

    print(f"LoRA work per step, {args.blocks} blocks x 4 layers, rank {args.rank}, {args.dtype}, "
          f"{torch.get_num_threads()} thread(s):")  # fmt: skip
    print("| tokens | batch | vLLM's wrapper ms | plugin's op ms | speed-up |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['tokens']} | {row['batch']} | {row['vllm_ms']} | {row['chatlikeme_ms']} | "
              f"{row['speedup']}x |")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"settings": vars(args) | {"out": str(args.out)}, "rows": rows}, indent=2))
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
