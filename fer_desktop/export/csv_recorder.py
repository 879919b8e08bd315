"""The recording: one CSV row per face per processed frame, flushed as it is written."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

from fer_desktop.emotions import EMOTIONS
from fer_desktop.export.trust_columns import TRUST_COLUMNS, trust_values
from fer_desktop.pipeline.frames import FaceResult, FrameResult

CSV_COLUMNS: tuple[str, ...] = (
    "time_s", "frame", "face_id", "x", "y", "w", "h", *EMOTIONS, "label", "confidence", "model", *TRUST_COLUMNS,
)


class CsvRecorder:
    """Thread-safe: the inference thread writes while the GUI may close it.

    Each frame's rows go out in one write followed by a flush, so a crash
    loses nothing already shown and never leaves half a frame.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.rows = 0
        self._lock = threading.Lock()
        self._file: io.TextIOBase | None = open(self.path, "w", newline="", encoding="utf-8")
        try:
            self._emit([CSV_COLUMNS])
        except OSError:
            self.close()
            raise

    def write(self, result: FrameResult) -> int:
        """Append the rows of one frame; returns how many (0 once closed)."""
        rows = [_row(result, face) for face in result.faces]
        with self._lock:
            if self._file is None or not rows:
                return 0
            self._emit(rows)
            self.rows += len(rows)
        return len(rows)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    @property
    def closed(self) -> bool:
        return self._file is None

    def __enter__(self) -> CsvRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _emit(self, rows: list) -> None:
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        self._file.write(buffer.getvalue())
        self._file.flush()


def _row(result: FrameResult, face: FaceResult) -> list:
    box = face.box
    probs = [""] * len(EMOTIONS) if face.probs is None else [f"{p:.4f}" for p in face.probs]
    confidence = "" if face.confidence is None else f"{face.confidence:.4f}"
    return [
        f"{result.frame.time_s:.3f}", result.frame.index, face.track_id,
        round(box.x), round(box.y), round(box.w), round(box.h),
        *probs, face.label or "", confidence, result.model or "", *trust_values(face),
    ]
