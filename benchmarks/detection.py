"""What finding faces costs a frame, with and without the search for small faces.

    python benchmarks/detection.py                  # 200 frames a scene, ~1 min
    python benchmarks/detection.py --frames 100 --pause /tmp/fer-train.pid
    python benchmarks/detection.py --busy           # time now, beside other work

``FaceDetector.detect`` (MediaPipe's pass, the landmark model's second look
where the small-face search asks for one, and the search itself) on 640x480
video frames, one detector per configuration and scene, in the order of a
video: a scene with one usual face (the pipeline benchmark's drifting
astronaut, benchmarks/pipeline.py), one with no face (the demo's backdrop), and
one with a small face (the astronaut's face 24 px high, drifting). Per scene:
ms a frame (p50, p95, mean) and the share of frames with the face found. The
small-face search costs nothing where MediaPipe's pass finds a face, one
256x256 window a frame where it finds none, and one 128x128 pass a small face
it follows (fer_desktop/faces/small.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import cv2
import numpy as np
from common import (  # noqa: E402  (adds the repo to sys.path)
    add_common_arguments, announce_machine, describe_machine, pause_pid, paused, percentiles, print_table, quietly,
    write_json,
)
from pipeline import FPS, FRAME_SIZE, HEAD, tiled_frame

from fer_desktop.faces import FaceDetector
from fer_desktop.pipeline.demo import astronaut_photo, backdrop

SMALL_FACE = 24  # px high, as at the back of a room
ASTRONAUT_FACE = 103  # px, MediaPipe's box on the 512x512 photo


def scenes() -> dict[str, Callable[[int], np.ndarray]]:
    background = backdrop(FRAME_SIZE)
    head = np.ascontiguousarray(astronaut_photo()[HEAD])
    k = SMALL_FACE / ASTRONAUT_FACE
    small = cv2.resize(astronaut_photo(), None, fx=k, fy=k, interpolation=cv2.INTER_AREA)

    def small_face(i: int) -> np.ndarray:
        frame = background.copy()
        x = 300 + int(40 * np.sin(2 * np.pi * i / FPS / 3))
        frame[200 : 200 + small.shape[0], x : x + small.shape[1]] = small
        return frame

    return {"one face": lambda i: tiled_frame(1, i / FPS, head, background), "no face": lambda _: background.copy(),
            "small face": small_face}


def measure(small_faces: bool, scene: Callable[[int], np.ndarray], frames: int) -> dict:
    images = [scene(i) for i in range(frames)]
    times, found = [], 0
    with FaceDetector(small_faces=small_faces) as detector:
        for image in images:
            start = time.perf_counter()
            faces = detector.detect(image)
            times.append((time.perf_counter() - start) * 1e3)
            found += bool(faces)
    return {"ms": {**percentiles(times), "mean": float(np.mean(times))}, "found": found / frames}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=200, help="frames a scene (default: %(default)s)")
    p.add_argument("--busy", action="store_true",
                   help="time at once, on a busy machine too (each run then records the cores others used)")
    add_common_arguments(p, "detection.json", weights=False)
    args = p.parse_args(argv)
    if args.frames < 1:
        p.error("--frames must be at least 1")
    info = announce_machine()
    pid = pause_pid(args.pause)
    runs = []
    for name, scene in scenes().items():
        for small_faces in (False, True):
            if args.busy:
                with paused(pid, max_wait=0) as section:
                    result = measure(small_faces, scene, args.frames)
                background = section["background_cores"]
            else:
                result, background = quietly(lambda: measure(small_faces, scene, args.frames), pid)
            runs.append({"scene": name, "small_faces": small_faces, **result, "background_cores": background})
    print_table(("scene", "small faces", "p50 ms", "p95 ms", "mean ms", "found", "other cores"),
                [(r["scene"], "on" if r["small_faces"] else "off", f"{r['ms']['p50']:.1f}", f"{r['ms']['p95']:.1f}",
                  f"{r['ms']['mean']:.1f}", f"{100 * r['found']:.0f}%", f"{r['background_cores']:.2f}") for r in runs])
    write_json(args.out, {"machine": info, "described": describe_machine(info), "frames": args.frames, "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
