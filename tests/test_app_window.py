"""The window, offscreen: starts without a camera, switches model and source, records, snapshots, closes fast."""

from __future__ import annotations

import csv
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import GridDetector, ListSource
from pytestqt.qtbot import QtBot

from fer_desktop.faces import FaceDetector
from fer_desktop.pipeline import Frame, FrameResult, SourceError, StageTimings
from fer_desktop.pipeline.analyzer import MAX_FACES
from fer_desktop.ui.bridge import PipelineBridge
from fer_desktop.ui.images import fit_size, to_bgr, to_display_image
from fer_desktop.ui.window import MainWindow

TIMEOUT_MS = 15_000  # generous: the CI machine may be busy


def _worker_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("fer-") and t.is_alive()]


@pytest.fixture
def make_window(qtbot: QtBot, weights_dir: Path):
    """Windows with no camera, the test weights and CPU; each is closed and must leave no worker behind."""
    windows: list[MainWindow] = []

    def make(source: str | None = "demo", model: str = "squeezenet", detector_factory=FaceDetector) -> MainWindow:
        window = MainWindow(source, model, "cpu", weights_dir, probe=lambda in_use: [], detector_factory=detector_factory)
        qtbot.addWidget(window)
        window.resize(1100, 700)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
    assert not _worker_threads()


def _wait_for_result(qtbot: QtBot, window: MainWindow, check=lambda result: True):
    """The next result drawn in the charts that passes ``check``."""
    with qtbot.waitSignal(window.chart_updated, timeout=TIMEOUT_MS, check_params_cb=check) as blocker:
        pass
    return blocker.args[0]


def _wait_for_classified_face(qtbot: QtBot, window: MainWindow):
    return _wait_for_result(qtbot, window, lambda r: len(r.faces) == 1 and r.model is not None)


def _banner_buttons(window: MainWindow) -> list[str]:
    return [b.text() for b in window.banner.findChildren(type(window.controls.record_button)) if b.isVisible()]


def test_window_without_a_camera_starts_the_demo_by_itself(qtbot: QtBot, make_window) -> None:
    window = make_window(source=None)
    with qtbot.waitSignal(window.cameras_found, timeout=TIMEOUT_MS) as probed:
        pass
    assert probed.args == [[]]
    result = _wait_for_classified_face(qtbot, window)  # nobody clicked anything
    assert result.model == "squeezenet" and window.faces_label.text() == "1 face"
    assert window.chart.values.sum() == pytest.approx(1.0, abs=1e-3)
    message = window.banner.text("source")
    assert "No camera found" in message and "demo" in message
    assert {"Find cameras", "Open video file…"} <= set(_banner_buttons(window))


def test_a_camera_found_later_replaces_the_stand_in_demo(qtbot: QtBot, weights_dir: Path) -> None:
    probes = iter([[], [7]])
    window = MainWindow(None, "squeezenet", "cpu", weights_dir, probe=lambda in_use: next(probes))
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.cameras_found, timeout=TIMEOUT_MS):
        pass
    assert window.controls.source_box.currentData() == "demo"
    with qtbot.waitSignal(window.cameras_found, timeout=TIMEOUT_MS):
        next(b for b in window.banner.findChildren(type(window.controls.record_button)) if b.text() == "Find cameras").click()
    assert "No camera found" not in window.banner.text("source")
    assert window.controls.source_box.currentData() == "7"
    window.close()


def test_a_chosen_demo_is_not_replaced_by_a_camera_found_later(qtbot: QtBot, weights_dir: Path) -> None:
    window = MainWindow("demo", "squeezenet", "cpu", weights_dir, probe=lambda in_use: [3])
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.cameras_found, timeout=TIMEOUT_MS):
        window.refresh_cameras()
    assert window.controls.source_box.currentData() == "demo"
    window.close()


