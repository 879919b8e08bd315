"""The networks and their registry: every model is built by name, with its preprocessing.

The spec travels with the model (input size, normalisation), so the trainer,
the evaluator and the app cannot disagree on how a face is fed in. The
registry (``fer_desktop.models.registry``) holds one entry per model the user
can choose; importing this package does not import PyTorch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fer_desktop.models.registry import (
    ENSEMBLE_MEMBERS, ModelEntry, ModelSpec, architectures, by_preference, get_model, mirror_averaged, model_names,
)

if TYPE_CHECKING:
    from torch import nn

ARCHITECTURES: tuple[str, ...] = architectures()
MODEL_NAMES: tuple[str, ...] = model_names()
SPECS: dict[str, ModelSpec] = {name: get_model(name).spec for name in ARCHITECTURES}


def create_model(name: str) -> nn.Module:
    """A freshly initialised network for one of ``ARCHITECTURES``."""
    entry = get_model(name) if name in MODEL_NAMES else None
    if entry is None or entry.build is None:
        raise ValueError(f"unknown architecture {name!r}; expected one of {', '.join(ARCHITECTURES)}")
    return entry.build()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "ARCHITECTURES", "ENSEMBLE_MEMBERS", "MODEL_NAMES", "SPECS", "ModelEntry", "ModelSpec", "by_preference",
    "count_parameters", "create_model", "get_model", "model_names",
]
