"""Calibration, the uncertain verdict and face-quality measures as frames pass through the pipeline and the CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import ListSource

from fer_desktop.calibration import apply_calibration
from fer_desktop.export import CSV_COLUMNS
from fer_desktop.faces import Face
from fer_desktop.faces.quality import MIN_BRIGHTNESS, MIN_FACE_PX, MIN_SHARPNESS
from fer_desktop.headless import run_headless
from fer_desktop.pipeline import Frame
from fer_desktop.pipeline.analyzer import FrameAnalyzer
from fer_desktop.pipeline.demo import astronaut_photo, backdrop, demo_frame

HESITANT = np.array([0.10, 0.05, 0.05, 0.40, 0.10, 0.05, 0.25], np.float32)  # happy at 40%, neutral next
TEMPERATURE = {"method": "temperature", "temperature": 2.0}


class FixedClassifier:
    """Answers ``probs`` for every face; its weights carry ``calibration``."""

    name = "fixed"

    def __init__(self, probs: np.ndarray, calibration: dict | None = None) -> None:
        self.probs = probs
        self.info = {"calibration": calibration} if calibration else {}

    def predict(self, faces: np.ndarray) -> np.ndarray:
        return np.tile(self.probs, (len(faces), 1))


class BoxDetector:
    """Sees one face, always at ``box``."""

    def __init__(self, box: Face) -> None:
        self.box = box

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        return [self.box]

    def close(self) -> None:
        pass


FACE = Face(250.0, 110.0, 130.0, 130.0, 0.9)


@pytest.fixture(scope="module")
def frames() -> dict[str, np.ndarray]:
    """The demo's astronaut as shot well, in the dark, out of focus, and from far away."""
    clean = demo_frame(0.0, astronaut_photo(), backdrop())
    return {
        "clean": clean,
        "dark": (clean * 0.05).astype(np.uint8),
        "blurred": cv2.GaussianBlur(clean, (0, 0), 12),
    }


def analyze(frame: np.ndarray, classifier: FixedClassifier, box: Face = FACE, uncertain_below: float = 0.5):
    analyzer = FrameAnalyzer(lambda: BoxDetector(box), smoothing=0.0)
    analyzer.classifier = classifier
    analyzer.uncertain_below = uncertain_below
    analyzer.open()
    try:
        return analyzer.analyze(Frame(1, 0, 0.0, 0.0, frame)).faces[0]
    finally:
        analyzer.close()


def test_the_analyzer_calibrates_with_the_classifiers_own_map(frames) -> None:
    face = analyze(frames["clean"], FixedClassifier(HESITANT, TEMPERATURE))
    assert face.raw_probs == pytest.approx(apply_calibration(HESITANT[None], TEMPERATURE)[0])
    assert face.raw_probs.max() < HESITANT.max()  # a temperature above 1 softens
    plain = analyze(frames["clean"], FixedClassifier(HESITANT))
    assert plain.raw_probs == pytest.approx(HESITANT)


def test_a_face_below_the_threshold_is_uncertain(frames) -> None:
    assert analyze(frames["clean"], FixedClassifier(HESITANT)).confident is False
    assert analyze(frames["clean"], FixedClassifier(HESITANT), uncertain_below=0.4).confident is True
    assert analyze(frames["clean"], FixedClassifier(HESITANT), uncertain_below=0.0).confident is True


def test_quality_hints_name_what_is_wrong(frames) -> None:
    classifier = FixedClassifier(HESITANT)
    clean = analyze(frames["clean"], classifier).quality
    assert clean.hints() == [] and clean.face_px == 130.0
    dark = analyze(frames["dark"], classifier).quality
    assert dark.brightness < MIN_BRIGHTNESS <= clean.brightness and "too dark" in dark.hints()
    blurred = analyze(frames["blurred"], classifier).quality
    assert blurred.sharpness < MIN_SHARPNESS <= clean.sharpness and "blurred" in blurred.hints()
    far = analyze(cv2.resize(frames["clean"], None, fx=0.1, fy=0.1), classifier, Face(25.0, 11.0, 13.0, 13.0, 0.9))
    assert far.quality.face_px < MIN_FACE_PX and "too small" in far.quality.hints()


def test_the_csv_has_the_verdict_and_one_column_per_measure(frames, tmp_path: Path) -> None:
    out = tmp_path / "trust.csv"
    source = ListSource([frames["clean"], frames["dark"], frames["blurred"]], live=False)
    run_headless(lambda: source, FixedClassifier(HESITANT), out, smoothing=0.0, uncertain_below=0.35,
                 detector_factory=lambda: BoxDetector(FACE))
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["confident"] for r in rows] == ["1", "1", "1"]
    assert [r["face_px"] for r in rows] == ["130.0"] * 3
    brightness = [float(r["brightness"]) for r in rows]
    sharpness = [float(r["sharpness"]) for r in rows]
    assert brightness[1] < MIN_BRIGHTNESS <= brightness[0]
    assert sharpness[2] < MIN_SHARPNESS <= sharpness[0]
