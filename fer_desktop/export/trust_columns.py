"""The recording's columns about how far to trust a row: the uncertainty verdict and the face-quality measures.

Kept apart from the recorder so that any recorder can add them: ``TRUST_COLUMNS``
after its own header, ``trust_values(face)`` after each row's own values.
"""

from __future__ import annotations

from fer_desktop.pipeline.frames import FaceResult

TRUST_COLUMNS: tuple[str, ...] = ("confident", "face_px", "brightness", "sharpness")


def trust_values(face: FaceResult) -> list[str]:
    """``confident`` is 1 or 0 (empty without a model); the measures as fer_desktop/faces/quality.py defines them."""
    confident = "" if face.confident is None else str(int(face.confident))
    q = face.quality
    measures = ["", "", ""] if q is None else [f"{q.face_px:.1f}", f"{q.brightness:.1f}", f"{q.sharpness:.1f}"]
    return [confident, *measures]
