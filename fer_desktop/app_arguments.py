"""Checks of the ``fer-desktop`` command line, all in one place, before anything is loaded or opened.

Each failure is one sentence naming the flag and what to do; the caller
prints it with the usage line and exits with code 2.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from fer_desktop.export.outputs import OutputError, check_outputs
from fer_desktop.pipeline.smoothing import MAX_SMOOTHING
from fer_desktop.pipeline.sources import DEMO, not_a_file


class UsageError(ValueError):
    """A command line that cannot be run as given."""


def positive_int(text: str) -> int:
    """An ``argparse`` type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of frames; give 1 or more")
    return value


def number_in(low: float, high: float) -> Callable[[str], float]:
    """An ``argparse`` type: a finite number in [low, high]."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"{text} is outside [{low}, {high}]")
        return value

    return parse


smoothing_weight = number_in(0.0, MAX_SMOOTHING)
probability = number_in(0.0, 1.0)


def is_file_source(spec: str) -> bool:
    """A video file, rather than a camera index, a stream URL or the demo."""
    spec = spec.strip()
    return not (spec == DEMO or spec.isdigit() or "://" in spec)


def check_arguments(args: argparse.Namespace) -> None:
    """Raise ``UsageError`` for the first problem with ``args``; file outputs are checked here, before the run."""
    headless_only = [flag for flag, given in (("--csv", args.csv), ("--summary", args.summary),
                                              ("--max-frames", args.max_frames), ("--overwrite", args.overwrite))
                     if given]
    if not args.headless:
        if headless_only:
            raise UsageError(f"{', '.join(headless_only)} go with --headless (in the window, use Record)")
        return
    if not args.source or not args.source.strip():
        raise UsageError("--headless needs --source (a video file, a camera index, a stream URL or 'demo')")
    if args.source.strip() == DEMO and not (args.max_frames or args.csv or args.summary):
        raise UsageError("--source demo never ends and nothing would be kept: give --max-frames N, or --csv or "
                         "--summary to keep what it finds until Ctrl-C")
    inputs = []
    if is_file_source(args.source):
        path = Path(args.source.strip()).expanduser()
        if not path.is_file():
            raise UsageError(f"--source {path}: {not_a_file(path)}; check the path")
        inputs.append(("--source", path))
    if args.weights.exists() and not args.weights.is_dir():
        raise UsageError(f"--weights {args.weights} is a file; give the folder that holds the weights files")
    outputs = [(flag, path) for flag, path in (("--csv", args.csv), ("--summary", args.summary)) if path is not None]
    try:
        check_outputs(outputs, inputs, overwrite=args.overwrite)
    except OutputError as e:
        raise UsageError(str(e)) from None
