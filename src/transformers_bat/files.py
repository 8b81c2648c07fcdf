"""Files written safely and read with checks: atomic replace, recorded size + SHA-256, JSON errors naming the file.

Banks and datasets are written over hours and read for weeks; a file cut short by a full disk, a kill or a bad copy
must be named (with how to repair it) when it is read, not surface later as wrong numbers or a bare traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

HASH_CHUNK_BYTES = 1 << 20
FINGERPRINT_CHARS = 16


class CorruptFileError(ValueError):
    """A file exists but its content is not what was written (truncated, replaced or not parseable)."""


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Write through ``write(handle)`` to a temporary name beside ``path``, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with open(temporary, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write(path, lambda handle: handle.write(text.encode()))


def atomic_write_json(path: str | os.PathLike, data: Any, sort_keys: bool = False) -> None:
    """Indented JSON with a final newline (the layout of every JSON file we write), keys in their order or sorted."""
    atomic_write_text(path, json.dumps(data, indent=1, sort_keys=sort_keys) + "\n")


def read_json(path: str | os.PathLike, repair: str = "") -> Any:
    """``json.load`` whose errors name the file and say how to repair it (``repair``: e.g. 'delete it and rerun')."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        hint = f"; {repair}" if repair else ""
        raise CorruptFileError(f"{path} is not valid JSON (truncated or damaged?): {error}{hint}") from error


def short_hash(*parts: str) -> str:
    """A 16-hex-digit SHA-256 of text parts: the fingerprints of banks, catalogues and scene pools."""
    return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()[:FINGERPRINT_CHARS]


def file_digest(path: str | os.PathLike) -> dict[str, Any]:
    """``{"bytes": size, "sha256": hex digest}`` of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(HASH_CHUNK_BYTES), b""):
            digest.update(chunk)
    return {"bytes": os.path.getsize(path), "sha256": digest.hexdigest()}


def file_problem(path: str | os.PathLike, expected: Mapping[str, Any], full: bool = False) -> str | None:
    """Why ``path`` differs from its recorded digest (missing, size, then hash when ``full``), or ``None``."""
    path = Path(path)
    if not path.is_file():
        return f"{path} is missing"
    size = path.stat().st_size
    if size != expected["bytes"]:
        return f"{path} has {size} bytes, {expected['bytes']} were written (truncated or replaced)"
    if full and file_digest(path)["sha256"] != expected["sha256"]:
        return f"{path} has the recorded size but not the recorded SHA-256 (damaged or replaced)"
    return None
