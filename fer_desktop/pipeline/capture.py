"""The capture worker: opens a source in its own thread and feeds frames into the slot."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fer_desktop.pipeline.frames import Frame, SourceEnd, SourceInfo
from fer_desktop.pipeline.slot import LatestSlot
from fer_desktop.pipeline.sources import FrameSource, SourceError, open_source
from fer_desktop.pipeline.stats import PipelineStats

SourceOpener = Callable[[], FrameSource]
# Containers without an index estimate their frame count from duration x rate; a file that decodes this many
# frames fewer than it claims is still whole.
FRAME_COUNT_SLACK = 2


class CaptureWorker(threading.Thread):
    """Reads frames until the source ends, fails or ``stop()`` is called, then sends a ``SourceEnd``.

    ``paced`` plays files and the demo at their own frame rate (a live view);
    without it they are read as fast as the slot takes them (headless).
    """

    def __init__(
        self,
        source: str | SourceOpener,
        source_id: int,
        slot: LatestSlot,
        stats: PipelineStats,
        on_opened: Callable[[SourceInfo], None],
        on_frame: Callable[[Frame], None],
        paced: bool = True,
        max_frames: int | None = None,
    ) -> None:
        super().__init__(name=f"fer-capture-{source_id}", daemon=True)
        self._open = (lambda: open_source(source)) if isinstance(source, str) else source
        self._label = source if isinstance(source, str) else "source"
        self.source_id = source_id
        self._slot, self._stats = slot, stats
        self._on_opened, self._on_frame = on_opened, on_frame
        self._paced, self._max_frames = paced, max_frames
        self._stopping = threading.Event()
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self.frames_read = 0
        self._ended_early = False

    def stop(self) -> None:
        """Ask the worker to finish; ``join()`` waits for it."""
        self._stopping.set()
        self._running.set()
        self._slot.wake()

    def pause(self, paused: bool) -> None:
        """Hold the source at the current frame (a file or the demo waits; a camera's frames are skipped)."""
        if paused:
            self._running.clear()
        else:
            self._running.set()

    def run(self) -> None:
        name, error, expected = self._label, None, None
        source: FrameSource | None = None
        try:
            source = self._open()
            name, expected = source.name, source.frame_count
            self._on_opened(SourceInfo(self.source_id, source.name, source.fps, source.frame_count, source.live))
            self._read_all(source)
        except SourceError as e:
            error = str(e)
        except Exception as e:  # a broken backend must still end with a message, not a silent thread
            error = f"{name}: {type(e).__name__}: {e}"
        finally:
            if source is not None:
                source.close()
            skipped = getattr(source, "frames_skipped", 0)
            end = SourceEnd(self.source_id, name, self.frames_read, error, expected, self._ended_early, skipped)
            self._slot.put(end, self._stopping)

    def _read_all(self, source: FrameSource) -> None:
        t_open = time.perf_counter()
        pace = 1.0 / source.fps if self._paced and not source.live else 0.0
        while not self._stopping.is_set() and (self._max_frames is None or self.frames_read < self._max_frames):
            if not self._running.is_set():
                t_pause = time.perf_counter()
                self._running.wait()
                if pace:
                    t_open += time.perf_counter() - t_pause  # a paused file goes on from where it stopped
                if self._stopping.is_set():
                    break
            t_read = time.perf_counter()
            image = source.read()
            # The frame's place in the file: frames that did not decode keep theirs, so time_s stays true.
            index = self.frames_read + getattr(source, "frames_skipped", 0)
            if image is None:
                count = source.frame_count
                self._ended_early = count is not None and index + FRAME_COUNT_SLACK < count
                break
            t = time.perf_counter()
            frame = Frame(self.source_id, index, t, t - t_open if source.live else index / source.fps, image,
                          read_ms=(t - t_read) * 1e3)
            self._on_frame(frame)
            self._stats.add_capture(t, self._slot.put(frame, self._stopping))
            self.frames_read += 1
            if pace:
                self._stopping.wait(max(0.0, t_open + self.frames_read * pace - time.perf_counter()))
