"""One frame's work: faces -> crops -> one batch -> probabilities -> tracked, smoothed faces.

Two halves that two workers run at once on consecutive frames: ``locate`` (the
faces worker: detector, tracker, crops) and ``classify_faces`` (the emotions
worker: the model, smoothing, baselines). Each half keeps state of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from fer_desktop.calibration import DEFAULT_UNCERTAIN_BELOW, apply_calibration
from fer_desktop.faces import Face, FaceDetector, crop_faces
from fer_desktop.faces.quality import measure_quality
from fer_desktop.inference.base import Classifier
from fer_desktop.models import mirror_averaged
from fer_desktop.pipeline.baseline import NeutralBaselines
from fer_desktop.pipeline.frames import BaselineReading, FaceResult, Frame, FrameResult, LocatedFaces, StageTimings
from fer_desktop.pipeline.smoothing import DEFAULT_SMOOTHING, ProbabilitySmoother
from fer_desktop.pipeline.tracking import CONFIRM_FRAMES, FaceTracker

# The largest faces of a frame that go into the batch; a crowd must not stall the video.
MAX_FACES = 16


class Detector(Protocol):
    """Also, optionally, ``is_face(frame_bgr, face) -> bool``: a second look the tracker asks new faces to pass."""

    def detect(self, frame_bgr: np.ndarray) -> list[Face]: ...
    def close(self) -> None: ...


def classify(classifier: Classifier, crops: np.ndarray) -> np.ndarray:
    """(N, 7) probabilities in one batch; for a mirror-averaged model, each crop's averaged with its mirror's."""
    if not mirror_averaged(classifier.name):
        return classifier.predict(crops)
    both = classifier.predict(np.concatenate([crops, crops[:, :, ::-1]]))
    return (both[: len(crops)] + both[len(crops) :]) / 2


class FrameAnalyzer:
    """Detects, crops, classifies in one batch, tracks and smooths.

    ``classifier`` and ``smoothing`` may be set from any thread, and
    ``baselines`` (each face's neutral baseline) asked from any thread; the
    detector is created by ``open()`` in the thread that will use it.
    """

    def __init__(
        self,
        detector_factory: Callable[[], Detector] = FaceDetector,
        smoothing: float = DEFAULT_SMOOTHING,
        max_faces: int = MAX_FACES,
        confirm_frames: int = CONFIRM_FRAMES,
    ) -> None:
        self._detector_factory = detector_factory
        self._detector: Detector | None = None
        self.max_faces = max_faces
        self.classifier: Classifier | None = None
        self.uncertain_below = DEFAULT_UNCERTAIN_BELOW  # may be set from any thread, like the classifier
        self._tracker = FaceTracker(confirm_frames=confirm_frames)
        self._smoother = ProbabilitySmoother(smoothing)
        self.baselines = NeutralBaselines()
        self._source_id: int | None = None  # the emotions half's; the faces half keeps its own
        self._located_source_id: int | None = None
        self._last_classifier: Classifier | None = None

    @property
    def smoothing(self) -> float:
        return self._smoother.smoothing

    @smoothing.setter
    def smoothing(self, value: float) -> None:
        self._smoother.smoothing = value

    def open(self) -> None:
        self._detector = self._detector_factory()

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    def analyze(self, frame: Frame) -> FrameResult:
        """Both halves in the calling thread: ``classify_faces(locate(frame))``."""
        return self.classify_faces(self.locate(frame))

    def locate(self, frame: Frame) -> LocatedFaces:
        """The faces half: detect, track and crop. Touches only the detector and the tracker."""
        if self._detector is None:
            raise RuntimeError("FrameAnalyzer.open() was not called")
        if frame.source_id != self._located_source_id:
            self._tracker.reset()
            self._located_source_id = frame.source_id
        t_detect_start = time.perf_counter()
        detected = self._detector.detect(frame.image)
        candidates = sorted(detected, key=lambda f: f.w * f.h, reverse=True)[: self.max_faces]
        # Tracked before classifying: a face not yet confirmed is neither classified nor shown.
        check = getattr(self._detector, "is_face", None)
        is_face = None if check is None else lambda face: check(frame.image, face)
        ids = self._tracker.assign(candidates, is_face)
        tracked = [(f, i) for f, i in zip(candidates, ids) if self._tracker.confirmed(i)]
        t_detect_end = time.perf_counter()
        crops = crop_faces(frame.image, [f for f, _ in tracked]) if tracked else None
        crop_ms = (time.perf_counter() - t_detect_end) * 1e3
        quality = () if crops is None else tuple(
            measure_quality(frame.image, face, crop) for (face, _), crop in zip(tracked, crops)
        )
        return LocatedFaces(
            frame, tuple(f for f, _ in tracked), tuple(i for _, i in tracked), frozenset(self._tracker.active_ids),
            crops, quality, len(detected), len(detected) - len(candidates), t_detect_start, t_detect_end, crop_ms,
        )

    def classify_faces(self, located: LocatedFaces) -> FrameResult:
        """The emotions half: one batch, calibrated, smoothed per track. Touches only the model's side of the state."""
        frame, faces, ids = located.frame, located.faces, located.track_ids
        classifier = self.classifier  # read once: another thread may swap it meanwhile
        if frame.source_id != self._source_id:
            self._smoother.reset()
            if self._source_id is not None:  # a baseline asked for before the first frame waits for it
                self.baselines.reset()
            self._source_id = frame.source_id
        if classifier is not self._last_classifier:
            self._smoother.reset()  # another model's probabilities are not comparable
            if self._last_classifier is not None:
                self.baselines.reset()
            self._last_classifier = classifier
        self._smoother.retain(located.active_ids)
        self.baselines.forget(located.active_ids)

        t_model_start = time.perf_counter()
        crops = located.crops if classifier is not None else None
        # The one point where a classifier's probabilities enter the app: calibrated with the weights' own map.
        raw = apply_calibration(classify(classifier, crops), calibration_of(classifier)) if crops is not None else None
        model_ms = (time.perf_counter() - t_model_start) * 1e3

        uncertain_below = self.uncertain_below
        model = None if classifier is None else classifier.name
        if raw is not None:
            self.baselines.observe(frame.time_s, ids, raw, model)
        results = []
        for i, (face, track_id) in enumerate(zip(faces, ids)):
            probs = None if raw is None else self._smoother.update(track_id, raw[i])
            baseline = None if probs is None else self.baselines.applied(track_id)
            neutral = None
            if baseline is not None:
                relative = baseline.apply(probs)
                neutral = BaselineReading(baseline, relative, bool(relative.max() >= uncertain_below))
            results.append(FaceResult(
                track_id=track_id,
                box=face,
                probs=probs,
                raw_probs=None if raw is None else raw[i],
                confident=None if probs is None else bool(probs.max() >= uncertain_below),
                quality=None if raw is None else located.quality[i],
                neutral=neutral,
                calibrating=self.baselines.progress(track_id),
            ))
        t_done = time.perf_counter()
        timings = StageTimings(
            capture_to_detect_ms=(located.t_detect_start - frame.t_capture) * 1e3,
            detect_ms=(located.t_detect_end - located.t_detect_start) * 1e3,
            classify_ms=located.crop_ms + model_ms,
            capture_to_result_ms=(t_done - frame.t_capture) * 1e3,
            decode_ms=frame.read_ms,
            crop_ms=located.crop_ms,
        )
        return FrameResult(frame, tuple(results), located.faces_detected, model, timings,
                           faces_left_out=located.faces_left_out)


def calibration_of(classifier: Classifier) -> dict | None:
    """The calibration stored with a classifier's weights (None for weights without one, and for test fakes)."""
    return (getattr(classifier, "info", None) or {}).get("calibration")
