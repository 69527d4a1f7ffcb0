"""Child process of `align.generation`: one vLLM offline engine for a base model and all its adapters.

    python -m align.vllm_worker REQUEST.json RESULT.json

REQUEST holds `base_model` and `jobs` (name, adapter path or null, chat prompts, sampling); RESULT maps each
job name to its replies. Kept separate so that only this process imports vLLM.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from core.lora import VLLM_LORA_RANKS


def engine_settings(adapters: list[str], seed: int) -> dict:
    """LLM(...) arguments that work on this machine: GPU memory fraction or a small CPU KV cache."""
    import torch

    settings: dict = {"seed": seed, "max_model_len": int(os.environ.get("CHATLIKEME_MAX_MODEL_LEN", 2048))}
    if torch.cuda.is_available():
        settings |= {"dtype": "bfloat16", "gpu_memory_utilization": 0.85}
        settings["tensor_parallel_size"] = torch.cuda.device_count()
    else:
        # On CPU the KV cache is plain RAM: a few GiB is plenty for short chat replies.
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
        settings |= {"dtype": "bfloat16"}
    if adapters:
        ranks = [json.loads((Path(a) / "adapter_config.json").read_text())["r"] for a in adapters]
        max_rank = next(r for r in VLLM_LORA_RANKS if r >= max(ranks))
        settings |= {"enable_lora": True, "max_lora_rank": max_rank, "max_loras": max(2, len(adapters))}
    return settings


def main(request_path: str, result_path: str) -> None:
    from vllm import LLM, SamplingParams
    from vllm.lora.request import LoRARequest

    request = json.loads(Path(request_path).read_text())
    jobs = request["jobs"]
    adapters = [job["adapter"] for job in jobs if job["adapter"]]
    llm = LLM(model=request["base_model"], **engine_settings(adapters, jobs[0]["sampling"]["seed"]))

    results = {}
    for lora_id, job in enumerate(jobs, start=1):
        sampling = job["sampling"]
        params = SamplingParams(
            temperature=sampling["temperature"],
            top_p=sampling["top_p"] if sampling["temperature"] > 0 else 1.0,
            max_tokens=sampling["max_new_tokens"],
        )
        lora = LoRARequest(job["name"], lora_id, job["adapter"]) if job["adapter"] else None
        outputs = llm.chat(job["prompts"], params, lora_request=lora, use_tqdm=True)
        results[job["name"]] = [output.outputs[0].text.strip() for output in outputs]
    Path(result_path).write_text(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
