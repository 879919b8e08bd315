"""Mixup and CutMix: each face of a batch blended with another face of the same batch, and their targets too.

Mixup blends whole faces; CutMix pastes a rectangle of the other face. Either
way the loss asks for the share ``lam`` of the first face's target and
``1 - lam`` of the second's (the label and, when distilling, the teacher's
probabilities). Random draws come from the caller's CPU generator, so a run
stays reproducible on any device and on resume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Mix:
    """How a batch was mixed: face i was blended with face ``partner[i]``, keeping the share ``lam`` of its own."""

    partner: torch.Tensor
    lam: float


def mix_batch(x: torch.Tensor, mixup: float, cutmix: float, gen: torch.Generator) -> tuple[torch.Tensor, Mix | None]:
    """(N, C, H, W) faces mixed in pairs, and how; ``None`` when both alphas are 0.

    ``mixup`` and ``cutmix`` are the alpha of the Beta(alpha, alpha) that draws
    the share; with both above 0, each batch uses one of the two at random.
    """
    if mixup <= 0 and cutmix <= 0:
        return x, None
    use_cutmix = cutmix > 0 and (mixup <= 0 or torch.rand(1, generator=gen).item() < 0.5)
    alpha = cutmix if use_cutmix else mixup
    lam = beta_sample(alpha, gen)
    partner = torch.randperm(len(x), generator=gen).to(x.device)
    if not use_cutmix:
        return lam * x + (1 - lam) * x[partner], Mix(partner, lam)
    h, w = x.shape[-2:]
    # A rectangle of the area 1 - lam at a uniform centre, clipped at the edges: lam is then what is really kept.
    side = (1 - lam) ** 0.5
    cy, cx = (torch.rand(2, generator=gen) * torch.tensor([h, w])).tolist()
    y0, y1 = int(max(cy - side * h / 2, 0)), int(min(cy + side * h / 2, h))
    x0, x1 = int(max(cx - side * w / 2, 0)), int(min(cx + side * w / 2, w))
    mixed = x.clone()
    mixed[..., y0:y1, x0:x1] = x[partner, ..., y0:y1, x0:x1]  # only the rectangle is gathered
    return mixed, Mix(partner, 1 - (y1 - y0) * (x1 - x0) / (h * w))


def beta_sample(alpha: float, gen: torch.Generator) -> float:
    """One draw of Beta(alpha, alpha), seeded from the caller's generator (torch draws Beta from the global one)."""
    seed = int(torch.randint(2**31 - 1, (1,), generator=gen))
    return float(np.random.default_rng(seed).beta(alpha, alpha))


def mixed_log_probs(log_probs: torch.Tensor, mix: Mix | None) -> torch.Tensor:
    """Targets as log-probabilities, blended as their faces were: log(lam p_i + (1 - lam) p_partner)."""
    if mix is None:
        return log_probs
    lam = torch.tensor([mix.lam, 1 - mix.lam], dtype=log_probs.dtype, device=log_probs.device).log()
    return torch.logaddexp(log_probs + lam[0], log_probs[mix.partner] + lam[1])
