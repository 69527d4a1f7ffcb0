from pathlib import Path

import pytest

from align.generation import GenerationJob, SamplingConfig, batch_seed, generate, vllm_available
from core.errors import ChatLikeMeError
from core.schema import ChatMessage

PROMPTS = [
    [
        ChatMessage("system", "You are Pasquale, chatting with Lorenzo."),
        ChatMessage("user", "ciao, stasera?"),
    ],
    [ChatMessage("user", "what are you doing this weekend? tell me everything")],
    [ChatMessage("user", "daje")],
]
GREEDY = SamplingConfig(temperature=0.0, max_new_tokens=8)


def test_transformers_backend_base_and_adapters(tiny_model: Path, tiny_adapters: dict[str, Path]) -> None:
    jobs = [
        GenerationJob("base", None, PROMPTS, GREEDY),
        GenerationJob("sft", tiny_adapters["sft"], PROMPTS, GREEDY),
        GenerationJob("kto", tiny_adapters["kto"], PROMPTS, GREEDY),
    ]
    replies = generate(str(tiny_model), jobs, backend="transformers", batch_size=2)

    assert set(replies) == {"base", "sft", "kto"}
    assert all(len(r) == len(PROMPTS) for r in replies.values())
    assert replies["sft"] != replies["base"] and replies["kto"] != replies["sft"]
    # Greedy decoding is deterministic, and batching/ordering does not change a prompt's reply.
    again = generate(
        str(tiny_model),
        [GenerationJob("sft", tiny_adapters["sft"], PROMPTS[::-1], GREEDY)],
        backend="transformers",
        batch_size=1,
    )
    assert again["sft"] == replies["sft"][::-1]


def test_a_merged_adapter_writes_what_the_unmerged_one_writes(
    tiny_model: Path, tiny_adapters: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backend merges each adapter into the base weights to sample faster: greedy replies are those of
    PEFT's adapter layers on the base model, and the base job still gets the untouched base weights."""
    import torch
    from peft import PeftModel

    from align.generation import _hf_replies
    from align.models import choose_precision, load_model, load_tokenizer

    monkeypatch.setenv("CHATLIKEME_CPU_BF16", "0")  # float32: a merge's bf16 rounding could flip an argmax
    tokenizer = load_tokenizer(str(tiny_model))
    tokenizer.padding_side = "left"
    unmerged = PeftModel.from_pretrained(
        load_model(str(tiny_model), choose_precision()), str(tiny_adapters["kto"])
    ).eval()
    unmerged.config.use_cache = True
    job = GenerationJob("kto", tiny_adapters["kto"], PROMPTS, GREEDY)
    with torch.no_grad():
        expected = _hf_replies(unmerged, tokenizer, job, batch_size=2)
        with unmerged.disable_adapter():
            expected_base = _hf_replies(unmerged, tokenizer, job, batch_size=2)
    jobs = [job, GenerationJob("base", None, PROMPTS, GREEDY)]
    replies = generate(str(tiny_model), jobs, backend="transformers", batch_size=2)
    assert replies == {"kto": expected, "base": expected_base}


def test_every_job_draws_the_same_sampling_noise_per_batch(
    tiny_model: Path, tiny_adapters: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Common random numbers: batch k of every job starts from the same seed, whatever the batches before
    it generated, so that models are compared on the same noise (a seed per job drifts apart as soon as
    one model's batch runs a step longer than the other's)."""
    import torch
    from transformers import GenerationMixin

    seeds: list[int] = []
    real_generate = GenerationMixin.generate

    def recording_generate(self, *args, **kwargs):
        seeds.append(torch.initial_seed())
        return real_generate(self, *args, **kwargs)

    monkeypatch.setattr(GenerationMixin, "generate", recording_generate)
    sampling = SamplingConfig(temperature=1.0, top_p=1.0, max_new_tokens=6, seed=7)
    jobs = [
        GenerationJob("base", None, PROMPTS, sampling),
        GenerationJob("sft", tiny_adapters["sft"], PROMPTS, sampling),
    ]
    generate(str(tiny_model), jobs, backend="transformers", batch_size=2)
    assert seeds == [batch_seed(7, 0), batch_seed(7, 1)] * 2 and batch_seed(7, 0) != batch_seed(8, 0)


def test_bad_jobs_are_user_errors(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ChatLikeMeError, match="unique"):
        generate(str(tiny_model), [GenerationJob("a", None, PROMPTS), GenerationJob("a", None, PROMPTS)])
    with pytest.raises(ChatLikeMeError, match=r"adapter_config\.json"):
        generate(str(tiny_model), [GenerationJob("sft", tmp_path, PROMPTS)])
    with pytest.raises(ChatLikeMeError, match="api_url"):
        generate(str(tiny_model), [GenerationJob("base", None, PROMPTS)], backend="server")


@pytest.mark.vllm
@pytest.mark.skipif(not vllm_available(), reason="vLLM is not installed")
def test_vllm_backend_one_engine_for_base_and_adapters(
    tiny_model: Path, tiny_adapters: dict[str, Path]
) -> None:
    jobs = [
        GenerationJob("base", None, PROMPTS, GREEDY),
        GenerationJob("sft", tiny_adapters["sft"], PROMPTS, GREEDY),
    ]
    replies = generate(str(tiny_model), jobs, backend="vllm")

    assert [len(replies["base"]), len(replies["sft"])] == [3, 3]
    assert replies["sft"] != replies["base"]
