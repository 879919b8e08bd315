"""The CSV recording's columns, and a file that takes whole rows or none."""

from __future__ import annotations

import csv
import errno
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from fer_desktop.emotions import EMOTIONS
from fer_desktop.pipeline.frames import FaceResult, FrameResult


@dataclass(frozen=True)
class Column:
    name: str
    value: Callable[[FrameResult, FaceResult], object]


def _probability(k: int) -> Callable[[FrameResult, FaceResult], str]:
    return lambda _, face: "" if face.probs is None else f"{face.probs[k]:.4f}"


def _measured(face: FaceResult, name: str) -> str:
    """A quality measure with one decimal; empty when not measured (no model, or a face without keypoints)."""
    value = None if face.quality is None else getattr(face.quality, name)
    return "" if value is None or math.isnan(value) else f"{value:.1f}"


# One row per face per processed frame. A new column is one more entry here, in the window and headless alike.
COLUMNS: tuple[Column, ...] = (
    Column("time_s", lambda result, _: f"{result.frame.time_s:.3f}"),
    Column("frame", lambda result, _: result.frame.index),
    Column("face_id", lambda _, face: face.track_id),
    Column("x", lambda _, face: round(face.box.x)),
    Column("y", lambda _, face: round(face.box.y)),
    Column("w", lambda _, face: round(face.box.w)),
    Column("h", lambda _, face: round(face.box.h)),
    *(Column(emotion, _probability(k)) for k, emotion in enumerate(EMOTIONS)),
    Column("label", lambda _, face: face.label or ""),
    Column("confidence", lambda _, face: "" if face.confidence is None else f"{face.confidence:.4f}"),
    Column("model", lambda result, _: result.model or ""),
    # How far to trust the row: the "uncertain" verdict (1/0, empty without a model) and the face-quality
    # measures of fer_desktop/faces/quality.py.
    Column("confident", lambda _, face: "" if face.confident is None else int(face.confident)),
    Column("face_px", lambda _, face: "" if face.quality is None else f"{face.quality.face_px:.1f}"),
    Column("brightness", lambda _, face: "" if face.quality is None else f"{face.quality.brightness:.1f}"),
    Column("sharpness", lambda _, face: "" if face.quality is None else f"{face.quality.sharpness:.1f}"),
    Column("yaw_deg", lambda _, face: _measured(face, "yaw_deg")),
    Column("pitch_deg", lambda _, face: _measured(face, "pitch_deg")),
    # The neutral baseline in effect for the face (its number in NAME.baselines.json, empty where none) and the
    # label relative to it. The seven probabilities, label and confidence above stay the model's own.
    Column("baseline", lambda _, face: "" if face.neutral is None else face.neutral.baseline.number),
    Column("baseline_label", lambda _, face: "" if face.neutral is None else face.as_shown().label),
)
CSV_COLUMNS: tuple[str, ...] = tuple(column.name for column in COLUMNS)


def csv_rows(result: FrameResult) -> list[list[object]]:
    return [[column.value(result, face) for column in COLUMNS] for face in result.faces]


class WholeRowsFile:
    """Appends CSV rows to a binary file, a batch at a time, each batch whole or not at all.

    A batch goes out in as few writes as the OS allows (one, for a file
    opened unbuffered); when one fails (a full disk) the file is cut back to
    the end of the last whole batch, so a reader never meets half a row.
    Not thread-safe: its owner locks.
    """

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._end = file.tell()

    def append(self, rows: Sequence[Sequence[object]]) -> None:
        text = io.StringIO()
        csv.writer(text).writerows(rows)
        data = memoryview(text.getvalue().encode("utf-8"))
        try:
            written = 0
            while written < len(data):
                n = self._file.write(data[written:])
                if not n:
                    raise OSError(errno.EIO, "the file took no more bytes")
                written += n
            self._file.flush()
        except OSError:
            self._cut_back()
            raise
        self._end += len(data)

    def close(self) -> None:
        self._file.close()

    def _cut_back(self) -> None:
        try:
            self._file.truncate(self._end)
            self._file.flush()
        except (OSError, ValueError):
            pass  # a device such as /dev/full cannot be cut; there was nothing on it to keep
