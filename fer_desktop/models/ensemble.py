"""Probability-averaging fusion of several classifiers (the first thesis's ensemble)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Ensemble(nn.Module):
    """Returns log of the weighted mean of the members' probabilities.

    The output is a log-probability, so ``softmax`` of it gives the fused
    probabilities and it can stand wherever a model's logits are expected.
    """

    def __init__(self, members: Sequence[nn.Module], weights: Sequence[float]) -> None:
        super().__init__()
        if len(members) != len(weights):
            raise ValueError("an ensemble needs one weight per member")
        self.members = nn.ModuleList(members)
        total = float(sum(weights))
        self.register_buffer("weights", torch.tensor([w / total for w in weights]), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probs = sum(w * m(x).float().softmax(1) for w, m in zip(self.weights, self.members))
        return probs.clamp_min(1e-12).log()
