"""The pipeline without a window: every frame of a source to a CSV and a summary.

``run_headless`` is also what tests and benchmarks call to time the pipeline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from fer_desktop.calibration import DEFAULT_UNCERTAIN_BELOW
from fer_desktop.export import CsvRecorder
from fer_desktop.faces import FaceDetector
from fer_desktop.pipeline import FrameResult, Pipeline, PipelineCallbacks, SourceEnd, SourceError, SourceInfo
from fer_desktop.pipeline.analyzer import MAX_FACES, Classifier, Detector
from fer_desktop.pipeline.capture import SourceOpener
from fer_desktop.pipeline.smoothing import DEFAULT_SMOOTHING


@dataclass
class Summary:
    """What a headless run saw and how fast; ``latency_ms`` holds p50/p90/p99/mean per stage."""

    source: str = ""
    model: str | None = None
    frames: int = 0
    frames_with_face: int = 0
    faces_classified: int = 0
    max_faces_in_frame: int = 0
    frames_over_cap: int = 0  # frames with more faces than the batch cap
    wall_s: float = 0.0  # the whole run, detector start-up included
    fps: float = 0.0  # frames per second from the first frame's capture to the last result
    complete: bool = True  # False when interrupted
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, result: FrameResult) -> None:
        self.frames += 1
        self.frames_with_face += result.faces_detected > 0
        self.faces_classified += len(result.faces)
        self.max_faces_in_frame = max(self.max_faces_in_frame, result.faces_detected)
        self.frames_over_cap += result.faces_detected > len(result.faces)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_headless(
    source: str | SourceOpener,
    classifier: Classifier | None,
    csv_path: Path | None = None,
    *,
    smoothing: float = DEFAULT_SMOOTHING,
    uncertain_below: float = DEFAULT_UNCERTAIN_BELOW,
    max_faces: int = MAX_FACES,
    max_frames: int | None = None,
    detector_factory: Callable[[], Detector] = FaceDetector,
    on_result: Callable[[FrameResult], None] | None = None,
    progress: bool = False,
) -> Summary:
    """Process every frame of ``source`` through the same pipeline as the window.

    Raises ``SourceError`` when the source cannot be read and ``RuntimeError``
    when frames cannot be analysed. Ctrl-C ends the run early with
    ``complete=False``; the CSV then holds every frame processed so far.
    """
    summary = Summary(model=None if classifier is None else classifier.name)
    finished = threading.Event()
    ended: list[SourceEnd] = []
    errors: list[str] = []
    bar = tqdm(unit="frame", disable=not progress, dynamic_ncols=True, mininterval=0.5)
    recorder = CsvRecorder(csv_path) if csv_path is not None else None

    span = [0.0, 0.0]  # first capture, last result

    def opened(info: SourceInfo) -> None:
        summary.source = info.name
        bar.reset(total=info.frame_count if max_frames is None else min(info.frame_count or max_frames, max_frames))

    def handle(result: FrameResult) -> None:
        if summary.frames == 0:
            span[0] = result.frame.t_capture
        summary.add(result)
        if recorder is not None:
            recorder.write(result)
        if on_result is not None:
            on_result(result)
        bar.update()
        span[1] = time.perf_counter()

    def end(marker: SourceEnd) -> None:
        ended.append(marker)
        finished.set()

    def fail(message: str) -> None:
        errors.append(message)
        finished.set()

    pipeline = Pipeline(
        PipelineCallbacks(on_opened=opened, on_result=handle, on_end=end, on_error=fail),
        every_frame=True, detector_factory=detector_factory, smoothing=smoothing, max_faces=max_faces,
    )
    pipeline.classifier = classifier
    pipeline.analyzer.uncertain_below = uncertain_below
    t_start = time.perf_counter()
    try:
        pipeline.open(source, max_frames=max_frames)
        finished.wait()
    except KeyboardInterrupt:
        summary.complete = False
    finally:
        pipeline.stop()
        bar.close()
        if recorder is not None:
            recorder.close()
    if errors:
        raise RuntimeError(errors[0])
    if ended and ended[0].error:
        raise SourceError(ended[0].error)
    summary.wall_s = time.perf_counter() - t_start
    summary.fps = summary.frames / (span[1] - span[0]) if summary.frames > 1 else 0.0
    summary.latency_ms = pipeline.stats.percentiles()
    return summary
