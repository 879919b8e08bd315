"""Model registry: every architecture is built by name, with its preprocessing.

The spec travels with the model (input size, normalisation), so the trainer,
the evaluator and the app cannot disagree on how a face is fed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from torch import nn

from fer_desktop.emotions import NUM_CLASSES
from fer_desktop.models.resnet import ResNet
from fer_desktop.models.squeezenet import SqueezeNet
from fer_desktop.models.vgg import VGG


@dataclass(frozen=True)
class ModelSpec:
    name: str
    input_size: int  # side of the square crop taken from the 48x48 face
    mean: float = 0.5136  # FER-2013 training-set pixel mean and std, on a 0-1 scale
    std: float = 0.3067

    def to_dict(self) -> dict:
        return asdict(self)


SPECS: dict[str, ModelSpec] = {
    "squeezenet": ModelSpec("squeezenet", input_size=44),
    "resnet18": ModelSpec("resnet18", input_size=44),
    "vgg19": ModelSpec("vgg19", input_size=44),
}

_FACTORIES: dict[str, Callable[[], nn.Module]] = {
    "squeezenet": lambda: SqueezeNet(num_classes=NUM_CLASSES),
    "resnet18": lambda: ResNet((2, 2, 2, 2), num_classes=NUM_CLASSES),
    "vgg19": lambda: VGG(num_classes=NUM_CLASSES),
}

ARCHITECTURES: tuple[str, ...] = tuple(SPECS)
ENSEMBLE_MEMBERS: tuple[str, ...] = ("resnet18", "vgg19")
MODEL_NAMES: tuple[str, ...] = (*ARCHITECTURES, "ensemble")


def create_model(name: str) -> nn.Module:
    """A freshly initialised network for one of ``ARCHITECTURES``."""
    if name not in _FACTORIES:
        raise ValueError(f"unknown architecture {name!r}; expected one of {', '.join(ARCHITECTURES)}")
    return _FACTORIES[name]()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
