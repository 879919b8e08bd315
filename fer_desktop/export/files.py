"""Writing files so that a crash never leaves one half-written: the one place every atomic write goes through."""

from __future__ import annotations

import json
import os
import secrets
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

PARTIAL_MARK = ".partial-"  # in the name of every temporary file this module makes


@contextmanager
def replace_atomically(path: Path) -> Iterator[Path]:
    """Yield a new temporary path beside ``path`` (same suffix); it replaces ``path`` only if the block succeeds.

    The temporary name is unique, so two writers of one file never mix their
    bytes; it is created empty with the user's umask (not ``mkstemp``'s 0600),
    so the result has the permissions any other tool would give it; and its
    content reaches the disk before the rename, so a power cut leaves the old
    file or the new one, never an empty one. A character device (``/dev/null``,
    a terminal) is written into instead: it cannot be replaced, and must not be.
    """
    if is_device(path):
        yield from _write_into(Path(path))
        return
    tmp = _new_partial_file(Path(path))
    try:
        yield tmp
        _sync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomically(path: Path, data: bytes) -> None:
    with replace_atomically(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomically(path: Path, text: str) -> None:
    write_bytes_atomically(path, text.encode("utf-8"))


def write_json(path: Path, data: dict[str, Any]) -> None:
    write_text_atomically(path, json.dumps(data, indent=2) + "\n")


def timestamped_path(folder: Path, prefix: str, suffix: str, now: datetime | None = None) -> Path:
    """``folder/prefix-20250101-120000.suffix``, made unique if taken."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    path = Path(folder) / f"{prefix}-{stamp}{suffix}"
    n = 2
    while path.exists():
        path = Path(folder) / f"{prefix}-{stamp}-{n}{suffix}"
        n += 1
    return path


def try_creating_in(folder: Path) -> None:
    """Create and remove a file in ``folder``; raises ``OSError`` where it cannot be written.

    Trying is the only honest test: ``os.access`` says yes to root on a read-only mount.
    """
    _new_partial_file(Path(folder) / "write-test").unlink()


def is_device(path: Path) -> bool:
    """Whether ``path`` is a character device (``/dev/null``, ``/dev/full``, a terminal), links followed."""
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def _write_into(device: Path) -> Iterator[Path]:
    """``replace_atomically`` for a device: the block writes a temporary file, whose bytes then go to the device."""
    tmp = _new_partial_file(Path(tempfile.gettempdir()) / device.name)
    try:
        yield tmp
        with open(device, "wb") as out:
            out.write(tmp.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)


def _new_partial_file(path: Path) -> Path:
    tmp = path.with_name(f".{path.stem}{PARTIAL_MARK}{secrets.token_hex(4)}{path.suffix}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return tmp


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