def test_switching_model_keeps_the_video_running(qtbot: QtBot, make_window) -> None:
    window = make_window()
    with qtbot.waitSignal(window.model_changed, timeout=TIMEOUT_MS):
        pass
    _wait_for_result(qtbot, window, lambda r: r.model == "squeezenet")

    with qtbot.waitSignal(window.model_changed, timeout=TIMEOUT_MS) as changed:
        window.select_model("resnet18")
    assert changed.args == ["resnet18"]
    _wait_for_result(qtbot, window, lambda r: r.model == "resnet18")

    with qtbot.waitSignal(window.model_failed, timeout=TIMEOUT_MS) as failed:
        window.select_model("vgg19")
    assert "vgg19.safetensors" in failed.args[0] and "fer-desktop-train --model vgg19" in failed.args[0]
    assert "vgg19.safetensors" in window.banner.text("model") and "Still using ResNet18" in window.banner.text("model")
    assert window.controls.model_box.currentData() == "resnet18"
    # Still classifying with the model that loaded, frame after frame.
    first = _wait_for_result(qtbot, window, lambda r: r.model == "resnet18")
    later = _wait_for_result(qtbot, window, lambda r: r.frame.index > first.frame.index + 2)
    assert later.model == "resnet18"


def test_missing_weights_at_start_leave_a_usable_window(qtbot: QtBot, make_window) -> None:
    window = make_window(model="vgg19")
    with qtbot.waitSignal(window.model_failed, timeout=TIMEOUT_MS):
        pass
    assert "vgg19.safetensors: weights file not found" in window.banner.text("model")
    result = _wait_for_result(qtbot, window, lambda r: len(r.faces) == 1)
    assert result.model is None and result.faces[0].probs is None  # faces still found and drawn
    assert "no model" in window.status.engine.text()


def test_switching_source_to_a_file_and_to_a_broken_file(qtbot: QtBot, make_window, face_video: Path,
                                                         tmp_path: Path) -> None:
    window = make_window()
    _wait_for_classified_face(qtbot, window)

    window.open_source(str(face_video))
    result = _wait_for_result(qtbot, window, lambda r: r.frame.index >= 0)
    assert window.controls.source_box.currentData() == str(face_video)
    assert result.frame.source_id == 2
    with qtbot.waitSignal(window.bridge.source_ended, timeout=TIMEOUT_MS):
        pass
    qtbot.waitUntil(lambda: "End of astronaut.avi" in window.banner.text("source"), timeout=TIMEOUT_MS)

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 4096)
    window.open_source(str(broken))
    qtbot.waitUntil(lambda: "broken.mp4: not a video" in window.banner.text("source"), timeout=TIMEOUT_MS)
    window.open_source("demo")
    _wait_for_classified_face(qtbot, window)
    assert window.banner.text("source") == ""


def test_a_camera_that_disappears_is_reported(qtbot: QtBot, make_window, blank_frame: np.ndarray) -> None:
    window = make_window(source=None)
    lost = SourceError("camera 0 stopped delivering frames (disconnected?)")
    window.open_source(lambda: ListSource([blank_frame] * 5, fail_with=lost, name="camera 0"))
    qtbot.waitUntil(lambda: "camera 0 stopped delivering frames" in window.banner.text("source"), timeout=TIMEOUT_MS)
    assert "Start demo" in [b.text() for b in window.banner.findChildren(type(window.controls.record_button))]


def test_no_face_clears_the_bars(qtbot: QtBot, make_window, blank_frame: np.ndarray) -> None:
    window = make_window()
    _wait_for_classified_face(qtbot, window)
    assert window.chart.values.sum() > 0.99
    window.open_source(lambda: ListSource([blank_frame] * 300, live=False))
    _wait_for_result(qtbot, window, lambda r: r.faces_detected == 0)
    assert window.faces_label.text() == "No face in view"
    assert window.chart.values.sum() == 0.0
    assert not window.face_bars.isVisible()


def test_many_faces_are_capped_and_said_so(qtbot: QtBot, make_window) -> None:
    window = make_window(detector_factory=lambda: GridDetector(25))
    result = _wait_for_result(qtbot, window, lambda r: r.model is not None)
    assert result.faces_detected == 25 and len(result.faces) == MAX_FACES
    assert window.faces_label.text() == f"25 faces: classified the {MAX_FACES} largest (at most {MAX_FACES} per frame)"
    assert window.face_bars.isVisible() and window.face_bars.rows == MAX_FACES


