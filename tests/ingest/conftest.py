"""Fixtures of the ingest tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ingest.telegram_builders import write_json


@pytest.fixture
def write_export(tmp_path: Path):
    """write_export(data, name="result.json", indent=1) -> path of the written export."""
    counter = iter(range(1000))

    def write(data: Any, name: str | None = None, indent: int | str | None = 1) -> Path:
        return write_json(tmp_path / (name or f"export{next(counter)}.json"), data, indent)

    return write
