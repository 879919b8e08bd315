"""VGG19 with BatchNorm and a small classifier head (Simonyan & Zisserman, 2015)."""

from __future__ import annotations

import torch
from torch import nn

from fer_desktop.models.layers import Dropout

VGG19 = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


class VGG(nn.Module):
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
        self.num_features = ch
        self.head = nn.Sequential(Dropout(dropout), nn.Linear(ch, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x.mean((2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))