def test_clicking_a_face_selects_it_for_the_chart(qtbot: QtBot, make_window) -> None:
    window = make_window(detector_factory=lambda: GridDetector(3))
    result = _wait_for_result(qtbot, window, lambda r: r.model is not None)
    target = result.faces[2]
    view = window.video
    rect = view._target()
    scale = rect.width() / result.frame.image.shape[1]
    x = rect.left() + (target.box.x + target.box.w / 2) * scale
    y = rect.top() + (target.box.y + target.box.h / 2) * scale
    from PySide6.QtCore import QPoint, Qt

    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(round(x), round(y)))
    _wait_for_result(qtbot, window)
    assert window.chart.title.startswith(f"Face #{target.track_id}:")


def test_recording_is_flushed_while_running_and_closing_is_fast(qtbot: QtBot, make_window, tmp_path: Path) -> None:
    window = make_window()
    _wait_for_classified_face(qtbot, window)
    assert window.bridge.pipeline.recorder is None  # nothing is recorded unless asked
    out = tmp_path / "rec.csv"
    window.start_recording(out)
    assert window.controls.record_button.isChecked()
    qtbot.waitUntil(lambda: window.bridge.pipeline.recorder.rows >= 5, timeout=TIMEOUT_MS)

    # Read while recording: every row written so far is already on disk, whole.
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 5 and all(r["model"] == "squeezenet" and r["label"] for r in rows)

    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 2.0
    assert not _worker_threads()
    assert out.read_text(encoding="utf-8").endswith("\n")
    with open(out, newline="", encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) >= len(rows)


def test_snapshot_saves_the_window_as_png(qtbot: QtBot, make_window, tmp_path: Path) -> None:
    window = make_window()
    _wait_for_classified_face(qtbot, window)
    path = tmp_path / "shot.png"
    width, height = window.width(), window.height()  # the status text may widen the window afterwards
    with qtbot.waitSignal(window.snapshot_saved, timeout=TIMEOUT_MS):
        window.save_snapshot(path)
    image = cv2.imread(str(path))
    assert image is not None and image.shape[1] == width and image.shape[0] == height
    assert not list(tmp_path.glob("*partial*"))


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_recording_that_cannot_be_written_is_one_clear_message(qtbot: QtBot, make_window) -> None:
    window = make_window()
    window.start_recording(Path("/dev/full"))
    qtbot.waitUntil(lambda: "Recording to /dev/full stopped" in window.banner.text("recording"), timeout=TIMEOUT_MS)
    assert "No space left on device" in window.banner.text("recording")
    assert window.bridge.pipeline.recorder is None and not window.controls.record_button.isChecked()
    _wait_for_classified_face(qtbot, window)  # and the video goes on


def test_frames_are_scaled_to_the_panel_off_the_gui_thread(qtbot: QtBot, make_window) -> None:
    window = make_window()
    result = _wait_for_classified_face(qtbot, window)
    height, width = result.frame.image.shape[:2]
    view = window.video
    ratio = view.devicePixelRatioF()
    want = fit_size(width, height, round(view.width() * ratio), round(view.height() * ratio))
    assert (view._image.width(), view._image.height()) == want != (width, height)


def test_display_image_keeps_colours_and_aspect() -> None:
    image = np.zeros((40, 80, 3), np.uint8)
    image[:, :40] = (255, 0, 0)  # blue left half, in BGR
    image[:, 40:] = (0, 0, 255)  # red right half
    shown = to_display_image(image, (200, 200))
    assert (shown.width(), shown.height()) == (200, 100)
    assert shown.pixelColor(10, 50).getRgb()[:3] == (0, 0, 255)
    assert shown.pixelColor(190, 50).getRgb()[:3] == (255, 0, 0)
    assert (to_display_image(image).width(), to_display_image(image).height()) == (80, 40)
    assert to_bgr(shown)[50, 10].tolist() == [255, 0, 0]


def test_the_qt_binding_keeps_none_alive(qtbot: QtBot) -> None:
    """PySide6 6.12.0 on Python 3.11 dropped a reference to None on every call returning nothing:
    the window aborted ("none_dealloc") after a few minutes, sooner with several faces."""
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("x")
    assert sys.getrefcount(None) > before - 100


