"""The neutral baseline: the correction on synthetic probabilities, its recording in the pipeline, the CSV and its file."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from fer_desktop.emotions import EMOTIONS
from fer_desktop.pipeline.baseline import MIN_FRAMES, NeutralBaseline, NeutralBaselines, neutral_weights

# A resting face the model reads as sad, and one it reads as neutral.
SAD_REST = np.array([0.08, 0.02, 0.07, 0.03, 0.50, 0.05, 0.25])
NEUTRAL_REST = np.array([0.05, 0.01, 0.04, 0.10, 0.15, 0.05, 0.60])
HAPPY = np.array([0.02, 0.01, 0.03, 0.80, 0.06, 0.03, 0.05])
SURPRISED = np.array([0.03, 0.01, 0.15, 0.04, 0.05, 0.65, 0.07])
SADDER = np.array([0.05, 0.01, 0.05, 0.01, 0.80, 0.02, 0.06])


def label(p: np.ndarray) -> str:
    return EMOTIONS[int(np.argmax(p))]


def baseline_of(rest: np.ndarray) -> NeutralBaseline:
    return NeutralBaseline(1, 7, tuple(rest), 0.0, 3.0, 90, "fixed")


def test_a_resting_face_read_as_sad_reads_neutral_with_its_confidence() -> None:
    relative = baseline_of(SAD_REST).apply(SAD_REST)
    assert label(SAD_REST) == "sad" and label(relative) == "neutral"
    assert relative.max() == pytest.approx(SAD_REST.max(), abs=1e-5)  # the swap keeps the rest's confidence
    assert relative.sum() == pytest.approx(1.0, abs=1e-6)
    # The classes the rest did not confuse keep their weight.
    untouched = [EMOTIONS.index(e) for e in ("angry", "disgust", "fear", "happy", "surprise")]
    assert neutral_weights(SAD_REST)[untouched] == pytest.approx(1.0)


def test_other_expressions_still_move_the_label() -> None:
    baseline = baseline_of(SAD_REST)
    assert label(baseline.apply(HAPPY)) == "happy"
    assert label(baseline.apply(SURPRISED)) == "surprise"
    assert label(baseline.apply(SADDER)) == "sad"  # sadder than at rest still reads sad
    batch = baseline.apply(np.stack([SAD_REST, HAPPY, SADDER]))
    assert [label(p) for p in batch] == ["neutral", "happy", "sad"]


def test_a_rest_already_read_as_neutral_changes_nothing() -> None:
    assert baseline_of(NEUTRAL_REST).apply(HAPPY) == pytest.approx(HAPPY, abs=1e-6)
    assert baseline_of(NEUTRAL_REST).apply(SAD_REST) == pytest.approx(SAD_REST, abs=1e-6)


def test_a_class_missing_at_rest_gets_a_bounded_weight() -> None:
    rest = np.array([0.002, 0.002, 0.002, 0.002, 0.988, 0.002, 0.002])  # neutral almost never at rest
    assert np.isfinite(neutral_weights(rest)).all() and neutral_weights(rest).max() <= 1 / 0.01 + 1e-9
    assert label(baseline_of(rest).apply(rest)) == "neutral"


def test_recording_applies_to_its_face_only_and_reset_restores() -> None:
    baselines = NeutralBaselines()
    baselines.calibrate(None, seconds=1.0)  # the largest face: 7
    for i in range(12):
        t = i * 0.1
        baselines.observe(t, [7, 8], np.stack([SAD_REST, SAD_REST]), "fixed")
        if t < 1.0:
            assert baselines.applied(7) is None and baselines.progress(7) == pytest.approx(t)
    applied = baselines.applied(7)
    assert applied is not None and applied.number == 1 and applied.frames == 11
    assert applied.probs == pytest.approx(tuple(SAD_REST))
    assert baselines.applied(8) is None and baselines.progress(7) is None
    assert label(applied.apply(SAD_REST)) == "neutral"
    baselines.reset(7)
    assert baselines.applied(7) is None


def test_a_baseline_waits_for_enough_frames_and_is_dropped_with_its_face() -> None:
    baselines = NeutralBaselines()
    baselines.calibrate(3, seconds=0.5)
    baselines.observe(0.0, [3], SAD_REST[None], "fixed")
    baselines.observe(2.0, [3], SAD_REST[None], "fixed")  # long enough, but too few frames
    assert baselines.applied(3) is None
    for k in range(MIN_FRAMES):
        baselines.observe(2.1 + k, [3], SAD_REST[None], "fixed")
    assert baselines.applied(3) is not None
    baselines.forget({4})
    assert baselines.applied(3) is None
    baselines.calibrate(5)
    baselines.forget({6})  # the face asked for is gone: nothing waits for it
    baselines.observe(0.0, [6], SAD_REST[None], "fixed")
    assert baselines.progress(6) is None


def test_a_baseline_round_trips_through_its_dict() -> None:
    baseline = baseline_of(SAD_REST)
    again = NeutralBaseline.from_dict(baseline.to_dict())
    assert again.apply(HAPPY) == pytest.approx(baseline.apply(HAPPY), abs=1e-5)
    bad = {**baseline.to_dict(), "probs": {e: 0.0 for e in EMOTIONS}}
    with pytest.raises(ValueError):
        NeutralBaseline.from_dict(bad)


class SequenceClassifier:
    """Answers the next of ``answers`` for every face of a frame."""

    name = "sequence"

    def __init__(self, answers: list[np.ndarray]) -> None:
        self.answers = iter(answers)

    def predict(self, faces: np.ndarray) -> np.ndarray:
        return np.tile(next(self.answers), (len(faces), 1)).astype(np.float32)


class OneBox:
    def detect(self, frame_bgr: np.ndarray) -> list:
        from fer_desktop.faces import Face

        return [Face(10.0, 10.0, 40.0, 40.0, 0.9)]

    def close(self) -> None:
        pass


def record_rest_then_smile(csv_path: Path, recorder=None) -> list[dict[str, str]]:
    """3 s at 10 fps: 2 s at rest (read as sad), then 1 s of a smile; a 1 s baseline asked at the start."""
    from fer_desktop.export import Recorder
    from fer_desktop.pipeline import Frame
    from fer_desktop.pipeline.analyzer import FrameAnalyzer

    analyzer = FrameAnalyzer(OneBox, smoothing=0.0)
    analyzer.classifier = SequenceClassifier([SAD_REST] * 20 + [HAPPY] * 10)
    analyzer.open()
    recorder = recorder or Recorder(csv_path)
    analyzer.baselines.calibrate(None, seconds=1.0)
    image = np.zeros((64, 64, 3), np.uint8)
    shown = []
    for i in range(30):
        result = analyzer.analyze(Frame(1, i, 0.0, i / 10, image))
        recorder.add(result)
        shown.append(result.as_shown().faces[0].label)
    analyzer.close()
    recorder.close()
    assert shown == ["sad"] * 10 + ["neutral"] * 10 + ["happy"] * 10  # as the window shows the face
    with open(csv_path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_recording_keeps_the_models_probabilities_and_names_the_baseline(tmp_path: Path) -> None:
    from fer_desktop.export.baselines import baselines_path, read_baselines

    rows = record_rest_then_smile(tmp_path / "rest.csv")
    assert [r["label"] for r in rows] == ["sad"] * 20 + ["happy"] * 10  # the model's own, untouched
    assert float(rows[15]["sad"]) == pytest.approx(SAD_REST[4], abs=1e-4)
    assert [r["baseline"] for r in rows] == [""] * 10 + ["1"] * 20
    assert [r["baseline_label"] for r in rows] == [""] * 10 + ["neutral"] * 10 + ["happy"] * 10
    saved = read_baselines(tmp_path / "rest.csv")
    assert list(saved) == [1] and saved[1].frames == 11 and saved[1].probs == pytest.approx(tuple(SAD_REST), abs=1e-6)
    assert baselines_path(tmp_path / "rest.csv").name == "rest.baselines.json"


def test_the_report_applies_the_recorded_baseline_and_says_so(tmp_path: Path, capsys) -> None:
    import json

    from fer_desktop.report.cli import main

    csv_path = tmp_path / "rest.csv"
    record_rest_then_smile(csv_path)
    assert main([str(csv_path), "--out", str(tmp_path / "report")]) == 0
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["neutral_baselines"] == "applied from rest.baselines.json"
    face = summary["faces"][0]
    shares = face["share_of_time"]
    assert [shares["sad"], shares["neutral"], shares["happy"]] == pytest.approx([1 / 3] * 3, abs=0.01)
    assert face["changes"] == 2
    baseline = face["neutral_baseline"]
    assert baseline["numbers"] == [1] and baseline["rows_share"] == pytest.approx(2 / 3, abs=1e-3)
    without = baseline["share_of_time_without_baseline"]
    assert [without["sad"], without["happy"]] == pytest.approx([2 / 3, 1 / 3], abs=0.01)
    assert "relative to its resting face" in (tmp_path / "report" / "report.html").read_text()

    assert main([str(csv_path), "--out", str(tmp_path / "plain"), "--ignore-baselines"]) == 0
    plain = json.loads((tmp_path / "plain" / "summary.json").read_text())
    assert plain["neutral_baselines"].startswith("ignored") and plain["faces"][0]["neutral_baseline"] is None
    assert plain["faces"][0]["share_of_time"]["neutral"] == 0.0

    (tmp_path / "rest.baselines.json").unlink()
    capsys.readouterr()
    assert main([str(csv_path), "--out", str(tmp_path / "lost")]) == 1
    err = capsys.readouterr().err
    assert "neutral baseline 1 is not in rest.baselines.json" in err and "Traceback" not in err
    assert not (tmp_path / "lost").exists()


def test_a_replaced_recording_loses_the_old_baselines_and_another_file_is_kept(tmp_path: Path) -> None:
    from fer_desktop.export import Recorder
    from fer_desktop.export.baselines import baselines_path

    stale = baselines_path(tmp_path / "a.csv")
    stale.write_text("{}")
    (tmp_path / "a.csv").write_text("old")
    recorder = Recorder(tmp_path / "a.csv", overwrite=True)
    recorder.close(create=True)
    assert not stale.exists()  # it belonged to the recording just replaced

    kept = baselines_path(tmp_path / "b.csv")
    kept.write_text("{}")
    failures: list[str] = []
    rows = record_rest_then_smile(tmp_path / "b.csv", Recorder(tmp_path / "b.csv", on_failure=failures.append))
    assert kept.read_text() == "{}" and len(failures) == 1 and "b.baselines.json exists" in failures[0]
    assert len(rows) == 11  # the rows up to the baseline are whole; the recording stopped there


def test_the_window_calibrates_the_shown_face_marks_it_and_resets(qtbot, weights_dir, tmp_path: Path) -> None:
    from conftest import GridDetector

    from fer_desktop.export.baselines import read_baselines
    from fer_desktop.ui.window import MainWindow

    window = MainWindow("demo", "squeezenet", "cpu", weights_dir, probe=lambda in_use: [],
                        detector_factory=lambda: GridDetector(1), backend="torch")
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.model == "squeezenet" and "Face #1" in window.chart.title, timeout=30_000)
    window.start_recording(tmp_path / "calm.csv")
    window.calibrate_button.click()
    qtbot.waitUntil(lambda: "recording its neutral baseline" in window.chart.title, timeout=20_000)
    qtbot.waitUntil(lambda: "relative to its neutral baseline #1" in window.chart.title, timeout=20_000)
    with qtbot.waitSignal(window.chart_updated, timeout=10_000) as shown:
        pass
    face = shown.args[0].faces[0]
    assert face.neutral is not None and face.probs == pytest.approx(face.neutral.probs)  # the window draws it relative
    assert face.neutral.baseline.face_id == 1 and face.neutral.baseline.frames >= 3
    window.reset_baseline_button.click()
    qtbot.waitUntil(lambda: "neutral baseline" not in window.chart.title, timeout=10_000)
    window.stop_recording()
    assert list(read_baselines(tmp_path / "calm.csv")) == [1]  # stored with the recording

    window.calibrate_button.click()
    window.open_source("demo")  # the face it was recording is gone with its source: the window says so
    qtbot.waitUntil(lambda: "No neutral baseline" in _banner_text(window), timeout=20_000)
    window.close()


def _banner_text(window) -> str:
    from PySide6.QtWidgets import QLabel

    return " ".join(label.text() for label in window.banner.findChildren(QLabel))
