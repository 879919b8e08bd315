"""One video through the headless pipeline, in whichever process runs it: the task the pool and Ray share.

The task returns the CSV's bytes and the summary instead of writing them, so
that the command alone writes into the output folder (atomically, and the
same files whether a local process or a cluster node did the work).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fer_desktop.export import RunSummary
from fer_desktop.headless import run_headless
from fer_desktop.inference import Classifier, load_classifier
from fer_desktop.pipeline import FrameResult, SourceError
from fer_desktop.weights import WeightsError

REPORT_EVERY = 10  # frames between two progress reports
# Summary fields that differ from run to run on the same input: left out when outputs are compared.
TIMING_FIELDS = frozenset({"wall_s", "fps", "latency_ms"})


@dataclass(frozen=True)
class Settings:
    """What every worker needs to analyse a video the same way."""

    model: str
    device: str
    backend: str
    weights_dir: str
    smoothing: float
    weights_sha256: str  # of the model's weights files: new weights mean new outputs

    def identity(self) -> dict[str, Any]:
        """What the outputs depend on (not where the weights lie): a change means the video is analysed again."""
        return {k: v for k, v in asdict(self).items() if k != "weights_dir"}


@dataclass
class VideoResult:
    status: str  # "done", "failed" or "interrupted"
    summary: dict[str, Any] | None = None  # as ``fer-desktop --headless --summary`` writes it
    csv_bytes: bytes | None = None  # as headless mode's Recorder wrote them
    error: str | None = None


def analyse_video(path: str, settings: Settings, report: Callable[[int], None] | None = None) -> VideoResult:
    """Every frame of ``path``; ``report(n)`` hears of frames as they are done (from the pipeline's thread).

    Never raises for a bad video: it gives ``failed`` and why. A KeyboardInterrupt
    (Ctrl-C, or SIGTERM where the pool maps it so) gives ``interrupted``.
    """
    try:
        classifier = worker_classifier(settings)
        with tempfile.TemporaryDirectory(prefix="fer-batch-") as tmp:
            csv_path = Path(tmp) / "rows.csv"
            summary = _run_headless(path, classifier, csv_path, settings.smoothing, report)
            if summary.interrupted_by:
                return VideoResult("interrupted")
            if summary.error:
                return VideoResult("failed", error=summary.error)
            record = {"device": settings.device, "backend": classifier.backend, **summary.to_dict()}
            return VideoResult("done", record, csv_path.read_bytes())
    except KeyboardInterrupt:
        return VideoResult("interrupted")
    except (SourceError, WeightsError, OSError, RuntimeError) as e:
        return VideoResult("failed", error=str(e))
    except Exception as e:  # one unreadable video must not end the batch
        return VideoResult("failed", error=f"{type(e).__name__}: {e}")


def _run_headless(path: str, classifier: Classifier, csv_path: Path, smoothing: float,
                  report: Callable[[int], None] | None) -> RunSummary:
    """The adapter to headless mode: its public function, nothing else of it."""
    pending = [0]

    def counted(_: FrameResult) -> None:
        pending[0] += 1
        if pending[0] >= REPORT_EVERY:
            report(pending[0])
            pending[0] = 0

    # The last few frames go unreported: the command counts a video's frames from its summary when it ends,
    # and a report from this (the main) thread could be cut in half by the pool's stop signal.
    return run_headless(path, classifier, csv_path, smoothing=smoothing,
                        on_result=counted if report is not None else None)


_loaded: dict[Settings, Classifier] = {}


def worker_classifier(settings: Settings) -> Classifier:
    """The worker's model, loaded once per process and run on one thread: the processes share the cores."""
    if settings not in _loaded:
        pin_to_one_thread()
        _loaded.clear()
        _loaded[settings] = load_classifier(settings.model, settings.device, Path(settings.weights_dir),
                                            settings.backend, threads=1)
        if "torch" in sys.modules:
            import torch

            torch.set_num_threads(1)
    return _loaded[settings]


def pin_to_one_thread() -> None:
    """OpenMP and OpenCV each to one thread in this process (a worker's, never the command's)."""
    import cv2

    os.environ["OMP_NUM_THREADS"] = "1"
    cv2.setNumThreads(1)
