"""One interface for classifying a batch of face crops, whatever runs the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from fer_desktop.models import MODEL_NAMES, ModelSpec
from fer_desktop.preprocess import model_input
from fer_desktop.weights import DEFAULT_WEIGHTS_DIR, load_named


def resolve_device(device: str = "auto") -> str:
    """``auto`` picks CUDA, then Apple MPS, then the CPU."""
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch sees no CUDA device")
    if device not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unknown device {device!r}; expected auto, cpu, cuda or mps")
    return device


def default_model_name(device: str) -> str:
    """The ensemble where a GPU can carry it, the SqueezeNet on a CPU."""
    return "squeezenet" if device == "cpu" else "ensemble"


class Classifier:
    """(N, 48, 48) uint8 faces in, (N, 7) float32 probabilities out."""

    def __init__(self, name: str, model: torch.nn.Module, spec: ModelSpec, device: str, info: dict) -> None:
        self.name, self.spec, self.device, self.info = name, spec, device, info
        self.backend = "torch"
        self.model = model.to(device).eval()

    @torch.inference_mode()
    def predict(self, faces: np.ndarray) -> np.ndarray:
        if len(faces) == 0:
            return np.zeros((0, 7), np.float32)
        x = model_input(faces, self.spec).to(self.device)
        return self.model(x).float().softmax(1).cpu().numpy()


def load_classifier(name: str, device: str = "auto", weights_dir: Path | None = None) -> Classifier:
    """Load a model by name from the weights folder; raises ``WeightsError`` naming the file."""
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")
    device = resolve_device(device)
    model, spec, info = load_named(name, weights_dir or DEFAULT_WEIGHTS_DIR)
    return Classifier(name, model, spec, device, info)
