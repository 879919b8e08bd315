"""The ``fer-desktop`` command: the window, or ``--headless`` for a file-to-CSV run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fer_desktop.calibration import DEFAULT_UNCERTAIN_BELOW
from fer_desktop.inference import BACKENDS, default_model_name, resolve_backend, resolve_device
from fer_desktop.models import MODEL_NAMES
from fer_desktop.pipeline.smoothing import DEFAULT_SMOOTHING, MAX_SMOOTHING
from fer_desktop.weights import DEFAULT_WEIGHTS_DIR


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fer-desktop",
        description="Real-time facial expression recognition from a camera, a video file, a stream or the demo.",
    )
    parser.add_argument("--source", help="camera index (0), video file, stream URL or 'demo'; "
                        "the window defaults to the first camera that opens")
    parser.add_argument("--model", choices=MODEL_NAMES,
                        help="default: ensemble on a GPU, squeezenet on a CPU")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    parser.add_argument("--backend", default="auto", choices=BACKENDS,
                        help="what runs the model: auto (ONNX Runtime on a CPU, PyTorch on a GPU), torch, onnx, or "
                        "bf16 (PyTorch in bfloat16: fastest with many faces on CPUs with AMX)")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS_DIR, metavar="DIR",
                        help=f"folder of the weights files (default: {DEFAULT_WEIGHTS_DIR})")
    parser.add_argument("--smoothing", type=float, default=DEFAULT_SMOOTHING,
                        help=f"weight kept from the previous frames, 0 to {MAX_SMOOTHING} (default: %(default)s)")
    parser.add_argument("--uncertain-below", type=float, default=DEFAULT_UNCERTAIN_BELOW, metavar="P",
                        help="a face whose top calibrated probability is below P reads \"uncertain\" (CSV column "
                        "confident = 0); 0 turns it off (default: %(default)s)")
    headless = parser.add_argument_group("headless mode (no window; every frame is processed)")
    headless.add_argument("--headless", action="store_true", help="run without a window; needs --source")
    headless.add_argument("--csv", type=Path, metavar="OUT.csv", help="one row per face per frame")
    headless.add_argument("--summary", type=Path, metavar="OUT.json", help="counts, fps and latency percentiles")
    headless.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames (needed for the endless demo)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0.0 <= args.smoothing <= MAX_SMOOTHING:
        parser.error(f"--smoothing must lie in [0, {MAX_SMOOTHING}]")
    if not 0.0 <= args.uncertain_below <= 1.0:
        parser.error("--uncertain-below must lie in [0, 1]")
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
    from fer_desktop.ui.window import run_window

    return run_window(source=args.source, model=model, device=device, weights_dir=args.weights,
                      smoothing=args.smoothing, backend=args.backend, uncertain_below=args.uncertain_below)


def run_headless_command(args: argparse.Namespace, model: str, device: str) -> int:
    from fer_desktop.export import write_json
    from fer_desktop.headless import run_headless
    from fer_desktop.inference import load_classifier
    from fer_desktop.pipeline import SourceError
    from fer_desktop.weights import WeightsError

    try:
        classifier = load_classifier(model, device, args.weights, args.backend)
        summary = run_headless(args.source, classifier, args.csv, smoothing=args.smoothing,
                               uncertain_below=args.uncertain_below,
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
