"""PyTorch: eager fp32 (the reference), or ``bf16``.

``bf16``: weights and activations in bfloat16, channels-last, traced and
frozen (convolution, BatchNorm and ReLU fused by oneDNN). On a CPU with AMX
this is the fastest path for the large models at several faces; elsewhere it
is slow.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from fer_desktop.emotions import FACE_SIZE
from fer_desktop.inference.base import Classifier
from fer_desktop.models import ModelSpec
from fer_desktop.preprocess import as_tensor, model_input


class FaceProbabilities(nn.Module):
    """uint8 faces to probabilities in one module: preprocessing, network and softmax.

    Exported whole, so an ONNX model takes the crops as they come and cannot
    disagree with PyTorch about the preprocessing.
    """

    def __init__(self, model: nn.Module, spec: ModelSpec, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.model, self.spec, self.dtype = model, spec, dtype

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        x = model_input(faces, self.spec)
        if self.dtype != torch.float32:
            x = x.to(self.dtype).contiguous(memory_format=torch.channels_last)
        return self.model(x).float().softmax(1)


class TorchClassifier(Classifier):
    """Eager fp32 by default; see the module's docstring for ``bf16``."""

    def __init__(
        self, name: str, model: nn.Module, spec: ModelSpec, device: str, info: dict[str, Any], *, bf16: bool = False,
    ) -> None:
        super().__init__(name, spec, device, info)
        if bf16:
            model = model.to(torch.bfloat16).to(memory_format=torch.channels_last)
        self.net = FaceProbabilities(model, spec, torch.bfloat16 if bf16 else torch.float32).to(device).eval()
        self.model = self.net.model
        self.runner: nn.Module = self._frozen() if bf16 else self.net  # what predict calls
        self.backend = "torch-bf16" if bf16 else "torch"

    def _frozen(self) -> torch.jit.ScriptModule:
        example = torch.zeros((2, FACE_SIZE, FACE_SIZE), dtype=torch.uint8, device=self.device)
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's notes on shape arithmetic: the batch axis stays free
            return torch.jit.freeze(torch.jit.trace(self.net, example))

    @torch.inference_mode()
    def predict(self, faces: np.ndarray) -> np.ndarray:
        if len(faces) == 0:
            return np.zeros((0, 7), np.float32)
        x = as_tensor(faces)[:, 0].to(self.device)  # as_tensor checks shape and dtype
        return self.runner(x).float().cpu().numpy()
