"""ONNX Runtime sessions for the face stage's small networks, shipped in ``assets/``."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort


def asset_session(model_path: Path | str, what: str) -> ort.InferenceSession:
    """A one-thread CPU session for ``model_path``; a missing file is named with how to restore it."""
    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(
            f"{model_path}: {what} model not found; it ships in the repository's assets/ folder "
            f"(restore it with `git checkout -- assets/{model_path.name}`)"
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # it runs beside MediaPipe's detector and the classifier
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
