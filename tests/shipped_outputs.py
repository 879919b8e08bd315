"""Fixed faces and the outputs the shipped weights gave on them, for tests/test_shipped_weights.py.

    python tests/shipped_outputs.py      # record anew, after shipping new weights

The faces: the astronaut's face as the app crops it (stored, so the outputs do
not hang on the detector), its mirror image, a flat grey face and three seeded
noise faces (scikit-image's astronaut is in the public domain). The record is keyed by each
file's SHA-256, so new weights are noticed rather than compared with old
outputs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

FACE_SIZE = 48
RECORD = Path(__file__).resolve().parent / "data" / "shipped_outputs.json"
ROOT = Path(__file__).resolve().parent.parent


def astronaut_crop() -> np.ndarray:
    """The astronaut's face as the app finds and crops it: (48, 48) uint8."""
    from fer_desktop.faces import FaceDetector, crop_faces
    from fer_desktop.pipeline.demo import astronaut_photo

    photo = astronaut_photo()
    with FaceDetector() as detector:
        found = detector.detect(photo)
    if not found:
        raise RuntimeError("the detector found no face in the astronaut photo")
    return crop_faces(photo, [max(found, key=lambda f: f.w * f.h)])[0]


def fixed_faces(astronaut: np.ndarray) -> dict[str, np.ndarray]:
    """(48, 48) uint8 faces by name, from the recorded astronaut crop and a seed."""
    rng = np.random.default_rng(0)
    return {
        "astronaut": astronaut, "astronaut_mirrored": np.ascontiguousarray(astronaut[:, ::-1]),
        "grey": np.full_like(astronaut, 128),
        **{f"noise{i}": rng.integers(0, 256, astronaut.shape, dtype=np.uint8) for i in range(3)},
    }


def encode_face(face: np.ndarray) -> str:
    return base64.b64encode(face.tobytes()).decode()


def decode_face(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), np.uint8).reshape(FACE_SIZE, FACE_SIZE)


def weights_hash(name: str) -> str:
    """SHA-256 over every file the model reads: its own and, for a fusion, its members'."""
    from fer_desktop.weights import files_read

    digest = hashlib.sha256()
    for path in files_read(name):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def outputs(name: str, faces: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """The reference (eager fp32 PyTorch) probabilities of the shipped model on ``faces``."""
    from fer_desktop.inference import load_classifier

    classifier = load_classifier(name, "cpu", backend="torch")
    probs = classifier.predict(np.stack(list(faces.values())))
    return {k: [round(float(p), 6) for p in row] for k, row in zip(faces, probs)}


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from fer_desktop.models import MODEL_NAMES
    from fer_desktop.weights import files_read

    crop = astronaut_crop()
    faces = fixed_faces(crop)
    shipped = [n for n in MODEL_NAMES if all(f.is_file() for f in files_read(n))]
    record = {"astronaut": encode_face(crop),
              "models": {n: {"sha256": weights_hash(n), "probs": outputs(n, faces)} for n in shipped}}
    RECORD.parent.mkdir(exist_ok=True)
    RECORD.write_text(json.dumps(record, indent=1) + "\n")
    print(f"recorded {', '.join(shipped)} in {RECORD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
