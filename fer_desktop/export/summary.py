"""The summary of a run: what it saw, how fast, and whether it is whole."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from fer_desktop.pipeline.frames import FrameResult, SourceEnd, SourceInfo


@dataclass
class RunSummary:
    """Counts added frame by frame; ``latency_ms`` holds p50/p90/p99/mean per stage, as the pipeline names them.

    ``complete`` is True only when every frame of the source went through and
    every output was written; the fields after it say what went wrong when not.
    """

    source: str = ""
    model: str | None = None
    frames: int = 0
    frames_with_face: int = 0
    faces_classified: int = 0
    max_faces_in_frame: int = 0
    frames_over_cap: int = 0  # frames with more faces than the batch cap
    wall_s: float = 0.0  # the whole run, detector start-up included
    fps: float = 0.0  # frames per second from the first frame's capture to the last result
    complete: bool = True
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    frames_expected: int | None = None  # what the container claims; None for cameras, streams and the demo
    ended_early: bool = False  # the file stopped decoding before frames_expected: truncated or corrupt
    frames_skipped: int = 0  # frames of the file that did not decode (damaged), passed over to read the rest
    interrupted_by: str | None = None  # "SIGINT", "SIGTERM" or "SIGHUP"
    recording_error: str | None = None  # why the CSV stopped before the end; its rows so far are whole
    error: str | None = None  # why the source or the analysis failed part-way
    csv_rows: int = 0
    _first_capture: float = field(default=0.0, repr=False)
    _last_result: float = field(default=0.0, repr=False)

    def source_opened(self, info: SourceInfo) -> None:
        self.source, self.frames_expected = info.name, info.frame_count

    def add(self, result: FrameResult) -> None:
        if self.frames == 0:
            self._first_capture = result.frame.t_capture
        self._last_result = time.perf_counter()
        self.frames += 1
        # Faces the app reports: a detector box the face check turned down (a false face) does not count.
        self.frames_with_face += result.faces_in_view > 0
        self.faces_classified += len(result.faces)
        self.max_faces_in_frame = max(self.max_faces_in_frame, result.faces_in_view)
        self.frames_over_cap += result.faces_left_out > 0
        if self.frames > 1:
            self.fps = self.frames / max(self._last_result - self._first_capture, 1e-9)

    def source_ended(self, end: SourceEnd) -> None:
        self.ended_early, self.frames_skipped = end.ended_early, end.frames_skipped
        self.error = end.error or self.error

    def update_complete(self) -> bool:
        self.complete = not (self.ended_early or self.frames_skipped or self.interrupted_by or self.recording_error
                             or self.error)
        return self.complete

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}
