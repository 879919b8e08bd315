"""Webcam conditions for training (trainer/degrade.py): each one changes a face the way a camera would."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from trainer.augment import AugmentConfig, augment
from trainer.degrade import Degradation, blur, degrade, dim_and_noisy, equalize, jpeg

ALL = Degradation(small=1.0, blur=1.0, dim=1.0, jpeg=1.0)
NONE = Degradation(small=0.0, blur=0.0, dim=0.0, jpeg=0.0)


def faces(n: int = 8, seed: int = 0) -> torch.Tensor:
    """Smooth (N, 1, 48, 48) faces in 0-255: a blob on a gradient, like a lit face on a background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:48]
    out = []
    for _ in range(n):
        cy, cx = rng.uniform(18, 30, 2)
        blob = 150 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * rng.uniform(6, 12) ** 2))
        out.append(np.clip(40 + 1.5 * xx + blob + rng.normal(0, 3, (48, 48)), 0, 255))
    return torch.from_numpy(np.stack(out)[:, None]).float()


def sharpness(x: torch.Tensor) -> float:
    return float(np.mean([cv2.Laplacian(f[0].numpy().astype(np.float64), cv2.CV_64F).var() for f in x]))


def test_equalize_is_opencvs_equalize_hist() -> None:
    x = torch.from_numpy(np.random.default_rng(1).integers(30, 140, (6, 1, 48, 48))).float()
    ours = equalize(x).numpy().astype(np.uint8)
    theirs = np.stack([cv2.equalizeHist(f[0].numpy().astype(np.uint8)) for f in x])[:, None]
    assert np.array_equal(ours, theirs)


def test_equalize_leaves_a_flat_face_as_it_is() -> None:
    x = torch.full((1, 1, 48, 48), 77.0)
    assert torch.equal(equalize(x), x)


def test_share_zero_changes_nothing_and_share_one_changes_every_face() -> None:
    x = faces()
    assert torch.equal(degrade(x, 0.0, ALL, torch.Generator().manual_seed(0)), x)
    out = degrade(x, 1.0, ALL, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 255
    assert all(not torch.equal(a, b) for a, b in zip(out, x))


def test_a_degraded_face_without_any_condition_is_only_equalised() -> None:
    x = faces()
    assert torch.equal(degrade(x, 1.0, NONE, torch.Generator().manual_seed(0)), equalize(x))


def test_degrade_is_deterministic_for_one_generator_seed() -> None:
    x = faces()
    a = degrade(x, 0.5, Degradation(), torch.Generator().manual_seed(3))
    b = degrade(x, 0.5, Degradation(), torch.Generator().manual_seed(3))
    c = degrade(x, 0.5, Degradation(), torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_blur_softens_and_keeps_brightness() -> None:
    x = faces()
    out = blur(x.clone(), torch.Generator().manual_seed(0))
    assert sharpness(out) < 0.7 * sharpness(x)
    assert torch.allclose(out.mean((1, 2, 3)), x.mean((1, 2, 3)), atol=3)


def test_dim_light_darkens_and_adds_noise() -> None:
    x = faces()
    out = dim_and_noisy(x, torch.Generator().manual_seed(0))
    assert (out.mean((1, 2, 3)) < 0.65 * x.mean((1, 2, 3))).all()
    # Noise: the residual against the scaled clean face is far above rounding.
    gain = out.mean((1, 2, 3), keepdim=True) / x.mean((1, 2, 3), keepdim=True)
    assert (out - x * gain).std() > 1.0


def test_jpeg_keeps_the_picture_and_shows_8x8_blocks() -> None:
    x = faces(4)
    gen = torch.Generator().manual_seed(0)
    ours = jpeg(x, gen)
    err = (ours - x).abs().mean().item()
    assert 0.5 < err < 12  # lossy, but still the same picture
    # 8x8 blocking: differences across block borders exceed those inside blocks.
    d = (ours[..., :, 1:] - ours[..., :, :-1]).abs()
    border = d[..., 7::8].mean()
    inside = d[..., [i for i in range(47) if i % 8 != 7]].mean()
    assert border > inside


@pytest.mark.parametrize("share", [0.0, 0.5])
def test_augment_only_degrades_when_asked(share: float) -> None:
    x = faces()
    cfg = AugmentConfig(crop=False, flip=False, affine=False, erase=0.0, degrade=share)
    out = augment(x, 48, cfg, torch.Generator().manual_seed(5))
    if share == 0:
        assert torch.allclose(out, x, atol=1e-3)
    else:
        assert not torch.allclose(out, x, atol=1e-3)
