"""Rates, drops and per-stage latencies, updated by the workers and read by whoever reports them."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

from fer_desktop.pipeline.frames import FrameResult

# The fields of StageTimings, in status-bar order, and capture_to_chart_ms: capture until the window's chart
# showed the frame's result, measured only where there is a chart.
STAGES: tuple[str, ...] = (
    "capture_to_detect_ms", "detect_ms", "classify_ms", "capture_to_result_ms", "capture_to_chart_ms", "decode_ms",
    "crop_ms",
)
RATE_WINDOW_S = 2.0
LATENCY_HISTORY = 10_000  # per stage: enough for a long benchmark, bounded for a day-long session


class RateMeter:
    """Events per second over the last ``window`` seconds."""

    def __init__(self, window: float = RATE_WINDOW_S) -> None:
        self.window = window
        self._times: deque[float] = deque(maxlen=1000)

    def tick(self, t: float | None = None) -> None:
        self._times.append(time.perf_counter() if t is None else t)

    def rate(self, now: float | None = None) -> float:
        now = time.perf_counter() if now is None else now
        recent = [t for t in list(self._times) if now - t <= self.window]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-9)


class LatencyLog:
    """The last ``LATENCY_HISTORY`` latencies of one stage, in milliseconds."""

    def __init__(self) -> None:
        self._values: deque[float] = deque(maxlen=LATENCY_HISTORY)

    def add(self, ms: float) -> None:
        self._values.append(ms)

    def recent_median(self, n: int = 30) -> float | None:
        values = list(self._values)[-n:]
        return float(np.median(values)) if values else None

    def percentiles(self) -> dict[str, float]:
        values = np.asarray(list(self._values))
        if values.size == 0:
            return {}
        p50, p90, p99 = np.percentile(values, [50, 90, 99])
        return {"p50": float(p50), "p90": float(p90), "p99": float(p99), "mean": float(values.mean()), "n": int(values.size)}


@dataclass(frozen=True)
class StatsSnapshot:
    capture_fps: float
    processed_fps: float
    dropped: int
    latency_ms: dict[str, float | None]  # recent median per stage


class PipelineStats:
    """Shared by the workers (writers) and the status bar or summary (readers)."""

    def __init__(self) -> None:
        self.captured = RateMeter()
        self.processed = RateMeter()
        self.frames_captured = 0
        self.frames_processed = 0
        self.dropped = 0
        self._drops = threading.Lock()  # capture and the faces worker both drop
        self.latency = {stage: LatencyLog() for stage in STAGES}

    def add_capture(self, t: float, dropped_one: bool) -> None:
        self.captured.tick(t)
        self.frames_captured += 1
        if dropped_one:
            self.add_drop()

    def add_drop(self) -> None:
        with self._drops:
            self.dropped += 1

    def add_result(self, result: FrameResult) -> None:
        self.processed.tick()
        self.frames_processed += 1
        for stage, ms in asdict(result.timings).items():
            self.latency[stage].add(ms)

    def snapshot(self) -> StatsSnapshot:
        return StatsSnapshot(
            capture_fps=self.captured.rate(),
            processed_fps=self.processed.rate(),
            dropped=self.dropped,
            latency_ms={stage: log.recent_median() for stage, log in self.latency.items()},
        )

    def percentiles(self) -> dict[str, dict[str, float]]:
        return {stage: p for stage, log in self.latency.items() if (p := log.percentiles())}
