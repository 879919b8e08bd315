"""The face stage of the pipeline: frame -> faces -> 48x48 crops. No Qt here."""

from fer_desktop.faces.crop import FER_DX, FER_DY, FER_SCALE, crop_box, crop_face, crop_faces, fer_box, roll_degrees
from fer_desktop.faces.detector import DEFAULT_MODEL, KEYPOINTS, Face, FaceDetector

__all__ = [
    "DEFAULT_MODEL", "FER_DX", "FER_DY", "FER_SCALE", "KEYPOINTS", "Face", "FaceDetector", "crop_box", "crop_face",
    "crop_faces", "fer_box", "roll_degrees",
]
