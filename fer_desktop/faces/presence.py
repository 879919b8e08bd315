"""A second look at a detected face: MediaPipe's face-landmark model and its face-presence score.

BlazeFace alone calls a cat, a coffee cup or a colour wheel a face now and
then, and some of those false faces last for many frames. The landmark model
looks at the face's region at 192x192 and says how sure it is that a face is
there; a face confirmed by it is tracked without asking again (the tracker
decides when to ask: fer_desktop/pipeline/tracking.py).

The model ships in ``assets/face_landmark.onnx``, converted from the
``mediapipe==0.10.21`` wheel by ``assets/convert_tflite.py``
(Apache-2.0, assets/LICENSE-mediapipe.txt).
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from fer_desktop.faces.crop import roll_degrees
from fer_desktop.faces.detector import Face
from fer_desktop.faces.sessions import asset_session
from fer_desktop.resources import ASSETS_DIR

PRESENCE_MODEL = ASSETS_DIR / "face_landmark.onnx"
INPUT_SIZE = 192
ROI_SCALE = 1.5  # the region around the detector box the model was trained on, as MediaPipe sets it
# Chosen on benchmarks/robustness.py's material (100 faces a condition): 0.12 and 0.2 let
# the same false faces through (3.5 per 1,000 face-free frames), and 0.12 keeps more
# of the hardest real faces (heavy blur: 37 of 53 detected faces against 33).
MIN_PRESENCE = 0.12


class FacePresence:
    """``score(frame, face)``: the landmark model's face-presence probability for one detected face."""

    def __init__(self, model_path: Path | str = PRESENCE_MODEL, min_presence: float = MIN_PRESENCE) -> None:
        self._session = asset_session(model_path, "face-landmark")
        self.min_presence = min_presence

    def region(self, frame_bgr: np.ndarray, face: Face) -> np.ndarray:
        """The (1, 192, 192, 3) RGB 0-1 input: the box's square, 1.5 times as wide, turned upright by the eyes."""
        side = ROI_SCALE * max(face.w, face.h)
        a = math.radians(roll_degrees(face))
        k = side / INPUT_SIZE
        cos, sin = math.cos(a) * k, math.sin(a) * k
        half = INPUT_SIZE / 2
        cx, cy = face.x + face.w / 2, face.y + face.h / 2
        matrix = np.float32([[cos, -sin, cx - (cos - sin) * half], [sin, cos, cy - (sin + cos) * half]])
        square = cv2.warpAffine(frame_bgr, matrix, (INPUT_SIZE, INPUT_SIZE),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT)
        rgb = cv2.cvtColor(square, cv2.COLOR_GRAY2RGB if square.ndim == 2 else cv2.COLOR_BGR2RGB)
        return (rgb.astype(np.float32) / 255)[None]

    def score(self, frame_bgr: np.ndarray, face: Face) -> float:
        logit = float(self._session.run(["face_logit"], {"image": self.region(frame_bgr, face)})[0].ravel()[0])
        return 1 / (1 + math.exp(-max(-50.0, min(50.0, logit))))

    def is_face(self, frame_bgr: np.ndarray, face: Face) -> bool:
        return self.score(frame_bgr, face) >= self.min_presence
