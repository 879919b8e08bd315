"""Head pose from BlazeFace's keypoints, the "turned away" hint and its CSV columns."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fer_desktop.faces import Face, FaceDetector
from fer_desktop.faces.pose import K_YAW, head_pose, pose_ratios
from fer_desktop.faces.quality import MAX_YAW_DEG, FaceQuality, hint_flags
from fer_desktop.pipeline.demo import astronaut_photo, backdrop, demo_frame


def face_with(nose_x: float, nose_y: float = 120.0, roll: float = 0.0, mirrored: bool = False) -> Face:
    """A face whose eyes lie at x 80 and 120, ears at 60 and 140, mouth at y 140, turned by ``roll`` degrees."""
    points = [(80.0, 100.0), (120.0, 100.0), (nose_x, nose_y), (100.0, 140.0), (60.0, 105.0), (140.0, 105.0)]
    if mirrored:  # the person's right eye and ear on the image's right
        points = [points[1], points[0], points[2], points[3], points[5], points[4]]
    a = math.radians(roll)
    turned = tuple((100 + (x - 100) * math.cos(a) - (y - 110) * math.sin(a),
                    110 + (x - 100) * math.sin(a) + (y - 110) * math.cos(a)) for x, y in points)
    return Face(50.0, 60.0, 100.0, 100.0, 0.9, turned)


def test_a_frontal_face_has_no_yaw_and_a_turned_one_is_named() -> None:
    frontal_yaw, _ = head_pose(face_with(100.0))
    assert frontal_yaw == pytest.approx(0.0, abs=1e-6)
    turned_yaw, _ = head_pose(face_with(125.0))  # nose a quarter of the ear span to the image's right
    assert turned_yaw == pytest.approx(math.degrees(math.atan(K_YAW * 25 / 80)), abs=1e-6) and turned_yaw > 0
    assert head_pose(face_with(75.0))[0] == pytest.approx(-turned_yaw, abs=1e-6)
    far = head_pose(face_with(140.0))[0]  # the nose over the far ear
    assert far > MAX_YAW_DEG
    assert "turned away" in FaceQuality(100, 120, 5000, far, 0.0).hints()
    assert "turned away" not in FaceQuality(100, 120, 5000, frontal_yaw, 0.0).hints()


def test_pose_ignores_roll_and_mirroring() -> None:
    upright = head_pose(face_with(125.0, 118.0))
    for face in (face_with(125.0, 118.0, roll=25.0), face_with(125.0, 118.0, mirrored=True)):
        assert head_pose(face) == pytest.approx(upright, abs=1e-6)


def test_pitch_rises_as_the_nose_nears_the_eyes() -> None:
    level, up, down = (head_pose(face_with(100.0, y))[1] for y in (120.56, 112.0, 130.0))
    assert level == pytest.approx(0.0, abs=0.1) and up > 10 and down < -10


def test_a_face_without_keypoints_has_no_pose_and_no_hint() -> None:
    assert all(math.isnan(v) for v in pose_ratios(Face(0, 0, 50, 50, 0.9)))
    assert all(math.isnan(v) for v in head_pose(Face(0, 0, 50, 50, 0.9)))
    assert FaceQuality(100, 120, 5000).hints() == []
    flags = hint_flags(np.array([100.0, 100.0]), np.array([120.0, 120.0]), np.array([5000.0] * 2),
                       np.array([np.nan, -45.0]))
    assert flags["turned away"].tolist() == [False, True]


def test_the_demos_astronaut_faces_the_camera() -> None:
    with FaceDetector(presence=False) as detector:
        face = detector.detect(demo_frame(0.0, astronaut_photo(), backdrop()))[0]
    yaw, pitch = head_pose(face)
    assert abs(yaw) < MAX_YAW_DEG and abs(pitch) < 30


def test_the_csv_has_the_pose_columns(tmp_path) -> None:
    import csv

    from conftest import ListSource
    from test_trust_pipeline import FACE, HESITANT, BoxDetector, FixedClassifier

    from fer_desktop.headless import run_headless

    frame = demo_frame(0.0, astronaut_photo(), backdrop())
    for name, detector in (("real", lambda: FaceDetector(presence=False)), ("boxes", lambda: BoxDetector(FACE))):
        out = tmp_path / f"{name}.csv"
        run_headless(lambda: ListSource([frame, frame], live=False), FixedClassifier(HESITANT), out, smoothing=0.0,
                     detector_factory=detector)
        with open(out, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        if name == "real":  # the keypoints give a pose
            assert all(abs(float(r["yaw_deg"])) < MAX_YAW_DEG and r["pitch_deg"] for r in rows) and rows
        else:  # a box without keypoints: not measured, left empty
            assert [(r["yaw_deg"], r["pitch_deg"]) for r in rows] == [("", "")] * 2


def test_the_report_counts_turned_away_rows(tmp_path) -> None:
    import csv

    from fer_desktop.report.summary import summarise

    header = ["time_s", "face_id", "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "label",
              "confidence", "confident", "face_px", "brightness", "sharpness", "yaw_deg", "pitch_deg"]
    probs = ["0.1", "0.0", "0.0", "0.7", "0.1", "0.0", "0.1", "happy", "0.7", "1", "100.0", "120.0", "5000.0"]
    with open(tmp_path / "turn.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i, yaw in enumerate(["5.0", "-45.0", "", "40.0"]):  # a blank yaw: a face without keypoints
            writer.writerow([f"{i / 10:.3f}", "1", *probs, yaw, "0.0"])
    face = summarise(tmp_path / "turn.csv", 0.5).to_dict()["faces"][0]
    assert face["quality_hint_share"] == {"turned away": 0.5}
