"""VGG19 with BatchNorm and a small classifier head (Simonyan & Zisserman, 2015)."""

from __future__ import annotations

import torch
from torch import nn

from fer_desktop.models.layers import PooledLinearNet

VGG19 = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


class VGG(PooledLinearNet):
    def __init__(self, cfg: tuple = VGG19, num_classes: int = 7, in_chans: int = 1, dropout: float = 0.5) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        ch = in_chans
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
            else:
                layers += [nn.Conv2d(ch, v, 3, padding=1, bias=False), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                ch = v
        self.features = nn.Sequential(*layers)
        self.add_head(ch, num_classes, dropout)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)
