"""The headless pipeline over synthetic videos with 1, 2, 4 and 8 faces, per model.

    python benchmarks/pipeline.py                           # every model, 1/2/4/8 faces, ~4 min
    python benchmarks/pipeline.py --models squeezenet --faces 1 8 --frames 60
    python benchmarks/pipeline.py --pause /tmp/fer-train.pid  # stop a training run while timing

Each video is the astronaut's face tiled 1, 2, 4 or 8 times into 640x480
frames, each copy drifting in its own cell, written once as MJPG (what most
webcams send). Every configuration runs in a fresh process through
``run_headless`` (every frame processed, none dropped), so peak memory is that
configuration's alone. Figures:

- processed fps: results per second after the first ``WARMUP`` frames;
- per-stage p50/p95 ms from each frame's ``StageTimings``: decode (reading
  the frame from the file), detection, crop, model (the batched forward
  pass), total (decode + capture-to-result, queueing included);
- peak memory: ``ru_maxrss`` of the process (resident set, whole run);
- CPU: process CPU time over wall time during the run (2.0 = both cores busy).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from common import (
    MODELS, add_common_arguments, announce_machine, describe_machine, pause_pid, percentiles, prepare_weights,
    print_background, print_table, quietly, write_json,
)

from fer_desktop.inference import BACKENDS  # noqa: E402
from fer_desktop.inference.onnx_backend import DEFAULT_THREADS  # noqa: E402
from fer_desktop.pipeline.demo import astronaut_photo, backdrop  # noqa: E402

FACE_COUNTS = (1, 2, 4, 8)
FRAME_SIZE = (640, 480)
FPS = 30.0
WARMUP = 10  # frames left out of the rates and percentiles: detector and model warm-up
# The face with a little hair and chin: loose enough for the detector, tight enough that
# eight copies in a 640x480 frame stay big enough for the short-range BlazeFace.
HEAD = (slice(62, 200), slice(155, 295))
GRID_COLUMNS = {1: 1, 2: 2, 4: 2, 8: 4}


def tiled_frame(faces: int, t: float, tile: np.ndarray, background: np.ndarray) -> np.ndarray:
    """``faces`` copies of ``tile``, every other one mirrored, each drifting inside its own cell."""
    height, width = background.shape[:2]
    cols = GRID_COLUMNS[faces]
    rows = -(-faces // cols)
    cell_w, cell_h = width // cols, height // rows
    scale = 0.9 * min(cell_w / tile.shape[1], cell_h / tile.shape[0])
    face = cv2.resize(tile, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    th, tw = face.shape[:2]
    frame = background.copy()
    for i in range(faces):
        r, c = divmod(i, cols)
        x = c * cell_w + int((cell_w - tw) / 2 * (1 + 0.9 * np.sin(2 * np.pi * t / 3 + i)))
        y = r * cell_h + int((cell_h - th) / 2 * (1 + 0.9 * np.cos(2 * np.pi * t / 4 + i)))
        frame[y : y + th, x : x + tw] = face[:, ::-1] if i % 2 else face
    return frame


def write_video(path: Path, faces: int, frames: int) -> Path:
    tile = np.ascontiguousarray(astronaut_photo()[HEAD])
    background = backdrop(FRAME_SIZE)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, FRAME_SIZE)
    if not writer.isOpened():
        raise RuntimeError(f"{path}: OpenCV cannot write MJPG here")
    for i in range(frames):
        writer.write(tiled_frame(faces, i / FPS, tile, background))
    writer.release()
    return path


def run_one(model: str, video: Path, weights_dir: Path, backend: str, threads: int | None, pid: int | None) -> dict:
    """One configuration, in this process: load, run every frame, measure."""
    from fer_desktop.headless import run_headless
    from fer_desktop.inference import load_classifier

    classifier = load_classifier(model, "cpu", weights_dir, backend=backend, threads=threads)
    def run() -> tuple[list, object, float, float]:
        results: list = []
        cpu0, t0 = time.process_time(), time.perf_counter()
        summary = run_headless(str(video), classifier, on_result=lambda r: results.append((time.perf_counter(), r)))
        return results, summary, time.process_time() - cpu0, time.perf_counter() - t0

    (results, summary, cpu, wall), background = quietly(run, pid)
    kept = results[WARMUP:]
    stamps = [t for t, _ in kept]
    timings = [r.timings for _, r in kept]
    stages = {
        "decode": [s.decode_ms for s in timings],
        "detection": [s.detect_ms for s in timings],
        "crop": [s.crop_ms for s in timings],
        "model": [s.classify_ms - s.crop_ms for s in timings],
        "total": [s.decode_ms + s.capture_to_result_ms for s in timings],
        "queue": [s.capture_to_detect_ms for s in timings],
    }
    return {
        "model": model, "backend": classifier.backend, "fallback": classifier.fallback_reason,
        "frames": summary.frames, "fps": (len(stamps) - 1) / (stamps[-1] - stamps[0]),
        "faces_per_frame": float(np.mean([len(r.faces) for _, r in kept])),
        "latency_ms": {stage: percentiles(values) for stage, values in stages.items()},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu_per_wall": cpu / wall, "background_cores": background,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--faces", nargs="+", type=int, default=list(FACE_COUNTS), choices=FACE_COUNTS)
    p.add_argument("--backend", default="auto", choices=BACKENDS, help="default: what the app picks")
    p.add_argument("--ort-threads", type=int, metavar="N", help="ONNX Runtime threads (default: the app's, "
                   f"{DEFAULT_THREADS} on this machine)")
    p.add_argument("--frames", type=int, default=300, help="frames per video (default: %(default)s, 10 s)")
    add_common_arguments(p, "pipeline.json")
    p.add_argument("--one", nargs=3, metavar=("MODEL", "VIDEO", "WEIGHTS"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    pid = pause_pid(args.pause)
    if args.one:
        model, video, weights = args.one
        print(json.dumps(run_one(model, Path(video), Path(weights), args.backend, args.ort_threads, pid)))
        return 0

    weights_dir, kinds = prepare_weights(args.models, args.weights)
    info = announce_machine()
    work = Path(tempfile.mkdtemp(prefix="fer-bench-videos-"))
    # One export per model for all the runs, not one per process.
    env = {**os.environ, "FER_DESKTOP_CACHE": os.environ.get("FER_DESKTOP_CACHE", str(work / "cache"))}
    videos = {n: write_video(work / f"faces{n}.avi", n, args.frames) for n in args.faces}
    runs = []
    for model in args.models:
        for n in args.faces:
            command = [sys.executable, __file__, "--one", model, str(videos[n]), str(weights_dir),
                       "--backend", args.backend, *(["--pause", str(pid)] if pid else []),
                       *(["--ort-threads", str(args.ort_threads)] if args.ort_threads else [])]
            out = subprocess.run(command, env=env, capture_output=True, text=True)
            if out.returncode != 0:
                print(out.stderr, file=sys.stderr)
                raise SystemExit(f"{model} with {n} faces failed")
            run = {"faces": n, "weights": kinds[model], **json.loads(out.stdout.strip().splitlines()[-1])}
            runs.append(run)
            lat = run["latency_ms"]
            print(f"{model:10s} {n} faces: {run['fps']:6.1f} fps, total p95 {lat['total']['p95']:.1f} ms "
                  f"({run['backend']})", file=sys.stderr)
            time.sleep(1.0)  # let a paused job run between configurations

    print(f"\n{describe_machine(info)}; weights: {', '.join(f'{m} {k}' for m, k in kinds.items())}; "
          f"{FRAME_SIZE[0]}x{FRAME_SIZE[1]} MJPG, {args.frames} frames\n")
    stage_names = ("decode", "detection", "crop", "model", "total")
    print_table(
        ["model", "backend", "faces", "found/frame", "fps", *[f"{s} p50/p95" for s in stage_names],
         "peak RSS MB", "CPU"],
        [[r["model"], r["backend"], r["faces"], f"{r['faces_per_frame']:.1f}", f"{r['fps']:.1f}",
          *[f"{r['latency_ms'][s]['p50']:.1f}/{r['latency_ms'][s]['p95']:.1f}" for s in stage_names],
          f"{r['peak_rss_mb']:.0f}", f"{r['cpu_per_wall']:.2f}"] for r in runs],
    )
    print_background([r["background_cores"] for r in runs])
    write_json(args.out, {"machine": info, "paused_pid": pid, "frames": args.frames,
                          "ort_threads": args.ort_threads or DEFAULT_THREADS, "frame_size": FRAME_SIZE,
                          "weights": kinds, "memory": "ru_maxrss of a fresh process per run", "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
