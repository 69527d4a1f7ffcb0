import json
import shutil
import socket
from pathlib import Path

import pytest

from core.errors import ChatLikeMeError
from serve.vllm_server import (
    ServeConfig,
    VLLMServer,
    base_model_of,
    check_servable,
    run_adapters,
    server_command,
)
from tests.conftest import make_lora_adapter, run_cli


@pytest.fixture
def run_dir(tiny_adapters: dict[str, Path], tmp_path: Path) -> Path:
    """A copy of a run directory: RUN/sft and RUN/kto."""
    run = tmp_path / "run-1"
    for name, path in tiny_adapters.items():
        shutil.copytree(path, run / name)
    return run


def edit_adapter_config(adapter: Path, **changes: object) -> None:
    path = adapter / "adapter_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_a_run_gives_its_adapters_and_their_base_model(run_dir: Path, tiny_model: Path) -> None:
    adapters = run_adapters(run_dir)
    assert set(adapters) == {"sft", "kto"}
    assert base_model_of(adapters) == str(tiny_model)

    shutil.rmtree(run_dir / "kto")  # KTO not trained yet: base and SFT are still worth serving
    assert set(run_adapters(run_dir)) == {"sft"}


def test_missing_or_unservable_adapters_are_clear_errors(run_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ChatLikeMeError, match=r"empty: no LoRA adapters"):
        run_adapters(tmp_path / "empty")
    with pytest.raises(ChatLikeMeError, match="no such run directory"):
        run_adapters(tmp_path / "missing")

    edit_adapter_config(run_dir / "sft", use_dora=True)
    with pytest.raises(ChatLikeMeError, match="sft: uses DoRA, which vLLM cannot serve"):
        check_servable(run_dir / "sft")
    edit_adapter_config(run_dir / "sft", use_dora=False, modules_to_save=["lm_head"])
    with pytest.raises(ChatLikeMeError, match="modules_to_save"):
        VLLMServer.for_run(run_dir)

    edit_adapter_config(run_dir / "sft", modules_to_save=None, init_lora_weights="pissa_niter_4")
    with pytest.raises(ChatLikeMeError, match="initialised with pissa"):
        check_servable(run_dir / "sft")
    edit_adapter_config(run_dir / "sft", init_lora_weights=True, base_model_name_or_path="/somewhere/else")
    with pytest.raises(ChatLikeMeError, match="different base models"):
        VLLMServer.for_run(run_dir)


def test_the_command_fits_this_machine(run_dir: Path, tiny_model: Path) -> None:
    adapters = run_adapters(run_dir)
    command, env = server_command(str(tiny_model), adapters, ServeConfig(port=8765, max_loras=1))

    assert command[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]  # the console script is broken
    flags = " ".join(command)
    assert f"--model {tiny_model} --served-model-name base" in flags
    assert f"--lora-modules sft={adapters['sft']} kto={adapters['kto']}" in flags
    assert "--max-loras 2" in flags  # at least 2, so sft and kto share a batch
    assert "--max-lora-rank 16" in flags  # rank 8 adapters, rounded up to leave room for retrained ones
    assert "--host 127.0.0.1 --port 8765" in flags
    assert env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True"
    assert env["PYTHONPATH"].split(":")[0] == str(Path(__file__).resolve().parents[2])
    import torch

    if torch.cuda.is_available():
        assert "--tensor-parallel-size" in flags and "--gpu-memory-utilization" in flags
    else:
        assert env["VLLM_CPU_KVCACHE_SPACE"] == "1" and "--tensor-parallel-size" not in flags
        assert "--block-size 32" in flags  # prompt prefixes reused in blocks of 32 tokens, not 128
        with pytest.raises(ChatLikeMeError, match="multiple of 32"):
            server_command(str(tiny_model), adapters, ServeConfig(cpu_block_size=48))


def test_a_busy_port_is_a_clear_error_before_anything_starts(run_dir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ChatLikeMeError, match=f"127.0.0.1:{port} is in use"):
            VLLMServer.for_run(run_dir, ServeConfig(port=port)).start()

        result = run_cli("serve", "--run", run_dir, "--port", port, timeout=120)
    assert result.returncode == 2
    assert f"127.0.0.1:{port} is in use" in result.stderr and "Traceback" not in result.stderr


def test_serve_without_adapters_or_current_run_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "run-0").mkdir()
    result = run_cli("serve", "--run", tmp_path / "run-0", timeout=120)
    assert result.returncode == 2 and "run-0: no LoRA adapters in this run" in result.stderr

    result = run_cli("serve", cwd=tmp_path, timeout=120)  # no --run and no runs/current
    assert result.returncode == 2
    assert "runs/current: no such run directory; pass --run RUN or promote a run first" in result.stderr


# --- a real vLLM server -------------------------------------------------------------------------------------


def chat(server: VLLMServer, model: str, text: str = "ciao, come va?") -> str:
    response = server.client().chat.completions.create(
        model=model, messages=[{"role": "user", "content": text}], max_tokens=8, temperature=0
    )
    return response.choices[0].message.content


@pytest.mark.vllm
def test_the_server_offers_base_and_both_adapters(vllm_server: VLLMServer) -> None:
    assert vllm_server.healthy()
    assert sorted(vllm_server.models()) == ["base", "kto", "sft"]
    replies = {name: chat(vllm_server, name) for name in ("base", "sft", "kto")}
    assert len(set(replies.values())) == 3  # the adapters really change the model
    assert chat(vllm_server, "sft") == replies["sft"]  # and the server is deterministic at temperature 0


@pytest.mark.vllm
def test_streaming_replies_arrive_in_pieces(vllm_server: VLLMServer) -> None:
    stream = vllm_server.client().chat.completions.create(
        model="kto", messages=[{"role": "user", "content": "hello"}], max_tokens=8, temperature=0, stream=True
    )
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert len(pieces) >= 4
    assert "".join(pieces) == chat(vllm_server, "kto", "hello")


@pytest.mark.vllm
def test_a_new_adapter_is_served_without_a_restart(
    vllm_server: VLLMServer, tiny_model: Path, tmp_path: Path
) -> None:
    fresh = make_lora_adapter(tiny_model, tmp_path / "kto-retrained", seed=42)
    try:
        vllm_server.load_adapter("kto-next", fresh)
        assert "kto-next" in vllm_server.models()
        assert chat(vllm_server, "kto-next") not in {chat(vllm_server, "kto"), chat(vllm_server, "sft")}
        vllm_server.load_adapter("kto-next", fresh)  # loading again replaces it in place: no error
    finally:
        vllm_server.unload_adapter("kto-next")
    assert "kto-next" not in vllm_server.models()

    with pytest.raises(ChatLikeMeError, match="unreadable adapter config"):
        vllm_server.load_adapter("broken", tmp_path)
