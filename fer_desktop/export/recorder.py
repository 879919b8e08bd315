"""The recorder: what a run leaves behind, written the same way in the window and headless."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from fer_desktop.export.baselines import baselines_path, write_baselines
from fer_desktop.export.csv_rows import CSV_COLUMNS, WholeRowsFile, csv_rows
from fer_desktop.export.summary import RunSummary
from fer_desktop.pipeline.baseline import NeutralBaseline
from fer_desktop.pipeline.frames import FrameResult, SourceEnd, SourceInfo


def open_new_file(path: Path, overwrite: bool) -> BinaryIO:
    """Unbuffered, so that each batch of rows is one write; never replaces a file unless ``overwrite``."""
    return open(path, "wb" if overwrite else "xb", buffering=0)


class Recorder:
    """One CSV row per face per processed frame (when given a path) and the run's ``summary``.

    A ``Pipeline`` calls it from its workers once attached (``pipeline.recorder = recorder``).
    The CSV is created with the first result, never before, so a source that
    fails to open leaves no file behind. A write error (a full disk) ends the
    CSV with its rows so far whole, and ``on_failure`` gets one sentence; the
    summary goes on counting and the pipeline on running. Thread-safe: the
    inference thread writes while the GUI may stop the recording.

    Each neutral baseline a recorded row uses is written to
    ``NAME.baselines.json`` beside the CSV (fer_desktop/export/baselines.py)
    when it first appears; a stale one is removed when the CSV is replaced.
    """

    def __init__(
        self,
        csv_path: Path | None = None,
        *,
        overwrite: bool = False,
        on_failure: Callable[[str], None] = lambda message: None,
        open_file: Callable[[Path, bool], BinaryIO] = open_new_file,
    ) -> None:
        self.csv_path = None if csv_path is None else Path(csv_path)
        self.summary = RunSummary()
        self._overwrite, self._on_failure, self._open_file = overwrite, on_failure, open_file
        self._lock = threading.Lock()
        self._csv: WholeRowsFile | None = None
        self._recording = csv_path is not None  # False once closed or failed
        self._baselines: dict[int, NeutralBaseline] = {}  # by number, the ones rows of this CSV use

    @property
    def rows(self) -> int:
        return self.summary.csv_rows

    @property
    def recording(self) -> bool:
        return self._recording

    def source_opened(self, info: SourceInfo) -> None:
        self.summary.source_opened(info)

    def add(self, result: FrameResult) -> None:
        with self._lock:
            self.summary.add(result)
            if self._recording:
                self._write(csv_rows(result))
            if self._recording:  # still: the write above may have failed and stopped the recording
                self._note_baselines(result)

    def source_ended(self, end: SourceEnd) -> None:
        self.summary.source_ended(end)

    def close(self, create: bool = False) -> None:
        """Stop recording; ``create`` makes the CSV (its header) even if no frame came, so a stopped run has one."""
        with self._lock:
            if create and self._recording:
                self._write([])
            self._recording = False
            if self._csv is not None:
                self._csv.close()
                self._csv = None

    def _write(self, rows: list[list[object]]) -> None:
        try:
            if self._csv is None:
                self._csv = WholeRowsFile(self._open_file(self.csv_path, self._overwrite))
                if self._overwrite:  # the baselines of the recording this one replaces
                    baselines_path(self.csv_path).unlink(missing_ok=True)
                self._csv.append([CSV_COLUMNS])
            if rows:
                self._csv.append(rows)
        except OSError as e:
            self._fail(e)
            return
        self.summary.csv_rows += len(rows)

    def _note_baselines(self, result: FrameResult) -> None:
        new = {f.neutral.baseline.number: f.neutral.baseline for f in result.faces
               if f.neutral is not None and f.neutral.baseline.number not in self._baselines}
        if not new:
            return
        try:
            if not self._baselines and not self._overwrite and baselines_path(self.csv_path).exists():
                raise FileExistsError(f"{baselines_path(self.csv_path).name} exists and is not replaced")
            self._baselines.update(new)
            write_baselines(self.csv_path, list(self._baselines.values()))
        except OSError as e:
            self._fail(e)

    def _fail(self, error: OSError) -> None:
        self._recording = False
        if self._csv is not None:
            try:
                self._csv.close()
            except OSError:
                pass  # the error that matters is the one being reported
            self._csv = None
        reason = error.strerror or str(error)
        message = (f"Recording to {self.csv_path} stopped after {self.summary.csv_rows} rows: {reason}; "
                   f"the rows written so far are whole")
        self.summary.recording_error = message
        self._on_failure(message)
