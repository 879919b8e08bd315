"""The ``fer-desktop`` command: the window, or ``--headless`` for a file-to-CSV run.

Nothing heavy is imported at module level: start-up (about 3 s of imports)
already runs under the stop-signal handler, so Ctrl-C then is a sentence,
not a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from fer_desktop.stop_signals import exit_code, handling_stop_signals, interrupting_signal, signal_name


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model, --device, --backend, --weights and --smoothing: alike in every command that analyses video."""
    from fer_desktop.app_arguments import smoothing_weight
    from fer_desktop.cli import add_device, add_weights
    from fer_desktop.inference import BACKENDS
    from fer_desktop.models import MODEL_NAMES, by_preference
    from fer_desktop.pipeline.smoothing import DEFAULT_SMOOTHING, MAX_SMOOTHING

    parser.add_argument("--model", choices=MODEL_NAMES,
                        help=f"default: {by_preference('cuda')[0].name} on a GPU, {by_preference('cpu')[0].name} on a CPU")
    add_device(parser)
    parser.add_argument("--backend", default="auto", choices=BACKENDS,
                        help="what runs the model: auto (ONNX Runtime on a CPU, in int8 where the model ships an int8 "
                        "file; PyTorch on a GPU), torch, onnx (float), int8, or bf16 (PyTorch in bfloat16)")
    add_weights(parser)
    parser.add_argument("--smoothing", type=smoothing_weight, default=DEFAULT_SMOOTHING,
                        help=f"weight kept from the previous frames, 0 to {MAX_SMOOTHING} (default: %(default)s)")


def resolve_model_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[str, str]:
    """The model and device the arguments of ``add_model_arguments`` ask for; a usage error when they cannot be."""
    from fer_desktop.inference import default_model_name, resolve_backend, resolve_device

    try:
        device = resolve_device(args.device)
        resolve_backend(device, args.backend)
    except ValueError as e:
        parser.error(str(e))
    return args.model or default_model_name(device, args.weights), device


def build_parser() -> argparse.ArgumentParser:
    from fer_desktop.app_arguments import positive_int, probability
    from fer_desktop.calibration import DEFAULT_UNCERTAIN_BELOW
    from fer_desktop.cli import add_version_flag
    from fer_desktop.export import OVERWRITE_FLAG

    parser = argparse.ArgumentParser(
        prog="fer-desktop",
        description="Real-time facial expression recognition from a camera, a video file, a stream or the demo.",
    )
    add_version_flag(parser)
    parser.add_argument("--source", help="camera index (0), video file, stream URL or 'demo'; "
                        "the window defaults to the first camera that opens")
    add_model_arguments(parser)
    parser.add_argument("--uncertain-below", type=probability, default=DEFAULT_UNCERTAIN_BELOW, metavar="P",
                        help="a face whose top calibrated probability is below P reads \"uncertain\" (CSV column "
                        "confident = 0); 0 turns it off (default: %(default)s)")
    headless = parser.add_argument_group("headless mode (no window; every frame is processed)")
    headless.add_argument("--headless", action="store_true", help="run without a window; needs --source")
    headless.add_argument("--csv", type=Path, metavar="OUT.csv", help="one row per face per frame")
    headless.add_argument("--summary", type=Path, metavar="OUT.json", help="counts, fps and latency percentiles")
    headless.add_argument("--max-frames", type=positive_int, metavar="N",
                          help="stop after N frames (needed for the endless demo)")
    headless.add_argument(OVERWRITE_FLAG, action="store_true",
                          help="replace --csv and --summary files that exist (without it, an existing file is "
                          "never touched and the run does not start)")
    return parser


def main(argv: list[str] | None = None) -> int:
    # Until the command line is checked there is nothing to save: SIGTERM and SIGHUP keep their default
    # (the process ends), and Ctrl-C ends it with a sentence. The headless run and the window take over
    # all three once they have something to save or close.
    with handling_stop_signals("raise", [signal.SIGINT]):
        try:
            return _main(argv)
        except BaseException as e:
            signum = interrupting_signal(e)
            if signum is None:
                raise
            print(f"fer-desktop: stopped by {signal_name(signum)} while starting; nothing was written.",
                  file=sys.stderr)
            return exit_code(signum)


def _main(argv: list[str] | None) -> int:
    from fer_desktop.app_arguments import UsageError, check_arguments
    from fer_desktop.cli import EXIT_USAGE

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_arguments(args)
    except UsageError as e:
        parser.error(str(e))
    model, device = resolve_model_arguments(parser, args)
    if args.headless:
        from fer_desktop.headless import headless_command

        return headless_command(args, model, device)
    if not has_display():
        print("fer-desktop: no display found (DISPLAY and WAYLAND_DISPLAY are unset); run with --headless "
              "--source FILE to analyse without a window, or set QT_QPA_PLATFORM=offscreen for a screenshot.",
              file=sys.stderr)
        return EXIT_USAGE
    from fer_desktop.ui.window import run_window

    return run_window(source=args.source, model=model, device=device, weights_dir=args.weights,
                      smoothing=args.smoothing, backend=args.backend, uncertain_below=args.uncertain_below)


def has_display() -> bool:
    """Whether Qt can open a window: checked before Qt starts, which would abort with a page of its own text."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True  # macOS and Windows always have one; a named platform (offscreen, vnc, ...) needs none
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


if __name__ == "__main__":
    sys.exit(main())
