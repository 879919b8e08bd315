"""``DIR/index.json``: one entry per video (status, counts, the input's fingerprint), and where outputs go.

The file is JSON whose ``videos`` list holds one entry per line, so it reads
(and diffs) as a table. It is rewritten atomically after each video, so a
stopped run leaves it describing exactly the outputs that exist.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fer_desktop.batch.fingerprint import Fingerprint
from fer_desktop.export.files import replace_atomically

INDEX_NAME = "index.json"
LOCK_NAME = ".lock"
FORMAT = 1


def csv_name(name: str) -> str:
    return f"{name}.csv"


def summary_name(name: str) -> str:
    return f"{name}.summary.json"


class BatchIndex:
    def __init__(self, out_dir: Path, entries: dict[str, dict[str, Any]] | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.entries: dict[str, dict[str, Any]] = entries or {}

    @property
    def path(self) -> Path:
        return self.out_dir / INDEX_NAME

    @classmethod
    def load(cls, out_dir: Path) -> BatchIndex:
        """The index in ``out_dir``; empty when there is none, or when its entries cannot be read (then every
        video is redone). A file of that name that this command did not write is left alone: ForeignIndexError."""
        path = Path(out_dir) / INDEX_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(out_dir, {})
        except (OSError, ValueError) as e:
            raise ForeignIndexError(path, f"{type(e).__name__}: {e}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("videos"), list):
            raise ForeignIndexError(path, f"no \"format\": {FORMAT} with a \"videos\" list")
        try:
            entries = {e["name"]: e for e in data["videos"]}
        except (KeyError, TypeError) as e:
            print(f"fer-desktop-batch: {path} cannot be read ({e}); every video will be analysed again",
                  file=sys.stderr)
            entries = {}
        return cls(out_dir, entries)

    def is_complete(self, name: str, current: Fingerprint, settings: dict[str, Any]) -> bool:
        """Whether ``name`` was analysed, with these settings, from an input unchanged since, and its outputs are there."""
        entry = self.entries.get(name)
        if not entry or entry.get("status") != "done" or entry.get("settings") != settings:
            return False
        if Fingerprint.from_dict(entry.get("input_fingerprint") or {}) != current:
            return False
        try:
            summary = json.loads((self.out_dir / summary_name(name)).read_text(encoding="utf-8"))
            return bool(summary.get("complete")) and (self.out_dir / csv_name(name)).is_file()
        except (OSError, ValueError, AttributeError):
            return False

    def save(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps(self.entries[name], sort_keys=False) for name in sorted(self.entries)]
        text = '{"format": %d, "videos": [\n%s\n]}\n' % (FORMAT, ",\n".join(lines))
        with replace_atomically(self.path) as tmp:
            tmp.write_text(text, encoding="utf-8")


class FolderBusyError(RuntimeError):
    pass


class ForeignIndexError(RuntimeError):
    """The output folder holds an ``index.json`` that fer-desktop-batch did not write: it is not replaced."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path} is not an index that fer-desktop-batch wrote ({why}); give another --out "
                         "folder, or move that file away")


@contextmanager
def only_writer(out_dir: Path) -> Iterator[None]:
    """Hold ``out_dir`` for this command alone: two batches into one folder would do videos twice and race on
    the index. The lock goes with the process, however it ends."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one batch per folder is then up to the user
        yield
        return
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(out_dir) / LOCK_NAME, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusyError(f"--out {out_dir}: another fer-desktop-batch is writing there; wait for it "
                                  "to end, or give another folder") from None
        yield
