"""The face stage: detection on a known photo, FER-2013 framing and cropping."""

from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from skimage import data

from fer_desktop.faces import (
    FER_DX, FER_DY, FER_SCALE, KEYPOINTS, Face, FaceDetector, crop_box, crop_face, crop_faces, fer_box, roll_degrees,
)


@pytest.fixture(scope="module")
def detector() -> Iterator[FaceDetector]:
    with FaceDetector() as d:
        yield d


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def test_finds_the_astronaut(detector: FaceDetector, astronaut: np.ndarray) -> None:
    faces = detector.detect(astronaut)
    assert len(faces) == 1
    f = faces[0]
    # Her face spans roughly x 180-270, y 80-180 of the 512x512 photo.
    assert 200 < f.x + f.w / 2 < 250 and 105 < f.y + f.h / 2 < 155
    assert 70 < f.w < 120 and 70 < f.h < 120 and f.score > 0.8


def test_grayscale_frames_work(detector: FaceDetector, astronaut: np.ndarray) -> None:
    assert len(detector.detect(cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY))) == 1


def test_no_faces_in_blank_or_camera_noise(detector: FaceDetector) -> None:
    noise = np.random.default_rng(0).normal(128, 20, (480, 640, 3)).clip(0, 255).astype(np.uint8)
    assert detector.detect(np.zeros((480, 640, 3), np.uint8)) == []
    assert detector.detect(noise) == []


def test_missing_model_is_named(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing.tflite"):
        FaceDetector(tmp_path / "nothing.tflite")


def test_closed_detector_refuses_work() -> None:
    d = FaceDetector()
    d.close()
    d.close()
    with pytest.raises(RuntimeError, match="closed"):
        d.detect(np.zeros((64, 64, 3), np.uint8))


def test_constants_are_the_measured_ones() -> None:
    # The boxes below were worked out by hand from these values (docs/framing.md).
    assert (FER_SCALE, FER_DX, FER_DY) == (1.19, 0.0, -0.10)


@pytest.mark.parametrize(
    "face, box",
    [
        # side 1.19 * 200 = 238; centre (100, 100 - 20); corner (100 - 119, 80 - 119)
        (Face(0, 0, 200, 200, 1.0), (-19, -39, 219, 199)),
        # side 1.19 * 81 = 96.4 -> 96; centre (50.5, 60.5 - 8.1 = 52.4); corner (2.5 -> 3, 4.4 -> 4)
        (Face(10, 20, 81, 81, 0.9), (3, 4, 99, 100)),
        # mean side 62 -> 73.8 -> 74; centre (332, 230 - 6.2 = 223.8); corner (295, 186.8 -> 187)
        (Face(300, 200, 64, 60, 0.7), (295, 187, 369, 261)),
    ],
)
def test_fer_box_by_hand(face: Face, box: tuple[int, int, int, int]) -> None:
    assert fer_box(face) == box


def test_crop_shape_and_order(astronaut: np.ndarray) -> None:
    faces = [Face(177, 82, 95, 95, 0.9), Face(300, 300, 60, 60, 0.6)]
    crops = crop_faces(astronaut, faces)
    assert crops.shape == (2, 48, 48) and crops.dtype == np.uint8
    for crop, face in zip(crops, faces):
        np.testing.assert_array_equal(crop, crop_box(astronaut, fer_box(face)))
    assert not np.array_equal(crops[0], crops[1])


def test_no_faces_no_crops(astronaut: np.ndarray) -> None:
    crops = crop_faces(astronaut, [])
    assert crops.shape == (0, 48, 48) and crops.dtype == np.uint8


def test_crop_past_the_frame_repeats_its_edge() -> None:
    frame = np.tile(np.arange(0, 240, 2, dtype=np.uint8), (120, 1))  # brightens to the right
    crop = crop_box(frame, (-48, 24, 48, 120))  # left half outside the frame
    assert crop.shape == (48, 48)
    # Equalisation maps equal pixels to equal pixels, so the padded half stays flat.
    assert (crop[:, :23] == crop[0, 0]).all()
    assert crop[0, -1] > crop[0, 0]


def test_box_wholly_outside_is_an_error() -> None:
    with pytest.raises(ValueError, match="outside"):
        crop_box(np.zeros((100, 100), np.uint8), (200, 200, 248, 248))


def test_exact_box_gives_back_the_face() -> None:
    face = cv2.equalizeHist(cv2.resize(np.random.default_rng(1).integers(0, 256, (12, 12), np.uint8), (48, 48)))
    frame = cv2.cvtColor(np.pad(cv2.resize(face, (192, 192), interpolation=cv2.INTER_CUBIC), 40, "edge"),
                         cv2.COLOR_GRAY2BGR)
    crop = crop_box(frame, (40, 40, 232, 232))
    assert np.abs(crop.astype(int) - face).mean() < 6


def rotated(image: np.ndarray, degrees: float, about: tuple[float, float]) -> np.ndarray:
    matrix = cv2.getRotationMatrix2D(about, degrees, 1.0)
    return cv2.warpAffine(image, matrix, image.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)


def test_detector_gives_the_eyes_nose_and_mouth(detector: FaceDetector, astronaut: np.ndarray) -> None:
    face = detector.detect(astronaut)[0]
    assert len(face.keypoints) == len(KEYPOINTS)
    right_eye, left_eye, nose, mouth = face.keypoints[:4]
    assert right_eye[0] < nose[0] < left_eye[0]  # unmirrored: her right eye is on the image's left
    assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]
    assert abs(roll_degrees(face)) < 10  # she holds her head nearly upright


