"""A face's neutral baseline: its probabilities read relative to how the model sees it at rest.

A model trained on FER-2013 reads some resting faces as sad or angry. The user
asks for a baseline ("Calibrate neutral"); the next ``BASELINE_S`` seconds of
that tracked face's calibrated per-frame probabilities are averaged into ``b``,
its reading at rest. From then on the face's probabilities ``p`` are shown as

    q = normalise(p * t / b)

the prior correction of Saerens et al. (2002): a classifier's posterior under
one prior becomes the posterior under another by the ratio of the priors.
``b`` is the prior the model in effect applies to this face at rest, and the
target ``t`` is ``b`` with its largest entry and its neutral entry swapped, so

- the resting face (``p = b``) reads ``t``: neutral, with the confidence it had
  read its wrong label with, and the other classes as they were;
- only the two classes the rest confused are reweighted (neutral up by
  ``b_top / b_neutral``, the other down by as much); every other class keeps
  weight 1, so a smile still reads happy and a sadder-than-rest face still sad;
- a face whose rest already reads neutral is left exactly as it was.

``b`` is floored at ``MIN_SHARE`` so a class the rest never showed cannot get
an unbounded weight. The result is a relative reading, not a calibrated
probability. No Qt: the pipeline's ``FrameAnalyzer`` records and applies it,
so the window and a headless run read a face alike; the GUI only asks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from fer_desktop.emotions import EMOTIONS, NUM_CLASSES

BASELINE_S = 3.0  # seconds of the face at rest
MIN_FRAMES = 3  # a baseline waits for at least this many frames, however long they take
MIN_SHARE = 0.01  # floor of each class in the baseline: caps a weight at 1 / MIN_SHARE
NEUTRAL = EMOTIONS.index("neutral")


@dataclass(frozen=True)
class NeutralBaseline:
    """One face's reading at rest and the weights it gives; ``number`` counts the run's baselines from 1."""

    number: int
    face_id: int
    probs: tuple[float, ...]  # mean calibrated probabilities over the baseline's frames, EMOTIONS order
    start_s: float  # media time of its first and last frame
    end_s: float
    frames: int
    model: str | None

    @cached_property
    def weights(self) -> np.ndarray:
        return neutral_weights(np.asarray(self.probs, np.float64))

    def apply(self, probs: np.ndarray) -> np.ndarray:
        """(7,) or (n, 7) probabilities relative to this baseline, each row summing to 1."""
        return relative_to_baseline(probs, self.weights)

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "face_id": self.face_id,
                "probs": {name: round(p, 6) for name, p in zip(EMOTIONS, self.probs)},
                "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "frames": self.frames,
                "model": self.model}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NeutralBaseline:
        """The inverse of ``to_dict``; raises KeyError, TypeError or ValueError for a malformed entry."""
        probs = tuple(float(data["probs"][name]) for name in EMOTIONS)
        if not all(np.isfinite(probs)) or min(probs) < 0 or not 0.5 < sum(probs) < 1.5:
            raise ValueError(f"baseline {data.get('number')}: probabilities {probs} do not sum to 1")
        return cls(int(data["number"]), int(data["face_id"]), probs, float(data["start_s"]), float(data["end_s"]),
                   int(data["frames"]), data.get("model"))


def neutral_weights(baseline: np.ndarray) -> np.ndarray:
    """``t / b``: the per-class factors that make a resting reading ``baseline`` read neutral (module docstring)."""
    b = np.maximum(np.asarray(baseline, np.float64), MIN_SHARE)
    b = b / b.sum()
    target = b.copy()
    top = int(np.argmax(b))
    target[top], target[NEUTRAL] = b[NEUTRAL], b[top]
    return target / b


def relative_to_baseline(probs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    q = np.asarray(probs, np.float64) * weights
    return (q / q.sum(axis=-1, keepdims=True)).astype(np.float32)


@dataclass
class _Recording:
    face_id: int | None  # None: the largest face in view when it starts
    seconds: float
    start_s: float | None = None
    last_s: float = 0.0
    sums: np.ndarray | None = None
    frames: int = 0


class NeutralBaselines:
    """The run's baselines by tracked face id, and the recording of a new one.

    Thread contract: ``calibrate``, ``reset``, ``made`` and ``waiting`` may be called from
    any thread (the GUI's); ``observe``, ``applied``, ``progress`` and ``forget`` from the
    inference thread, once per frame. One lock guards both sides.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._baselines: dict[int, NeutralBaseline] = {}
        self._recording: _Recording | None = None
        self._count = 0

    def calibrate(self, face_id: int | None, seconds: float = BASELINE_S) -> None:
        """Record ``face_id``'s next ``seconds`` (None: the largest face then in view); replaces a recording under way."""
        if seconds <= 0:
            raise ValueError(f"a baseline needs a positive duration, got {seconds}")
        with self._lock:
            self._recording = _Recording(face_id, float(seconds))

    def reset(self, face_id: int | None = None) -> None:
        """Drop ``face_id``'s baseline (None: every face's) and any recording for it."""
        with self._lock:
            if face_id is None:
                self._baselines.clear()
                self._recording = None
                return
            self._baselines.pop(face_id, None)
            if self._recording is not None and self._recording.face_id == face_id:
                self._recording = None

    def forget(self, active_ids: set[int]) -> None:
        """Drop the baselines of faces no longer tracked (their ids are never reused) and a recording of one."""
        with self._lock:
            for face_id in [f for f in self._baselines if f not in active_ids]:
                del self._baselines[face_id]
            rec = self._recording
            if rec is not None and rec.face_id is not None and rec.face_id not in active_ids:
                self._recording = None

    def observe(self, time_s: float, face_ids: list[int], probs: np.ndarray, model: str | None) -> None:
        """One frame's faces (largest first) and their calibrated (n, 7) per-frame probabilities."""
        with self._lock:
            rec = self._recording
            if rec is None or not face_ids:
                return
            if rec.face_id is None:
                rec.face_id = face_ids[0]
            if rec.face_id not in face_ids:
                return
            row = np.asarray(probs[face_ids.index(rec.face_id)], np.float64)
            if rec.start_s is None:
                rec.start_s, rec.sums = time_s, np.zeros(NUM_CLASSES)
            rec.sums += row
            rec.frames += 1
            rec.last_s = time_s
            if time_s - rec.start_s >= rec.seconds and rec.frames >= MIN_FRAMES:
                self._count += 1
                mean = rec.sums / rec.frames
                self._baselines[rec.face_id] = NeutralBaseline(
                    self._count, rec.face_id, tuple(float(p) for p in mean), rec.start_s, time_s, rec.frames, model)
                self._recording = None

    @property
    def made(self) -> int:
        """How many baselines have been recorded in this run; the newest has this number."""
        with self._lock:
            return self._count

    @property
    def waiting(self) -> bool:
        """Whether a baseline was asked for and is not finished (any thread may ask)."""
        with self._lock:
            return self._recording is not None

    def applied(self, face_id: int) -> NeutralBaseline | None:
        with self._lock:
            return self._baselines.get(face_id)

    def progress(self, face_id: int) -> float | None:
        """The share of ``face_id``'s baseline recorded so far (0 to 1), None when none is being recorded for it."""
        with self._lock:
            rec = self._recording
            if rec is None or rec.face_id != face_id or rec.start_s is None:
                return None
            return min(1.0, (rec.last_s - rec.start_s) / rec.seconds)
