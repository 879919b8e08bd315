"""Follow faces from frame to frame by box overlap, so each keeps an id (and its smoothing)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fer_desktop.faces import Face

MIN_IOU = 0.3  # below this two boxes in consecutive frames are different faces
MAX_MISSED = 10  # frames a face may go undetected before its id is retired


def iou(a: Face, b: Face) -> float:
    """Intersection over union of two boxes."""
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / (a.w * a.h + b.w * b.h - inter)


@dataclass
class _Track:
    box: Face
    missed: int = 0


class FaceTracker:
    """Greedy IoU matching of this frame's boxes to the tracks alive in the last frames."""

    def __init__(self, min_iou: float = MIN_IOU, max_missed: int = MAX_MISSED) -> None:
        self.min_iou, self.max_missed = min_iou, max_missed
        self._tracks: dict[int, _Track] = {}
        self._next_id = 1

    @property
    def active_ids(self) -> set[int]:
        return set(self._tracks)

    def assign(self, faces: Sequence[Face]) -> list[int]:
        """One track id per face, in the order given; unmatched faces get new ids."""
        pairs = sorted(
            ((iou(face, track.box), i, track_id) for i, face in enumerate(faces) for track_id, track in self._tracks.items()),
            reverse=True,
        )
        ids: list[int | None] = [None] * len(faces)
        matched: set[int] = set()
        for overlap, i, track_id in pairs:
            if overlap < self.min_iou:
                break
            if ids[i] is None and track_id not in matched:
                ids[i] = track_id
                matched.add(track_id)
        for track_id in list(self._tracks):
            if track_id not in matched:
                self._tracks[track_id].missed += 1
                if self._tracks[track_id].missed > self.max_missed:
                    del self._tracks[track_id]
        for i, face in enumerate(faces):
            if ids[i] is None:
                ids[i] = self._next_id
                self._next_id += 1
            self._tracks[ids[i]] = _Track(face)
        return ids  # type: ignore[return-value]

    def reset(self) -> None:
        self._tracks.clear()
