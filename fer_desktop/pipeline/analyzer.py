"""One frame's work: faces -> crops -> one batch -> probabilities -> tracked, smoothed faces."""

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
from fer_desktop.pipeline.frames import BaselineReading, FaceResult, Frame, FrameResult, StageTimings
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
            if self._source_id is not None:  # a baseline asked for before the first frame waits for it
                self.baselines.reset()
            self._source_id = frame.source_id
        if classifier is not self._last_classifier:
            self._smoother.reset()  # another model's probabilities are not comparable
            if self._last_classifier is not None:
                self.baselines.reset()
            self._last_classifier = classifier

        t_detect_start = time.perf_counter()
        detected = self._detector.detect(frame.image)
        candidates = sorted(detected, key=lambda f: f.w * f.h, reverse=True)[: self.max_faces]
        # Tracked before classifying: a face not yet confirmed is neither classified nor shown.
        check = getattr(self._detector, "is_face", None)
        is_face = None if check is None else lambda face: check(frame.image, face)
        ids = self._tracker.assign(candidates, is_face)
        tracked = [(f, i) for f, i in zip(candidates, ids) if self._tracker.confirmed(i)]
        faces, ids = [f for f, _ in tracked], [i for _, i in tracked]
        self._smoother.retain(self._tracker.active_ids)
        self.baselines.forget(self._tracker.active_ids)
        t_detect_end = time.perf_counter()  # detection includes the second look at new faces
        crops = crop_faces(frame.image, faces) if classifier is not None and faces else None
        t_crops_ready = time.perf_counter()
        # The one point where a classifier's probabilities enter the app: calibrated with the weights' own map.
        raw = apply_calibration(classify(classifier, crops), calibration_of(classifier)) if crops is not None else None
        t_probs_ready = time.perf_counter()

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
                quality=None if crops is None else measure_quality(frame.image, face, crops[i]),
                neutral=neutral,
                calibrating=self.baselines.progress(track_id),
            ))
        t_done = time.perf_counter()
        timings = StageTimings(
            capture_to_detect_ms=(t_detect_start - frame.t_capture) * 1e3,
            detect_ms=(t_detect_end - t_detect_start) * 1e3,
            classify_ms=(t_probs_ready - t_detect_end) * 1e3,
            capture_to_result_ms=(t_done - frame.t_capture) * 1e3,
            decode_ms=frame.read_ms,
            crop_ms=(t_crops_ready - t_detect_end) * 1e3,
        )
        return FrameResult(frame, tuple(results), len(detected), model, timings,
                           faces_left_out=len(detected) - len(candidates))


def calibration_of(classifier: Classifier) -> dict | None:
    """The calibration stored with a classifier's weights (None for weights without one, and for test fakes)."""
    return (getattr(classifier, "info", None) or {}).get("calibration")
