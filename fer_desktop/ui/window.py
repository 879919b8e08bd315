"""The main window: video with overlays, charts, controls and status. It only draws.

Sources are opened by the capture worker, models loaded by a background job
and snapshots written by another; this thread only receives their signals.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QApplication, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QMainWindow, QPushButton, QSplitter, QVBoxLayout,
    QWidget,
)

from fer_desktop.calibration import DEFAULT_UNCERTAIN_BELOW
from fer_desktop.export import Recorder, same_file, save_png, timestamped_path
from fer_desktop.faces import FaceDetector
from fer_desktop.inference import default_model_name, load_classifier, resolve_device
from fer_desktop.pipeline import FaceResult, FrameResult, SourceEnd, SourceInfo, probe_cameras
from fer_desktop.pipeline.analyzer import Detector
from fer_desktop.pipeline.baseline import BASELINE_S
from fer_desktop.pipeline.capture import SourceOpener
from fer_desktop.pipeline.smoothing import DEFAULT_SMOOTHING
from fer_desktop.pipeline.sources import DEMO
from fer_desktop.report.cli import report_folder, write_report
from fer_desktop.stop_signals import exit_code, stop_signals_call
from fer_desktop.ui.banner import MessageBanner
from fer_desktop.ui.bridge import BackgroundJob, PipelineBridge
from fer_desktop.ui.charts import FaceBarsChart, ProbabilityChart
from fer_desktop.ui.controls import KEYS, ControlBar
from fer_desktop.ui.dialogs import ask_save_path
from fer_desktop.ui.face_text import face_title, quality_text
from fer_desktop.ui.images import to_bgr
from fer_desktop.ui.palette import MODEL_LABELS
from fer_desktop.ui.status import PipelineStatusBar
from fer_desktop.ui.timeline import SessionTimeline
from fer_desktop.ui.video_view import VideoView
from fer_desktop.weights import DEFAULT_WEIGHTS_DIR
from fer_desktop.words import count

STATUS_INTERVAL_MS = 500
BACKEND_LABELS = {"onnxruntime": "ONNX Runtime", "onnxruntime-int8": "ONNX Runtime int8", "torch": "PyTorch",
                  "torch-bf16": "PyTorch bf16"}
SHUTDOWN_S = 1.8  # every thread gone within 2 s of closing
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.webm *.m4v *.mpg *.mpeg *.wmv);;All files (*)"


def describe_faces(result: FrameResult) -> str:
    """What the faces label says about a frame."""
    found, classified = result.faces_in_view, len(result.faces)
    if found == 0:
        return "No face in view"
    if result.faces_left_out:
        return f"{found} faces: classified the {classified} largest (at most {classified} per frame)"
    return count(found, "face")


class MainWindow(QMainWindow):
    """``source`` None: probe the cameras and open the first, or say there is none.

    ``probe(in_use)`` lists the cameras that deliver frames without opening those in ``in_use`` (the
    one being watched: opening it twice could disturb it); it and ``detector_factory`` are there for
    tests, which have no camera and may fake faces.
    """

    chart_updated = Signal(object)  # the FrameResult the charts now show
    model_changed = Signal(str)  # a model was loaded and is in use
    model_failed = Signal(str)  # why the chosen model could not be loaded
    cameras_found = Signal(list)
    snapshot_saved = Signal(object)  # Path
    report_written = Signal(object)  # the report.html's Path

    def __init__(
        self,
        source: str | None = None,
        model: str | None = None,
        device: str | None = None,
        weights_dir: Path = DEFAULT_WEIGHTS_DIR,
        smoothing: float = DEFAULT_SMOOTHING,
        probe: Callable[[set[int]], list[int]] = probe_cameras,
        detector_factory: Callable[[], Detector] = FaceDetector,
        backend: str = "auto",
        uncertain_below: float = DEFAULT_UNCERTAIN_BELOW,
    ) -> None:
        super().__init__()
        self.setWindowTitle("fer-desktop")
        self.device = device or resolve_device("auto")
        self.model: str | None = None  # the model in use
        self._wanted_model = model or default_model_name(self.device, weights_dir)
        self._source_id = 0
        self._source_spec: str | None = None
        self._demo_for_no_camera = False  # the demo opened because no camera was found: a camera found later replaces it
        self._selected_id: int | None = None
        self._shown_id: int | None = None  # the face whose chart is shown
        self._calibrating: int | None = None  # baselines made when one was asked for, until it is seen to finish
        self._output_dir = Path.cwd()
        self._closed = False
        self._source_name: str | None = None  # while the current source runs
        self._source_failed = False
        self._faces_in_view = 0  # in the newest result drawn
        self._recording_number = 0  # counts recordings started, so a late failure stops only its own
        self._report_csv: Path | None = None  # the recording the banner offers a report of

        self.bridge = PipelineBridge(self, detector_factory=detector_factory, smoothing=smoothing)
        self.loader = BackgroundJob(
            lambda name: load_classifier(name, self.device, weights_dir, backend), "fer-model-loader", self
        )
        self.camera_probe = BackgroundJob(lambda in_use: sorted(set(probe(in_use)) | in_use), "fer-camera-probe", self)
        # Every snapshot and report asked for is made, in order: none is dropped for a newer one.
        self.snapshots = BackgroundJob(lambda job: save_png(*job), "fer-snapshot", self, keep_all=True)
        self.reports = BackgroundJob(lambda csv_path: write_report(csv_path, report_folder(csv_path)), "fer-report",
                                     self, keep_all=True)

        self.bridge.pipeline.analyzer.uncertain_below = uncertain_below
        self.controls = ControlBar(smoothing, self, uncertain_below)
        self.addToolBar(self.controls)
        self.quit_action = QAction("Quit", self)
        self.quit_action.setShortcuts(_quit_shortcuts())
        self.quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.quit_action.triggered.connect(self.close)
        self.addAction(self.quit_action)
        self._build_panels()
        self.status = PipelineStatusBar(self)
        self.setStatusBar(self.status)
        self._connect()

        self._status_timer = QTimer(self)
        self._status_timer.timeout.connect(self._refresh_status)
        self._status_timer.start(STATUS_INTERVAL_MS)
        self.select_model(self._wanted_model)
        if source is None:
            self.refresh_cameras()
        else:
            self.open_source(source)  # no probing: it could fight the capture worker over the camera

    # -- building -------------------------------------------------------------------------

    def _build_panels(self) -> None:
        self.banner = MessageBanner(self)
        self.video = VideoView(self)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(4, 4, 4, 4)
        left_layout.addWidget(self.banner)
        left_layout.addWidget(self.video, 1)

        self.faces_label = QLabel("No face in view", self)
        self.faces_label.setStyleSheet("font-weight: bold; padding: 4px")
        self.chart = ProbabilityChart(self)
        self.quality_label = QLabel("", self)  # the selected face's quality hints, in words
        self.quality_label.setStyleSheet("color: #b71c1c; padding: 0 4px")
        # Beside the chart they act on: the shown face's neutral baseline.
        self.calibrate_button = QPushButton("Calibrate neutral", self)
        self.calibrate_button.setToolTip(f"keep a resting face for {BASELINE_S:.0f} s: from then on the shown face "
                                         "is read relative to its own resting face")
        self.reset_baseline_button = QPushButton("Reset neutral", self)
        self.reset_baseline_button.setToolTip("read the shown face as the model sees it again")
        below_chart = QHBoxLayout()
        below_chart.addWidget(self.quality_label, 1)
        below_chart.addWidget(self.calibrate_button)
        below_chart.addWidget(self.reset_baseline_button)
        self.face_bars = FaceBarsChart(self)
        self.face_bars.hide()
        self.timeline = SessionTimeline(self)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 4, 4, 4)
        right_layout.addWidget(self.faces_label)
        right_layout.addWidget(self.chart, 3)
        right_layout.addLayout(below_chart)
        right_layout.addWidget(self.face_bars, 2)
        right_layout.addWidget(self.timeline, 2)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([760, 500])
        self.setCentralWidget(splitter)
        self.chart.show_probabilities(None, "No face in view")

    def _connect(self) -> None:
        self.bridge.frame_ready.connect(self._show_frame)
        self.bridge.result_ready.connect(self._show_result)
        self.bridge.source_opened.connect(self._source_opened)
        self.bridge.source_ended.connect(self._source_ended)
        self.bridge.failed.connect(lambda message: self.banner.show_message("pipeline", message))
        self.bridge.recording_failed.connect(self._recording_failed)
        self.loader.done.connect(self._model_loaded)
        self.loader.failed.connect(self._model_not_loaded)
        self.camera_probe.done.connect(lambda _, cameras: self._cameras_probed(cameras))
        self.camera_probe.failed.connect(lambda _, error: self._cameras_probed([]))
        self.snapshots.done.connect(self._snapshot_written)
        self.snapshots.failed.connect(lambda job, error: self.banner.show_message(
            "snapshot", f"Snapshot not saved to {job[1]}: {_reason(error)}"))
        self.reports.done.connect(self._report_written)
        self.reports.failed.connect(lambda csv_path, error: self.banner.show_message(
            "report", f"No report of {csv_path}: {_reason(error)}"))
        self.controls.source_chosen.connect(self.open_source)
        self.controls.file_requested.connect(self.choose_file)
        self.controls.url_requested.connect(self.choose_url)
        self.controls.cameras_requested.connect(self.refresh_cameras)
        self.controls.model_chosen.connect(self.select_model)
        self.controls.smoothing_changed.connect(self._set_smoothing)
        self.controls.uncertain_below_changed.connect(lambda v: setattr(self.bridge.pipeline.analyzer, "uncertain_below", v))
        self.controls.record_toggled.connect(self._record_toggled)
        self.controls.snapshot_requested.connect(self.choose_snapshot_file)
        self.controls.pause_toggled.connect(self.set_paused)
        self.calibrate_button.clicked.connect(self.calibrate_neutral)
        self.reset_baseline_button.clicked.connect(self.reset_neutral)
        self.video.face_clicked.connect(self._select_face)
        self.video.resized.connect(lambda box: setattr(self.bridge, "display_box", box))

    # -- sources --------------------------------------------------------------------------

    def open_source(self, spec: str | SourceOpener) -> None:
        """Read a camera index, video file, stream URL or ``demo`` (or a source a test makes)."""
        self._source_spec = spec if isinstance(spec, str) else None
        self._demo_for_no_camera = False
        self._source_id = self.bridge.pipeline.open(spec)
        self._source_name, self._source_failed = None, False
        if self._source_spec is not None:
            self.controls.show_source(self._source_spec)
        self.banner.clear("source")
        self.controls.show_paused(False)
        self._show_source_state(f"Opening {self._source_spec or 'the source'}…", clear_video=True)
        self._show_no_face()
        self.timeline.reset()

    def _show_source_state(self, text: str, clear_video: bool = False) -> None:
        """The one line that says what the source is doing: opening, running, paused, failed or ended."""
        self.status.show_source(text)
        if clear_video:
            self.video.clear(text)
        else:
            self.video.placeholder = text

    def set_paused(self, paused: bool) -> None:
        """Hold the source at its current frame, or go on; the last frame and its chart stay on screen."""
        self.bridge.pipeline.pause(paused)
        self.controls.show_paused(paused)
        if self._source_name:
            self._show_source_state(f"{self._source_name}: paused" if paused else f"{self._source_name}: running")

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video file", str(self._output_dir), VIDEO_FILTER)
        if path:
            self.open_source(path)

    def choose_url(self) -> None:
        url, ok = QInputDialog.getText(self, "Open a stream", "Stream URL (rtsp://, http://, …):")
        if ok and url.strip():
            self.open_source(url.strip())

    def refresh_cameras(self) -> None:
        """Probe the camera indices in a background job; ``cameras_found`` reports them, the one in use among them."""
        self.controls.cameras_button.setEnabled(False)
        self.camera_probe.request(self._camera_in_use())

    def _camera_in_use(self) -> set[int]:
        """The camera being watched (opened and not failed), which a probe must neither open again nor leave out."""
        spec = self._source_spec
        if spec is not None and spec.isdigit() and not self._source_failed:
            return {int(spec)}
        return set()

    def _cameras_probed(self, cameras: list[int]) -> None:
        self.controls.show_cameras(cameras)
        # At start-up, after a failure, or while the demo stands in for a missing camera; else only the list.
        if not self._source_id or self._source_failed or self._demo_for_no_camera:
            if cameras:
                self.open_source(str(cameras[0]))
            elif self._source_failed:
                self._show_source_state("No camera found", clear_video=True)
                self._offer_other_sources("No camera found. Watch the built-in demo, or open a video file.", "info")
            else:
                self._start_demo_for_no_camera()
        self.cameras_found.emit(cameras)

    def _start_demo_for_no_camera(self) -> None:
        self.open_source(DEMO)
        self._demo_for_no_camera = True
        self.banner.show_message(
            "source", "No camera found, so this is the built-in demo. Connect a camera and find it, or open a video file.",
            "info", [("Find cameras", self.refresh_cameras), ("Open video file…", self.choose_file)],
        )

    def _offer_other_sources(self, text: str, kind: str = "error") -> None:
        actions = [("Start demo", lambda: self.open_source(DEMO)), ("Open video file…", self.choose_file),
                   ("Find cameras", self.refresh_cameras)]
        self.banner.show_message("source", text, kind, actions)

    def _source_opened(self, info: SourceInfo) -> None:
        if info.source_id == self._source_id:
            self._source_name = info.name
            self.setWindowTitle(f"fer-desktop: {info.name}")
            # Pause may have been pressed while it opened: it opens held.
            paused = self.controls.pause_button.isChecked()
            self._show_source_state(f"{info.name}: paused" if paused else f"{info.name}: running")

    def _source_ended(self, end: SourceEnd) -> None:
        if end.source_id != self._source_id:
            return  # a source the user already left
        self._source_name = None
        self.controls.show_paused(False)
        if end.error:
            self._source_failed = True
            self._show_source_state(f"Failed: {end.error}")
            self._offer_other_sources(end.error)
            return
        if end.ended_early:
            text = (f"{end.name} ended early: {end.frames} frames decoded of the {end.frames_expected} "
                    f"its container claims (the file is truncated or corrupt).")
        else:
            text = f"End of {end.name} ({end.frames} frames)."
        self._show_source_state(text)
        spec = self._source_spec
        again = [("Play again", lambda: self.open_source(spec))] if spec else []
        self.banner.show_message(
            "source", text, "error" if end.ended_early else "info",
            [*again, ("Start demo", lambda: self.open_source(DEMO)), ("Open video file…", self.choose_file)],
        )

    # -- model ----------------------------------------------------------------------------

    def select_model(self, name: str) -> None:
        """Load ``name`` in the background; the current model keeps running until it is ready."""
        self._wanted_model = name
        self.controls.show_model(name)
        self._show_engine(loading=name)
        self.loader.request(name)

    def _model_loaded(self, name: str, classifier: object) -> None:
        if name != self._wanted_model:
            return  # the user has chosen another model meanwhile; that load is on its way
        self.bridge.pipeline.classifier = classifier
        self.model = name
        self.banner.clear("model")
        self._show_engine()
        self.model_changed.emit(name)

    def _model_not_loaded(self, name: str, error: Exception) -> None:
        if name != self._wanted_model:
            return
        self._wanted_model = self.model
        if self.model is not None:
            self.controls.show_model(self.model)
            fallback = f"Still using {MODEL_LABELS[self.model]}."
        else:
            fallback = "Faces are found but not classified until a model loads."
        self.banner.show_message("model", f"{MODEL_LABELS[name]} cannot be used. {error}. {fallback}")
        self._show_engine()
        self.model_failed.emit(str(error))

    def _show_engine(self, loading: str | None = None) -> None:
        text = MODEL_LABELS[self.model] if self.model else "no model"
        backend = getattr(self.bridge.pipeline.classifier, "backend", None)
        if self.model and backend:
            text += f" on {BACKEND_LABELS.get(backend, backend)}"
        if loading and loading != self.model:
            text += f" (loading {MODEL_LABELS[loading]}…)"
        self.status.show_engine(self.device, text)

    def _set_smoothing(self, value: float) -> None:
        self.bridge.pipeline.analyzer.smoothing = value

    # -- drawing --------------------------------------------------------------------------

    def _show_frame(self) -> None:
        taken = self.bridge.take_frame()
        if taken is not None and taken[0].source_id == self._source_id:
            self.video.show_frame(taken[1], _size(taken[0].image))

    def _show_result(self) -> None:
        taken = self.bridge.take_result()
        if taken is None or taken[0].frame.source_id != self._source_id:
            return
        result, image = taken
        if image is not None:  # the frame itself, drawn with its own boxes
            self.video.show_frame(image, _size(result.frame.image))
        face = self._selected_face(result.faces)
        self._shown_id = None if face is None else face.track_id
        self._faces_in_view = result.faces_in_view
        if self._calibrating is not None and not self.bridge.pipeline.analyzer.baselines.waiting:
            self._calibration_ended()
        self.video.show_result(result, None if face is None else face.track_id)
        if face is None:
            self.chart.show_probabilities(None, "No face in view")
        elif face.probs is None:
            self.chart.show_probabilities(None, f"Face #{face.track_id}: no model loaded")
        else:
            self.chart.show_probabilities(face.probs, face_title(face))
        self.quality_label.setText("" if face is None else quality_text(face))
        self.timeline.add(result, None if face is None else face.track_id)
        self.face_bars.setVisible(len(result.faces) > 1)
        if len(result.faces) > 1:
            self.face_bars.show_faces(result.faces, face.track_id)
        self.faces_label.setText(describe_faces(result))
        latency_ms = (time.perf_counter() - result.frame.t_capture) * 1e3
        self.bridge.pipeline.stats.latency["capture_to_chart_ms"].add(latency_ms)
        self.chart_updated.emit(result)

    def _show_no_face(self) -> None:
        self._shown_id = None
        self._faces_in_view = 0
        self.chart.show_probabilities(None, "No face in view")
        self.quality_label.setText("")
        self.face_bars.hide()
        self.faces_label.setText("No face in view")

    def _selected_face(self, faces: tuple[FaceResult, ...]) -> FaceResult | None:
        """The clicked face while it is tracked, else the largest."""
        return next((f for f in faces if f.track_id == self._selected_id), faces[0] if faces else None)

    def _select_face(self, track_id: int) -> None:
        self._selected_id = track_id

    def calibrate_neutral(self) -> None:
        """Record the shown face's neutral baseline (the largest face, if none is shown yet); the pipeline applies it."""
        if self.model is None or not self._faces_in_view:
            why = "no model is loaded to read it" if self.model is None else "there is no face in view"
            self.banner.show_message("baseline", f"No neutral baseline: {why}. Calibrate when a face is in view and "
                                     "classified.", "info")
            return
        baselines = self.bridge.pipeline.analyzer.baselines
        self._calibrating = baselines.made
        baselines.calibrate(self._shown_id, BASELINE_S)
        self.banner.clear("baseline")
        who = "the largest face" if self._shown_id is None else f"face #{self._shown_id}"
        self.status.showMessage(f"Recording the neutral baseline of {who}: keep a resting face for {BASELINE_S:.0f} s",
                                int(BASELINE_S * 1000) + 2000)

    def _calibration_ended(self) -> None:
        baselines, before, self._calibrating = self.bridge.pipeline.analyzer.baselines, self._calibrating, None
        if baselines.made > before:
            self.banner.clear("baseline")
            self.status.showMessage(f"Neutral baseline #{baselines.made} set: the face is now read relative to its rest",
                                    10_000)
        else:
            self.banner.show_message("baseline", "No neutral baseline: the face left the view (or the source or model "
                                     "changed) before it was recorded. Keep a resting face in view and try again.", "info",
                                     [("Calibrate neutral", self.calibrate_neutral)])

    def reset_neutral(self) -> None:
        """The shown face (every face, if none is shown) is read as the model sees it again."""
        self.bridge.pipeline.analyzer.baselines.reset(self._shown_id)
        self._calibrating = None  # a recording under way for it is cancelled, not failed
        self.banner.clear("baseline")
        self.status.showMessage("Neutral baseline removed", 5000)

    def _refresh_status(self) -> None:
        self.status.show_stats(self.bridge.pipeline.stats.snapshot())
        recorder = self.bridge.pipeline.recorder
        text = "" if recorder is None else f"● REC {count(recorder.rows, 'row')} → {recorder.csv_path.name}"
        self.status.show_recording(text)

    # -- recording and snapshots ----------------------------------------------------------

    def _record_toggled(self, checked: bool) -> None:
        if not checked:
            self.stop_recording()
            return
        suggestion = timestamped_path(self._output_dir, "fer-desktop", ".csv")
        path = ask_save_path(self, "Record to CSV", suggestion, "CSV files (*.csv)", ".csv")
        if path:
            self.start_recording(path)
        else:
            self.controls.show_recording(False)

    def start_recording(self, path: Path, open_file: Callable | None = None) -> None:
        """From now on every processed frame adds one row per face to ``path`` (the file dialog has
        asked before replacing a file). The pipeline's recorder creates the file with the next result, in
        its thread, and a failure comes back as ``recording_failed``."""
        self.stop_recording()
        self._recording_number += 1
        number = self._recording_number
        options = {} if open_file is None else {"open_file": open_file}
        recorder = Recorder(path, overwrite=True, **options,
                            on_failure=lambda message: self.bridge.recording_failed.emit(number, message))
        self._output_dir = Path(path).parent
        self.banner.clear("recording")
        if self._report_csv is not None and same_file(self._report_csv, Path(path)):
            self.banner.clear("report")  # that recording is being replaced: its report would show the new one's rows
            self._report_csv = None
        self.bridge.pipeline.recorder = recorder
        self.controls.show_recording(True)
        self._refresh_status()

    def stop_recording(self) -> None:
        recorder, self.bridge.pipeline.recorder = self.bridge.pipeline.recorder, None
        if recorder is not None:
            recorder.close(create=True)  # stopped before any frame came: the file asked for exists, with its header
            if not recorder.summary.recording_error:
                self.status.showMessage(f"Recorded {count(recorder.rows, 'row')} to {recorder.csv_path}", 10_000)
            if recorder.rows and not self._closed:
                self._report_csv = recorder.csv_path
                self.banner.show_message("report", f"Recorded {count(recorder.rows, 'row')} to {recorder.csv_path.name}.",
                                         "info", [("Open report", lambda: self.reports.request(recorder.csv_path))])
        self.controls.show_recording(False)
        self.status.show_recording("")

    def _recording_failed(self, number: int, message: str) -> None:
        if number == self._recording_number:  # not one stopped already, whose failure arrives late
            self.stop_recording()
        self.banner.show_message("recording", message)

    def _report_written(self, _: object, html: Path) -> None:
        self.banner.clear("report")
        self.status.showMessage(f"Report written: {html}", 10_000)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(html)))
        self.report_written.emit(html)

    def choose_snapshot_file(self) -> None:
        suggestion = timestamped_path(self._output_dir, "fer-desktop", ".png")
        path = ask_save_path(self, "Save snapshot", suggestion, "PNG images (*.png)", ".png")
        if path:
            self._output_dir = path.parent
            self.save_snapshot(path)

    def save_snapshot(self, path: Path) -> None:
        """Grab the window now; a background job writes the PNG and ``snapshot_saved`` follows."""
        self.snapshots.request((to_bgr(self.grab().toImage()), Path(path)))

    def _snapshot_written(self, _: object, path: Path) -> None:
        self.banner.clear("snapshot")
        self.status.showMessage(f"Snapshot saved: {path}", 10_000)
        self.snapshot_saved.emit(path)

    # -- closing --------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop every worker thread and close the recording; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        deadline = time.perf_counter() + SHUTDOWN_S
        self._status_timer.stop()
        jobs = (self.loader, self.camera_probe, self.snapshots, self.reports)
        for job in jobs:
            job.stop()  # ask all first, so they wind down together
        self.bridge.pipeline.stop()
        self.stop_recording()
        for job in jobs:
            job.join(max(0.0, deadline - time.perf_counter()))


