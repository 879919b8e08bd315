"""What leaves the app as files: the recording (CSV rows and summary), snapshots. No Qt here.

Names load on first use, so ``fer_desktop.export.files`` (which the trainer writes with) does not
import the video pipeline and its face detector.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOME = {
    "COLUMNS": "csv_rows", "CSV_COLUMNS": "csv_rows", "Column": "csv_rows",
    "replace_atomically": "files", "timestamped_path": "files", "write_json": "files", "write_text_atomically": "files",
    "OVERWRITE_FLAG": "outputs", "OutputError": "outputs", "check_outputs": "outputs", "same_file": "outputs",
    "Recorder": "recorder", "save_png": "snapshot", "RunSummary": "summary",
}
__all__ = sorted(_HOME)

if TYPE_CHECKING:
    from fer_desktop.export.csv_rows import COLUMNS, CSV_COLUMNS, Column
    from fer_desktop.export.files import replace_atomically, timestamped_path, write_json, write_text_atomically
    from fer_desktop.export.outputs import OVERWRITE_FLAG, OutputError, check_outputs, same_file
    from fer_desktop.export.recorder import Recorder
    from fer_desktop.export.snapshot import save_png
    from fer_desktop.export.summary import RunSummary


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value
