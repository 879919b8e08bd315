"""What every command shares, defined once: its common flags, ``--version`` and the exit codes.

``fer-desktop``, ``fer-desktop-train``, ``fer-desktop-eval`` and
``fer-desktop-export`` take ``--device``, ``--weights``, ``--data``,
``--json`` and ``--overwrite`` with the same meaning and the same accepted values:

    parser = argparse.ArgumentParser(parents=[shared_flags("device", "weights")])
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

from fer_desktop import __version__
from fer_desktop.stop_signals import interrupting_signal

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


def add_overwrite(p: argparse._ActionsContainer) -> None:
    p.add_argument("--overwrite", action="store_true", help="replace output files that exist (never done without it)")


_ADDERS = {
    "device": add_device, "weights": add_weights, "data": add_data,
    "json": lambda p: add_json(p, "the results"), "overwrite": add_overwrite,
}


def shared_flags(*names: str) -> argparse.ArgumentParser:
    """A parent parser holding the named flags (device, weights, data, json) as every command defines them."""
    parent = argparse.ArgumentParser(add_help=False)
    for name in names:
        _ADDERS[name](parent)
    return parent

Main = Callable[[list[str] | None], int]

EXIT_DONE = 0
EXIT_FAILED = 1  # the data (a file, a stream, weights) could not be used
EXIT_USAGE = 2  # what argparse uses for a bad command line
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports a process ended by SIGINT


def add_version_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")


def describe_os_error(error: OSError) -> str:
    """An OSError in one sentence: the file it names and the system's reason, without errno numbers."""
    reason = error.strerror or str(error)
    return f"{error.filename}: {reason}" if error.filename else reason


def interruptible(prog: str) -> Callable[[Main], Main]:
    """Ctrl-C anywhere in a command (loading a model, say) ends it with one line and status 130, no traceback.

    A Ctrl-C inside the import of a compiled module comes out as that module's ImportError: it counts too.
    """

    def wrap(main: Main) -> Main:
        @functools.wraps(main)
        def run(argv: list[str] | None = None) -> int:
            try:
                return main(argv)
            except (KeyboardInterrupt, ImportError) as e:
                if interrupting_signal(e) is None:
                    raise
                print(f"{prog}: interrupted", file=sys.stderr)
                return EXIT_INTERRUPTED

        return run

    return wrap
