"""The ``fer-desktop`` command: the window, or ``--headless`` for a file-to-CSV run."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from fer_desktop.cli import shared_flags
from fer_desktop.command_line import EXIT_USAGE, add_version_flag, interruptible
from fer_desktop.inference import BACKENDS, default_model_name, resolve_backend, resolve_device
from fer_desktop.models import MODEL_NAMES, by_preference
from fer_desktop.pipeline.smoothing import DEFAULT_SMOOTHING, MAX_SMOOTHING


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fer-desktop", parents=[shared_flags("device", "weights")],
        description="Real-time facial expression recognition from a camera, a video file, a stream or the demo.",
    )
    add_version_flag(parser)
    parser.add_argument("--source", help="camera index (0), video file, stream URL or 'demo'; "
                        "the window defaults to the first camera that opens")
    parser.add_argument("--model", choices=MODEL_NAMES,
                        help=f"default: {by_preference('cuda')[0].name} on a GPU, {by_preference('cpu')[0].name} on a CPU")
    parser.add_argument("--backend", default="auto", choices=BACKENDS,
                        help="what runs the model: auto (ONNX Runtime on a CPU, PyTorch on a GPU), torch, onnx, or "
                        "bf16 (PyTorch in bfloat16: fastest with many faces on CPUs with AMX)")
    parser.add_argument("--smoothing", type=float, default=DEFAULT_SMOOTHING,
                        help=f"weight kept from the previous frames, 0 to {MAX_SMOOTHING} (default: %(default)s)")
    headless = parser.add_argument_group("headless mode (no window; every frame is processed)")
    headless.add_argument("--headless", action="store_true", help="run without a window; needs --source")
    headless.add_argument("--csv", type=Path, metavar="OUT.csv", help="one row per face per frame")
    headless.add_argument("--summary", type=Path, metavar="OUT.json", help="counts, fps and latency percentiles")
    headless.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames (needed for the endless demo)")
    return parser


@interruptible("fer-desktop")
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0.0 <= args.smoothing <= MAX_SMOOTHING:
        parser.error(f"--smoothing must lie in [0, {MAX_SMOOTHING}]")
    try:
        device = resolve_device(args.device)
        resolve_backend(device, args.backend)
    except ValueError as e:
        parser.error(str(e))
    model = args.model or default_model_name(device, args.weights)
    if args.headless:
        if not args.source:
            parser.error("--headless needs --source")
        return run_headless_command(args, model, device)
    if args.csv or args.summary or args.max_frames:
        parser.error("--csv, --summary and --max-frames go with --headless (in the window, use Record)")
    if not has_display():
        print("fer-desktop: no display found (DISPLAY and WAYLAND_DISPLAY are unset); run with --headless "
              "--source FILE to analyse without a window, or set QT_QPA_PLATFORM=offscreen for a screenshot.",
              file=sys.stderr)
        return EXIT_USAGE
    from fer_desktop.ui.window import run_window

    return run_window(source=args.source, model=model, device=device, weights_dir=args.weights,
                      smoothing=args.smoothing, backend=args.backend)


def has_display() -> bool:
    """Whether Qt can open a window: checked before Qt starts, which would abort with a page of its own text."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True  # macOS and Windows always have one; a named platform (offscreen, vnc, ...) needs none
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_headless_command(args: argparse.Namespace, model: str, device: str) -> int:
    from fer_desktop.export import write_json
    from fer_desktop.headless import run_headless
    from fer_desktop.inference import load_classifier
    from fer_desktop.pipeline import SourceError
    from fer_desktop.weights import WeightsError

    try:
        classifier = load_classifier(model, device, args.weights, args.backend)
        summary = run_headless(args.source, classifier, args.csv, smoothing=args.smoothing,
                               max_frames=args.max_frames, progress=True)
    except (WeightsError, SourceError, RuntimeError, OSError) as e:
        print(f"fer-desktop: {e}", file=sys.stderr)
        return 2
    if args.summary is not None:
        write_json(args.summary, {"device": device, "backend": classifier.backend, **summary.to_dict()})
    print(
        f"{summary.frames} frames, {summary.frames_with_face} with a face, {summary.fps:.1f} fps"
        + (f"; rows in {args.csv}" if args.csv else "")
        + ("" if summary.complete else " (interrupted)"),
        file=sys.stderr,
    )
    return 0 if summary.complete else 130


if __name__ == "__main__":
    sys.exit(main())
