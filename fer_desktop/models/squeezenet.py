"""SqueezeNet with simple bypass for 48x48 faces (the CPU model).

Fire modules as in Iandola et al. (2016), with the changes of the second thesis:
BatchNorm after each squeeze convolution, dropout 0.2 inside each fire module,
simple bypass wherever input and output channels match, and three extra fire
modules after the original eight.
"""

from __future__ import annotations

import torch
from torch import nn

from fer_desktop.models.layers import Dropout, FaceNet, init_convolutions


class Fire(nn.Module):
    def __init__(self, in_ch: int, squeeze: int, expand: int, dropout: float = 0.2) -> None:
        super().__init__()
        self.squeeze = nn.Sequential(
            nn.Conv2d(in_ch, squeeze, 1, bias=False), nn.BatchNorm2d(squeeze), nn.ReLU(inplace=True)
        )
        self.expand1x1 = nn.Conv2d(squeeze, expand, 1)
        self.expand3x3 = nn.Conv2d(squeeze, expand, 3, padding=1)
        self.act = nn.ReLU(inplace=True)
        # On the narrow squeeze output the mask is cheap; channel dropout there stalled training.
        self.drop = Dropout(dropout)
        self.bypass = in_ch == 2 * expand

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.drop(self.squeeze(x))
        out = self.act(torch.cat([self.expand1x1(s), self.expand3x3(s)], 1))
        return out + x if self.bypass else out


class SqueezeNet(FaceNet):
    # (squeeze, expand) per fire module; "M" is a 2x2 max-pool.
    FIRES = (
        (16, 64), (16, 64), (32, 128), "M",
        (32, 128), (48, 192), (48, 192), (64, 256), "M",
        (64, 256), (64, 256), (64, 256), (64, 256),  # fire9 and the three extra modules
    )

    def __init__(self, num_classes: int = 7, in_chans: int = 1, stem: int = 96, dropout: float = 0.2) -> None:
        super().__init__()
        # Strided stem: the 48x48 face becomes 24x24 before the first fire module.
        layers: list[nn.Module] = [
            nn.Conv2d(in_chans, stem, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(stem),
            nn.ReLU(inplace=True),
        ]
        ch = stem
        for spec in self.FIRES:
            if spec == "M":
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
            else:
                squeeze, expand = spec
                layers.append(Fire(ch, squeeze, expand, dropout))
                ch = 2 * expand
        self.features = nn.Sequential(*layers)
        self.num_features = ch
        # The bypasses sum ReLU outputs, so the last feature map has a large common mode;
        # normalising it lets the classifier see what differs between faces.
        self.head = nn.Sequential(nn.BatchNorm2d(ch), Dropout(dropout), nn.Conv2d(ch, num_classes, 1))
        init_convolutions(self)
        nn.init.normal_(self.head[-1].weight, std=0.01)  # small logits at the start, as in the original SqueezeNet

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x).mean((2, 3))
