"""Model registry: every architecture is built by name, with its preprocessing.

The spec travels with the model (input size, normalisation), so the trainer,
the evaluator and the app cannot disagree on how a face is fed in. Importing
this module does not import PyTorch (about 2 s): the app's ONNX path needs the
specs, not the networks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from fer_desktop.emotions import NUM_CLASSES

if TYPE_CHECKING:
    from torch import nn


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

ARCHITECTURES: tuple[str, ...] = tuple(SPECS)
# Models cheap enough that the app and the evaluator average each crop with its mirror
# image. SqueezeNet: +0.4 points on PublicTest crops, +1.1 through the app path
# (benchmarks/robustness.py against --no-mirror), for a second crop in the batch.
MIRROR_AVERAGED: frozenset[str] = frozenset({"squeezenet"})
ENSEMBLE_MEMBERS: tuple[str, ...] = ("resnet18", "vgg19")
MODEL_NAMES: tuple[str, ...] = (*ARCHITECTURES, "ensemble")


def create_model(name: str) -> nn.Module:
    """A freshly initialised network for one of ``ARCHITECTURES``."""
    if name == "squeezenet":
        from fer_desktop.models.squeezenet import SqueezeNet

        return SqueezeNet(num_classes=NUM_CLASSES)
    if name == "resnet18":
        from fer_desktop.models.resnet import ResNet

        return ResNet((2, 2, 2, 2), num_classes=NUM_CLASSES)
    if name == "vgg19":
        from fer_desktop.models.vgg import VGG

        return VGG(num_classes=NUM_CLASSES)
    raise ValueError(f"unknown architecture {name!r}; expected one of {', '.join(ARCHITECTURES)}")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
