"""LoRA adapter directories: is one there, and which base model does it belong to.

A PEFT adapter records its base model in `adapter_config.json` (`base_model_name_or_path`); the KTO stage and
the evaluation both need the SFT and KTO adapters to sit on the same base model.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import input_error


def require_adapter(path: str | Path, made_by: str) -> Path:
    """`path` as an adapter directory, or a one-line error saying which command makes it."""
    path = Path(path)
    if not (path / "adapter_config.json").is_file():
        what = "does not exist" if not path.exists() else "is not a LoRA adapter (no adapter_config.json)"
        raise input_error(path, f"{what}; run `chatlikeme {made_by}` first")
    return path


def adapter_base_model(path: str | Path) -> str:
    """The base model an adapter was trained on, as recorded by PEFT."""
    config_path = Path(path) / "adapter_config.json"
    try:
        base = json.loads(config_path.read_text(encoding="utf-8")).get("base_model_name_or_path")
    except (OSError, json.JSONDecodeError) as exc:
        raise input_error(config_path, f"unreadable adapter config ({exc})") from None
    if not base:
        raise input_error(config_path, "records no base_model_name_or_path")
    return str(base)


def same_base_model(first: str, second: str) -> bool:
    """Whether two base-model references (local paths or hub ids) name the same model."""
    if Path(first).exists() and Path(second).exists():
        return Path(first).resolve() == Path(second).resolve()
    return first.rstrip("/") == second.rstrip("/")


def shared_base_model(adapters: dict[str, Path]) -> str:
    """The one base model all `adapters` ({name: dir}) sit on; a mismatch is a one-line error."""
    bases = {name: adapter_base_model(path) for name, path in adapters.items()}
    (first_name, first), *rest = bases.items()
    for name, base in rest:
        if not same_base_model(first, base):
            raise input_error(
                adapters[name],
                f"the {name} adapter was trained on base model {base} but the {first_name} adapter "
                f"on {first}: both must come from the same base model",
            )
    return first