def test_frames_reach_the_gui_once_and_with_their_boxes_unless_the_analysis_drops_some(qtbot: QtBot) -> None:
    bridge = PipelineBridge(detector_factory=lambda: GridDetector(1))
    image = np.zeros((48, 64, 3), np.uint8)
    timings = StageTimings(0.0, 0.0, 0.0, 0.0)

    def capture_and_analyse(index: int) -> tuple[object, object]:
        frame = Frame(1, index, time.perf_counter(), index / 30, image)
        bridge._on_frame(frame)
        bridge._on_result(FrameResult(frame, (), 0, None, timings))
        return bridge.take_frame(), bridge.take_result()

    raw, (result, shown) = capture_and_analyse(0)
    assert raw is None and result.frame.index == 0 and shown.width() == 64  # drawn once, with the result
    bridge.pipeline.stats.dropped += 1  # the analysis fell behind the source
    raw, (result, shown) = capture_and_analyse(1)
    assert raw[0].index == 1 and raw[1].width() == 64 and shown is None  # every captured frame, under the boxes
    bridge.pipeline.stop()


def test_the_keys_work(qtbot: QtBot, weights_dir: Path) -> None:
    from PySide6.QtCore import Qt

    window = MainWindow(None, "squeezenet", "cpu", weights_dir, probe=lambda in_use: [])
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    with qtbot.waitSignal(window.cameras_found, timeout=TIMEOUT_MS):
        pass
    window.open_source("clip-that-does-not-exist.mp4")
    qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert window.controls.source_box.currentData() == "demo"
    with qtbot.waitSignal(window.cameras_found, timeout=TIMEOUT_MS):
        qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not _worker_threads(), timeout=TIMEOUT_MS)


# -- quitting, source states and a full disk (issue 25: 6, 10, 11) ---------------------------------------------


def test_ctrl_q_and_the_platform_quit_shortcut_close_the_window(qtbot: QtBot, make_window) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence

    window = make_window()
    _wait_for_result(qtbot, window)
    shortcuts = {s.toString() for s in window.quit_action.shortcuts()}
    assert "Ctrl+Q" in shortcuts
    assert {s.toString() for s in QKeySequence.keyBindings(QKeySequence.StandardKey.Quit)} <= shortcuts
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=2000)
    qtbot.waitUntil(lambda: not _worker_threads(), timeout=2000)


def _state(window: MainWindow) -> str:
    """The source's state as the status bar and the empty video panel both say it."""
    assert window.video.placeholder == window.status.source.text()
    return window.status.source.text()


def test_every_source_state_says_what_it_is_and_a_failed_source_offers_the_others(
        qtbot: QtBot, make_window, face_video: Path, tmp_path: Path) -> None:
    window = make_window(source=None)
    with qtbot.waitSignal(window.cameras_found, timeout=TIMEOUT_MS):
        pass
    assert _state(window) in ("Opening demo…", "Demo (astronaut): running")  # no camera: the demo stands in
    qtbot.waitUntil(lambda: _state(window) == "Demo (astronaut): running", timeout=TIMEOUT_MS)

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 4096)
    window.open_source(str(broken))
    assert _state(window) == f"Opening {broken}…"
    # Opening a broken file can take OpenCV's probing a long while on a busy machine.
    qtbot.waitUntil(lambda: _state(window).startswith("Failed: "), timeout=4 * TIMEOUT_MS)
    assert "broken.mp4: not a video" in _state(window)
    buttons = {b.text() for b in window.banner.findChildren(type(window.controls.record_button)) if b.isVisible()}
    assert {"Find cameras", "Open video file…", "Start demo"} <= buttons

    window.open_source("demo")
    qtbot.waitUntil(lambda: _state(window) == "Demo (astronaut): running", timeout=TIMEOUT_MS)
    window.set_paused(True)
    assert _state(window) == "Demo (astronaut): paused" and window.controls.pause_button.isChecked()
    time.sleep(0.3)  # let a frame already on its way arrive
    frames = window.bridge.pipeline.stats.frames_captured
    time.sleep(0.5)
    assert window.bridge.pipeline.stats.frames_captured == frames  # held
    window.set_paused(False)
    assert _state(window) == "Demo (astronaut): running"
    _wait_for_result(qtbot, window, lambda r: r.frame.index > 0)

    window.open_source(str(face_video))
    qtbot.waitUntil(lambda: _state(window).startswith("End of astronaut.avi"), timeout=TIMEOUT_MS)


