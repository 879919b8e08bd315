"""How far a head is turned away, from the six keypoints BlazeFace already gives: free on every frame.

The face-landmark model's 468-point 3-D mesh measures pose better, but it
costs about 4 ms a face on one core, more than the whole frame's budget; so it
is used only offline, by ``benchmarks/quality_thresholds.py``, to calibrate
these two cheap ratios against it on FER-2013 PublicTest faces:

- yaw: the nose tip's offset from the midpoint of the ears (tragions),
  over the ear span, taken along the eye line (roll removed). Under weak
  perspective that is ``tan(yaw) / K_YAW`` for a generic head;
- pitch: the nose tip's height between the eye line and the mouth,
  ``(nose - eyes) / (mouth - eyes)``, which falls as the face tilts up;
  ``tan(pitch) = K_PITCH * (FRONTAL_NOSE_HEIGHT - ratio)``, where the frontal
  ratio is the median PublicTest face's (FER-2013's typical pose counts as 0).

Signs are in image terms: yaw > 0 when the nose points to the image's right,
pitch > 0 when the face tilts up. Without keypoints (a face from elsewhere) both are NaN.
"""

from __future__ import annotations

import math

from fer_desktop.faces.crop import roll_degrees
from fer_desktop.faces.detector import Face

# Fitted by `benchmarks/quality_thresholds.py --pose` against the landmark mesh's pose on 3,327 PublicTest faces
# (benchmarks/results/quality-thresholds-pose.json): RMS error 5.7 degrees of yaw (correlation 0.92) and
# 7.7 of pitch (0.77). About 4 microseconds a face.
K_YAW = 1.26
K_PITCH = 1.77
FRONTAL_NOSE_HEIGHT = 0.514
_MIN_SPAN = 1e-6


def pose_ratios(face: Face) -> tuple[float, float]:
    """(ear ratio, nose-height ratio) of a face's keypoints along its eye line; NaN without keypoints."""
    if len(face.keypoints) < 6:
        return math.nan, math.nan
    a = math.radians(-roll_degrees(face))
    cos, sin = math.cos(a), math.sin(a)
    (rex, rey), (lex, ley), (nx, ny), (mx, my), (rrx, _), (lrx, _) = (
        (x * cos - y * sin, x * sin + y * cos) for x, y in face.keypoints[:6])
    if lex < rex:  # a mirrored image: take the eye and the ear on the image's left first
        rex, rey, lex, ley, rrx, lrx = lex, ley, rex, rey, lrx, rrx
    ear_span, eye_y = lrx - rrx, (rey + ley) / 2
    mouth_drop = my - eye_y
    ear = (nx - (rrx + lrx) / 2) / ear_span if ear_span > _MIN_SPAN else math.nan
    height = (ny - eye_y) / mouth_drop if mouth_drop > _MIN_SPAN else math.nan
    return ear, height


def head_pose(face: Face) -> tuple[float, float]:
    """(yaw, pitch) in degrees, estimated from the keypoints (module docstring); NaN without them."""
    ear, height = pose_ratios(face)
    return (math.degrees(math.atan(K_YAW * ear)), math.degrees(math.atan(K_PITCH * (FRONTAL_NOSE_HEIGHT - height))))
