"""One frame's work: faces -> crops -> one batch -> probabilities -> tracked, smoothed faces."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from fer_desktop.calibration import DEFAULT_UNCERTAIN_BELOW, apply_calibration
from fer_desktop.faces import Face, FaceDetector, crop_faces
from fer_desktop.faces.quality import measure_quality
from fer_desktop.pipeline.frames import FaceResult, Frame, FrameResult, StageTimings
from fer_desktop.pipeline.smoothing import DEFAULT_SMOOTHING, ProbabilitySmoother
from fer_desktop.pipeline.tracking import FaceTracker

# The largest faces of a frame that go into the batch; a crowd must not stall the video.
MAX_FACES = 16


class Detector(Protocol):
    def detect(self, frame_bgr: np.ndarray) -> list[Face]: ...
    def close(self) -> None: ...


class Classifier(Protocol):
    name: str

    def predict(self, faces: np.ndarray) -> np.ndarray: ...


class FrameAnalyzer:
    """Detects, crops, classifies in one batch, tracks and smooths.

    ``classifier`` and ``smoothing`` may be set from any thread; the detector
    is created by ``open()`` in the thread that will use it.
    """

    def __init__(
        self,
        detector_factory: Callable[[], Detector] = FaceDetector,
        smoothing: float = DEFAULT_SMOOTHING,
        max_faces: int = MAX_FACES,
    ) -> None:
        self._detector_factory = detector_factory
        self._detector: Detector | None = None
        self.max_faces = max_faces
        self.classifier: Classifier | None = None
        self.uncertain_below = DEFAULT_UNCERTAIN_BELOW  # may be set from any thread, like the classifier
        self._tracker = FaceTracker()
        self._smoother = ProbabilitySmoother(smoothing)
        self._source_id: int | None = None
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
        if self._detector is None:
            raise RuntimeError("FrameAnalyzer.open() was not called")
        classifier = self.classifier  # read once: another thread may swap it meanwhile
        if frame.source_id != self._source_id:
            self._tracker.reset()
            self._smoother.reset()
            self._source_id = frame.source_id
        if classifier is not self._last_classifier:
            self._smoother.reset()  # another model's probabilities are not comparable
            self._last_classifier = classifier

        t_detect = time.perf_counter()
        detected = self._detector.detect(frame.image)
        t_classify = time.perf_counter()
        faces = sorted(detected, key=lambda f: f.w * f.h, reverse=True)[: self.max_faces]
        crops = crop_faces(frame.image, faces) if classifier is not None and faces else None
        t_model = time.perf_counter()
        # The one point where a classifier's probabilities enter the app: calibrated with the weights' own map.
        raw = apply_calibration(classifier.predict(crops), calibration_of(classifier)) if crops is not None else None
        t_track = time.perf_counter()

        ids = self._tracker.assign(faces)
        self._smoother.retain(self._tracker.active_ids)
        uncertain_below = self.uncertain_below
        results = []
        for i, (face, track_id) in enumerate(zip(faces, ids)):
            probs = None if raw is None else self._smoother.update(track_id, raw[i])
            results.append(FaceResult(
                track_id=track_id,
                box=face,
                probs=probs,
                raw_probs=None if raw is None else raw[i],
                confident=None if probs is None else bool(probs.max() >= uncertain_below),
                quality=None if crops is None else measure_quality(frame.image, face, crops[i]),
            ))
        t_done = time.perf_counter()
        timings = StageTimings(
            capture_to_detection=(t_detect - frame.t_capture) * 1e3,
            detection=(t_classify - t_detect) * 1e3,
            classification=(t_track - t_classify) * 1e3,
            capture_to_result=(t_done - frame.t_capture) * 1e3,
            decode=frame.read_ms,
            crop=(t_model - t_classify) * 1e3,
        )
        return FrameResult(frame, tuple(results), len(detected), None if classifier is None else classifier.name, timings)


def calibration_of(classifier: Classifier) -> dict | None:
    """The calibration stored with a classifier's weights (None for weights without one, and for test fakes)."""
    return (getattr(classifier, "info", None) or {}).get("calibration")
