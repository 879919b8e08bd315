"""How the window words one face: its label (or "uncertain" and the two leading emotions) and its quality hints."""

from __future__ import annotations

import numpy as np

from fer_desktop.emotions import EMOTIONS
from fer_desktop.pipeline import FaceResult


def leading(face: FaceResult, n: int = 2) -> str:
    """The ``n`` most probable emotions with their probabilities: "happy 41% · neutral 30%"."""
    order = np.argsort(face.probs)[::-1][:n]
    return " · ".join(f"{EMOTIONS[i]} {face.probs[i]:.0%}" for i in order)


def face_verdict(face: FaceResult) -> str:
    """The label a face is shown with: its emotion, or "uncertain" below the threshold."""
    if face.probs is None:
        return "no model"
    return "uncertain" if face.confident is False else str(face.label)


def baseline_note(face: FaceResult) -> str:
    """Whether the face is read relative to its neutral baseline, or one is being recorded; empty otherwise."""
    if face.calibrating is not None:
        return f"recording its neutral baseline, keep a resting face… {face.calibrating:.0%}"
    if face.neutral is not None:
        return f"relative to its neutral baseline #{face.neutral.baseline.number}"
    return ""


def face_title(face: FaceResult) -> str:
    """The chart's title (HTML): "Face #1: happy", or "uncertain" with the two leading emotions in small print,
    and a marker while the face is read relative to its neutral baseline (or one is being recorded)."""
    text = f"Face #{face.track_id}: {face_verdict(face)}"
    if face.probs is not None and face.confident is False:
        text += f" <span style='font-size: 8pt; color: #616161'>({leading(face)})</span>"
    if note := baseline_note(face):
        text += f"<br><span style='font-size: 8pt; color: #1565c0'>{note}</span>"
    return text


def face_tag(face: FaceResult) -> str:
    """The tag over a face's box in the video: "happy 72%", or "uncertain (happy 41%)"."""
    if face.probs is None:
        return "no model"
    mark = " · vs rest" if face.neutral is not None else ""  # read relative to its neutral baseline
    if face.confident is False:
        return f"uncertain ({leading(face, 1)}){mark}"
    return f"{face.label} {face.confidence:.0%}{mark}"


def quality_text(face: FaceResult) -> str:
    """The face's quality hints in words, or an empty string when none applies."""
    hints = [] if face.quality is None else face.quality.hints()
    return "" if not hints else "Unreliable: " + ", ".join(hints)
