"""The pipeline: capture, faces and emotions workers, joined by one-frame slots.

frame -> [capture] -> slot -> [faces: detect, track, crop] -> slot -> [emotions: batch, probabilities] -> result.
The faces of one frame are found while the emotions of the one before are computed, so the
two halves share the cores instead of taking turns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fer_desktop.faces import FaceDetector
from fer_desktop.pipeline.analyzer import MAX_FACES, Classifier, Detector, FrameAnalyzer
from fer_desktop.pipeline.capture import CaptureWorker, SourceOpener
from fer_desktop.pipeline.frames import Frame, FrameResult, LocatedFaces, SourceEnd, SourceInfo
from fer_desktop.pipeline.slot import LatestSlot
from fer_desktop.pipeline.smoothing import DEFAULT_SMOOTHING
from fer_desktop.pipeline.stage import StageWorker
from fer_desktop.pipeline.stats import PipelineStats

if TYPE_CHECKING:
    from fer_desktop.export.recorder import Recorder

STOP_TIMEOUT_S = 1.0  # for all workers together; a window closes within 2 s


def _ignore(_: object) -> None:
    pass


@dataclass
class PipelineCallbacks:
    """Called from the worker threads; a GUI turns them into signals."""

    on_opened: Callable[[SourceInfo], None] = _ignore  # capture thread
    on_frame: Callable[[Frame], None] = _ignore  # capture thread, every captured frame
    on_result: Callable[[FrameResult], None] = _ignore  # emotions thread
    on_end: Callable[[SourceEnd], None] = _ignore  # emotions thread, after the source's last result
    on_error: Callable[[str], None] = _ignore  # faces or emotions thread


class Pipeline:
    """Owns the workers and their lifecycle; ``open()`` swaps sources, the model stays.

    ``every_frame=False`` is the live view: at each slot the newest frame wins
    and older ones are dropped and counted. ``every_frame=True`` is headless:
    each stage waits for the next, and files are read as fast as they are processed.
    """

    def __init__(
        self,
        callbacks: PipelineCallbacks | None = None,
        *,
        every_frame: bool = False,
        detector_factory: Callable[[], Detector] = FaceDetector,
        smoothing: float = DEFAULT_SMOOTHING,
        max_faces: int = MAX_FACES,
    ) -> None:
        self.callbacks = callbacks or PipelineCallbacks()
        self.every_frame = every_frame
        self.stats = PipelineStats()
        self.analyzer = FrameAnalyzer(detector_factory, smoothing, max_faces)
        # Set from any thread; the workers hand it every source event and result before the callbacks.
        self.recorder: Recorder | None = None
        # End markers are never dropped: each source's end reaches the window, whatever frames follow it.
        self._frames: LatestSlot = LatestSlot(drop=not every_frame, keep=lambda item: isinstance(item, SourceEnd))
        self._located: LatestSlot = LatestSlot(drop=not every_frame, keep=lambda item: isinstance(item, SourceEnd))
        self._capture: CaptureWorker | None = None
        self._retiring: list[CaptureWorker] = []  # asked to stop, maybe not finished yet
        self._source_id = 0
        self._faces = StageWorker(
            "fer-faces", self._frames, self.analyzer.locate, self._hand_on, self._hand_on, self.callbacks.on_error,
            open=self.analyzer.open, close=self.analyzer.close, closes_on_failure=(self._located,),
            what_opens="the face detector",
        )
        self._emotions = StageWorker(
            "fer-emotions", self._located, self.analyzer.classify_faces, self._result, self._end,
            self.callbacks.on_error,
        )
        self._workers = (self._faces, self._emotions)
        for worker in self._workers:
            worker.start()

    @property
    def classifier(self) -> Classifier | None:
        return self.analyzer.classifier

    @classifier.setter
    def classifier(self, classifier: Classifier | None) -> None:
        """Swapped between two frames; the frame in flight finishes with the old model."""
        self.analyzer.classifier = classifier

    def open(self, source: str | SourceOpener, max_frames: int | None = None) -> int:
        """Start reading ``source`` (the worker opens it) and retire the current one; returns the new source id.

        The old capture worker is asked to stop but not waited for, so the
        caller (the GUI thread) never blocks on a device; results of the old
        source still in flight carry its id and can be told apart.
        """
        self.close_source()
        self._source_id += 1
        self._capture = CaptureWorker(
            source, self._source_id, self._frames, self.stats, self._opened, self.callbacks.on_frame,
            paced=not self.every_frame, max_frames=max_frames,
        )
        self._capture.start()
        return self._source_id

    def pause(self, paused: bool) -> None:
        """Hold the current source where it is, or let it go on."""
        if self._capture is not None:
            self._capture.pause(paused)

    def close_source(self) -> None:
        """Ask the current capture worker to stop; ``stop()`` joins it."""
        self._retiring = [w for w in self._retiring if w.is_alive()]
        if self._capture is not None:
            self._capture.stop()
            self._retiring.append(self._capture)
            self._capture = None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop every worker: flag and wake them all, then join them all; safe to call twice."""
        self.close_source()
        for worker in self._workers:
            worker.stop()
        self._located.wake()  # the faces worker may wait to hand a frame on
        deadline = time.perf_counter() + timeout
        for worker in (*self._retiring, *self._workers):
            worker.join(max(0.0, deadline - time.perf_counter()))

    def _opened(self, info: SourceInfo) -> None:
        if (recorder := self.recorder) is not None:
            recorder.source_opened(info)
        self.callbacks.on_opened(info)

    def _hand_on(self, item: LocatedFaces | SourceEnd) -> None:
        if self._located.put(item, self._faces.stopping):
            self.stats.add_drop()

    def _result(self, result: FrameResult) -> None:
        self.stats.add_result(result)
        if (recorder := self.recorder) is not None:
            recorder.add(result)
        self.callbacks.on_result(result)

    def _end(self, end: SourceEnd) -> None:
        if (recorder := self.recorder) is not None:
            recorder.source_ended(end)
        self.callbacks.on_end(end)

    @property
    def alive(self) -> bool:
        """Whether any of its threads still runs."""
        workers = (*self._workers, *self._retiring, *([self._capture] if self._capture else []))
        return any(w.is_alive() for w in workers)
