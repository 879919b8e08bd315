"""The models a user can choose, one entry each, the ensemble included.

Adding a model is adding an entry: the app's menu, the command lines, the
weights files, the default on each kind of hardware, the trainer and the
benchmarks all read it from here, and nothing else names a model. Importing
this module does not import PyTorch (about 2 s): the app's ONNX path needs the
specs, not the networks.

    entry = get_model("resnet18")        # raises ValueError naming the choices
    entry.label, entry.spec, entry.build()
    entry.members                        # non-empty for a fusion of other entries
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
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


@dataclass(frozen=True)
class ModelEntry:
    """One model the user can pick: what it is, how it is built, where its weights lie.

    An architecture has a ``spec`` and a ``build``; a fusion has ``members``
    (the architectures it fuses, each trained by ``fer-desktop-train --model``
    NAME) and its weights file is a JSON naming the member files and their
    fusion weights (fer_desktop.weights: one or more files per architecture). ``temperature`` is the place for a calibration (the softmax
    temperature fitted on held-out data): None means uncalibrated, and a
    calibration stored with a weights file overrides it.
    """

    name: str
    label: str  # what the window shows
    purpose: str  # one line for --help and the model card
    color: str  # "#rrggbb": the model's colour in charts that compare models
    cpu_rank: int  # order of preference as the default model on a CPU (0 first)
    gpu_rank: int  # the same on a GPU; also the menu's order, the most accurate first
    thesis_accuracy: float  # PublicTest %, single crop, of the thesis this app continues: the reference figure
    spec: ModelSpec | None = None
    build: Callable[[], nn.Module] | None = None
    members: tuple[str, ...] = ()
    temperature: float | None = None
    # Cheap enough that the app and the evaluator average each crop with its mirror image: SqueezeNet gains
    # 0.4 points on PublicTest crops and 1.1 through the app path (benchmarks/robustness.py --no-mirror).
    mirror_average: bool = False

    @property
    def is_fusion(self) -> bool:
        return bool(self.members)

    @property
    def weights_name(self) -> str:
        return f"{self.name}.json" if self.is_fusion else f"{self.name}.safetensors"


_REGISTRY: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> ModelEntry:
    if entry.name in _REGISTRY:
        raise ValueError(f"model {entry.name!r} is registered twice")
    if entry.is_fusion == (entry.build is not None):
        raise ValueError(f"model {entry.name!r}: give either members or a builder and spec")
    _REGISTRY[entry.name] = entry
    return entry


def get_model(name: str) -> ModelEntry:
    """The entry of a model by its user-facing name."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(_REGISTRY)}") from None


def mirror_averaged(name: str) -> bool:
    """Whether the app averages this model's answer on each crop and its mirror (False for unregistered names)."""
    entry = _REGISTRY.get(name)
    return entry is not None and entry.mirror_average


def model_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def architectures() -> tuple[str, ...]:
    """The entries that are one network (they can be trained, built and stored as safetensors)."""
    return tuple(n for n, e in _REGISTRY.items() if not e.is_fusion)


def by_preference(device: str) -> tuple[ModelEntry, ...]:
    """Every entry, the preferred default on ``device`` (cpu, cuda, mps) first."""
    return tuple(sorted(_REGISTRY.values(), key=lambda e: e.cpu_rank if device == "cpu" else e.gpu_rank))


def weights_path(name: str, weights_dir: Path) -> Path:
    return Path(weights_dir) / get_model(name).weights_name


def _squeezenet() -> nn.Module:
    from fer_desktop.models.squeezenet import SqueezeNet

    return SqueezeNet(num_classes=NUM_CLASSES)


def _resnet18() -> nn.Module:
    from fer_desktop.models.resnet import ResNet

    return ResNet((2, 2, 2, 2), num_classes=NUM_CLASSES)


def _vgg19() -> nn.Module:
    from fer_desktop.models.vgg import VGG

    return VGG(num_classes=NUM_CLASSES)


register(ModelEntry(
    "squeezenet", "SqueezeNet", "the CPU model: fast enough for several faces at camera rate", "#26a69a",
    cpu_rank=0, gpu_rank=3, thesis_accuracy=66.37, spec=ModelSpec("squeezenet", input_size=44), build=_squeezenet,
    mirror_average=True,
))
register(ModelEntry(
    "resnet18", "ResNet18", "a residual network, member of the ensemble", "#5c6bc0",
    cpu_rank=2, gpu_rank=1, thesis_accuracy=64.61, spec=ModelSpec("resnet18", input_size=44), build=_resnet18,
))
register(ModelEntry(
    "vgg19", "VGG19", "the most accurate single network, member of the ensemble", "#ef6c00",
    cpu_rank=3, gpu_rank=2, thesis_accuracy=68.90, spec=ModelSpec("vgg19", input_size=44), build=_vgg19,
))
register(ModelEntry(
    "ensemble", "Ensemble (ResNet18 + VGG19)", "the most accurate: ResNet18 and VGG19 probabilities averaged",
    "#8d6e63", cpu_rank=1, gpu_rank=0, thesis_accuracy=69.54, members=("resnet18", "vgg19"),
))

ENSEMBLE_MEMBERS: tuple[str, ...] = get_model("ensemble").members
