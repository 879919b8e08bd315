"""What travels through the pipeline: captured frames, and what was found in them."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from fer_desktop.emotions import EMOTIONS
from fer_desktop.faces import Face
from fer_desktop.faces.quality import FaceQuality
from fer_desktop.pipeline.baseline import NeutralBaseline


@dataclass(frozen=True)
class Frame:
    """One captured image with the identity and clock needed to measure latency end to end."""

    source_id: int  # which opening of a source it came from; tracking restarts when it changes
    index: int  # position within that source, from 0
    t_capture: float  # time.perf_counter() when the read returned
    time_s: float  # media time for files and the demo, seconds since opening for live sources
    image: np.ndarray  # (H, W, 3) uint8 BGR
    read_ms: float = 0.0  # how long the source took to deliver it: decoding, or drawing the demo


@dataclass(frozen=True)
class StageTimings:
    """Milliseconds one frame spent in each stage, each named by its span.

    The clock is ``time.perf_counter``; "capture" is the moment the source's
    read returned (``Frame.t_capture``).
    """

    capture_to_detect_ms: float  # capture until face detection began: the wait in the slot for the faces worker
    detect_ms: float  # face detection, start to end
    classify_ms: float  # cropping plus the one batched forward pass (not the wait between the two workers)
    capture_to_result_ms: float  # capture until the result left the emotions worker
    decode_ms: float = 0.0  # the source's read, start to capture: decoding a file, or drawing the demo
    crop_ms: float = 0.0  # the cropping part of classify_ms


@dataclass(frozen=True)
class LocatedFaces:
    """A frame's faces, tracked and cropped: what the faces worker hands the emotions worker."""

    frame: Frame
    faces: tuple[Face, ...]  # the confirmed faces, largest first
    track_ids: tuple[int, ...]  # one per face
    active_ids: frozenset[int]  # every track alive after this frame, confirmed or not
    crops: np.ndarray | None  # (N, 48, 48) uint8 FER-2013 crops, None without faces
    quality: tuple[FaceQuality, ...]  # one per face
    faces_detected: int
    faces_left_out: int
    t_detect_start: float
    t_detect_end: float  # detection includes the second look at new faces
    crop_ms: float


@dataclass(frozen=True)
class BaselineReading:
    """A face's smoothed probabilities relative to its neutral baseline (fer_desktop/pipeline/baseline.py)."""

    baseline: NeutralBaseline
    probs: np.ndarray  # (7,)
    confident: bool  # its top value at or above the uncertainty threshold


@dataclass(frozen=True)
class FaceResult:
    """A tracked face: its box and smoothed probabilities (None while no model is loaded).

    ``probs``, ``label``, ``confidence`` and ``confident`` are the model's own
    (calibrated, smoothed), as the CSV records them; ``as_shown()`` is the face
    as the window shows it, relative to its neutral baseline where one is set.
    """

    track_id: int
    box: Face
    probs: np.ndarray | None  # (7,) smoothed, in EMOTIONS order
    raw_probs: np.ndarray | None  # (7,) this frame's own output
    confident: bool | None = None  # top smoothed probability at or above the uncertainty threshold
    quality: FaceQuality | None = None  # size, brightness and sharpness (None while no model is loaded)
    neutral: BaselineReading | None = None  # set while the face has a neutral baseline
    calibrating: float | None = None  # the share of its neutral baseline recorded so far, while one is

    def as_shown(self) -> FaceResult:
        """The face with its baseline applied: ``probs`` and ``confident`` relative to it (itself without one)."""
        if self.neutral is None:
            return self
        return replace(self, probs=self.neutral.probs, confident=self.neutral.confident)

    @property
    def label(self) -> str | None:
        return None if self.probs is None else EMOTIONS[int(np.argmax(self.probs))]

    @property
    def confidence(self) -> float | None:
        return None if self.probs is None else float(np.max(self.probs))

    @property
    def area(self) -> float:
        return self.box.w * self.box.h


@dataclass(frozen=True)
class FrameResult:
    """Everything the pipeline learnt from one frame."""

    frame: Frame
    faces: tuple[FaceResult, ...]  # the classified faces, largest first
    faces_detected: int  # the detector's boxes, before the face check and the batch cap: a diagnostic
    model: str | None  # the classifier's name, None while none is loaded
    timings: StageTimings
    faces_left_out: int = 0  # boxes past the batch cap (the largest go first): neither checked nor classified

    @property
    def faces_in_view(self) -> int:
        """The faces the app reports in this frame: those shown, and those the batch cap left out."""
        return len(self.faces) + self.faces_left_out

    def as_shown(self) -> FrameResult:
        """Every face as the window shows it (``FaceResult.as_shown``)."""
        if all(face.neutral is None for face in self.faces):
            return self
        return replace(self, faces=tuple(face.as_shown() for face in self.faces))


@dataclass(frozen=True)
class SourceInfo:
    """Sent once a source has opened and delivered its first frame."""

    source_id: int
    name: str
    fps: float
    frame_count: int | None  # None for cameras, streams and the endless demo
    live: bool


@dataclass(frozen=True)
class SourceEnd:
    """The end marker a capture worker sends on every exit path."""

    source_id: int
    name: str
    frames: int  # how many frames it delivered
    error: str | None = None  # None for a normal end (end of file, asked to stop)
    frames_expected: int | None = None  # what the file's container claims, None for live sources and the demo
    ended_early: bool = False  # the file stopped decoding well before frames_expected: truncated or corrupt
    frames_skipped: int = 0  # a file's frames that did not decode, with frames after them that did
