"""The ``fer-desktop-batch`` command: arguments, the model checked once, then the batch on a pool or on Ray."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from fer_desktop.app import add_model_arguments, resolve_model_arguments
from fer_desktop.cli import add_version_flag, interruptible
from fer_desktop.batch.cluster import ClusterError, check_address
from fer_desktop.batch.fingerprint import files_digest
from fer_desktop.batch.index import FolderBusyError, ForeignIndexError
from fer_desktop.batch.inputs import VIDEO_SUFFIXES, InputError, find_videos
from fer_desktop.batch.runner import Dispatch, Outcome, run_batch
from fer_desktop.batch.task import Settings


def available_cores() -> int:
    """The cores this process may run on (a container's or taskset's limit included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fer-desktop-batch",
        description="Analyse many videos as `fer-desktop --headless` does: one CSV and one summary per video under "
        "--out (named after the input), and --out/index.json with one line per video. Run the same command again "
        "to resume: videos whose outputs are complete and whose input is unchanged are skipped.",
    )
    add_version_flag(parser)
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="video files, folders (searched recursively for video files) or quoted glob patterns")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder for the outputs (made if missing); nothing is written beside the inputs")
    parser.add_argument("--workers", type=int, default=available_cores(), metavar="N",
                        help="worker processes, one video and one model thread each (default: the cores available, "
                        "%(default)s); with --ray and no ADDRESS, the CPUs of the local Ray")
    parser.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                        help="run each video as a Ray task, on a local Ray started here or on the cluster at "
                        "ADDRESS ('auto', 'ray://head:10001'); the inputs must lie on a path every node reads. "
                        "Needs pip install 'fer-desktop[cluster]'")
    add_model_arguments(parser)
    return parser


@interruptible("fer-desktop-batch")
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    model, device = resolve_model_arguments(parser, args)
    if args.workers < 1:
        parser.error(f"--workers {args.workers}: give 1 or more worker processes")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out}: this is a file; give a folder (it is made if missing)")
    if args.ray and Path(args.ray).exists():
        parser.error(f"--ray took {args.ray!r} for a cluster address; put the inputs before --ray or write "
                     "--ray=ADDRESS")
    if args.ray is not None and importlib.util.find_spec("ray") is None:
        parser.error("--ray needs Ray, which is not installed: pip install 'fer-desktop[cluster]'")
    try:
        videos = find_videos(args.inputs, args.out)
    except InputError as e:
        parser.error(str(e))
    if not videos:
        parser.error(f"no video in {' '.join(args.inputs)}: folders are searched for "
                     f"{', '.join(sorted(VIDEO_SUFFIXES)[:6])}, ...; name other files directly")

    from fer_desktop.weights import WeightsError

    try:
        if args.ray:
            check_address(args.ray)
        settings = checked_settings(model, device, args)
    except (ClusterError, WeightsError, OSError, RuntimeError, ValueError) as e:
        # ValueError: --backend int8 for weights with no int8 file made from them
        print(f"fer-desktop-batch: {e}", file=sys.stderr)
        return 2
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"fer-desktop-batch: --out {args.out}: the folder cannot be made ({e.strerror or e})", file=sys.stderr)
        return 2
    try:
        outcome = run_batch(videos, args.out, settings, _dispatch(args, settings))
    except (ClusterError, FolderBusyError, ForeignIndexError) as e:
        print(f"fer-desktop-batch: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"fer-desktop-batch: {e}", file=sys.stderr)
        return 1
    print(_closing_line(outcome), file=sys.stderr)
    if outcome.stopped:
        return 130
    return 1 if outcome.counts["failed"] else 0


def checked_settings(model: str, device: str, args: argparse.Namespace) -> Settings:
    """Load the model once here: a missing weights file is one error before any worker starts, and the
    ONNX export is made once (the workers then find it in the cache)."""
    from fer_desktop.inference import load_classifier
    from fer_desktop.weights import files_read

    classifier = load_classifier(model, device, args.weights, args.backend)
    files = files_read(model, Path(args.weights))
    return Settings(model=model, device=device, backend=args.backend, weights_dir=str(Path(args.weights).absolute()),
                    smoothing=args.smoothing, weights_sha256=files_digest(files))


def _dispatch(args: argparse.Namespace, settings: Settings) -> Dispatch:
    if args.ray is not None:
        from fer_desktop.batch.cluster import run_on_ray

        return lambda paths, _on_frames, on_done, stop: run_on_ray(
            paths, settings, args.workers, args.ray or None, on_done, stop)
    from fer_desktop.batch.pool import run_in_processes

    return lambda paths, on_frames, on_done, stop: run_in_processes(
        paths, settings, args.workers, on_frames, on_done, stop)


def _closing_line(outcome: Outcome) -> str:
    c = outcome.counts
    parts = [f"{c[s]} {s}" for s in ("done", "failed", "skipped", "duplicate") if c[s] or s == "done"]
    line = ", ".join(parts) + f"; index in {outcome.index_path}"
    unfinished = c["interrupted"] + c["pending"]
    if outcome.stopped or unfinished:
        line += f"\nstopped with {unfinished} video(s) not done: run the same command again to finish them"
    return line


if __name__ == "__main__":
    sys.exit(main())
