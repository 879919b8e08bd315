"""Follow faces from frame to frame by box overlap, so each keeps an id (and its smoothing).

A new track is only a candidate: it becomes a face once it has been seen in
``confirm_frames`` consecutive frames and, where a second look is given
(``assign(faces, is_face)``, the landmark model's face-presence check), that
look has said yes; then it stays a face while it is tracked, with no further
looks. A candidate that failed is looked at again every ``RECHECK_EVERY``
frames, so a picture the detector keeps calling a face costs little.
benchmarks/robustness.py measures what each rule removes and what it costs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fer_desktop.faces.detector import Face, iou

MIN_IOU = 0.3  # below this two boxes in consecutive frames are different faces
MAX_MISSED = 10  # frames a face may go undetected before its id is retired
# Consecutive frames a new face must be seen in before it is reported. With the
# presence check, 1: waiting longer removed no false face the check let through
# and lost the first frames of every real one (benchmarks/robustness.py).
CONFIRM_FRAMES = 1
RECHECK_EVERY = 5  # frames between two second looks at a candidate that failed one


@dataclass
class _Track:
    box: Face
    missed: int = 0
    streak: int = 1  # consecutive frames seen, up to now
    confirmed: bool = False
    looked: bool = False  # a second look said yes
    next_look: int = 0  # frames to wait before looking again


class FaceTracker:
    """Greedy IoU matching of this frame's boxes to the tracks alive in the last frames."""

    def __init__(self, min_iou: float = MIN_IOU, max_missed: int = MAX_MISSED,
                 confirm_frames: int = CONFIRM_FRAMES) -> None:
        self.min_iou, self.max_missed, self.confirm_frames = min_iou, max_missed, confirm_frames
        self._tracks: dict[int, _Track] = {}
        self._next_id = 1

    @property
    def active_ids(self) -> set[int]:
        return set(self._tracks)

    def confirmed(self, track_id: int) -> bool:
        """Whether the track has been seen in ``confirm_frames`` consecutive frames (at any time in its life)."""
        track = self._tracks.get(track_id)
        return track is not None and track.confirmed

    def assign(self, faces: Sequence[Face], is_face: Callable[[Face], bool] | None = None) -> list[int]:
        """One track id per face, in the order given; unmatched faces get new ids.

        ``is_face`` is the second look, asked only for candidates not yet confirmed.
        """
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
                track = self._tracks[track_id]
                track.missed += 1
                track.streak = 0
                if track.missed > self.max_missed:
                    del self._tracks[track_id]
        for i, face in enumerate(faces):
            if ids[i] is None:
                ids[i] = self._next_id
                self._next_id += 1
                self._tracks[ids[i]] = _Track(face)
            else:
                track = self._tracks[ids[i]]
                track.box, track.missed, track.streak = face, 0, track.streak + 1
            track = self._tracks[ids[i]]
            if not track.confirmed and track.streak >= self.confirm_frames:
                self._look(track, face, is_face)
                track.confirmed = track.looked
        return ids  # type: ignore[return-value]

    @staticmethod
    def _look(track: _Track, face: Face, is_face: Callable[[Face], bool] | None) -> None:
        if is_face is None:
            track.looked = True
        elif track.next_look > 0:
            track.next_look -= 1
        else:
            track.looked = is_face(face)
            track.next_look = RECHECK_EVERY - 1

    def reset(self) -> None:
        self._tracks.clear()
