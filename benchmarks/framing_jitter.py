"""How far the app's face box wanders from the face, and what that costs the classifier.

PublicTest faces are placed in 640x480 frames as benchmarks/robustness.py
places them (clean), then found by the app's detector. Each found face is
cropped twice: from the box the face was placed at (where a perfect detector
would put it) and from the detector's own box, as the app crops. The result
gives the detector box's offset and size against the placed box (percentiles
and a robust sigma, as shares of the box's side) and the accuracy of both
crops, so the gap is what framing alone costs. The trainer's ``--aug-scale``
and ``--aug-shift`` are sized from these figures.

    python benchmarks/framing_jitter.py --data fer2013.zip --model squeezenet
"""

from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from common import (  # noqa: E402  (adds the repo to sys.path)
    RESULTS_DIR, add_public_faces_arguments, announce_machine, describe_machine, write_json)
from degrade import conditions, degraded_frame
from robustness import matching_face

from fer_desktop.faces import FaceDetector, crop_faces
from fer_desktop.inference import load_classifier
from fer_desktop.pipeline.analyzer import classify
from fer_desktop.weights import WeightsError
from trainer.data import DataError, load_fer


def spread(values: np.ndarray) -> dict[str, float]:
    """Percentiles 5/25/50/75/95 and the robust sigma (interquartile range / 1.349)."""
    q = np.percentile(values, [5, 25, 50, 75, 95])
    return {**{f"p{p}": round(float(v), 4) for p, v in zip((5, 25, 50, 75, 95), q)},
            "sigma": round(float((q[3] - q[1]) / 1.349), 4)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    info = announce_machine()
    images, labels = load_fer(args.data).select("public")
    sample = np.random.default_rng(args.seed).permutation(len(labels))[: args.limit]
    clean = conditions()[0]
    salt = zlib.crc32(clean.key.encode())
    placed, detected, kept, geometry = [], [], [], []
    with FaceDetector(still_images=True) as detector:
        for j in sample:
            frame, where = degraded_frame(images[j], clean, [args.seed, salt, int(j)])
            box = where.box
            best = matching_face(detector.detect(frame), box)
            if best is None or not detector.is_face(frame, best):
                continue
            side = (box.w + box.h) / 2
            geometry.append(((best.x + best.w / 2 - box.x - box.w / 2) / side,
                             (best.y + best.h / 2 - box.y - box.h / 2) / side,
                             (best.w + best.h) / 2 / side))
            placed.append(crop_faces(frame, [box], upright=False)[0])  # a placed box has no eyes to level by
            detected.append(crop_faces(frame, [best])[0])
            kept.append(j)
    classifier = load_classifier(args.model, "cpu", args.weights)
    truth = labels[kept]
    accuracy = {name: float(np.mean(classify(classifier, np.stack(crops)).argmax(1) == truth))
                for name, crops in (("placed_box", placed), ("detector_box", detected))}
    g = np.array(geometry)
    return {"model": args.model, "faces": len(sample), "found": len(kept), "seed": args.seed,
            "dx": spread(g[:, 0]), "dy": spread(g[:, 1]), "scale": spread(g[:, 2]),
            "accuracy": accuracy, "machine": describe_machine(info)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_public_faces_arguments(p, 1000)
    p.add_argument("--json", type=Path, help="the JSON written (default: benchmarks/results/framing-jitter-MODEL.json)")
    args = p.parse_args(argv)
    if args.limit < 1:
        p.error("--limit must be at least 1")
    try:
        result = run(args)
    except (DataError, WeightsError, FileNotFoundError) as e:
        print(f"framing_jitter.py: {e}", file=sys.stderr)
        return 1
    out = args.json or RESULTS_DIR / f"framing-jitter-{args.model}.json"
    write_json(out, result)
    for key in ("dx", "dy", "scale"):
        s = result[key]
        print(f"{key}: median {s['p50']:+.3f}, 5-95% [{s['p5']:+.3f}, {s['p95']:+.3f}], robust sigma {s['sigma']:.3f}")
    acc = result["accuracy"]
    print(f"{result['found']} of {result['faces']} faces found; accuracy from the placed box {acc['placed_box']:.2%}, "
          f"from the detector's box {acc['detector_box']:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
