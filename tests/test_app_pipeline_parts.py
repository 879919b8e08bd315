"""The Qt-free pieces of the pipeline: slot, tracking, smoothing, the batched analyzer, sources."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import GridDetector, ListSource
from fer_fixtures import assert_never_imported

from fer_desktop.faces import Face
from fer_desktop.models import MODEL_NAMES, architectures, get_model
from fer_desktop.pipeline import Frame, SourceError, open_source
from fer_desktop.pipeline.analyzer import MAX_FACES, FrameAnalyzer, classify
from fer_desktop.pipeline.background import LatestRequestWorker
from fer_desktop.pipeline.capture import CaptureWorker
from fer_desktop.pipeline.demo import DemoSource
from fer_desktop.pipeline.slot import LatestSlot
from fer_desktop.pipeline.smoothing import ProbabilitySmoother
from fer_desktop.pipeline.stats import PipelineStats
from fer_desktop.pipeline.tracking import RECHECK_EVERY, FaceTracker, iou


def test_latest_slot_keeps_the_newest_and_counts_drops() -> None:
    slot: LatestSlot[int] = LatestSlot(drop=True)
    assert slot.put(1) is False
    assert slot.put(2) is True
    assert slot.put(3) is True
    assert slot.take_nowait() == 3
    assert slot.take_nowait() is None
    assert slot.dropped == 2


def test_a_frame_never_replaces_an_end_marker_and_order_is_kept() -> None:
    # A closing source's last frames can arrive after the next source's end: that end must still be taken.
    slot: LatestSlot[object] = LatestSlot(drop=True, keep=lambda item: isinstance(item, str))
    slot.put(1)
    slot.put("end of source 2")
    assert slot.put(3) is True  # frame 1 dropped, the marker kept
    slot.put("end of source 3")
    assert [slot.take_nowait() for _ in range(4)] == ["end of source 2", 3, "end of source 3", None]
    assert slot.dropped == 1


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


def test_tracker_confirms_a_face_seen_in_consecutive_frames_only() -> None:
    tracker = FaceTracker(confirm_frames=3)
    face = Face(0, 0, 100, 100, 1)
    [track] = tracker.assign([face])
    assert not tracker.confirmed(track)
    tracker.assign([face])
    tracker.assign([])  # a gap breaks the run: the count starts again
    tracker.assign([face])
    tracker.assign([face])
    assert not tracker.confirmed(track)
    tracker.assign([face])
    assert tracker.confirmed(track)
    tracker.assign([])  # once confirmed, a missed frame does not unconfirm it
    assert tracker.assign([face]) == [track] and tracker.confirmed(track)


def test_tracker_asks_for_a_second_look_until_one_says_yes_then_never_again() -> None:
    looks: list[Face] = []
    answers = iter([False, True])

    def is_face(face: Face) -> bool:
        looks.append(face)
        return next(answers)

    tracker = FaceTracker(confirm_frames=1)
    face = Face(0, 0, 100, 100, 1)
    [track] = tracker.assign([face], is_face)
    assert not tracker.confirmed(track) and len(looks) == 1
    for _ in range(RECHECK_EVERY - 1):  # a candidate that failed waits before the next look
        tracker.assign([face], is_face)
    assert len(looks) == 1 and not tracker.confirmed(track)
    tracker.assign([face], is_face)
    assert len(looks) == 2 and tracker.confirmed(track)
    for _ in range(10):
        tracker.assign([face], is_face)
    assert len(looks) == 2  # a confirmed face costs no more looks


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


class HandshakeDetector(GridDetector):
    """Counts the frames it has begun to look at; ``begun`` is set at each."""

    def __init__(self) -> None:
        super().__init__(1)
        self.frames_begun = 0
        self.begun = threading.Condition()

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        with self.begun:
            self.frames_begun += 1
            self.begun.notify_all()
        return super().detect(frame_bgr)


class WaitingClassifier(CountingClassifier):
    """Classifies frame k only once the detector has begun frame k + 1: it can only finish if the two overlap."""

    def __init__(self, detector: HandshakeDetector, frames: int) -> None:
        super().__init__()
        self.detector, self.frames, self.overlapped = detector, frames, []

    def predict(self, faces: np.ndarray) -> np.ndarray:
        frame = len(self.batches) + 1
        if frame < self.frames:
            with self.detector.begun:
                self.overlapped.append(self.detector.begun.wait_for(lambda: self.detector.frames_begun > frame, 5.0))
        return super().predict(faces)


def test_the_faces_of_the_next_frame_are_found_while_this_one_is_classified(blank_frame: np.ndarray) -> None:
    from fer_desktop.headless import run_headless

    detector = HandshakeDetector()
    classifier = WaitingClassifier(detector, frames=8)
    summary = run_headless(lambda: ListSource([blank_frame] * 8, live=False), classifier,
                           detector_factory=lambda: detector, smoothing=0.0)
    assert summary.frames == 8 and summary.complete and len(classifier.batches) == 8
    assert classifier.overlapped == [True] * 7


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


class FlickeringDetector:
    """A steady face, and in every other frame a second box somewhere new: a detector's false alarms.

    Its second look says no to boxes left of x = 100.
    """

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, frame: np.ndarray) -> list[Face]:
        self.calls += 1
        faces = [Face(150, 50, 120, 120, 0.9), Face(0, 300, 90, 90, 0.8)]
        if self.calls % 2:
            faces.append(Face(300 + 40 * (self.calls % 5), 200, 80, 80, 0.6))
        return faces

    def is_face(self, frame: np.ndarray, face: Face) -> bool:
        return face.x >= 100

    def close(self) -> None:
        pass


def test_analyzer_reports_only_confirmed_faces_and_classifies_nothing_else(blank_frame: np.ndarray) -> None:
    analyzer = FrameAnalyzer(FlickeringDetector, confirm_frames=3)
    classifier = CountingClassifier()
    analyzer.classifier = classifier
    analyzer.open()
    results = [analyzer.analyze(_frame(i, blank_frame)) for i in range(8)]
    assert [len(r.faces) for r in results] == [0, 0, 1, 1, 1, 1, 1, 1]
    assert all(r.faces[0].box.x == 150 for r in results[2:])  # the steady face; the rejected one never shows
    assert [r.faces_detected for r in results[:2]] == [3, 2]  # what the detector saw is still counted
    # ... but not reported: a box the face check turned down is no face in view, nor in the summary.
    assert [r.faces_in_view for r in results] == [0, 0, 1, 1, 1, 1, 1, 1]
    from fer_desktop.export.summary import RunSummary
    from fer_desktop.ui.window import describe_faces

    summary = RunSummary()
    for r in results:
        summary.add(r)
    assert (summary.frames_with_face, summary.max_faces_in_frame, summary.frames_over_cap) == (6, 1, 0)
    assert describe_faces(results[2]) == "1 face"
    assert classifier.batches == [1] * 6  # unconfirmed boxes never reach the model


def test_mirror_averaged_models_see_each_crop_and_its_mirror() -> None:
    class LeftBright:
        def __init__(self, name: str) -> None:
            self.name, self.batches = name, []

        def predict(self, faces: np.ndarray) -> np.ndarray:
            self.batches.append(len(faces))
            p = np.zeros((len(faces), 7), np.float32)
            p[:, 0] = faces[:, :, :24].mean((1, 2)) / 255  # depends on which side is bright
            p[:, 1] = 1 - p[:, 0]
            return p

    crops = np.zeros((2, 48, 48), np.uint8)
    crops[:, :, :24] = 255  # bright on the left: the mirror image is bright on the right
    plain, mirrored = LeftBright("resnet18"), LeftBright(next(n for n in architectures() if get_model(n).mirror_average))
    np.testing.assert_allclose(classify(plain, crops)[:, 0], 1.0)
    np.testing.assert_allclose(classify(mirrored, crops)[:, 0], 0.5)  # (1 + 0) / 2
    assert plain.batches == [2] and mirrored.batches == [4]  # one batch, crops and mirrors together


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
    assert_never_imported(("fer_desktop.headless", "fer_desktop.pipeline", "fer_desktop.export.recorder", "fer_desktop.app"),
                          ("PySide6", "pyqtgraph", "shiboken6"))


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



def _burst(keep_all: bool) -> list[tuple[int, object]]:
    """Requests 1-4 to a worker, 2-4 while job 1 runs (job 3 fails); what came out, in order."""
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    done: list[tuple[int, object]] = []

    def job(n: int) -> int:
        if n == 1:
            started.set()
            release.wait(5)
        if n == 3:
            raise OSError("disk full")
        return n * 10

    def note(n: int, outcome: object) -> None:
        done.append((n, outcome))
        if n == 4:
            finished.set()

    worker = LatestRequestWorker(job, note, lambda n, e: note(n, str(e)), "fer-test-worker", keep_all=keep_all)
    worker.request(1)
    assert started.wait(5)
    for n in (2, 3, 4):
        worker.request(n)
    release.set()
    assert finished.wait(5)
    worker.stop()
    assert not worker.is_alive()
    return done


def test_background_worker_runs_only_the_newest_of_a_burst() -> None:
    assert _burst(keep_all=False) == [(1, 10), (4, 40)]


def test_a_background_worker_that_keeps_all_runs_every_request_in_order() -> None:
    assert _burst(keep_all=True) == [(1, 10), (2, 20), (3, "disk full"), (4, 40)]  # a failure stops none
