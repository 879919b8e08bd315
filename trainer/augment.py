"""Batched augmentation of uint8 faces on the training device.

Crop, flip, rotation, scale and shift are folded into one affine grid per image
and applied with a single ``grid_sample`` for the whole batch; random erasing
is a mask. Random parameters are drawn on the CPU from the caller's generator,
so a run is reproducible on any device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from trainer.degrade import Degradation, degrade
from trainer.options import option


@dataclass
class AugmentConfig:
    crop: bool = option(True, "random crop of the model's input size (a shift when it is the whole face)")
    flip: bool = option(True, "mirror half of the images")
    affine: bool = option(True, "small random rotation and scale")
    degrees: float = option(10.0, "rotation range, plus or minus")
    scale: float = option(0.10, "zoom range, plus or minus")
    shift: float = option(0.0, "a further shift range, plus or minus, as a share of the face's side: the app's "
                               "face box wanders about 0.05 of a side from the face (benchmarks/framing_jitter.py)")
    erase: float = option(0.25, "probability of random erasing per image; 0 turns it off")
    degrade: float = option(0.0, "share of faces degraded as a webcam degrades them (small, blurred, dim and "
                                 "noisy, compressed; trainer/degrade.py); 0 turns it off")
    degrade_small: float = option(0.5, "of the degraded faces, the share captured 14-32 px across")
    degrade_blur: float = option(0.5, "of the degraded faces, the share with a defocus or motion blur")
    degrade_dim: float = option(0.5, "of the degraded faces, the share in dim light with sensor noise")
    degrade_jpeg: float = option(0.3, "of the degraded faces, the share JPEG-compressed")


def augment(x: torch.Tensor, size: int, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """(N, 1, H, W) float faces to (N, 1, size, size) augmented crops."""
    if cfg.degrade > 0:
        x = degrade(x, cfg.degrade, Degradation(cfg.degrade_small, cfg.degrade_blur, cfg.degrade_dim, cfg.degrade_jpeg),
                    gen)
    n, _, h, w = x.shape
    rnd = lambda *shape: torch.rand(*shape, generator=gen)  # noqa: E731
    # Output pixel grid -> input pixel grid, in grid_sample's normalised coordinates.
    rel = size / w
    angle = (rnd(n) * 2 - 1) * math.radians(cfg.degrees) if cfg.affine else torch.zeros(n)
    zoom = 1 + (rnd(n) * 2 - 1) * cfg.scale if cfg.affine else torch.ones(n)
    mirror = torch.where(rnd(n) < 0.5, -1.0, 1.0) if cfg.flip else torch.ones(n)
    if cfg.crop:
        room = (w - size) / w if size < w else 0.125  # full-size input: shift up to 1/8 either way
        shift = (rnd(n, 2) * 2 - 1) * room
    else:
        shift = torch.zeros(n, 2)
    if cfg.shift > 0:  # grid_sample's coordinates span the input's side twice
        shift = shift + (rnd(n, 2) * 2 - 1) * 2 * cfg.shift
    cos, sin = torch.cos(angle) * rel / zoom, torch.sin(angle) * rel / zoom
    theta = torch.stack(
        [torch.stack([cos * mirror, -sin, shift[:, 0]], 1), torch.stack([sin * mirror, cos, shift[:, 1]], 1)], 1
    ).to(x.device)
    grid = F.affine_grid(theta, [n, 1, size, size], align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if cfg.erase > 0:
        out = random_erase(out, cfg.erase, gen)
    return out


def random_erase(x: torch.Tensor, p: float, gen: torch.Generator, fill: float = 0.0) -> torch.Tensor:
    """Blank a random rectangle (2-25% of the area) in a fraction p of the images."""
    n, _, h, w = x.shape
    rnd = torch.rand(n, 5, generator=gen)
    area = (0.02 + rnd[:, 0] * 0.23) * h * w
    aspect = torch.exp((rnd[:, 1] * 2 - 1) * math.log(3.0))
    eh = (area * aspect).sqrt().clamp(1, h)
    ew = (area / aspect).sqrt().clamp(1, w)
    y0 = rnd[:, 2] * (h - eh)
    x0 = rnd[:, 3] * (w - ew)
    ys = torch.arange(h).view(1, h, 1)
    xs = torch.arange(w).view(1, 1, w)
    mask = (ys >= y0.view(n, 1, 1)) & (ys < (y0 + eh).view(n, 1, 1)) & (xs >= x0.view(n, 1, 1)) & (xs < (x0 + ew).view(n, 1, 1))
    mask &= (rnd[:, 4] < p).view(n, 1, 1)
    return x.masked_fill(mask.unsqueeze(1).to(x.device), fill)
