"""Faces in a frame: MediaPipe's BlazeFace short-range detector, shipped in ``assets/`` (see fer_desktop.resources).

Faces too small for it (under about 120 px high in a 640x480 frame) are looked
for by fer_desktop/faces/small.py with the same network on enlarged windows.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import cv2
import numpy as np

from fer_desktop.faces.native_log import native_chatter_filtered
from fer_desktop.resources import DETECTOR_MODEL

if TYPE_CHECKING:
    from fer_desktop.faces.presence import FacePresence
    from fer_desktop.faces.small import SmallFaceFinder

DEFAULT_MODEL = DETECTOR_MODEL
# BlazeFace's keypoints, in its order; "right" is the person's right (on the image's left, unmirrored).
KEYPOINTS = ("right eye", "left eye", "nose tip", "mouth", "right ear", "left ear")


@dataclass(frozen=True)
class Face:
    """A detector box in frame pixels (top-left corner and size), its confidence and keypoints.

    MediaPipe clamps x and y at 0 but not the far edges (docs/framing.md).
    ``keypoints`` are BlazeFace's six (x, y) frame points in ``KEYPOINTS`` order,
    or none where a face came from elsewhere.
    """

    x: float
    y: float
    w: float
    h: float
    score: float
    keypoints: tuple[tuple[float, float], ...] = ()


def iou(a: Face, b: Face) -> float:
    """Intersection over union of two boxes."""
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / (a.w * a.h + b.w * b.h - inter)


def as_rgb(frame: np.ndarray) -> np.ndarray:
    """A BGR or grayscale uint8 frame as contiguous RGB, the layout MediaPipe reads."""
    if frame.dtype != np.uint8 or not (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 3)):
        raise ValueError(f"expected an (H, W) or (H, W, 3) uint8 frame, got {frame.shape} {frame.dtype}")
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB if frame.ndim == 2 else cv2.COLOR_BGR2RGB)


class FaceDetector:
    """Finds faces in BGR (or grayscale) frames; close it explicitly or use it as a context manager.

    One instance per thread: the underlying task runs one image at a time.
    """

    def __init__(self, model_path: Path | str = DEFAULT_MODEL, min_score: float = 0.5,
                 presence: FacePresence | None | bool = True, small_faces: bool = True,
                 still_images: bool = False, smallest_face: float = 0.0) -> None:
        """``presence``: the second look ``is_face`` takes (True: the shipped landmark model; False: none).

        ``small_faces``: also look for faces too small for MediaPipe's pass; ``still_images``:
        each frame is a picture of its own, searched whole, rather than a frame of a video;
        ``smallest_face``: in stills, look for no face under this many pixels high.
        """
        model_path = Path(model_path)
        if not model_path.is_file():
            raise FileNotFoundError(
                f"{model_path}: face detector model not found; it ships in the repository's assets/ folder "
                f"(restore it with `git checkout -- assets/{model_path.name}`)"
            )
        # mediapipe loads here, not on import: the trainer and the evaluator import this module and
        # mostly never detect (and a GPU training machine may not have mediapipe at all).
        import mediapipe as mp
        from mediapipe.tasks.python.core.base_options import BaseOptions
        from mediapipe.tasks.python.vision import FaceDetector as MpFaceDetector
        from mediapipe.tasks.python.vision import FaceDetectorOptions, RunningMode

        self._mp = mp
        options = FaceDetectorOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=RunningMode.IMAGE,
            min_detection_confidence=min_score,
        )
        with native_chatter_filtered():
            self._task: MpFaceDetector | None = MpFaceDetector.create_from_options(options)
        self._first_run = True
        if presence is True:
            from fer_desktop.faces.presence import FacePresence  # it crops with crop.py, which needs Face from here

            presence = FacePresence()
        self._presence = presence or None
        self._small: SmallFaceFinder | None = None
        if small_faces:
            from fer_desktop.faces.blazeface import ConvolutionalBlazeFace  # they import Face from here
            from fer_desktop.faces.small import SmallFaceFinder

            self._small = SmallFaceFinder(self._presence, still_images, ConvolutionalBlazeFace(min_score=min_score),
                                          smallest_face)

    def is_face(self, frame_bgr: np.ndarray, face: Face) -> bool:
        """The second look: whether the face-landmark model also sees a face in this box (always yes without it)."""
        return self._presence is None or self._presence.is_face(frame_bgr, face)

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        """Every face above ``min_score``, most confident first; small ones only once the second look passed them."""
        if self._task is None:
            raise RuntimeError("FaceDetector is closed")
        rgb = as_rgb(frame_bgr)
        height, width = rgb.shape[:2]
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        with native_chatter_filtered() if self._first_run else nullcontext():  # the first run warns on alignment
            found = self._task.detect(image).detections
        self._first_run = False
        faces = [
            Face(
                float(d.bounding_box.origin_x),
                float(d.bounding_box.origin_y),
                float(d.bounding_box.width),
                float(d.bounding_box.height),
                float(d.categories[0].score),
                tuple((k.x * width, k.y * height) for k in d.keypoints or ()),
            )
            for d in found
        ]
        if self._small is not None:
            faces += self._small.find(rgb, frame_bgr, faces)
        return sorted(faces, key=lambda f: f.score, reverse=True)

    def close(self) -> None:
        """Release the native detector; safe to call twice."""
        # Not left to the garbage collector: at interpreter exit MediaPipe's own
        # finaliser runs after its worker threads are gone and prints a traceback.
        if self._task is not None:
            with native_chatter_filtered():
                self._task.close()
            self._task = None

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
