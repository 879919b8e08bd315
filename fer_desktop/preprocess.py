"""From 48x48 uint8 face crops to the normalised tensor a model takes.

One definition for the app, the trainer and the evaluator: a model's spec says
which square it takes from the centre of the face and how pixels are scaled.
"""

from __future__ import annotations

import numpy as np
import torch

from fer_desktop.models import ModelSpec


def as_tensor(faces: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(N, 48, 48) uint8 faces as an (N, 1, 48, 48) uint8 tensor."""
    t = torch.as_tensor(faces)
    if t.dtype != torch.uint8 or t.dim() != 3:
        raise ValueError(f"expected (N, H, W) uint8 faces, got {tuple(t.shape)} {t.dtype}")
    return t.unsqueeze(1)


def normalize(x: torch.Tensor, spec: ModelSpec) -> torch.Tensor:
    """uint8 or 0-255 float pixels to the model's input scale."""
    return (x.float() / 255.0 - spec.mean) / spec.std


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    top, left = (h - size) // 2, (w - size) // 2
    return x[..., top : top + size, left : left + size]


def ten_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """The four corners and the centre, each also mirrored: (10, N, C, size, size)."""
    h, w = x.shape[-2:]
    crops = [
        x[..., :size, :size],
        x[..., :size, w - size :],
        x[..., h - size :, :size],
        x[..., h - size :, w - size :],
        center_crop(x, size),
    ]
    crops += [c.flip(-1) for c in crops]
    return torch.stack(crops)


def model_input(faces: np.ndarray | torch.Tensor, spec: ModelSpec) -> torch.Tensor:
    """The single-crop input of the live path: centre crop, normalised."""
    return normalize(center_crop(as_tensor(faces), spec.input_size), spec)
