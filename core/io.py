"""Reading and writing the files that pass between stages: JSONL datasets, atomic outputs, content hashes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from core.errors import input_error

T = TypeVar("T")


def read_jsonl(path: str | Path, type: type[T]) -> list[T]:
    """Every line of `path` decoded and validated as `type`; a bad line is an error naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise input_error(path, "file not found")
    decoder = msgspec.json.Decoder(type)
    rows: list[T] = []
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rows.append(decoder.decode(line))
            except msgspec.ValidationError as exc:
                raise input_error(f"{path}:{lineno}", f"not a valid {type.__name__} line: {exc}") from None
            except msgspec.DecodeError:
                raise input_error(f"{path}:{lineno}", "not valid JSON") from None
    return rows


def write_jsonl(path: str | Path, rows: Iterable[Any]) -> Path:
    """Write rows (msgspec Structs, dataclasses or plain dicts) one JSON object per line, atomically."""
    encoder = msgspec.json.Encoder()
    with atomic_file(path) as tmp, tmp.open("wb") as fh:
        for row in rows:
            fh.write(encoder.encode(row))
            fh.write(b"\n")
    return Path(path)


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; it replaces `path` only if the block finishes without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary directory next to `path`, renamed to `path` only when the block succeeds.

    A reader therefore never sees a half-written stage output: `path` is either the previous complete
    version or the new complete one. With `overwrite=False` an existing `path` is an error (run directories).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not overwrite:
        raise input_error(path, "already exists and is complete; choose another output directory")
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_tree(path: str | Path) -> str:
    """Content hash of a file or of every file under a directory (names and bytes, order-independent)."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode())
        digest.update(sha256_file(file).encode())
    return digest.hexdigest()
