"""The flags that several commands share, defined once.

``fer-desktop``, ``fer-desktop-train``, ``fer-desktop-eval`` and
``fer-desktop-export`` take ``--device``, ``--weights``, ``--data`` and
``--json`` with the same meaning and the same accepted values:

    parser = argparse.ArgumentParser(parents=[shared_flags("device", "weights")])
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
DEVICE_HELP = "where the model runs: auto (a GPU if there is one, else the CPU), cpu, cuda or mps"
DATA_HELP = "FER-2013: the Kaggle folder, its .zip, or fer2013.csv"


def weights_folder(value: str) -> Path:
    """``--weights``: a folder of weights files; a file is refused with its folder named."""
    path = Path(value)
    if path.is_file():
        raise argparse.ArgumentTypeError(
            f"{value} is a file; --weights takes the folder that holds the weights files (here: {path.parent})")
    return path


def _default_weights_dir() -> Path:
    from fer_desktop.weights import DEFAULT_WEIGHTS_DIR

    return DEFAULT_WEIGHTS_DIR


def add_device(p: argparse._ActionsContainer) -> None:
    p.add_argument("--device", default="auto", choices=DEVICES, help=DEVICE_HELP)


def add_weights(p: argparse._ActionsContainer) -> None:
    folder = _default_weights_dir()
    p.add_argument("--weights", type=weights_folder, default=folder, metavar="DIR",
                   help=f"folder of the weights files: MODEL.safetensors, ensemble.json (default: {folder})")


def add_data(p: argparse._ActionsContainer, required: bool = True, extra: str = "") -> None:
    p.add_argument("--data", required=required, metavar="PATH", help=DATA_HELP + extra)


def add_json(p: argparse._ActionsContainer, what: str) -> None:
    p.add_argument("--json", type=Path, metavar="OUT.json", help=f"also write {what} here, as JSON")


_ADDERS = {
    "device": add_device, "weights": add_weights, "data": add_data,
    "json": lambda p: add_json(p, "the results"),
}


def shared_flags(*names: str) -> argparse.ArgumentParser:
    """A parent parser holding the named flags (device, weights, data, json) as every command defines them."""
    parent = argparse.ArgumentParser(add_help=False)
    for name in names:
        _ADDERS[name](parent)
    return parent
