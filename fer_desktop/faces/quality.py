"""What makes one face's answer unreliable, measured and put in words.

Five measures per face, each cheap enough for every frame:

- ``face_px``: the side of the detector box in frame pixels (the face is upscaled
  to 48x48 by the crop; below some size there is nothing left to read);
- ``brightness``: the mean grey level of the face before the crop equalises it
  (equalisation stretches a dark face's few grey levels into noise, and an
  overexposed face has lost its features to white);
- ``sharpness``: the variance of the Laplacian of the 48x48 equalised crop, the
  image the model sees (equalised, so contrast does not pass for detail);
- ``yaw_deg`` and ``pitch_deg``: how far the head is turned and tilted,
  estimated from BlazeFace's keypoints (fer_desktop/faces/pose.py; NaN for a
  face without keypoints).

The thresholds are where PublicTest accuracy falls more than 10 points below
clean, measured by ``benchmarks/quality_thresholds.py``: under synthetic
degradation for the first three (benchmarks/results/quality-thresholds.json);
over FER-2013's own head poses for yaw and pitch (``--pose``,
benchmarks/results/quality-thresholds-pose.json), since warping a flat face is
no head turn. Pitch has no hint: within the poses PublicTest holds (up to about
22 degrees) accuracy never fell 10 points. Nothing measures "partly hidden":
no cheap measure tells a hand over the mouth from a dark or blurred face.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import ArrayLike

from fer_desktop.faces.detector import Face
from fer_desktop.faces.pose import head_pose

# From benchmarks/results/quality-thresholds.json: SqueezeNet on 800 PublicTest faces degraded synthetically
# (clean 68.6%), each where accuracy falls 10 points below clean, rounded.
MIN_FACE_PX = 21.0
MIN_BRIGHTNESS = 15.0
MAX_BRIGHTNESS = 183.0
MIN_SHARPNESS = 600.0
# From benchmarks/results/quality-thresholds-pose.json: SqueezeNet on the 3,327 PublicTest faces BlazeFace found
# (68% right), in 20 bins of |yaw|; the accuracy of the faces turned about 30 degrees is 10 points lower.
MAX_YAW_DEG = 30.0


@dataclass(frozen=True)
class FaceQuality:
    face_px: float
    brightness: float
    sharpness: float
    yaw_deg: float = math.nan
    pitch_deg: float = math.nan

    def hints(self) -> list[str]:
        """The problems in words, worst first; empty for a face the thresholds find fine."""
        flags = hint_flags(self.face_px, self.brightness, self.sharpness, self.yaw_deg)
        return [hint for hint, found in flags.items() if found]


def hint_flags(face_px: ArrayLike, brightness: ArrayLike, sharpness: ArrayLike,
               yaw_deg: ArrayLike = math.nan) -> dict[str, ArrayLike]:
    """Each hint's verdict for one face (booleans) or for many at once (boolean arrays), worst first.

    A measure that is NaN (not measured) raises no hint.
    """
    return {
        "too small": np.less(face_px, MIN_FACE_PX),
        "too dark": np.less(brightness, MIN_BRIGHTNESS),
        "overexposed": np.greater(brightness, MAX_BRIGHTNESS),
        "blurred": np.less(sharpness, MIN_SHARPNESS),
        "turned away": np.greater(np.abs(yaw_deg), MAX_YAW_DEG),
    }


def face_brightness(frame_bgr: np.ndarray, face: Face) -> float:
    """Mean grey level (0-255) of the detector box, clipped to the frame; 0 for a box outside it."""
    height, width = frame_bgr.shape[:2]
    x0, y0 = max(int(face.x), 0), max(int(face.y), 0)
    x1, y1 = min(int(face.x + face.w), width), min(int(face.y + face.h), height)
    region = frame_bgr[y0:y1, x0:x1]
    if region.size == 0:
        return 0.0
    gray = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY) if region.ndim == 3 else region
    return float(gray.mean())


def crop_sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of a 48x48 uint8 crop."""
    return float(cv2.Laplacian(crop, cv2.CV_64F).var())


def measure_quality(frame_bgr: np.ndarray, face: Face, crop: np.ndarray) -> FaceQuality:
    """The five measures of one face: its box and keypoints in ``frame_bgr``, and its equalised crop."""
    yaw, pitch = head_pose(face)
    return FaceQuality((face.w + face.h) / 2, face_brightness(frame_bgr, face), crop_sharpness(crop), yaw, pitch)


__all__ = ["FaceQuality", "hint_flags", "MAX_BRIGHTNESS", "MAX_YAW_DEG", "MIN_BRIGHTNESS", "MIN_FACE_PX", "MIN_SHARPNESS",
           "crop_sharpness", "face_brightness", "measure_quality"]
