"""Faces too small for MediaPipe's pass: the convolutional BlazeFace, the windows, and the search in stills and video."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from skimage import data

from fer_desktop.faces import Face, FaceDetector
from fer_desktop.faces.blazeface import ConvolutionalBlazeFace
from fer_desktop.faces.small import LARGEST_INPUT_FACE, SWEEP_EVERY_WITH_FACES, ZOOMS, whole_frame, windows
from fer_desktop.pipeline.tracking import iou

FRAME = (480, 640)
ASTRONAUT_FACE = (173, 67, 103)  # x, y, side of MediaPipe's box on the 512x512 photo
SWEEP = len(windows(FRAME[1], FRAME[0]))


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def wall_with_astronaut(astronaut: np.ndarray, face_height: float, at: tuple[int, int]) -> tuple[np.ndarray, Face]:
    """A plain 640x480 wall with the astronaut shrunk so that her face is ``face_height`` px high; her face box."""
    k = face_height / ASTRONAUT_FACE[2]
    photo = cv2.resize(astronaut, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    frame = np.empty((*FRAME, 3), np.uint8)
    frame[:] = (110, 130, 150)
    x0, y0 = at
    h, w = min(photo.shape[0], FRAME[0] - y0), min(photo.shape[1], FRAME[1] - x0)
    frame[y0 : y0 + h, x0 : x0 + w] = photo[:h, :w]
    x, y, side = ASTRONAUT_FACE
    return frame, Face(x0 + k * x, y0 + k * y, k * side, k * side, 1.0)


@pytest.fixture(scope="module")
def still_detector() -> Iterator[FaceDetector]:
    with FaceDetector(still_images=True) as d:
        yield d


def test_the_convolutional_network_decodes_as_mediapipe_does(astronaut: np.ndarray) -> None:
    small = cv2.resize(astronaut, (128, 128), interpolation=cv2.INTER_AREA)
    with FaceDetector(presence=False, small_faces=False) as d:
        [theirs] = d.detect(small)
    [ours] = ConvolutionalBlazeFace().detect(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    assert abs(ours.score - theirs.score) < 1e-3
    # MediaPipe's task rounds its box to whole pixels, not its keypoints.
    assert max(abs(a - b) for a, b in zip((ours.x, ours.y, ours.w, ours.h), (theirs.x, theirs.y, theirs.w, theirs.h))) <= 1
    np.testing.assert_allclose(ours.keypoints, theirs.keypoints, atol=0.01)


def test_the_network_needs_sides_in_sixteens() -> None:
    with pytest.raises(ValueError, match="multiples of 16"):
        ConvolutionalBlazeFace().detect(np.zeros((100, 128, 3), np.uint8))


@pytest.mark.parametrize("width, height", [(640, 480), (1280, 720)])
def test_the_windows_of_a_sweep_hold_every_face_their_zoom_finds_whole(width: int, height: int) -> None:
    for zoom, _, _ in ZOOMS:
        own = [w for w in windows(width, height) if w.input_w / w.w == zoom]
        largest = 48 if zoom > 1 else 190  # the largest face a zoom must find whole (the next zoom takes over)
        for x in range(0, width - largest + 1, 8):
            for y in range(0, height - largest + 1, 8):
                assert any(w.x <= x and w.y <= y and x + largest <= w.x + w.w and y + largest <= w.y + w.h for w in own)


def test_a_still_is_searched_only_at_the_zooms_that_can_find_a_face_of_the_smallest_size_asked() -> None:
    assert [w.input_w / w.w for w in whole_frame(640, 480)] == [zoom for zoom, _, _ in ZOOMS]
    assert [w.input_w / w.w for w in whole_frame(640, 480, smallest_face=100)] == [0.5]
    assert whole_frame(640, 480, smallest_face=LARGEST_INPUT_FACE / 0.5 + 1) == []


def test_the_usual_astronaut_is_still_found_once_in_the_same_place(astronaut: np.ndarray) -> None:
    with FaceDetector(small_faces=False) as before, FaceDetector(still_images=True) as after:
        [old], [new] = before.detect(astronaut), after.detect(astronaut)
    assert new == old


@pytest.mark.parametrize("height, at", [(24, (300, 200)), (16, (40, 30)), (32, (560, 380)), (64, (100, 250))])
def test_a_small_astronaut_is_found_in_a_still(still_detector: FaceDetector, astronaut: np.ndarray,
                                               height: float, at: tuple[int, int]) -> None:
    frame, truth = wall_with_astronaut(astronaut, height, at)
    faces = still_detector.detect(frame)
    assert len(faces) == 1 and iou(faces[0], truth) > 0.5, (faces, truth)


def test_a_small_astronaut_is_found_within_one_sweep_of_a_video_and_then_in_every_frame(astronaut: np.ndarray) -> None:
    frame, truth = wall_with_astronaut(astronaut, 24, (420, 60))
    with FaceDetector() as d:
        found = [d.detect(frame) for _ in range(SWEEP + 10)]
    first = next(i for i, faces in enumerate(found) if faces)
    assert first < SWEEP
    assert all(len(faces) == 1 and iou(faces[0], truth) > 0.5 for faces in found[first:])


def test_a_far_face_beside_a_near_one_is_found_within_a_slower_sweep_and_the_near_one_is_kept(
        astronaut: np.ndarray) -> None:
    frame, far = wall_with_astronaut(astronaut, 24, (540, 360))
    k = 150 / ASTRONAUT_FACE[2]  # her face 150 px high: near enough for MediaPipe's pass
    near_photo = cv2.resize(astronaut, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)[: FRAME[0], :450]
    frame[: near_photo.shape[0], : near_photo.shape[1]] = near_photo
    with FaceDetector(small_faces=False) as d:
        [near] = d.detect(frame)
    with FaceDetector() as d:
        found = [d.detect(frame) for _ in range(SWEEP * SWEEP_EVERY_WITH_FACES)]
    assert all(any(iou(f, near) > 0.5 for f in faces) for faces in found)
    first = next(i for i, faces in enumerate(found) if any(iou(f, far) > 0.5 for f in faces))
    assert all(len(faces) == 2 and any(iou(f, far) > 0.5 for f in faces) for faces in found[first:])
    assert first < len(found) - 10


def test_a_small_face_that_leaves_is_let_go(astronaut: np.ndarray) -> None:
    frame, _ = wall_with_astronaut(astronaut, 24, (300, 200))
    empty = np.empty_like(frame)
    empty[:] = frame[0, 0]
    with FaceDetector() as d:
        assert any(d.detect(frame) for _ in range(SWEEP))
        assert [d.detect(empty) for _ in range(5)] == [[]] * 5


def face_free_frames() -> Iterator[np.ndarray]:
    """Generated frames with no face: noise, gradients, stripes, shapes, and scikit-image's cat, coffee and colour wheel."""
    rng = np.random.default_rng(3)
    yield rng.normal(128, 30, (*FRAME, 3)).clip(0, 255).astype(np.uint8)
    yy, xx = np.mgrid[0 : FRAME[0], 0 : FRAME[1]]
    yield np.dstack([xx * 255 // FRAME[1], yy * 255 // FRAME[0], np.full(FRAME, 128)]).astype(np.uint8)
    yield (np.dstack([((xx // 12 + yy // 12) % 2) * 255] * 3)).astype(np.uint8)
    shapes = np.full((*FRAME, 3), 200, np.uint8)
    for _ in range(30):
        centre = (int(rng.integers(0, FRAME[1])), int(rng.integers(0, FRAME[0])))
        cv2.circle(shapes, centre, int(rng.integers(3, 30)), rng.integers(0, 255, 3).tolist(), -1)
    yield shapes
    for picture in (data.chelsea(), data.coffee(), data.colorwheel()):
        yield cv2.resize(cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), FRAME[::-1], interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("k", range(7))
def test_face_free_frames_give_no_face(still_detector: FaceDetector, k: int) -> None:
    frame = list(face_free_frames())[k]
    # As the app decides: a face the detector reports and the second look passes (MediaPipe's
    # pass calls the colour wheel a face; the second look turns it down, as it did before).
    assert [f for f in still_detector.detect(frame) if still_detector.is_face(frame, f)] == []
