"""The session timeline, the words a face is shown with, and the report the window offers (pytest-qt)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from fer_desktop.emotions import EMOTIONS
from fer_desktop.faces import Face
from fer_desktop.pipeline import FaceResult, Frame, FrameResult, StageTimings
from fer_desktop.ui.face_text import face_tag, face_title, quality_text
from fer_desktop.faces.quality import FaceQuality
from fer_desktop.ui.timeline import SessionTimeline, TimelineHistory

BOX = Face(0, 0, 50, 50, 0.9)


def one_hot(k: int, top: float = 0.94) -> np.ndarray:
    p = np.full(7, (1 - top) / 6, np.float32)
    p[k] = top
    return p


def result(t: float, faces: dict[int, np.ndarray]) -> FrameResult:
    found = tuple(FaceResult(track_id, BOX, probs, probs) for track_id, probs in faces.items())
    return FrameResult(Frame(1, int(t * 10), 0.0, t, np.zeros((4, 4, 3), np.uint8)), found, len(found), "fixed",
                       StageTimings(0, 0, 0, 0))


def test_history_keeps_the_last_minute_of_each_face() -> None:
    history = TimelineHistory(window_s=60)
    for i in range(900):  # 90 s at 10 fps; face 2 leaves after 20 s
        t = i / 10
        history.add(result(t, {1: one_hot(i // 300), **({2: one_hot(6)} if t < 20 else {})}))
    times, probs = history.series(1)
    assert times[0] >= -60 and times[-1] == 0 and len(times) in (600, 601)
    assert probs[-1].argmax() == 2 and probs[0].argmax() == 1  # fear now, disgust a minute ago
    assert history.track_ids == [1]  # face 2 unseen for over a minute: forgotten
    history.add(result(0.0, {3: one_hot(0)}))  # a new source's clock restarts
    assert history.track_ids == [3]


def test_timeline_draws_the_selected_face_in_the_bar_colours(qtbot: QtBot) -> None:
    timeline = SessionTimeline()
    qtbot.addWidget(timeline)
    for i in range(50):
        timeline.add(result(i / 10, {1: one_hot(3), 2: one_hot(4)}), track_id=1)
    x, y = timeline.lines[EMOTIONS.index("happy")].getData()
    assert x[-1] == 0 and len(x) >= 40 and y[-1] == pytest.approx(0.94)
    timeline.add(result(5.0, {1: one_hot(3), 2: one_hot(4)}), track_id=2)  # another face selected: redrawn at once
    assert timeline.lines[EMOTIONS.index("sad")].getData()[1][-1] == pytest.approx(0.94)
    assert "Face #2" in timeline.plotItem.titleLabel.text
    timeline.reset()
    assert timeline.lines[0].getData() == (None, None) and timeline.history.track_ids == []


def test_an_uncertain_face_reads_uncertain_with_its_two_leading_emotions() -> None:
    probs = np.array([0.1, 0.05, 0.05, 0.4, 0.1, 0.05, 0.25], np.float32)
    quality = FaceQuality(face_px=12, brightness=10, sharpness=5000)
    face = FaceResult(4, BOX, probs, probs, confident=False, quality=quality)
    assert "uncertain" in face_title(face) and "happy 40% · neutral 25%" in face_title(face)
    assert face_tag(face) == "uncertain (happy 40%)"
    assert quality_text(face) == "Unreliable: too small, too dark"
    sure = FaceResult(4, BOX, probs, probs, confident=True, quality=FaceQuality(100, 120, 5000))
    assert face_title(sure) == "Face #4: happy" and face_tag(sure) == "happy 40%" and quality_text(sure) == ""


def test_the_window_offers_the_report_of_a_recording(qtbot: QtBot, weights_dir, tmp_path, monkeypatch) -> None:
    from conftest import GridDetector
    from PySide6.QtGui import QDesktopServices

    from fer_desktop.ui.window import MainWindow

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))
    window = MainWindow("demo", "squeezenet", "cpu", weights_dir, probe=lambda in_use: [],
                        detector_factory=lambda: GridDetector(2), backend="torch")
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.timeline.history.track_ids == [1, 2], timeout=30_000)  # it follows the faces
    out = tmp_path / "rec.csv"
    window.start_recording(out)
    qtbot.waitUntil(lambda: window.bridge.pipeline.recorder.rows >= 6, timeout=20_000)
    window.stop_recording()
    assert "Open report" in [b.text() for b in window.banner.findChildren(QPushButton)]
    with qtbot.waitSignal(window.report_written, timeout=20_000):
        next(b for b in window.banner.findChildren(QPushButton) if b.text() == "Open report").click()
    assert opened == [str(tmp_path / "rec-report" / "report.html")]
    assert (tmp_path / "rec-report" / "summary.json").is_file()
    window.close()
