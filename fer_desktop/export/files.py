"""Writing files so that a crash never leaves one half-written."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any


@contextmanager
def replace_atomically(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); it replaces ``path`` only if the block succeeds."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, data: dict[str, Any]) -> None:
    with replace_atomically(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def timestamped_path(folder: Path, prefix: str, suffix: str, now: datetime | None = None) -> Path:
    """``folder/prefix-20250101-120000.suffix``, made unique if taken."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    path = Path(folder) / f"{prefix}-{stamp}{suffix}"
    n = 2
    while path.exists():
        path = Path(folder) / f"{prefix}-{stamp}-{n}{suffix}"
        n += 1
    return path
