"""Batched probabilities of a model over many faces, single-crop or ten-crop."""

from __future__ import annotations

import sys

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from fer_desktop.inference.base import Classifier
from fer_desktop.models import ModelSpec
from fer_desktop.preprocess import as_tensor, center_crop, normalize, ten_crop


@torch.inference_mode()
def predict_probs(
    model: nn.Module, spec: ModelSpec, faces: np.ndarray, device: str = "cpu", tta: bool = False,
    batch: int | None = None, amp: bool = False, mirror: bool = False, progress: str | None = None,
) -> np.ndarray:
    """(N, 48, 48) uint8 faces to (N, 7) probabilities; ``tta`` averages the ten crops, ``mirror``
    the centre crop and its mirror image (a fifth of ten-crop's time).

    ``amp`` (bf16) is for validation during training; reported figures use fp32, as the app does.
    ``batch``: crops a forward pass; by default 64 on a CPU, where larger passes are slower
    (their activations leave the caches), 1024 on a GPU.
    ``progress``: a label for a progress bar on stderr, for passes long enough to need one.
    """
    model.eval()
    out = []
    views = 10 if tta else 2 if mirror else 1
    step = max(1, (batch or (64 if device == "cpu" else 1024)) // views)
    starts = range(0, len(faces), step)
    for i in tqdm(starts, desc=progress, unit="batch", file=sys.stderr, disable=progress is None):
        x = as_tensor(faces[i : i + step]).to(device)
        if tta:
            crops = ten_crop(x, spec.input_size)
        else:
            centre = center_crop(x, spec.input_size)
            crops = torch.stack([centre, centre.flip(-1)]) if mirror else centre.unsqueeze(0)
        t, n = crops.shape[:2]
        inp = normalize(crops.reshape(t * n, *crops.shape[2:]), spec).contiguous(memory_format=torch.channels_last)
        with autocast(device, amp):
            p = model(inp).float().softmax(1)
        out.append(p.view(t, n, -1).mean(0).cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 7), np.float32)


def bf16_supported(device: str) -> bool:
    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    return device == "cpu" and torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def autocast(device: str, enabled: bool = True) -> torch.autocast:
    """bf16 autocast where the hardware has it, else a no-op context."""
    kind = "cuda" if device.startswith("cuda") else "cpu"
    return torch.autocast(kind, dtype=torch.bfloat16, enabled=enabled and bf16_supported(device))


def classifier_probs(classifier: Classifier, faces: np.ndarray, batch: int = 64, progress: str | None = None) -> np.ndarray:
    """(N, 7) probabilities of an app classifier (any backend) over many faces, each mirror-averaged as the app does."""
    from fer_desktop.pipeline.analyzer import classify

    starts = range(0, len(faces), batch)
    out = [classify(classifier, np.ascontiguousarray(faces[i : i + batch]))
           for i in tqdm(starts, desc=progress, unit="batch", file=sys.stderr, disable=progress is None)]
    return np.concatenate(out) if out else np.zeros((0, 7), np.float32)
