"""Thin Qt adapters: worker callbacks become signals, delivered in the GUI thread."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from fer_desktop.pipeline import Frame, FrameResult, Pipeline, PipelineCallbacks
from fer_desktop.pipeline.background import LatestRequestWorker
from fer_desktop.pipeline.slot import LatestSlot
from fer_desktop.ui.images import to_display_image

# After the analysis drops a frame (it is slower than the source), every captured frame is
# shown for this long, under the newest boxes; otherwise each frame is shown once, with
# its own boxes, when its result comes, and captured frames are not sent to the GUI at all.
RAW_FRAMES_S = 1.0


class PipelineBridge(QObject):
    """The pipeline's callbacks as signals.

    Frames and results wait in one-item slots and a signal is sent only when
    the slot was empty, so however slow the GUI, at most one of each is queued.
    Which frames are shown is decided here too (``RAW_FRAMES_S``), and their
    display images are made here, in the workers' threads, so that the GUI
    thread only draws.
    """

    frame_ready = Signal()  # then take_frame()
    result_ready = Signal()  # then take_result()
    source_opened = Signal(object)  # SourceInfo
    source_ended = Signal(object)  # SourceEnd
    failed = Signal(str)
    recording_failed = Signal(int, str)  # the window's number for a recorder that could not write and stopped, and why

    def __init__(self, parent: QObject | None = None, **pipeline_options: Any) -> None:
        super().__init__(parent)
        self._frames: LatestSlot[tuple[Frame, QImage]] = LatestSlot(drop=True)
        self._results: LatestSlot[tuple[FrameResult, QImage | None]] = LatestSlot(drop=True)
        # The video panel's size in device pixels, set by the GUI thread: frames are scaled to it here.
        self.display_box: tuple[int, int] | None = None
        self._dropped_seen, self._raw_frames_until = 0, 0.0  # written by the capture thread only
        callbacks = PipelineCallbacks(
            on_opened=self.source_opened.emit,
            on_frame=self._on_frame,
            on_result=self._on_result,
            on_end=self.source_ended.emit,
            on_error=self.failed.emit,
        )
        self.pipeline = Pipeline(callbacks, **pipeline_options)

    def take_frame(self) -> tuple[Frame, QImage] | None:
        return self._frames.take_nowait()

    def take_result(self) -> tuple[FrameResult, QImage | None] | None:
        """The newest result, with its frame's display image unless captured frames are being shown instead."""
        return self._results.take_nowait()

    def _on_frame(self, frame: Frame) -> None:
        now, dropped = time.perf_counter(), self.pipeline.stats.dropped
        if dropped != self._dropped_seen:
            self._dropped_seen, self._raw_frames_until = dropped, now + RAW_FRAMES_S
        if now < self._raw_frames_until and not self._frames.put((frame, self._display(frame))):
            self.frame_ready.emit()

    def _on_result(self, result: FrameResult) -> None:
        result = result.as_shown()  # the faces as the window shows them: relative to a neutral baseline where set
        image = None if time.perf_counter() < self._raw_frames_until else self._display(result.frame)
        if not self._results.put((result, image)):
            self.result_ready.emit()

    def _display(self, frame: Frame) -> QImage:
        return to_display_image(frame.image, self.display_box)


class BackgroundJob(QObject):
    """A ``LatestRequestWorker`` (``keep_all``: every request runs) whose outcome arrives as ``done(request, result)`` or ``failed(request, error)``."""

    done = Signal(object, object)
    failed = Signal(object, object)

    def __init__(self, job: Callable[[Any], Any], name: str, parent: QObject | None = None,
                 keep_all: bool = False) -> None:
        super().__init__(parent)
        self._worker = LatestRequestWorker(job, self.done.emit, self.failed.emit, name, keep_all)

    def request(self, arg: Any = None) -> None:
        self._worker.request(arg)

    def stop(self, timeout: float = 0.0) -> None:
        self._worker.stop(timeout)

    def join(self, timeout: float) -> None:
        self._worker.join(timeout)
