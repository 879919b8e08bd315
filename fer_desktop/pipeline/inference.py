"""The inference worker: takes the newest frame from the slot and runs the analyzer on it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from fer_desktop.pipeline.analyzer import FrameAnalyzer
from fer_desktop.pipeline.frames import FrameResult, SourceEnd
from fer_desktop.pipeline.slot import LatestSlot
from fer_desktop.pipeline.stats import PipelineStats


class InferenceWorker(threading.Thread):
    """Runs until ``stop()``; outlives sources, so switching source keeps the model and detector."""

    def __init__(
        self,
        slot: LatestSlot,
        analyzer: FrameAnalyzer,
        stats: PipelineStats,
        on_result: Callable[[FrameResult], None],
        on_end: Callable[[SourceEnd], None],
        on_error: Callable[[str], None],
    ) -> None:
        super().__init__(name="fer-inference", daemon=True)
        self._slot, self._analyzer, self._stats = slot, analyzer, stats
        self._on_result, self._on_end, self._on_error = on_result, on_end, on_error
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()
        self._slot.wake()

    def run(self) -> None:
        try:
            self._analyzer.open()
        except Exception as e:
            self._slot.close()  # nobody will take frames: capture must not wait for us
            self._on_error(f"the face detector could not start: {e}")
            return
        last_error = None
        try:
            while (item := self._slot.take(self._stopping)) is not None:
                if isinstance(item, SourceEnd):
                    self._on_end(item)
                    continue
                try:
                    result = self._analyzer.analyze(item)
                    self._stats.add_result(result)
                    self._on_result(result)  # the recorder writes here and reports its own write errors
                except Exception as e:  # one bad frame, model call or write must not end the live view
                    message = f"{type(e).__name__}: {e}"
                    if message != last_error:  # once per fault, not once per frame
                        self._on_error(f"frame {item.index} could not be processed: {message}")
                    last_error = message
                    continue
                last_error = None
        finally:
            self._analyzer.close()
