"""Layers the architectures share."""

from __future__ import annotations

import torch
from torch import nn


class Dropout(nn.Dropout):
    """Element-wise dropout that draws one 64-bit random number for every four elements.

    PyTorch's CPU dropout draws one number per element on a single thread, which
    took a quarter of a SqueezeNet training step; here each draw is cut into four
    16-bit lanes, each compared with ``p``. Same distribution to 2e-5, identity in eval.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * 0
        if not (x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last)):
            x = x.contiguous()
        n = x.numel()
        words = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device).random_(-(2**63), None)
        keep = words.view(torch.int16)[:n] >= round(self.p * 65536) - 32768
        # The lanes are independent, so any layout will do: take x's own, which keeps the multiply contiguous.
        keep = keep.as_strided(x.shape, x.stride())
        # Scale and mask in x's dtype: the backward pass then reuses it without another conversion.
        scale = torch.where(keep, torch.tensor(1 / (1 - self.p), dtype=x.dtype, device=x.device), 0)
        return x * scale


def init_convolutions(module: nn.Module) -> None:
    """He initialisation of every convolution in ``module`` (for the ReLUs that follow them), biases zeroed."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class FaceNet(nn.Module):
    """A convolutional body (``forward_features``) and a classifier head (``forward_head``) over its last map."""

    num_features: int

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


class PooledLinearNet(FaceNet):
    """A FaceNet whose head is global average pooling, dropout and one linear layer (ResNet, VGG)."""

    def add_head(self, features: int, num_classes: int, dropout: float) -> None:
        """The head on a body of ``features`` channels; then every convolution is initialised."""
        self.num_features = features
        self.head = nn.Sequential(Dropout(dropout), nn.Linear(features, num_classes))
        init_convolutions(self)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x.mean((2, 3)))
