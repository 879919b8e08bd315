"""The window's own cost: frame-to-chart latency and GUI-thread time per frame, offscreen, on the 30 fps demo.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui.py                # squeezenet and ensemble, ~40 s
    python benchmarks/gui.py --models squeezenet --seconds 3
    python benchmarks/gui.py --pause /tmp/fer-train.pid   # stop a training run while timing

The real ``MainWindow`` runs on the demo source with the real detector. Its
GUI-thread entry points are timed by wrapping them on the class before the
window is built (behaviour unchanged): the frame and result slots, the status
refresh, and the paint events of the video and the charts. Figures:

- frame-to-chart: capture until the probability chart was updated (the
  window's own ``capture_to_chart_ms``), and until it was next painted;
- GUI-thread time per frame of the source (30 a second): the wrapped slots
  and paints over the measured span divided by the frames captured, and the
  GUI thread's CPU time (``time.thread_time``) over the same span divided
  alike, which also holds Qt's own work (layout, backing store, event
  dispatch) that no wrapper sees;
- video fps: distinct frames the video panel was given per second.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from common import (  # noqa: E402
    MODELS, add_common_arguments, announce_machine, describe_machine, pause_pid, percentiles, prepare_weights,
    print_background, print_table, quietly, write_json,
)

import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from fer_desktop.models import by_preference  # noqa: E402
from fer_desktop.pipeline.demo import DEMO_FPS  # noqa: E402
from pipeline import FACE_COUNTS, write_video  # noqa: E402
from fer_desktop.ui.video_view import VideoView  # noqa: E402
from fer_desktop.ui.window import MainWindow  # noqa: E402


class GuiClock:
    """Wall time spent in each wrapped GUI-thread entry point, and the chart's paint times."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.chart_set: list[float] = []  # t_capture of results the chart holds but has not painted yet
        self.to_chart_ms: list[float] = []  # capture -> chart updated
        self.to_paint_ms: list[float] = []  # capture -> chart painted
        self.per_result_ms: list[float] = []  # each result slot's own time
        self.recording = False
        self.chart = None

    def reset(self) -> None:
        self.spent.clear()
        self.calls.clear()
        self.chart_set.clear()
        self.to_chart_ms.clear()
        self.to_paint_ms.clear()
        self.per_result_ms.clear()

    def wrap(self, owner: type, attr: str, label: Callable[[object], str] | str, timed: bool = True) -> None:
        """Time (or, ``timed=False``, only count: it runs inside a timed one) each call of ``owner.attr``."""
        original = getattr(owner, attr)
        clock = self

        def wrapper(self, *args):
            t = time.perf_counter()
            try:
                return original(self, *args)
            finally:
                now = time.perf_counter()
                if clock.recording:
                    key = label if isinstance(label, str) else label(self)
                    clock.calls[key] += 1
                    if timed:
                        clock.spent[key] += now - t
                        clock.after(key, self, now, now - t)

        setattr(owner, attr, wrapper)

    def after(self, key: str, obj: object, now: float, took: float) -> None:
        if key == "result slot":
            self.per_result_ms.append(took * 1e3)
        elif key == "chart paint" and self.chart_set:
            self.to_paint_ms += [(now - t) * 1e3 for t in self.chart_set]
            self.chart_set.clear()

    def chart_updated(self, result) -> None:
        if self.recording:
            self.to_chart_ms.append((time.perf_counter() - result.frame.t_capture) * 1e3)
            self.chart_set.append(result.frame.t_capture)


def instrument() -> GuiClock:
    clock = GuiClock()
    clock.wrap(MainWindow, "_show_frame", "frame slot")
    clock.wrap(MainWindow, "_show_result", "result slot")
    clock.wrap(MainWindow, "_refresh_status", "status refresh")
    clock.wrap(VideoView, "paintEvent", "video paint")
    clock.wrap(VideoView, "show_frame", "video frame", timed=False)
    clock.wrap(pg.GraphicsView, "paintEvent", lambda view: "chart paint" if view is clock.chart else "face bars paint")
    return clock


