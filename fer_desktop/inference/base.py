"""What every backend offers the pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np

from fer_desktop.models import ModelSpec


class Classifier:
    """(N, 48, 48) uint8 faces in, (N, 7) float32 probabilities out.

    ``backend`` names what runs the model; ``fallback_reason`` says why it is
    PyTorch when ONNX Runtime was asked for (None otherwise).
    """

    backend = "none"

    def __init__(self, name: str, spec: ModelSpec, device: str, info: dict[str, Any]) -> None:
        self.name, self.spec, self.device, self.info = name, spec, device, info
        self.fallback_reason: str | None = None

    def predict(self, faces: np.ndarray) -> np.ndarray:
        raise NotImplementedError