@pytest.mark.parametrize("degrees", [-30, 30])
def test_upright_crop_of_a_rolled_face_matches_the_upright_crop(
    detector: FaceDetector, astronaut: np.ndarray, degrees: float
) -> None:
    upright = crop_faces(astronaut, detector.detect(astronaut), upright=False)[0]
    frame = rotated(astronaut, degrees, (225, 130))
    face = detector.detect(frame)[0]
    assert abs(roll_degrees(face)) > 10  # the keypoints see the lean
    straight = crop_faces(frame, [face], upright=False)[0]
    turned = crop_faces(frame, [face])[0]
    error = lambda crop: np.abs(crop.astype(int) - upright).mean()  # noqa: E731
    assert error(turned) < 0.75 * error(straight)


def test_a_face_without_keypoints_or_leaning_little_is_cut_straight(astronaut: np.ndarray) -> None:
    face = Face(177, 82, 95, 95, 0.9)
    leaning = Face(177, 82, 95, 95, 0.9, ((200.0, 105.0), (246.0, 105.0 + 46 * math.tan(math.radians(3)))))
    for f in (face, leaning):
        np.testing.assert_array_equal(crop_face(astronaut, f), crop_box(astronaut, fer_box(face)))


def test_roll_is_measured_from_the_eyes_either_way_round() -> None:
    down_right = ((100.0, 100.0), (200.0, 200.0))  # the eye on the image's right is lower: a clockwise lean
    assert roll_degrees(Face(0, 0, 1, 1, 1, down_right)) == pytest.approx(45)
    assert roll_degrees(Face(0, 0, 1, 1, 1, down_right[::-1])) == pytest.approx(45)  # a mirrored frame
    assert roll_degrees(Face(0, 0, 1, 1, 1)) == 0.0


def test_native_chatter_is_dropped_and_everything_else_kept(capfd: pytest.CaptureFixture[str]) -> None:
    import os
    import sys

    from fer_desktop.faces.native_log import native_chatter_filtered

    with native_chatter_filtered():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"WARNING: Logging before InitGoogle() is written to STDERR\n")
        os.write(2, b"W0000 00:00:1796314311.327665    3055 inference_runner_litert.cc:1433] Input tensor memory "
                    b"is not aligned according to LiteRt's memory alignment requirements.\n")
        os.write(2, b"E0000 00:00:1.0  1 detector.cc:1] a real error\n")
        print("a message of ours", file=sys.stderr)
    # (under capfd Python's stderr is not descriptor 2, so the two may come back in either order)
    assert sorted(capfd.readouterr().err.splitlines()) == ["E0000 00:00:1.0  1 detector.cc:1] a real error",
                                                            "a message of ours"]


def test_a_detector_prints_nothing_when_made_run_and_closed() -> None:
    import subprocess
    import sys

    script = ("import numpy as np; from fer_desktop.faces import FaceDetector\n"
              "with FaceDetector() as d: d.detect(np.zeros((240, 320, 3), np.uint8))\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert run.returncode == 0 and run.stderr == b"", run.stderr.decode()[-2000:]