def spin(seconds: float, until: Callable[[], bool] | None = None) -> None:
    """Run the event loop for ``seconds``, or until ``until()`` holds."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1e3), loop.quit)
    if until is not None:
        poll = QTimer()
        poll.timeout.connect(lambda: until() and loop.quit())
        poll.start(20)
    loop.exec()


def measure(model: str, source: str, weights_dir: Path, seconds: float, clock: GuiClock, pid: int | None) -> dict:
    window = MainWindow(source, model, "cpu", weights_dir, probe=lambda: [])
    window.resize(1280, 760)
    window.show()
    clock.chart = window.chart
    window.chart_updated.connect(clock.chart_updated)
    seen = []
    window.chart_updated.connect(lambda r: seen.append(r.model))
    spin(60, until=lambda: model in seen[-3:])  # the model loaded (exported, maybe) and results arrive
    if model not in seen:
        raise SystemExit(f"{model}: no classified frame within 60 s")
    spin(1.0)  # warm-up
    stats = window.bridge.pipeline.stats

    def segment() -> tuple[float, float, int, int, int]:
        spin(0.5)
        clock.reset()
        counts = stats.frames_processed, stats.frames_captured, stats.dropped
        clock.recording = True
        cpu0, t0 = time.thread_time(), time.perf_counter()
        spin(seconds)
        cpu, wall = time.thread_time() - cpu0, time.perf_counter() - t0
        clock.recording = False
        now = stats.frames_processed, stats.frames_captured, stats.dropped
        return cpu, wall, *(b - a for a, b in zip(counts, now))

    (cpu, wall, processed, frames, dropped), background = quietly(segment, pid)
    shown = clock.calls["result slot"]
    window.close()
    spin(0.3)
    wrapped_ms = sum(clock.spent.values()) * 1e3
    return {
        "model": model, "backend": getattr(window.bridge.pipeline.classifier, "backend", None), "seconds": wall,
        "captured_fps": frames / wall, "processed_fps": processed / wall,
        "shown_fps": clock.calls["video frame"] / wall, "results_fps": shown / wall, "dropped": dropped,
        "frame_to_chart_ms": percentiles(clock.to_chart_ms),
        "frame_to_chart_painted_ms": percentiles(clock.to_paint_ms),
        "gui_ms_per_frame": {"wrapped": wrapped_ms / max(frames, 1), "thread_cpu": cpu * 1e3 / max(frames, 1)},
        "gui_busy_share": {"wrapped": wrapped_ms / 1e3 / wall, "thread_cpu": cpu / wall},
        "result_slot_ms": percentiles(clock.per_result_ms),
        "ms_per_call": {k: clock.spent[k] * 1e3 / clock.calls[k] for k in clock.spent},
        "calls_per_s": {k: clock.calls[k] / wall for k in clock.calls}, "background_cores": background,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=[by_preference(d)[0].name for d in ("cpu", "cuda")],
                   choices=MODELS)
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds per model")
    p.add_argument("--faces", type=int, default=1, choices=FACE_COUNTS,
                   help="1: the demo; more: pipeline.py's video of that many astronauts, played at 30 fps")
    add_common_arguments(p, "gui.json")
    args = p.parse_args(argv)
    pid = pause_pid(args.pause)
    os.environ.setdefault("FER_DESKTOP_CACHE", tempfile.mkdtemp(prefix="fer-bench-cache-"))

    weights_dir, kinds = prepare_weights(args.models, args.weights)
    info = announce_machine(f"; Qt platform {os.environ['QT_QPA_PLATFORM']}")
    source = "demo"
    if args.faces > 1:  # long enough for the model to load, the warm-up and the measured span
        frames = int((args.seconds + 30) * 30)
        source = str(write_video(Path(tempfile.mkdtemp(prefix="fer-bench-gui-")) / "faces.avi", args.faces, frames))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    clock = instrument()
    runs = []
    for model in args.models:
        runs.append({"weights": kinds[model], "faces": args.faces,
                     **measure(model, source, weights_dir, args.seconds, clock, pid)})
        r = runs[-1]
        print(f"{model}: frame-to-chart p95 {r['frame_to_chart_ms']['p95']:.1f} ms, GUI "
              f"{r['gui_ms_per_frame']['thread_cpu']:.2f} ms CPU per frame", file=sys.stderr)
    del app

    what = "the demo" if args.faces == 1 else f"a video of {args.faces} faces"
    print(f"\n{describe_machine(info)}; {what} at {DEMO_FPS:.0f} fps, window 1280x760, "
          f"Qt {os.environ['QT_QPA_PLATFORM']}\n")
    print_table(
        ["model", "backend", "video fps", "results fps", "frame→chart p50/p95 ms", "→painted p50/p95 ms",
         "GUI ms/frame (wrapped)", "GUI ms/frame (thread CPU)", "result slot p95 ms"],
        [[r["model"], r["backend"], f"{r['shown_fps']:.1f}", f"{r['results_fps']:.1f}",
          f"{r['frame_to_chart_ms']['p50']:.1f}/{r['frame_to_chart_ms']['p95']:.1f}",
          f"{r['frame_to_chart_painted_ms']['p50']:.1f}/{r['frame_to_chart_painted_ms']['p95']:.1f}",
          f"{r['gui_ms_per_frame']['wrapped']:.2f}", f"{r['gui_ms_per_frame']['thread_cpu']:.2f}",
          f"{r['result_slot_ms']['p95']:.2f}"] for r in runs],
    )
    print_background([r["background_cores"] for r in runs])
    print()
    for r in runs:
        print(f"{r['model']}: ms per call " + ", ".join(f"{k} {v:.2f} ({r['calls_per_s'][k]:.0f}/s)"
                                                     for k, v in sorted(r["ms_per_call"].items())))
    write_json(args.out, {"machine": info, "paused_pid": pid, "weights": kinds, "runs": runs,
                          "qt_platform": os.environ["QT_QPA_PLATFORM"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
