"""A copy of this checkout, for tests that build or install it without touching the real one."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def copy_of_checkout(dest: Path) -> Path:
    ignore = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", "runs", "data")
    return Path(shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True))
