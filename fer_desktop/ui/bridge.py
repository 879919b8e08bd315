"""Thin Qt adapters: worker callbacks become signals, delivered in the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from fer_desktop.export import CsvRecorder
from fer_desktop.pipeline import Frame, FrameResult, Pipeline, PipelineCallbacks
from fer_desktop.pipeline.background import LatestRequestWorker
from fer_desktop.pipeline.slot import LatestSlot
from fer_desktop.ui.images import to_display_image


class PipelineBridge(QObject):
    """The pipeline's callbacks as signals.

    Frames and results wait in one-item slots and a signal is sent only when
    the slot was empty, so however slow the GUI, at most one of each is queued.
    Each frame's display image is made here, in the worker's thread, so that
    the GUI thread only draws it.
    """

    frame_ready = Signal()  # then take_frame()
    result_ready = Signal()  # then take_result()
    source_opened = Signal(object)  # SourceInfo
    source_ended = Signal(object)  # SourceEnd
    failed = Signal(str)
    recording_failed = Signal(str)  # the recorder could not write and was closed

    def __init__(self, parent: QObject | None = None, **pipeline_options: Any) -> None:
        super().__init__(parent)
        self._frames: LatestSlot[tuple[Frame, QImage]] = LatestSlot(drop=True)
        self._results: LatestSlot[tuple[FrameResult, QImage]] = LatestSlot(drop=True)
        # Written by the inference thread, before the result reaches the GUI.
        self.recorder: CsvRecorder | None = None
        # The video panel's size in device pixels, set by the GUI thread: frames are scaled to it here.
        self.display_box: tuple[int, int] | None = None
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

    def take_result(self) -> tuple[FrameResult, QImage] | None:
        return self._results.take_nowait()

    def _on_frame(self, frame: Frame) -> None:
        if not self._frames.put((frame, to_display_image(frame.image, self.display_box))):
            self.frame_ready.emit()

    def _on_result(self, result: FrameResult) -> None:
        recorder = self.recorder
        if recorder is not None:
            try:
                recorder.write(result)
            except OSError as e:
                self.recorder = None
                recorder.close()
                self.recording_failed.emit(f"Recording to {recorder.path} stopped: {e.strerror or e}")
        if not self._results.put((result, to_display_image(result.frame.image, self.display_box))):
            self.result_ready.emit()


class BackgroundJob(QObject):
    """A ``LatestRequestWorker`` whose outcome arrives as ``done(request, result)`` or ``failed(request, error)``."""

    done = Signal(object, object)
    failed = Signal(object, object)

    def __init__(self, job: Callable[[Any], Any], name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker = LatestRequestWorker(job, self.done.emit, self.failed.emit, name)

    def request(self, arg: Any = None) -> None:
        self._worker.request(arg)

    def stop(self, timeout: float = 0.0) -> None:
        self._worker.stop(timeout)

    def join(self, timeout: float) -> None:
        self._worker.join(timeout)