def run_window(
    source: str | None, model: str, device: str, weights_dir: Path, smoothing: float = DEFAULT_SMOOTHING,
    backend: str = "auto", uncertain_below: float = DEFAULT_UNCERTAIN_BELOW,
) -> int:
    """Open the window and run the event loop until it closes; Ctrl-C in the terminal closes it too."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("fer-desktop")
    window = MainWindow(source, model, device, weights_dir, smoothing, backend=backend, uncertain_below=uncertain_below)
    window.resize(1280, 760)
    window.show()
    # Python runs signal handlers only between bytecodes; a idle timer lets it in while Qt waits.
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(200)
    received: list[int] = []

    def stop(signum: int, _: object) -> None:
        received.append(signum)
        window.close()

    with stop_signals_call(stop):  # Ctrl-C in the terminal, the terminal closed, or a kill: close cleanly
        code = app.exec()
    return exit_code(received[0]) if received else code


def _quit_shortcuts() -> list[QKeySequence]:
    """The platform's Quit shortcut (Cmd+Q on macOS; none on Windows, where Alt+F4 closes) and Ctrl+Q everywhere."""
    shortcuts = [*QKeySequence.keyBindings(QKeySequence.StandardKey.Quit), QKeySequence(KEYS["quit"])]
    return list({s.toString(): s for s in shortcuts}.values())


def _size(image: np.ndarray) -> tuple[int, int]:
    return image.shape[1], image.shape[0]


def _reason(error: Exception) -> str:
    """An error in words, without the name of a temporary file the user never asked for."""
    return (error.strerror if isinstance(error, OSError) and error.strerror else str(error)).rstrip(".")
