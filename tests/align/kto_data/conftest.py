"""Fixtures of the KTO-data tests (the data itself is made in kto_samples.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kto_samples import write_sft_dir


@pytest.fixture(scope="session")
def sft_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sft_dir(tmp_path_factory.mktemp("kto-sft"))
