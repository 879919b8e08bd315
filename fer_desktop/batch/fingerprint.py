"""Telling whether an input changed, and whether two inputs hold the same bytes, without reading whole videos."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HEAD_BYTES = 1 << 20


@dataclass(frozen=True)
class Fingerprint:
    size: int
    mtime_ns: int
    head_sha256: str  # of the first MiB

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fingerprint | None:
        try:
            return cls(int(data["size"]), int(data["mtime_ns"]), str(data["head_sha256"]))
        except (KeyError, TypeError, ValueError):
            return None


def fingerprint(path: Path) -> Fingerprint:
    """Raises OSError when the file cannot be read."""
    with open(path, "rb") as f:
        head = hashlib.sha256(f.read(HEAD_BYTES)).hexdigest()
        stat = Path(path).stat()
    return Fingerprint(stat.st_size, stat.st_mtime_ns, head)


def files_digest(paths: Iterable[Path]) -> str:
    """sha256 of the files' whole contents, one after the other."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            while chunk := f.read(HEAD_BYTES):
                digest.update(chunk)
    return digest.hexdigest()
