"""The Qt-free pieces of the pipeline: slot, tracking, smoothing, the batched analyzer, sources."""

from __future__ import annotations

import ast
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import GridDetector, ListSource

from fer_desktop.faces import Face
from fer_desktop.models import MODEL_NAMES, get_model
from fer_desktop.pipeline import Frame, SourceError, open_source
from fer_desktop.pipeline.analyzer import MAX_FACES, FrameAnalyzer
from fer_desktop.pipeline.background import LatestRequestWorker
from fer_desktop.pipeline.capture import CaptureWorker
from fer_desktop.pipeline.demo import DemoSource
from fer_desktop.pipeline.slot import LatestSlot
from fer_desktop.pipeline.smoothing import ProbabilitySmoother
from fer_desktop.pipeline.stats import PipelineStats
from fer_desktop.pipeline.tracking import FaceTracker, iou


def test_latest_slot_keeps_the_newest_and_counts_drops() -> None:
    slot: LatestSlot[int] = LatestSlot(drop=True)
    assert slot.put(1) is False
    assert slot.put(2) is True
    assert slot.put(3) is True
    assert slot.take_nowait() == 3
    assert slot.take_nowait() is None
    assert slot.dropped == 2


def test_waiting_slot_blocks_the_producer_until_taken() -> None:
    slot: LatestSlot[int] = LatestSlot(drop=False)
    slot.put(1)
    second_put = threading.Thread(target=slot.put, args=(2,))
    second_put.start()
    second_put.join(0.2)
    assert second_put.is_alive()  # no room: it waits rather than dropping frame 1
    assert slot.take() == 1
    second_put.join(2)
    assert not second_put.is_alive()
    assert slot.take() == 2
    assert slot.dropped == 0


def test_take_returns_none_once_stopped() -> None:
    slot: LatestSlot[int] = LatestSlot()
    stop = threading.Event()
    got = []
    taker = threading.Thread(target=lambda: got.append(slot.take(stop)))
    taker.start()
    stop.set()
    slot.wake()
    taker.join(2)
    assert got == [None]


def test_tracker_keeps_ids_of_moving_faces_and_gives_new_ones() -> None:
    tracker = FaceTracker()
    a, b = Face(0, 0, 100, 100, 1), Face(300, 0, 100, 100, 1)
    assert tracker.assign([a, b]) == [1, 2]
    moved_a, moved_b = Face(10, 5, 100, 100, 1), Face(290, 0, 105, 100, 1)
    assert tracker.assign([moved_b, moved_a]) == [2, 1]
    assert tracker.assign([Face(600, 300, 80, 80, 1)]) == [3]
    assert iou(a, a) == pytest.approx(1.0) and iou(a, b) == 0.0


def test_tracker_retires_faces_missing_too_long() -> None:
    tracker = FaceTracker(max_missed=2)
    face = Face(0, 0, 100, 100, 1)
    tracker.assign([face])
    tracker.assign([])
    tracker.assign([])
    assert tracker.assign([face]) == [1]  # missed twice: still known
    for _ in range(3):
        tracker.assign([])
    assert tracker.assign([face]) == [2]


def test_smoother_follows_a_change_gradually_and_forgets_gone_faces() -> None:
    smoother = ProbabilitySmoother(0.5)
    first, second = np.eye(7, dtype=np.float32)[0], np.eye(7, dtype=np.float32)[3]
    np.testing.assert_allclose(smoother.update(1, first), first)
    np.testing.assert_allclose(smoother.update(1, second), 0.5 * first + 0.5 * second)
    assert np.argmax(smoother.update(1, second)) == 3
    smoother.retain([])
    np.testing.assert_allclose(smoother.update(1, first), first)
    smoother.smoothing = 0.0
    np.testing.assert_allclose(smoother.update(1, second), second)
    with pytest.raises(ValueError):
        smoother.smoothing = 1.0


class CountingClassifier:
    """Records the batch sizes it is called with."""

    name = "counting"

    def __init__(self) -> None:
        self.batches: list[int] = []

    def predict(self, faces: np.ndarray) -> np.ndarray:
        assert faces.dtype == np.uint8 and faces.shape[1:] == (48, 48)
        self.batches.append(len(faces))
        return np.full((len(faces), 7), 1 / 7, np.float32)


def _frame(index: int, image: np.ndarray, source_id: int = 1) -> Frame:
    return Frame(source_id, index, 0.0, index / 30, image)


def test_analyzer_classifies_the_largest_faces_in_one_batch(blank_frame: np.ndarray) -> None:
    analyzer = FrameAnalyzer(lambda: GridDetector(20))
    classifier = CountingClassifier()
    analyzer.classifier = classifier
    analyzer.open()
    result = analyzer.analyze(_frame(0, blank_frame))
    analyzer.close()
    assert classifier.batches == [MAX_FACES]
    assert result.faces_detected == 20 and len(result.faces) == MAX_FACES
    areas = [f.area for f in result.faces]
    assert areas == sorted(areas, reverse=True)
    assert result.model == "counting"
    assert all(f.probs is not None and f.label is not None for f in result.faces)