def test_a_full_disk_while_recording_keeps_the_rows_whole_and_the_video_going(qtbot: QtBot, make_window) -> None:
    from fault_files import FullDisk

    window = make_window()
    _wait_for_result(qtbot, window)
    disk = FullDisk(room=700)
    window.start_recording(Path("full.csv"), open_file=lambda path, overwrite: disk)
    qtbot.waitUntil(lambda: "No space left on device" in window.banner.text("recording"), timeout=TIMEOUT_MS)
    assert window.banner.text("recording").startswith("Recording to full.csv stopped after")
    assert window.bridge.pipeline.recorder is None and not window.controls.record_button.isChecked()
    text = disk.kept.decode("utf-8")
    table = list(csv.reader(text.splitlines()))
    assert text.endswith("\n") and all(len(row) == len(table[0]) for row in table) and len(table) > 1
    seen = _wait_for_classified_face(qtbot, window)
    _wait_for_result(qtbot, window, lambda r: r.frame.index > seen.frame.index)  # and the video goes on


def test_the_window_records_the_same_columns_and_rows_as_headless(qtbot: QtBot, make_window, face_video: Path,
                                                                  weights_dir: Path, tmp_path: Path) -> None:
    from fer_desktop.export import CSV_COLUMNS
    from fer_desktop.headless import run_headless
    from fer_desktop.inference import load_classifier

    window = make_window()
    _wait_for_classified_face(qtbot, window)
    window.open_source(str(face_video))
    _wait_for_result(qtbot, window, lambda r: r.frame.source_id == window._source_id)  # the demo's are all in
    window.start_recording(tmp_path / "window.csv")
    qtbot.waitUntil(lambda: _state(window).startswith("End of"), timeout=TIMEOUT_MS)
    window.stop_recording()
    run_headless(str(face_video), load_classifier("squeezenet", "cpu", weights_dir), tmp_path / "headless.csv")

    def read(name: str) -> tuple[list[str], dict[str, list[str]]]:
        with open(tmp_path / name, newline="", encoding="utf-8") as f:
            header, *body = list(csv.reader(f))
        return header, {row[1]: row for row in body}

    window_header, window_rows = read("window.csv")
    headless_header, headless_rows = read("headless.csv")
    assert tuple(window_header) == tuple(headless_header) == CSV_COLUMNS
    shared = set(window_rows) & set(headless_rows)
    assert shared  # the window may drop frames under load, never invent them
    assert set(window_rows) <= set(headless_rows)
    for frame in shared:  # the same time, box and model for the same frame (track ids count on across sources)
        same = [0, 1, 3, 4, 5, 6, -1]
        assert [window_rows[frame][i] for i in same] == [headless_rows[frame][i] for i in same]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_ctrl_c_in_the_terminal_closes_the_window(weights_dir: Path) -> None:
    import signal
    import subprocess

    from test_faults import _spawn, _wait_for_handler

    process = _spawn(["--source", "demo", "--weights", str(weights_dir), "--model", "squeezenet", "--device", "cpu"])
    _wait_for_handler(process, signal.SIGHUP)  # the window's own: main alone handles only SIGINT
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert "Traceback" not in err, err
    assert process.returncode == 130


# -- snapshots, recordings, calibration and cameras as a user meets them ------------------------------------------


