"""From detector boxes to 48x48 grayscale crops framed and toned the way FER-2013's are.

The only place the framing lives: the app, the headless mode and the evaluator
all crop through ``crop_faces``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from fer_desktop.emotions import FACE_SIZE
from fer_desktop.faces.detector import Face

# Measured on FER-2013 by trainer/measure_framing.py; method and spread in docs/framing.md.
FER_SCALE = 1.19  # side of the FER-2013 square / side of the detector box
FER_DX = 0.0  # FER-2013 centre minus box centre, as a fraction of the box side (+ right)
FER_DY = -0.10  # the same vertically (+ down): FER shows more forehead than chin
# Below this roll a crop is cut straight: FER-2013's own faces lean this much, and
# BlazeFace's eye points wobble by a few degrees from frame to frame.
UPRIGHT_MIN_DEGREES = 5.0


def fer_box(face: Face) -> tuple[int, int, int, int]:
    """The square (x0, y0, x1, y1) FER-2013 would crop around a face; it may leave the frame."""
    size = (face.w + face.h) / 2
    side = max(1, math.floor(FER_SCALE * size + 0.5))
    x0 = math.floor(face.x + face.w / 2 + FER_DX * size - side / 2 + 0.5)
    y0 = math.floor(face.y + face.h / 2 + FER_DY * size - side / 2 + 0.5)
    return x0, y0, x0 + side, y0 + side


def crop_box(frame_bgr: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """One 48x48 grayscale, histogram-equalised crop of a BGR or grayscale frame.

    What lies outside the frame repeats its edge.
    """
    height, width = frame_bgr.shape[:2]
    x0, y0, x1, y1 = box
    inner = frame_bgr[max(y0, 0) : min(y1, height), max(x0, 0) : min(x1, width)]
    if inner.size == 0:
        raise ValueError(f"box {box} lies wholly outside the {width}x{height} frame")
    gray = cv2.cvtColor(inner, cv2.COLOR_BGR2GRAY) if inner.ndim == 3 else inner
    # Replicating the edge keeps the padded band as bright as what it continues;
    # a constant fill would add a hard edge that FER-2013 faces seldom show.
    padded = cv2.copyMakeBorder(
        gray, max(-y0, 0), max(y1 - height, 0), max(-x0, 0), max(x1 - width, 0), cv2.BORDER_REPLICATE
    )
    face = cv2.resize(padded, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
    # FER-2013's faces are each histogram-equalised at 48x48 (docs/framing.md);
    # a live crop left at the camera's contrast would be out of distribution.
    return cv2.equalizeHist(face)


def roll_degrees(face: Face) -> float:
    """How far the head leans sideways (+ clockwise as seen), from the eye keypoints; 0 without them."""
    if len(face.keypoints) < 2:
        return 0.0
    (rx, ry), (lx, ly) = face.keypoints[:2]
    if lx < rx:  # a mirrored image: the person's left eye on the image's left
        rx, ry, lx, ly = lx, ly, rx, ry
    return math.degrees(math.atan2(ly - ry, lx - rx))


def upright_crop(frame_bgr: np.ndarray, face: Face, degrees: float) -> np.ndarray:
    """Like ``crop_box(frame, fer_box(face))``, with the square turned by ``degrees`` to lie along the eyes.

    The framing offsets apply along the face's own axes: the forehead is
    "up" for the face, not for the frame.
    """
    size = (face.w + face.h) / 2
    side = max(1, math.floor(FER_SCALE * size + 0.5))
    a = math.radians(degrees)
    cos, sin = math.cos(a), math.sin(a)
    # Output pixel p maps to the frame point centre + R @ (p - side/2 + offset): R turns the
    # face's axes into the frame's, so the square follows the head.
    ox, oy = FER_DX * size - side / 2, FER_DY * size - side / 2
    cx, cy = face.x + face.w / 2, face.y + face.h / 2
    matrix = np.float32([[cos, -sin, cx + cos * ox - sin * oy], [sin, cos, cy + sin * ox + cos * oy]])
    square = cv2.warpAffine(frame_bgr, matrix, (side, side), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_REPLICATE)
    gray = cv2.cvtColor(square, cv2.COLOR_BGR2GRAY) if square.ndim == 3 else square
    return cv2.equalizeHist(cv2.resize(gray, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA))


def crop_face(frame_bgr: np.ndarray, face: Face, upright: bool = True) -> np.ndarray:
    """The 48x48 crop of one face: turned upright from its eye keypoints when it leans, else cut straight."""
    degrees = roll_degrees(face) if upright else 0.0
    if abs(degrees) < UPRIGHT_MIN_DEGREES:
        return crop_box(frame_bgr, fer_box(face))
    return upright_crop(frame_bgr, face, degrees)


def crop_faces(frame_bgr: np.ndarray, faces: Sequence[Face], upright: bool = True) -> np.ndarray:
    """(N, 48, 48) uint8 grayscale, equalised crops, one per face, in the order given.

    ``upright``: leaning heads are turned upright first (``crop_face``).
    """
    crops = np.empty((len(faces), FACE_SIZE, FACE_SIZE), np.uint8)
    for i, face in enumerate(faces):
        crops[i] = crop_face(frame_bgr, face, upright)
    return crops
