"""The pipeline without a window: every frame of a source to a CSV and a summary.

``run_headless`` is also what tests and benchmarks call to time the pipeline;
``headless_command`` is ``fer-desktop --headless``.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from tqdm import tqdm

from fer_desktop.calibration import DEFAULT_UNCERTAIN_BELOW
from fer_desktop.export import Recorder, RunSummary, write_json
from fer_desktop.faces import FaceDetector
from fer_desktop.pipeline import FrameResult, Pipeline, PipelineCallbacks, SourceEnd, SourceError, SourceInfo
from fer_desktop.pipeline.analyzer import MAX_FACES, Classifier, Detector
from fer_desktop.pipeline.capture import SourceOpener
from fer_desktop.pipeline.smoothing import DEFAULT_SMOOTHING
from fer_desktop.stop_signals import StopSignals, exit_code, handling_stop_signals, signal_name

POLL_S = 0.1  # how often the waiting main thread looks for a stop signal


def run_headless(
    source: str | SourceOpener,
    classifier: Classifier | None,
    csv_path: Path | None = None,
    *,
    recorder: Recorder | None = None,
    smoothing: float = DEFAULT_SMOOTHING,
    uncertain_below: float = DEFAULT_UNCERTAIN_BELOW,
    max_faces: int = MAX_FACES,
    max_frames: int | None = None,
    detector_factory: Callable[[], Detector] = FaceDetector,
    on_result: Callable[[FrameResult], None] | None = None,
    progress: bool = False,
    signals: StopSignals | None = None,
) -> RunSummary:
    """Process every frame of ``source`` through the same pipeline, and the same recorder, as the window.

    Rows go to ``csv_path`` (or to ``recorder``, which a caller makes to
    choose how its files are opened). Raises ``SourceError`` when the source
    cannot be read and ``RuntimeError`` when frames cannot be analysed. Ctrl-C,
    SIGTERM and SIGHUP end the run at the next frame with ``complete=False``
    and ``interrupted_by`` set; the CSV then holds every frame processed so far. ``signals``: the
    caller's handler, already installed, so that a signal between its own work and this run is not lost.
    """
    recorder = recorder or Recorder(csv_path)
    summary = recorder.summary
    summary.model = None if classifier is None else classifier.name
    finished = threading.Event()
    ended: list[SourceEnd] = []
    errors: list[str] = []
    bar = tqdm(unit="frame", disable=not progress, dynamic_ncols=True, mininterval=0.5)

    def opened(info: SourceInfo) -> None:
        bar.reset(total=info.frame_count if max_frames is None else min(info.frame_count or max_frames, max_frames))

    def handle(result: FrameResult) -> None:
        if on_result is not None:
            on_result(result)
        bar.update()

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
    pipeline.recorder = recorder
    pipeline.analyzer.uncertain_below = uncertain_below
    t_start = time.perf_counter()
    with nullcontext(signals) if signals is not None else handling_stop_signals("flag") as signals:
        try:
            pipeline.open(source, max_frames=max_frames)
            while not finished.wait(POLL_S) and signals.received is None:
                pass
        finally:
            signals.mode = "ignore"  # stopping and saving must not be cut short by a second signal
            pipeline.stop()
            bar.close()
    if signals.received is not None:
        summary.interrupted_by = signal_name(signals.received)
    recorder.close(create=signals.received is not None)
    if errors:
        raise RuntimeError(errors[0])
    if ended and ended[0].error and not summary.frames:
        raise SourceError(ended[0].error)
    summary.wall_s = time.perf_counter() - t_start
    summary.latency_ms = pipeline.stats.percentiles()
    summary.update_complete()
    return summary


def headless_command(args: argparse.Namespace, model: str, device: str) -> int:
    """``fer-desktop --headless``: the arguments are already checked (``app_arguments.check_arguments``).

    From here on a stop signal leaves a summary marked incomplete and a CSV
    (its header at least): the outputs are known to be safe to write. While
    the model loads, a signal is only noted (raised inside the import of a
    compiled module, it would break that import); the run then does not start.
    """
    with handling_stop_signals("flag") as signals:
        return _run_command(args, model, device, signals)


def _run_command(args: argparse.Namespace, model: str, device: str, signals: StopSignals) -> int:
    from fer_desktop.inference import load_classifier
    from fer_desktop.weights import WeightsError

    recorder = Recorder(args.csv, overwrite=args.overwrite, on_failure=lambda message: _say(message))
    summary = recorder.summary
    extra: dict[str, object] = {"device": device, "backend": None}
    try:
        try:
            classifier = load_classifier(model, device, args.weights, args.backend)
        except ValueError as e:  # --backend int8 for weights with no int8 file made from them
            raise WeightsError(str(e)) from None
        extra["backend"] = classifier.backend
        if signals.received is None:
            run_headless(args.source, classifier, recorder=recorder, smoothing=args.smoothing,
                         uncertain_below=args.uncertain_below, max_frames=args.max_frames, progress=True,
                         signals=signals)
        else:  # stopped while the model loaded
            summary.model, summary.interrupted_by = model, signal_name(signals.received)
            recorder.close(create=True)
            summary.update_complete()
    except (WeightsError, SourceError, RuntimeError, OSError) as e:
        recorder.close()
        _say(str(e))
        if not summary.frames:
            return 2 if isinstance(e, WeightsError | SourceError) else 1
        summary.error = str(e)
        summary.update_complete()
    finally:
        signals.mode = "ignore"  # the run is over; its files are written whatever comes now
    if args.summary is not None:
        try:
            write_json(args.summary, {**extra, **summary.to_dict()})
        except OSError as e:
            _say(f"the summary could not be written to {args.summary}: {e.strerror or e}")
            return 1
    _say(_outcome(summary, args.csv, args.summary))
    if summary.interrupted_by:
        return exit_code(summary.interrupted_by)
    return 0 if summary.complete else 1


def _outcome(summary: RunSummary, csv_path: Path | None, summary_path: Path | None) -> str:
    """The last line on the terminal: what was done and, when the run is not whole, why."""
    text = f"{summary.frames} frames, {summary.frames_with_face} with a face, {summary.fps:.1f} fps"
    if csv_path is not None and not summary.recording_error:
        text += f"; {summary.csv_rows} rows in {csv_path}"
    if summary.ended_early:
        text += (f"; the file ended early: {summary.frames} frames decoded of the {summary.frames_expected} "
                 f"its container claims (truncated or corrupt)")
    if summary.frames_skipped:
        text += f"; {summary.frames_skipped} damaged frame(s) could not be decoded and were skipped"
    if summary.interrupted_by:
        text += f"; stopped by {summary.interrupted_by} before the end (interrupted)"
    if summary_path is not None and not summary.complete:
        text += f"; {summary_path} says \"complete\": false"
    return text


def _say(message: str) -> None:
    print(f"fer-desktop: {message}", file=sys.stderr, flush=True)
