"""The robustness benchmark's material: degradations and face-free clips, deterministic and doing what they say."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from degrade import FRAME_SIZE, conditions, degraded_clip, degraded_frame  # noqa: E402
from face_free import SKIMAGE_PICTURES, face_free_clips  # noqa: E402

from fer_desktop.faces import FaceDetector  # noqa: E402
from fer_desktop.pipeline.analyzer import FrameAnalyzer  # noqa: E402
from fer_desktop.pipeline.demo import DemoSource  # noqa: E402
from fer_desktop.pipeline.frames import Frame  # noqa: E402
from fer_desktop.pipeline.tracking import iou  # noqa: E402

CONDITIONS = conditions()


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    """A made-up 48x48 'face': a bright oval with dark eyes and mouth (no real face committed)."""
    import cv2

    img = np.full((48, 48), 60, np.uint8)
    cv2.ellipse(img, (24, 26), (16, 20), 0, 0, 360, 190, -1)
    for x in (17, 31):
        cv2.circle(img, (x, 21), 3, 40, -1)
    cv2.ellipse(img, (24, 35), (7, 3), 0, 0, 360, 70, -1)
    return img


@pytest.mark.parametrize("condition", CONDITIONS, ids=[c.key for c in CONDITIONS])
def test_each_condition_is_deterministic_and_changes_the_frame(face: np.ndarray, condition) -> None:
    frame, where = degraded_frame(face, condition, [7, 3])
    again, where_again = degraded_frame(face, condition, [7, 3])
    np.testing.assert_array_equal(frame, again)
    assert where == where_again
    assert frame.shape == (FRAME_SIZE[1], FRAME_SIZE[0], 3) and frame.dtype == np.uint8
    clean, clean_where = degraded_frame(face, CONDITIONS[0], [7, 3])
    if condition.name == "clean":
        return
    assert not np.array_equal(frame, clean)
    if condition.face_heights == CONDITIONS[0].face_heights and condition.render_height is None:
        assert where == clean_where  # same seed, same face in the same place: only the degradation differs
        x0, y0 = int(where.box.x), int(where.box.y)
        x1, y1 = int(where.box.x + where.box.w), int(where.box.y + where.box.h)
        assert np.abs(frame[y0:y1, x0:x1].astype(int) - clean[y0:y1, x0:x1]).mean() > 0.5  # the face itself changed


def test_small_faces_are_as_small_as_named(face: np.ndarray) -> None:
    for condition in CONDITIONS:
        if condition.name == "small face":
            _, where = degraded_frame(face, condition, 1)
            assert where.box.h == pytest.approx(float(condition.level.split()[0]), abs=1)


def test_clips_keep_the_face_still_and_draw_fresh_noise(face: np.ndarray) -> None:
    noisy = next(c for c in CONDITIONS if c.name == "noise")
    clip, where = degraded_clip(face, noisy, 5, 3)
    assert len(clip) == 3 and not np.array_equal(clip[0], clip[1])
    assert degraded_frame(face, noisy, 5)[1] == where


def test_face_free_clips_are_deterministic_and_move() -> None:
    first = [(name, [f.copy() for f in frames]) for name, frames in face_free_clips(3, seed=1)]
    second = [(name, list(frames)) for name, frames in face_free_clips(3, seed=1)]
    assert [n for n, _ in first] == [n for n, _ in second]
    assert len(first) >= len(SKIMAGE_PICTURES) + 5
    assert "astronaut" not in SKIMAGE_PICTURES and "camera" not in SKIMAGE_PICTURES  # the two with people
    for (_, a), (_, b) in zip(first, second):
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
        assert not np.array_equal(a[0], a[1])


def _reported(analyzer: FrameAnalyzer, frames: list[np.ndarray], source_id: int) -> list[int]:
    return [len(analyzer.analyze(Frame(source_id, i, 0.0, i / 30, f)).faces) for i, f in enumerate(frames)]


def test_the_false_face_rule_rejects_a_generated_non_face_and_keeps_the_astronaut() -> None:
    # The scikit-image colour wheel, zooming: BlazeFace alone boxes a face in several of these frames.
    wheel = next(frames for name, frames in face_free_clips(60, seed=0) if name == "colorwheel")
    frames = list(wheel)
    with FaceDetector() as detector:
        boxed = sum(bool(detector.detect(f)) for f in frames)
    assert boxed >= 3
    analyzer = FrameAnalyzer()
    analyzer.open()
    try:
        assert sum(_reported(analyzer, frames, 1)) == 0
        demo = DemoSource(30)
        assert _reported(analyzer, [demo.read() for _ in range(30)], 2) == [1] * 30  # from her first frame on
    finally:
        analyzer.close()


def test_a_real_face_in_a_benchmark_frame_is_found_where_it_was_put() -> None:
    import cv2

    from fer_desktop.faces import fer_box
    from fer_desktop.pipeline.demo import astronaut_photo

    photo = astronaut_photo()
    with FaceDetector() as detector:
        x0, y0, x1, y1 = fer_box(detector.detect(photo)[0])  # framed as FER-2013 frames its faces
        head = cv2.cvtColor(cv2.resize(photo[y0:y1, x0:x1], (48, 48), interpolation=cv2.INTER_AREA),
                            cv2.COLOR_BGR2GRAY)
        for seed in range(3):
            frame, where = degraded_frame(head, CONDITIONS[0], seed)
            found = detector.detect(frame)
            assert found and iou(found[0], where.box) > 0.7 and detector.is_face(frame, found[0])


def test_framing_jitter_spread_gives_percentiles_and_the_robust_sigma_of_a_normal_sample() -> None:
    from framing_jitter import spread

    s = spread(np.random.default_rng(0).normal(0.1, 0.05, 20000))
    assert s["p50"] == pytest.approx(0.1, abs=0.002) and s["sigma"] == pytest.approx(0.05, abs=0.002)
    assert s["p5"] < s["p25"] < s["p50"] < s["p75"] < s["p95"]
    assert s["p95"] == pytest.approx(0.1 + 1.645 * 0.05, abs=0.004)


def test_intervals_hold_the_figure_and_narrow_as_faces_grow() -> None:
    from robustness import drift, intervals

    rng = np.random.default_rng(1)
    widths = []
    for n in (200, 3200):
        labels = rng.integers(0, 7, n)
        predicted = np.where(rng.random(n) < 0.6, labels, rng.integers(0, 7, n))
        (acc_low, acc_high), (drift_low, drift_high) = intervals(labels, predicted, seed=3)
        assert acc_low < np.mean(predicted == labels) < acc_high
        assert drift_low <= drift(labels, predicted)[0] <= drift_high
        assert intervals(labels, predicted, seed=3) == ([acc_low, acc_high], [drift_low, drift_high])
        widths.append(acc_high - acc_low)
    # A binomial 95% interval: about 2 * 1.96 * sqrt(p * (1 - p) / n) wide, p = 0.6 + 0.4 / 7;
    # a quarter as wide at 16 times the faces.
    assert widths[0] == pytest.approx(2 * 1.96 * np.sqrt(0.657 * 0.343 / 200), rel=0.2)
    assert widths[1] < widths[0] / 3


def test_the_card_shows_an_interval_only_where_the_run_kept_one() -> None:
    from common import span

    assert span({"drift_95": [1.234, 1.8]}, "drift_95", 1, 2) == " [1.23-1.80]"
    assert span({"accuracy": 0.5}, "accuracy_95", 100, 1) == ""


@pytest.mark.parametrize("script", ["robustness.py", "quality_thresholds.py", "framing_jitter.py"])
def test_a_benchmark_given_no_data_says_so_in_one_sentence(script: str, tmp_path: Path) -> None:
    import subprocess

    bench = Path(__file__).resolve().parents[1] / "benchmarks" / script
    run = subprocess.run([sys.executable, str(bench), "--data", str(tmp_path / "missing.zip")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "missing.zip: no such file or folder" in run.stderr
    assert "Traceback" not in run.stderr, run.stderr
