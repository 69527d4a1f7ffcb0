"""What this machine can do, read once by every stage that picks a number format."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: bf16 matmuls in hardware (elsewhere bf16 is emulated and slower than float32).

    `CHATLIKEME_CPU_BF16=0` answers no anyway: training, scoring and serving then run what a CPU without bf16
    would (the pipeline benchmark's `--float32`)."""
    if os.environ.get("CHATLIKEME_CPU_BF16") == "0":
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
