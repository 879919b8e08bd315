"""fer-desktop-batch with 1 and 2 worker processes on the same folder of clips: videos per minute, fps, scaling.

    python benchmarks/batch.py                        # 8 clips x 150 frames, 1 and 2 workers, twice each, ~3 min
    python benchmarks/batch.py --clips 4 --frames 60 --workers 1 2 4 --repeats 1
    python benchmarks/batch.py --pause /tmp/fer-train.pid   # stop a training run while timing

The clips are the demo astronaut (one face, 640x480 MJPG), each from a
different moment. Each configuration runs the real command in a fresh
process (``python -m fer_desktop.batch.cli CLIPS --out NEW --workers N``),
SqueezeNet on ONNX Runtime; the configurations alternate so that a change in
the machine's load hits them alike. Figures per run:

- whole command: videos per minute and frames per second from launch to
  exit, start-up (imports, the model, spawning the workers) included;
- steady state: the same after the first N videos have ended (N = workers),
  from the per-video lines the command prints, so start-up is left out;
- scaling efficiency: the N-worker rate over N times the 1-worker rate;
- background_cores: what other processes used meanwhile (2 cores in all).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

from common import ROOT, add_common_arguments, announce_machine, pause_pid, paused, prepare_weights, print_table, write_json

from fer_desktop.pipeline.demo import DEMO_FPS, DEMO_SIZE, astronaut_photo, backdrop, demo_frame  # noqa: E402

# Other processes may keep this many cores busy before a run starts (a training run takes one).
QUIET_ENOUGH = 1.3


def write_clips(folder: Path, clips: int, frames: int) -> list[Path]:
    photo, background = astronaut_photo(), backdrop()
    paths = []
    for k in range(clips):
        path = folder / f"clip{k:02d}.avi"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), DEMO_FPS, DEMO_SIZE)
        for i in range(frames):
            writer.write(demo_frame((i + 97 * k) / DEMO_FPS, photo, background))
        writer.release()
        paths.append(path)
    return paths


def run_batch(clips: Path, workers: int, weights_dir: Path, pid: int | None) -> dict:
    """One launch of the command; the time each video's line appeared gives the steady-state rate."""
    with tempfile.TemporaryDirectory(prefix="fer-bench-batch-") as out:
        command = [sys.executable, "-m", "fer_desktop.batch.cli", str(clips), "--out", out, "--workers", str(workers),
                   "--model", "squeezenet", "--device", "cpu", "--weights", str(weights_dir)]
        ended: list[float] = []
        with paused(pid, quiet=QUIET_ENOUGH, max_wait=120.0) as section:
            t0 = time.perf_counter()
            run = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=ROOT)
            for line in run.stderr:
                if "done " in line and " frames, " in line:
                    ended.append(time.perf_counter() - t0)
            run.wait()
            wall = time.perf_counter() - t0
        if run.returncode != 0:
            raise SystemExit(f"fer-desktop-batch ended with {run.returncode}")
        videos = json.loads((Path(out) / "index.json").read_text())["videos"]
    frames = sum(v["frames"] for v in videos)
    per_video = frames / len(videos)
    steady_s = ended[-1] - ended[workers - 1]
    steady_videos = len(ended) - workers
    return {
        "workers": workers, "videos": len(videos), "frames": frames, "wall_s": round(wall, 2),
        "videos_per_min": round(60 * len(videos) / wall, 2), "fps": round(frames / wall, 1),
        "steady_videos_per_min": round(60 * steady_videos / steady_s, 2) if steady_s > 0 else None,
        "steady_fps": round(steady_videos * per_video / steady_s, 1) if steady_s > 0 else None,
        "background_cores": round(section["background_cores"], 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--frames", type=int, default=150, help="frames per clip")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=2, help="launches per configuration, alternating")
    p.add_argument("--note", default="", help="what else ran on the machine, kept in the JSON")
    add_common_arguments(p, "batch.json")
    args = p.parse_args(argv)
    if 1 not in args.workers:
        p.error("--workers must include 1: the scaling is relative to it")
    if args.clips <= max(args.workers):
        p.error("--clips must exceed the largest --workers, or no video ends in the steady state")
    pid = pause_pid(args.pause)
    weights_dir, kinds = prepare_weights(["squeezenet"], args.weights)
    info = announce_machine()
    runs = []
    with tempfile.TemporaryDirectory(prefix="fer-bench-clips-") as folder:
        write_clips(Path(folder), args.clips, args.frames)
        for repeat in range(args.repeats):
            for workers in args.workers:
                runs.append(run_batch(Path(folder), workers, weights_dir, pid))
                r = runs[-1]
                print(f"{workers} worker(s), run {repeat + 1}: {r['videos_per_min']} videos/min, {r['fps']} fps "
                      f"(steady {r['steady_videos_per_min']} videos/min); others used {r['background_cores']} cores",
                      file=sys.stderr)

    summary = {}
    for workers in args.workers:
        mine = [r for r in runs if r["workers"] == workers]
        summary[workers] = {k: round(statistics.median(r[k] for r in mine), 3)
                            for k in ("videos_per_min", "fps", "steady_videos_per_min", "steady_fps", "background_cores")}
    for workers, figures in summary.items():
        for rate in ("videos_per_min", "steady_videos_per_min"):
            figures[f"scaling_{rate}"] = round(figures[rate] / (workers * summary[1][rate]), 3)

    print(f"\n{args.clips} clips x {args.frames} frames (640x480 MJPG, one face), squeezenet, ONNX Runtime; "
          f"median of {args.repeats}\n")
    print_table(
        ["workers", "videos/min", "fps", "steady videos/min", "steady fps", "scaling (steady)", "others' cores"],
        [[w, f["videos_per_min"], f["fps"], f["steady_videos_per_min"], f["steady_fps"],
          f"{f['scaling_videos_per_min']:.2f} ({f['scaling_steady_videos_per_min']:.2f})", f["background_cores"]]
         for w, f in summary.items()],
    )
    write_json(args.out, {"machine": info, "paused_pid": pid, "note": args.note, "weights": kinds,
                          "clips": args.clips, "frames_per_clip": args.frames, "runs": runs,
                          "median": {str(w): f for w, f in summary.items()}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