def test_a_snapshot_goes_to_exactly_the_file_named_and_the_dialog_adds_the_suffix_before_asking(
        qtbot: QtBot, make_window, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QFileDialog

    from fer_desktop.ui.dialogs import save_dialog

    window = make_window()
    _wait_for_classified_face(qtbot, window)
    other = tmp_path / "shot.png"
    other.write_bytes(b"a photo the user keeps")
    with qtbot.waitSignal(window.snapshot_saved, timeout=TIMEOUT_MS) as saved:
        window.save_snapshot(tmp_path / "shot")
    assert saved.args == [tmp_path / "shot"]
    assert (tmp_path / "shot").read_bytes().startswith(b"\x89PNG") and cv2.imread(str(tmp_path / "shot")) is not None
    assert other.read_bytes() == b"a photo the user keeps"  # never replaced without asking

    dialog = save_dialog(window, "Save snapshot", tmp_path / "suggested.png", "PNG images (*.png)", ".png")
    qtbot.addWidget(dialog)
    assert dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave
    assert not dialog.testOption(QFileDialog.Option.DontConfirmOverwrite)  # it asks before replacing...
    dialog.selectFile("shot")
    assert Path(dialog.selectedFiles()[0]).name == "shot.png"  # ...about the file that will be written


def test_every_snapshot_asked_for_is_written_in_order(qtbot: QtBot, make_window, tmp_path: Path) -> None:
    window = make_window()
    _wait_for_classified_face(qtbot, window)
    saved: list[Path] = []
    window.snapshot_saved.connect(saved.append)
    wanted = [tmp_path / f"shot-{n}.png" for n in range(4)]
    for path in wanted:  # faster than a PNG is written: none may be dropped for the next
        window.save_snapshot(path)
    qtbot.waitUntil(lambda: len(saved) == len(wanted), timeout=TIMEOUT_MS)
    assert saved == wanted and all(cv2.imread(str(p)) is not None for p in wanted)


def test_snapshot_and_report_failures_name_the_file_asked_for(qtbot: QtBot, make_window, tmp_path: Path) -> None:
    window = make_window()
    _wait_for_classified_face(qtbot, window)
    shot = tmp_path / "no-such-folder" / "shot.png"
    window.save_snapshot(shot)
    qtbot.waitUntil(lambda: window.banner.text("snapshot") != "", timeout=TIMEOUT_MS)
    message = window.banner.text("snapshot")
    assert message == f"Snapshot not saved to {shot}: No such file or directory", message
    assert "partial" not in message

    missing = tmp_path / "gone.csv"
    window.reports.request(missing)
    qtbot.waitUntil(lambda: window.banner.text("report") != "", timeout=TIMEOUT_MS)
    assert window.banner.text("report").startswith(f"No report of {missing}: ")


def test_a_recording_stopped_before_any_frame_leaves_its_file_with_the_header(
        qtbot: QtBot, make_window, tmp_path: Path) -> None:
    from fer_desktop.export import CSV_COLUMNS

    window = make_window(source=None)
    window.open_source(lambda: ListSource([], name="empty"))  # never delivers a frame
    out = tmp_path / "rec.csv"
    window.start_recording(out)
    window.stop_recording()
    with open(out, newline="", encoding="utf-8") as f:
        assert list(csv.reader(f)) == [list(CSV_COLUMNS)]
    assert window.status.currentMessage() == f"Recorded 0 rows to {out}"


def test_recording_one_row_says_1_row(qtbot: QtBot, make_window, tmp_path: Path) -> None:
    window = make_window(source=None, detector_factory=lambda: GridDetector(1))
    frame = np.full((240, 320, 3), 90, np.uint8)
    out = tmp_path / "one.csv"
    window.start_recording(out)
    window.open_source(lambda: ListSource([frame], live=False, name="one frame"))
    qtbot.waitUntil(lambda: window.bridge.pipeline.recorder.rows == 1, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.status.recording.text().startswith("● REC 1 row →"), timeout=TIMEOUT_MS)
    window.stop_recording()
    assert window.banner.text("report") == "Recorded 1 row to one.csv."


def test_recording_again_to_the_same_file_withdraws_the_old_report_offer(
        qtbot: QtBot, make_window, tmp_path: Path) -> None:
    window = make_window()
    _wait_for_classified_face(qtbot, window)
    first, other = tmp_path / "a.csv", tmp_path / "b.csv"
    window.start_recording(first)
    qtbot.waitUntil(lambda: window.bridge.pipeline.recorder.rows >= 2, timeout=TIMEOUT_MS)
    window.stop_recording()
    assert "Open report" in _banner_buttons(window)
    window.start_recording(other)  # another file: the offer for a.csv stands
    assert window.banner.text("report").endswith("to a.csv.")
    qtbot.waitUntil(lambda: window.bridge.pipeline.recorder.rows >= 2, timeout=TIMEOUT_MS)
    window.stop_recording()
    assert window.banner.text("report").endswith("to b.csv.")
    window.start_recording(tmp_path / "." / "b.csv")  # b.csv again: its old report would show the new rows
    assert window.banner.text("report") == ""
    window.stop_recording()


def test_a_late_failure_of_an_old_recording_does_not_stop_the_new_one(
        qtbot: QtBot, make_window, tmp_path: Path) -> None:
    window = make_window()
    window.start_recording(tmp_path / "old.csv")
    window.start_recording(tmp_path / "new.csv")
    window.bridge.recording_failed.emit(1, "Recording to old.csv stopped after 3 rows: No space left on device")
    qtbot.waitUntil(lambda: "old.csv stopped" in window.banner.text("recording"), timeout=TIMEOUT_MS)
    recorder = window.bridge.pipeline.recorder
    assert recorder is not None and recorder.csv_path.name == "new.csv" and window.controls.record_button.isChecked()
    window.bridge.recording_failed.emit(2, "Recording to new.csv stopped after 0 rows: No space left on device")
    qtbot.waitUntil(lambda: window.bridge.pipeline.recorder is None, timeout=TIMEOUT_MS)
    assert not window.controls.record_button.isChecked()


def test_calibrating_with_no_model_or_no_face_says_so(qtbot: QtBot, make_window, blank_frame: np.ndarray) -> None:
    window = make_window(model="vgg19")  # no vgg19 weights among the test weights
    with qtbot.waitSignal(window.model_failed, timeout=TIMEOUT_MS):
        pass
    _wait_for_result(qtbot, window, lambda r: len(r.faces) == 1)
    window.calibrate_button.click()
    assert "No neutral baseline: no model is loaded" in window.banner.text("baseline")
    assert not window.bridge.pipeline.analyzer.baselines.waiting

    with qtbot.waitSignal(window.model_changed, timeout=TIMEOUT_MS):
        window.select_model("squeezenet")
    window.open_source(lambda: ListSource([blank_frame] * 300, live=False))
    _wait_for_result(qtbot, window, lambda r: r.faces_detected == 0)
    window.calibrate_button.click()
    assert "No neutral baseline: there is no face in view" in window.banner.text("baseline")
    assert not window.bridge.pipeline.analyzer.baselines.waiting


def test_pausing_while_a_source_opens_shows_it_paused(qtbot: QtBot, make_window, blank_frame: np.ndarray) -> None:
    window = make_window(source=None)
    opening = threading.Event()

    def slow_open() -> ListSource:
        opening.wait(5)
        return ListSource([blank_frame] * 100, live=False, name="slow clip")

    window.open_source(slow_open)
    window.set_paused(True)
    assert _state(window) == "Opening the source…" and window.controls.pause_button.isChecked()
    opening.set()
    qtbot.waitUntil(lambda: _state(window) == "slow clip: paused", timeout=TIMEOUT_MS)
    time.sleep(0.3)
    assert window.bridge.pipeline.stats.frames_captured == 0  # held at its first frame
    window.set_paused(False)
    assert _state(window) == "slow clip: running"


def test_finding_cameras_keeps_the_one_in_use_listed_and_leaves_it_alone(
        qtbot: QtBot, weights_dir: Path, blank_frame: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fer_desktop.pipeline.capture.open_source",
                        lambda spec: ListSource([blank_frame] * 10_000, name=f"camera {spec}"))
    asked: list[set[int]] = []

    def probe(in_use: set[int]) -> list[int]:
        asked.append(set(in_use))
        return [1]  # camera 3 is busy, so a probe that opened it would not see it

    window = MainWindow("3", "squeezenet", "cpu", weights_dir, probe=probe)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.status.source.text() == "camera 3: running", timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.cameras_found, timeout=TIMEOUT_MS) as found:
        window.refresh_cameras()
    assert asked == [{3}] and found.args == [[1, 3]]
    assert window.controls.source_box.currentData() == "3"
    assert window.status.source.text() == "camera 3: running"  # not reopened
    window.close()