def test_analyzer_without_a_model_still_finds_faces(blank_frame: np.ndarray) -> None:
    analyzer = FrameAnalyzer(lambda: GridDetector(2))
    analyzer.open()
    result = analyzer.analyze(_frame(0, blank_frame))
    assert len(result.faces) == 2 and result.model is None
    assert result.faces[0].probs is None and result.faces[0].label is None


def test_analyzer_restarts_tracking_when_the_source_changes(blank_frame: np.ndarray) -> None:
    analyzer = FrameAnalyzer(lambda: GridDetector(1))
    analyzer.open()
    assert analyzer.analyze(_frame(0, blank_frame)).faces[0].track_id == 1
    assert analyzer.analyze(_frame(1, blank_frame)).faces[0].track_id == 1
    assert analyzer.analyze(_frame(0, blank_frame, source_id=2)).faces[0].track_id == 2


def test_demo_source_moves_mirrors_and_runs_at_30_fps() -> None:
    source = DemoSource(frames=130)
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    assert len(frames) == 130 and source.fps == 30.0
    assert frames[0].shape == (480, 640, 3) and frames[0].dtype == np.uint8
    assert not np.array_equal(frames[0], frames[15])
    # After four seconds the photo is mirrored: the frame is no longer close to the first one's layout.
    assert np.abs(frames[0].astype(int) - frames[120].astype(int)).mean() > 20


def test_open_source_explains_what_is_wrong(tmp_path) -> None:
    with pytest.raises(SourceError, match="no such video file"):
        open_source(str(tmp_path / "missing.mp4"))
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(SourceError, match="not a video"):
        open_source(str(text))
    with pytest.raises(SourceError, match="no camera opens"):
        open_source("97")


def test_capture_worker_reports_a_camera_that_disappears(blank_frame: np.ndarray) -> None:
    source = ListSource([blank_frame] * 3, fail_with=SourceError("fake camera stopped delivering frames"))
    slot: LatestSlot = LatestSlot(drop=False)
    frames = []
    worker = CaptureWorker(lambda: source, 1, slot, PipelineStats(), lambda info: None, frames.append)
    worker.start()
    items = [slot.take() for _ in range(4)]
    worker.join(2)
    assert [f.index for f in items[:3]] == [0, 1, 2] and len(frames) == 3
    assert items[3].error == "fake camera stopped delivering frames" and items[3].frames == 3
    assert source.closed


def test_pipeline_modules_do_not_import_qt() -> None:
    code = (
        "import sys, fer_desktop.headless, fer_desktop.pipeline, fer_desktop.export, fer_desktop.app; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "fer_desktop" / "models" / "registry.py"


def model_name_literals(path: Path) -> list[str]:
    """Where ``path`` compares something with a model's name written out, or writes out a fusion's name at all."""
    names = set(MODEL_NAMES)
    fusions = {n for n in names if get_model(n).is_fusion}
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            literals = [e for o in operands for e in ([o] if isinstance(o, ast.Constant) else getattr(o, "elts", []))]
            if any(isinstance(c, ast.Constant) and c.value in names for c in literals):
                found.append(f"{path}:{node.lineno} compares with a model name")
        elif isinstance(node, ast.Constant) and node.value in fusions:
            found.append(f"{path}:{node.lineno} names {node.value!r}")
    return found


def test_only_the_registry_names_models() -> None:
    # Adding a model is adding a registry entry: a name spelt out elsewhere would be a second place to change.
    files = [f for folder in ("fer_desktop", "trainer", "benchmarks") for f in (ROOT / folder).rglob("*.py")]
    assert REGISTRY in files
    found = [hit for f in files if f != REGISTRY for hit in model_name_literals(f)]
    assert not found, found


def test_the_registry_rule_catches_a_comparison(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('def f(name):\n    return name == "vgg19" or name in ("x", "squeezenet") or "ensemble"\n')
    assert len(model_name_literals(bad)) == 3



def test_background_worker_runs_only_the_newest_of_a_burst() -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    done = []

    def job(n: int) -> int:
        if n == 1:
            started.set()
            release.wait(5)
        return n * 10

    def on_done(n: int, result: int) -> None:
        done.append((n, result))
        if n == 4:
            finished.set()

    worker = LatestRequestWorker(job, on_done, lambda n, e: None, "fer-test-worker")
    worker.request(1)
    assert started.wait(5)  # requests 2-4 arrive while job 1 runs
    for n in (2, 3, 4):
        worker.request(n)
    release.set()
    assert finished.wait(5)
    worker.stop()
    assert done == [(1, 10), (4, 40)] and not worker.is_alive()
