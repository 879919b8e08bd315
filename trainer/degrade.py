"""Webcam conditions on a batch of 48x48 faces: small, blurred, dim and noisy, compressed.

A face at the back of a dim room reaches the classifier after a cheap camera
has blurred it, amplified its sensor noise, compressed it and the app has
scaled its few pixels up to 48x48 and equalised them. Training on clean
FER-2013 faces alone teaches the model that such a face is "sad". This module
produces those faces on the fly, in the order the camera and the app do it:
capture at the face's real size (optics blur, exposure, shot and read noise,
JPEG), scale up to 48x48, equalise. Every random draw comes from the caller's
CPU generator, so a run stays reproducible on any device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
import torch
import torch.nn.functional as F

# Sides (pixels) a face may have been captured at; 48 keeps FER-2013's resolution.
CAPTURE_SIDES = (14, 17, 20, 24, 32, 48)


@dataclass(frozen=True)
class Degradation:
    """How often each condition strikes a degraded face (each independently)."""

    small: float = 0.5  # captured 14-32 px across
    blur: float = 0.5  # defocus or motion blur
    dim: float = 0.5  # low exposure with shot and read noise
    jpeg: float = 0.3  # JPEG compression


def degrade(x: torch.Tensor, share: float, cfg: Degradation, gen: torch.Generator) -> torch.Tensor:
    """(N, 1, 48, 48) float faces in 0-255; a ``share`` of them degraded, the rest untouched."""
    n = x.shape[0]
    chosen = (torch.rand(n, generator=gen) < share).nonzero().flatten()
    if len(chosen) == 0:
        return x
    draws = torch.rand(len(chosen), 4, generator=gen)
    side_pick = torch.randint(0, len(CAPTURE_SIDES) - 1, (len(chosen),), generator=gen)
    sides = torch.where(draws[:, 0] < cfg.small, side_pick, len(CAPTURE_SIDES) - 1)
    out = x.clone()
    for s in sides.unique().tolist():
        group = chosen[sides == s]
        sel = (sides == s).nonzero().flatten()
        out[group.to(x.device)] = _degrade_at(x[group.to(x.device)], CAPTURE_SIDES[s], draws[sel, 1:], cfg, gen)
    return out


def _degrade_at(x: torch.Tensor, side: int, draws: torch.Tensor, cfg: Degradation, gen: torch.Generator) -> torch.Tensor:
    """Capture faces at ``side`` pixels, degrade them there, then crop them as the app does (48x48, equalised)."""
    size = x.shape[-1]
    if side < size:
        x = F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    blurred, dimmed, compressed = draws[:, 0] < cfg.blur, draws[:, 1] < cfg.dim, draws[:, 2] < cfg.jpeg
    if blurred.any():
        idx = blurred.nonzero().flatten().to(x.device)
        x[idx] = blur(x[idx], gen)
    if dimmed.any():
        idx = dimmed.nonzero().flatten().to(x.device)
        x[idx] = dim_and_noisy(x[idx], gen)
    if compressed.any():
        idx = compressed.nonzero().flatten().to(x.device)
        x[idx] = jpeg(x[idx], gen)
    if side < size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return equalize(x.clamp(0, 255))


def blur(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A per-face defocus (Gaussian, sigma 0.5-1.5 px) or motion blur (a 3-7 px line at any angle)."""
    n = x.shape[0]
    k = 9
    r = torch.arange(k, dtype=torch.float32) - k // 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    p = torch.rand(n, 4, generator=gen)
    sigma = (0.5 + 1.0 * p[:, 0]).view(n, 1, 1)
    gaussian = torch.exp(-(xx**2 + yy**2) / (2 * sigma**2))
    # Motion: the distance of each kernel pixel to a line through the centre, within the line's half length.
    angle = (p[:, 1] * math.pi).view(n, 1, 1)
    half = (1 + 2 * p[:, 2]).view(n, 1, 1)
    along = xx * torch.cos(angle) + yy * torch.sin(angle)
    across = -xx * torch.sin(angle) + yy * torch.cos(angle)
    motion = (across.abs() < 0.5).float() * (along.abs() <= half).float()
    kernel = torch.where((p[:, 3] < 0.5).view(n, 1, 1), gaussian, motion)
    kernel = (kernel / kernel.sum((1, 2), keepdim=True)).unsqueeze(1).to(x)
    padded = F.pad(x.transpose(0, 1), (k // 2,) * 4, mode="replicate")  # (1, N, H, W): one group per face
    return F.conv2d(padded, kernel, groups=n).transpose(0, 1)


def dim_and_noisy(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Exposure cut to 10-60% with the shot noise that goes with it (Gaussian-approximated Poisson) and read noise."""
    n = x.shape[0]
    p = torch.rand(n, 3, generator=gen)
    gain = (0.1 + 0.5 * p[:, 0]).view(n, 1, 1, 1).to(x)
    shot = (0.3 + 1.2 * p[:, 1]).view(n, 1, 1, 1).to(x)  # variance per digital level of signal
    read = (0.5 + 2.0 * p[:, 2]).view(n, 1, 1, 1).to(x)  # standard deviation, digital levels
    signal = x * gain
    noise = torch.randn(x.shape, generator=gen).to(x)
    return (signal + noise * (shot * signal + read**2).sqrt()).round().clamp(0, 255)


# The JPEG standard's luminance quantisation table (ITU-T T.81, Annex K).
_JPEG_LUMA = torch.tensor([
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55], [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62], [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99],
], dtype=torch.float32)


def _dct_matrix(k: int = 8) -> torch.Tensor:
    i = torch.arange(k, dtype=torch.float64)
    m = torch.cos(math.pi * (2 * i[None, :] + 1) * i[:, None] / (2 * k)) * math.sqrt(2 / k)
    m[0] /= math.sqrt(2)
    return m.float()


_DCT = _dct_matrix()


def jpeg(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Baseline JPEG luminance coding at quality 15-70: 8x8 block DCT, quantisation, inverse."""
    n, _, h, w = x.shape
    quality = 15 + 55 * torch.rand(n, generator=gen)
    scale = torch.where(quality < 50, 5000 / quality, 200 - 2 * quality) / 100
    table = (_JPEG_LUMA[None] * scale.view(n, 1, 1)).round().clamp(min=1).to(x)
    ph, pw = -h % 8, -w % 8
    blocks = F.pad(x, (0, pw, 0, ph), mode="replicate") - 128
    hb, wb = (h + ph) // 8, (w + pw) // 8
    blocks = blocks.view(n, hb, 8, wb, 8).permute(0, 1, 3, 2, 4)  # (N, hb, wb, 8, 8)
    d = _DCT.to(x)
    coef = d @ blocks @ d.T
    q = table.view(n, 1, 1, 8, 8)
    coef = (coef / q).round() * q
    back = (d.T @ coef @ d).permute(0, 1, 3, 2, 4).reshape(n, 1, hb * 8, wb * 8) + 128
    return back[..., :h, :w].round().clamp(0, 255)


def equalize(x: torch.Tensor) -> torch.Tensor:
    """Per-face histogram equalisation, as OpenCV's equalizeHist does to every crop the app takes."""
    n = x.shape[0]
    levels = x.round().clamp(0, 255).long().view(n, -1)
    hist = torch.zeros(n, 256, dtype=torch.float32, device=x.device).scatter_add_(
        1, levels, torch.ones_like(levels, dtype=torch.float32))
    cdf = hist.cumsum(1)
    total = cdf[:, -1:]
    # OpenCV's mapping: the lowest occupied level goes to 0, the rest spread over 0-255 by the cdf.
    first = torch.gather(cdf, 1, (hist > 0).float().argmax(1, keepdim=True))
    lut = ((cdf - first) * 255 / (total - first).clamp(min=1)).round().clamp(0, 255)
    flat = (total == first).expand_as(lut)  # a single-level face stays as it is
    lut = torch.where(flat, torch.arange(256, device=x.device, dtype=torch.float32).expand_as(lut), lut)
    return torch.gather(lut, 1, levels).view_as(x)
