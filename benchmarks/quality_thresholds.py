"""Where each face-quality measure starts to cost accuracy: the thresholds of fer_desktop/faces/quality.py.

    python benchmarks/quality_thresholds.py --data ../shared/data/fer2013.zip --faces 800   # ~5 min on an idle core

PublicTest faces are degraded synthetically the way a camera degrades them, in
steps from mild to severe, and cropped the way the app crops (resized to 48x48
with INTER_AREA, then histogram-equalised):

- ``small``: the face shrunk to a detector box of S pixels and scaled back up;
- ``dark``: grey levels times a gain below 1, plus sensor noise (sigma 2) and rounding;
- ``overexposed``: grey levels times a gain above 1, clipped at white;
- ``blur``: a Gaussian blur of sigma S (in 48x48 pixels).

For each step: the model's single-crop accuracy and the median of the matching
measure (box side, mean grey level before equalisation, variance of the
Laplacian of the equalised crop). A threshold is the measure's value where the
accuracy, interpolated between steps, falls 10 points below clean.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from common import add_common_arguments, announce_machine, write_json

from fer_desktop.emotions import FACE_SIZE
from fer_desktop.faces.crop import FER_SCALE
from fer_desktop.faces.quality import crop_sharpness

DROP = 0.10  # accuracy points below clean where a measure's threshold lies
NOISE_SIGMA = 2.0


def equalised(gray: np.ndarray) -> np.ndarray:
    return cv2.equalizeHist(np.ascontiguousarray(gray, np.uint8))


def small(face: np.ndarray, box_px: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    side = max(2, round(box_px * FER_SCALE))  # the FER crop around a box of that side
    shrunk = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
    return equalised(cv2.resize(shrunk, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)), float(box_px)


def exposed(face: np.ndarray, gain: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    noisy = face.astype(np.float32) * gain + rng.normal(0, NOISE_SIGMA, face.shape)
    gray = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
    return equalised(gray), float(gray.mean())


def blurred(face: np.ndarray, sigma: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    crop = equalised(cv2.GaussianBlur(face, (0, 0), sigma) if sigma > 0 else face)
    return crop, crop_sharpness(crop)


# name: (degrade, steps from mild to severe, the measure's name)
CONDITIONS: dict[str, tuple[Callable, tuple[float, ...], str]] = {
    "small": (small, (64, 40, 32, 24, 20, 16, 12, 8), "face_px"),
    "dark": (exposed, (1.0, 0.3, 0.2, 0.15, 0.1, 0.07, 0.05), "brightness"),
    "overexposed": (exposed, (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0), "brightness"),
    "blur": (blurred, (0.0, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0), "sharpness"),
}


def crossing(measures: list[float], accuracies: list[float], target: float) -> float | None:
    """The measure where accuracy first falls below ``target``, interpolated linearly; None if it never does."""
    for i in range(1, len(accuracies)):
        if accuracies[i] < target <= accuracies[i - 1]:
            share = (accuracies[i - 1] - target) / (accuracies[i - 1] - accuracies[i])
            return float(measures[i - 1] + share * (measures[i] - measures[i - 1]))
    return None


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="FER-2013 (Kaggle folder, .zip or fer2013.csv)")
    p.add_argument("--model", default="squeezenet")
    p.add_argument("--faces", type=int, default=1200, help="PublicTest faces used, a seeded sample (default: 1200)")
    add_common_arguments(p, "quality-thresholds.json")
    args = p.parse_args(argv)
    import torch

    from fer_desktop.weights import DEFAULT_WEIGHTS_DIR, load_named
    from trainer.data import load_fer
    from trainer.predict import predict_probs

    torch.set_num_threads(1)
    info = announce_machine()
    model, spec, _ = load_named(args.model, args.weights or DEFAULT_WEIGHTS_DIR)
    faces, labels = load_fer(args.data).select("public")
    pick = np.sort(np.random.default_rng(0).permutation(len(labels))[: args.faces])
    faces, labels = faces[pick], labels[pick]
    started = time.perf_counter()
    clean = float((predict_probs(model, spec, faces).argmax(1) == labels).mean())
    results: dict[str, dict] = {}
    for name, (degrade, steps, measure) in CONDITIONS.items():
        rows = []
        for step in steps:
            rng = np.random.default_rng(1)
            pairs = [degrade(face, step, rng) for face in faces]
            crops = np.stack([c for c, _ in pairs])
            accuracy = float((predict_probs(model, spec, crops).argmax(1) == labels).mean())
            rows.append({"step": step, "accuracy": accuracy, measure: float(np.median([m for _, m in pairs]))})
            print(f"{name:12s} {step:>6}: accuracy {accuracy:.3f}, median {measure} {rows[-1][measure]:.1f}", file=sys.stderr)
        threshold = crossing([r[measure] for r in rows], [r["accuracy"] for r in rows], clean - DROP)
        results[name] = {"measure": measure, "threshold": threshold, "steps": rows}
    write_json(args.out, {
        "command": f"python benchmarks/quality_thresholds.py --data {Path(args.data).name} --model {args.model} --faces {args.faces}",
        "machine": info, "model": args.model, "faces": int(len(labels)), "clean_accuracy": clean, "drop": DROP,
        "seconds": time.perf_counter() - started, "conditions": results,
    })
    for name, r in results.items():
        value = "never within the steps" if r["threshold"] is None else f"{r['threshold']:.1f}"
        print(f"{name}: {r['measure']} threshold {value}")


if __name__ == "__main__":
    main()
