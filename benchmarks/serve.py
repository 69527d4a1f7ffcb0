"""Serving benchmark: vLLM vs transformers `generate`, with the same prompts at 1, 4 and 16 concurrent chats.

    python benchmarks/serve.py                       # the default SmolLM2 (prepared on first use)
    python benchmarks/serve.py --model DIR --concurrency 1 4 16 --max-tokens 128
    python benchmarks/serve.py --adapter runs/current/kto     # every reply through a LoRA adapter

Backends, run one after the other on the same machine with the same model, prompts and greedy decoding:
- `vllm`: `chatlikeme serve`'s own server (VLLMServer, LoRA enabled as the arena uses it).
- `transformers`: `transformers serve MODEL`, transformers' own OpenAI-compatible streaming server. It runs
  `model.generate` with a streamer on one inference thread: one conversation at a time.
- `transformers-generate`: `model.generate` driven in-process as a server with static batching would: the
  chats that arrive together are left-padded into one batch and a streamer receives every step's tokens.
  The strongest plain-`generate` baseline; the target is checked against it (and the server above).
- `transformers-cb` (opt-in): `transformers serve --continuous-batching`, transformers' paged-attention
  batching. On CPU (transformers 5.19) a request hung for 10 minutes without a token: not in the default set.

With `--adapter DIR` every request goes through that LoRA adapter, as the arena's and the bot's do (`sft`,
`kto`): vLLM serves it as a LoRA module, `transformers-generate` wraps the model in PEFT without merging (a
server of several adapters cannot merge one); `transformers serve` has no adapters and is skipped.
`--vllm-env KEY=VALUE` and `--vllm-arg ARG` start vLLM with other settings (the tuning table of
docs/serving.md was measured with them).

The servers are driven by one asyncio client: C chats stream at once (C = each `--concurrency`), each sends
its prompts one after the other; usage reports give the completion tokens. Reported per level: time to first
token (p50/p95, seconds) and generated tokens per second (all chats' tokens / wall time of the level).

Each backend runs in its faster dtype here: vLLM bf16 on CPUs with bf16 instructions (its CPU kernels are
built for it), transformers float32 on CPU (PyTorch's CPU bf16 matmuls are slower), the weights' dtype on GPU.
On CPU, transformers computes with as many threads as vLLM's CPU worker: all cores but one.
Writes a table to stdout and JSON to benchmarks/results/serve.json. Target: vLLM >= 3x transformers
throughput at 16 concurrent chats.

`--repeat N` runs every backend N times, alternating (vLLM, transformers, vLLM, ...), each from a fresh start:
one wave of 16 requests moves by about 10 % from run to run on a shared 2-core machine. The ratio of each run
is vLLM's tokens/s over the other backend's in the same round; the summary is their geometric mean with a 95 %
Student-t interval (over the runs' log ratios; another level with `--confidence`). The target is met only when
the whole interval lies at or above 3x, missed when it lies below, and a tie with it otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the `serve` package: make `import serve` find the package, not this script.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent)]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402

from core.hardware import cpu_has_native_bf16  # noqa: E402
from core.report import md_table  # noqa: E402
from core.subprocess import project_env  # noqa: E402
from serve.server_process import ServerProcess, free_port  # noqa: E402
from serve.vllm_server import ServeConfig, VLLMServer, gpu_count  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "serve.json"
OTHERS = ("transformers", "transformers-generate", "transformers-cb")
TARGET = 3.0  # vLLM's throughput over each other backend's at the top concurrency
CONFIDENCE = 0.95  # the ratios' interval level unless --confidence says otherwise
WITHOUT_ADAPTERS = ("transformers", "transformers-cb")  # `transformers serve` loads no LoRA adapters
SYSTEM = "You are Pasquale, chatting with Lorenzo. Respond naturally in their conversational style."
TOPICS = [
    "your last holiday", "the best pizza in town", "a film you saw recently", "how to cook carbonara",
    "what you did this weekend", "learning to play the guitar", "your favourite football team",
    "moving to a new city", "the weather this week", "a book you would recommend", "your first job",
    "training for a marathon", "a concert you went to", "how to fix a bike", "your plans for summer",
    "the history of Rome",
]  # fmt: skip


def prompts(count: int) -> list[list[dict[str, str]]]:
    """The same chat prompts for every server: the system prompt of training, then a question."""
    return [
        [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Tell me in detail about {TOPICS[i % len(TOPICS)]} (#{i})."},
        ]
        for i in range(count)
    ]


class TransformersServer(ServerProcess):
    """`transformers serve MODEL`: one model, optionally with continuous batching."""

    name = "transformers-serve"

    def __init__(self, model: str, port: int, *, continuous_batching: bool, dtype: str, threads: int) -> None:
        super().__init__("127.0.0.1", port, startup_timeout_s=600)
        self.model, self.dtype, self.threads = model, dtype, threads
        self.continuous_batching = continuous_batching

    def command(self) -> tuple[list[str], dict[str, str]]:
        command = [sys.executable, "-c", "from transformers.cli.transformers import main; main()", "serve"]
        command += [self.model, "--host", self.host, "--port", str(self.port), "--dtype", self.dtype]
        command += ["--continuous-batching"] if self.continuous_batching else ["--no-continuous-batching"]
        if not gpu_count():
            command += ["--device", "cpu"]
        return command, project_env(OMP_NUM_THREADS=str(self.threads))


@dataclass
class Level:
    backend: str
    run: int
    concurrency: int
    requests: int
    ttft_p50_s: float
    ttft_p95_s: float
    tokens_per_s: float
    mean_completion_tokens: float
    wall_s: float


async def run_level(base_url: str, model: str, concurrency: int, chats: list, max_tokens: int) -> dict:
    """`concurrency` chats stream at once until `chats` are all answered; TTFTs and token counts."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base_url, api_key="none", timeout=1800, max_retries=0)
    queue: asyncio.Queue = asyncio.Queue()
    for messages in chats:
        queue.put_nowait(messages)
    ttfts: list[float] = []
    tokens: list[int] = []

    async def chat_worker() -> None:
        while not queue.empty():
            messages = queue.get_nowait()
            start = time.perf_counter()
            first, usage = None, None
            stream = await client.chat.completions.create(
                model=model, messages=messages, max_tokens=max_tokens, temperature=0.0, stream=True,
                stream_options={"include_usage": True},
            )  # fmt: skip
            async for chunk in stream:
                if first is None and chunk.choices and chunk.choices[0].delta.content:
                    first = time.perf_counter() - start
                usage = chunk.usage or usage
            ttfts.append(first if first is not None else time.perf_counter() - start)
            tokens.append(usage.completion_tokens if usage else 0)

    start = time.perf_counter()
    await asyncio.gather(*(chat_worker() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    await client.close()
    return {"ttfts": ttfts, "tokens": tokens, "wall": wall}


def quantile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


class GenerateDriver:
    """transformers `generate` in-process, as a server with static batching would drive it: the chats that
    arrive together are left-padded into one batch; a streamer receives each step's tokens as they come."""

    def __init__(self, model: str, dtype: str, threads: int, adapter: str | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads)

        self.tokenizer = AutoTokenizer.from_pretrained(model, padding_side="left")
        torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
        self.model = AutoModelForCausalLM.from_pretrained(model, dtype=torch_dtype).eval()
        if adapter:
            from peft import PeftModel

            self.model = PeftModel.from_pretrained(self.model, adapter).eval()
        if gpu_count():
            self.model.to("cuda")

    def run_level(self, concurrency: int, chats: list, max_tokens: int) -> dict:
        import torch

        ttfts, tokens = [], []
        eos = self.tokenizer.eos_token_id
        start = time.perf_counter()
        for first in range(0, len(chats), concurrency):
            wave = chats[first : first + concurrency]
            wave_start = time.perf_counter()
            texts = [
                self.tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True)
                for m in wave
            ]
            batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            clock = StepClock()
            with torch.no_grad():
                self.model.generate(
                    **batch.to(self.model.device), max_new_tokens=max_tokens, do_sample=False, streamer=clock,
                    pad_token_id=self.tokenizer.pad_token_id,
                )  # fmt: skip
            for row in range(len(wave)):
                column = [step[row] for step in clock.steps]
                tokens.append(column.index(eos) + 1 if eos in column else len(column))
                ttfts.append(clock.times[0] - wave_start)
        return {"ttfts": ttfts, "tokens": tokens, "wall": time.perf_counter() - start}


class StepClock:
    """A `generate` streamer that notes when each step's tokens (one per row) arrive."""

    def __init__(self) -> None:
        self.prompt_seen = False
        self.times: list[float] = []
        self.steps: list[list[int]] = []

    def put(self, value) -> None:
        if not self.prompt_seen:  # generate hands the prompt to the streamer first
            self.prompt_seen = True
            return
        self.times.append(time.perf_counter())
        self.steps.append(value.reshape(-1).tolist())

    def end(self) -> None:
        pass


def measure(backend: str, run: int, run_level_fn, args) -> list[Level]:
    """Every concurrency level of a backend; `run_level_fn(concurrency, chats, max_tokens)` does the work."""
    run_level_fn(1, prompts(1), 8)  # warm-up (first-call compilation, caches)
    levels = []
    for concurrency in args.concurrency:
        count = max(concurrency * args.requests_per_chat, args.min_requests)
        result = run_level_fn(concurrency, prompts(count), args.max_tokens)
        level = Level(
            backend, run, concurrency, count,
            ttft_p50_s=round(quantile(result["ttfts"], 0.5), 3),
            ttft_p95_s=round(quantile(result["ttfts"], 0.95), 3),
            tokens_per_s=round(sum(result["tokens"]) / result["wall"], 1),
            mean_completion_tokens=round(statistics.mean(result["tokens"]), 1),
            wall_s=round(result["wall"], 1),
        )  # fmt: skip
        print(f"  {backend:<22} C={concurrency:<3} {level.tokens_per_s:>7.1f} tok/s  "
              f"TTFT p50 {level.ttft_p50_s:.2f}s p95 {level.ttft_p95_s:.2f}s", flush=True)  # fmt: skip
        levels.append(level)
    return levels


def measure_server(server: ServerProcess, backend: str, run: int, model_name: str, args) -> list[Level]:
    with server:
        url = f"{server.url}/v1"
        return measure(
            backend, run, lambda c, chats, n: asyncio.run(run_level(url, model_name, c, chats, n)), args
        )


@dataclass
class Ratio:
    """vLLM's throughput over another backend's at one concurrency, over the runs of one invocation."""

    other: str
    concurrency: int
    runs: list[float]  # one ratio per run, both backends measured in the same round
    geometric_mean: float
    interval: tuple[float, float] | None  # Student-t over the log ratios; None for a single run
    confidence: float = CONFIDENCE  # the interval's level

    @property
    def key(self) -> str:
        return f"vllm/{self.other}@{self.concurrency}"

    def verdict(self, target: float) -> str:
        """'met' / 'NOT met' when the interval (or the one run) lies on one side of the target, else 'tie'."""
        low, high = self.interval or (self.geometric_mean, self.geometric_mean)
        return "met" if low >= target else "NOT met" if high < target else "tie"

    def describe(self) -> str:
        if self.interval is None:
            return f"{self.geometric_mean}x (one run)"
        (low, high), level = self.interval, f"{100 * self.confidence:g} %"
        return f"{self.geometric_mean}x, {level} interval [{low}, {high}], runs {self.runs}"


def ratio(other: str, concurrency: int, runs: list[float], confidence: float = CONFIDENCE) -> Ratio:
    logs = [math.log(r) for r in runs]
    centre = statistics.mean(logs)
    interval = None
    if len(logs) > 1:
        from scipy.stats import t

        quantile = 1 - (1 - confidence) / 2  # two-sided
        half = t.ppf(quantile, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
        interval = (round(math.exp(centre - half), 2), round(math.exp(centre + half), 2))
    rounded = [round(r, 2) for r in runs]
    return Ratio(other, concurrency, rounded, round(math.exp(centre), 2), interval, confidence)


def ratios_of(levels: list[Level], concurrencies: list[int], confidence: float = CONFIDENCE) -> list[Ratio]:
    """vLLM / other per run (same round), for every other backend and concurrency measured in every run."""
    by_key = {(lv.backend, lv.run, lv.concurrency): lv.tokens_per_s for lv in levels}
    runs = sorted({lv.run for lv in levels})
    found = []
    for other in OTHERS:
        for c in concurrencies:
            pairs = [(by_key.get(("vllm", r, c)), by_key.get((other, r, c))) for r in runs]
            if all(v and o for v, o in pairs):
                found.append(ratio(other, c, [v / o for v, o in pairs], confidence))
    return found


def default_model() -> str:
    try:
        from align.models import prepare_default_model
    except ImportError:
        sys.exit("align.models.prepare_default_model is not available in this checkout: pass --model DIR")
    return str(prepare_default_model())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="Model directory (default: the prepared SmolLM2-135M-Instruct).")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--requests-per-chat", type=int, default=1)
    parser.add_argument("--min-requests", type=int, default=4, help="At least this many requests per level.")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="Runs of every backend, alternating (ratios get an interval: --confidence).",
    )
    parser.add_argument(
        "--confidence",
        type=float,
        default=CONFIDENCE,
        help="Level of the ratios' two-sided intervals (default %(default)s). Raise it when this is not the"
        " first look at the same question, e.g. 0.9833 for a third look (Bonferroni: 0.05 / 3 in all).",
    )
    parser.add_argument("--backends", nargs="+", default=["vllm", "transformers", "transformers-generate"])
    parser.add_argument("--threads", type=int, help="transformers' CPU threads (default: cores - 1).")
    parser.add_argument("--adapter", help="Answer every request through this LoRA adapter directory.")
    parser.add_argument(
        "--vllm-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="An environment variable for vLLM (repeatable), e.g. VLLM_CPU_NUM_OF_RESERVED_CPU=0.",
    )
    parser.add_argument(
        "--vllm-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="An argument for vLLM's server (repeatable), e.g. --vllm-arg=--max-num-seqs=16.",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    model = args.model or default_model()
    backends = [b for b in args.backends if not (args.adapter and b in WITHOUT_ADAPTERS)]
    if skipped := sorted(set(args.backends) - set(backends)):
        print(f"skipped (no LoRA adapters): {', '.join(skipped)}")
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    if not 0 < args.confidence < 1:
        parser.error(f"--confidence must lie between 0 and 1, got {args.confidence}")
    if malformed := [item for item in args.vllm_env if "=" not in item]:
        parser.error(f"--vllm-env takes KEY=VALUE, got {malformed[0]!r}")
    os.environ.update(dict(item.split("=", 1) for item in args.vllm_env))
    gpu = gpu_count() > 0
    # vLLM's CPU worker computes on all cores but one (kept for its front end), one thread per core; give
    # transformers the same. (Two threads on two busy cores made PyTorch ~15x slower here: OpenMP waits.)
    threads = args.threads or max(1, (os.cpu_count() or 2) - 1)
    dtypes = {
        "vllm": "auto" if gpu else ("bfloat16" if cpu_has_native_bf16() else "float32"),
        "transformers": "auto" if gpu else "float32",
    }

    def start(backend: str) -> tuple[ServerProcess, str]:
        """The server of a backend and the model name its requests use."""
        if backend == "vllm":
            config = ServeConfig(port=free_port(), dtype=dtypes["vllm"], extra_args=args.vllm_arg)
            adapters = {"adapter": Path(args.adapter)} if args.adapter else {}
            return VLLMServer(model, adapters, config), "adapter" if args.adapter else "base"
        batching, dtype = backend == "transformers-cb", dtypes["transformers"]
        server = TransformersServer(
            model, free_port(), continuous_batching=batching, dtype=dtype, threads=threads
        )
        return server, model

    levels: list[Level] = []
    for run in range(1, args.repeat + 1):
        for backend in backends:
            print(f"{backend}: starting ({model}{' + ' + args.adapter if args.adapter else ''}) "
                  f"[run {run} of {args.repeat}] ...", flush=True)  # fmt: skip
            if backend == "transformers-generate":
                driver = GenerateDriver(model, dtypes["transformers"], threads, args.adapter)
                levels += measure(backend, run, driver.run_level, args)
                del driver  # free its weights before the next backend starts
            else:
                server, name = start(backend)
                levels += measure_server(server, backend, run, name, args)

    rows = [[lv.backend, lv.run, lv.concurrency, lv.requests, lv.ttft_p50_s, lv.ttft_p95_s, lv.tokens_per_s,
             lv.mean_completion_tokens] for lv in levels]  # fmt: skip
    headers = ["backend", "run", "chats", "requests", "TTFT p50 s", "TTFT p95 s", "tokens/s", "tokens/reply"]
    print("\n" + md_table(headers, rows))
    ratios = ratios_of(levels, args.concurrency, args.confidence)
    for r in ratios:
        print(f"throughput {r.key}: {r.describe()}")
    top = max(args.concurrency)
    for r in (r for r in ratios if r.concurrency == top):
        print(f"target vLLM >= {TARGET:g}x {r.other} at {top} chats: {r.verdict(TARGET)} ({r.describe()})")

    machine = {"cpus": os.cpu_count(), "gpus": gpu_count(), "platform": platform.platform()}
    result = {
        "model": model, "adapter": args.adapter, "vllm_env": args.vllm_env, "vllm_args": args.vllm_arg,
        "dtypes": dtypes, "transformers_threads": threads, "max_tokens": args.max_tokens,
        "ratios": {r.key: r.geometric_mean for r in ratios},
        "ratio_runs": {r.key: r.runs for r in ratios},
        "ratio_intervals": {r.key: r.interval for r in ratios}, "confidence": args.confidence,
        "repeat": args.repeat,
        "levels": [asdict(lv) for lv in levels], "machine": machine,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
