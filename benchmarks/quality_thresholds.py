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

    python benchmarks/quality_thresholds.py --data ../shared/data/fer2013.zip --pose --faces 3589   # ~3 min

``--pose``: the head-pose measures of fer_desktop/faces/pose.py instead. A
synthetic turn is no turn: benchmarks/degrade.py's yaw warp of a flat face
moves the landmark mesh's own yaw estimate by 4 degrees at "50 degrees" (the
``synthetic_yaw`` figures). So the faces are FER-2013's own, whose poses vary:
each PublicTest face is placed in a webcam frame (benchmarks/degrade.py),
found by the app's BlazeFace, and its keypoint ratios are calibrated against
the face-landmark model's 3-D mesh (yaw from the cheek-to-cheek vector,
pitch from forehead-to-chin, about the median face); then the faces are put in
equal-count bins of each measure, and the threshold is where a bin's accuracy,
interpolated between bin medians, falls 10 points below the accuracy of all
the faces found. Pose and expression are not independent in FER-2013, so the
figure is the accuracy of faces at that pose, not of one face turned.
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


POSE_BINS = 20  # equal-count bins of each pose measure (about 165 faces each)
YAW_MESH_POINTS = (234, 454)  # the face-landmark mesh's right and left cheek edges
PITCH_MESH_POINTS = (10, 152)  # forehead top and chin


def mesh_pose(presence: object, frame: np.ndarray, face: object) -> tuple[float, float]:
    """(yaw, pitch) in degrees from the landmark model's 3-D mesh (its z is in the scale of x)."""
    mesh = presence._session.run(["landmarks"], {"image": presence.region(frame, face)})[0].reshape(-1, 3)
    across = mesh[YAW_MESH_POINTS[1]] - mesh[YAW_MESH_POINTS[0]]
    down = mesh[PITCH_MESH_POINTS[1]] - mesh[PITCH_MESH_POINTS[0]]
    return float(np.degrees(np.arctan2(across[2], across[0]))), float(np.degrees(np.arctan2(down[2], down[1])))


def fit_slope(ratio: np.ndarray, degrees: np.ndarray) -> float:
    """The k in ``degrees = atan(k * ratio)`` with the least squared error in degrees (a grid of 0.01).

    Fitted in degrees, not in tangents: a few near-profile faces would dominate a fit of tan(degrees).
    """
    grid = np.arange(0.2, 4.0, 0.01)
    errors = [np.mean((np.degrees(np.arctan(k * ratio)) - degrees) ** 2) for k in grid]
    return float(grid[int(np.argmin(errors))])


def binned_crossing(measure: np.ndarray, right: np.ndarray, target: float, bins: int = POSE_BINS) -> dict:
    """Equal-count bins of ``measure`` (ascending): each bin's median and accuracy, and where accuracy crosses ``target``."""
    order = np.argsort(measure, kind="stable")
    rows = [{"faces": int(len(part)), "median": float(np.median(measure[part])), "accuracy": float(right[part].mean())}
            for part in np.array_split(order, bins)]
    return {"threshold": crossing([r["median"] for r in rows], [r["accuracy"] for r in rows], target), "bins": rows}


def pose_study(model: object, spec: object, faces: np.ndarray, labels: np.ndarray) -> dict:
    """Calibrate the keypoint pose against the mesh and find where accuracy falls (module docstring, ``--pose``)."""
    from degrade import place_face, yaw as yaw_warp

    from fer_desktop.faces import FaceDetector
    from fer_desktop.faces.pose import pose_ratios
    from fer_desktop.faces.presence import FacePresence
    from trainer.predict import predict_probs

    detector, presence = FaceDetector(presence=False), FacePresence()
    try:
        found, ratios, mesh, detector_faces = [], [], [], []
        for i, face in enumerate(faces):
            rng = np.random.default_rng(i)
            frame, where = place_face(face, rng.uniform(200, 280), rng)
            detected = [f for f in detector.detect(frame) if len(f.keypoints) == 6]
            if not detected:
                continue
            ear, height = pose_ratios(detected[0])
            if np.isfinite(ear) and np.isfinite(height):
                found.append(i)
                detector_faces.append(detected[0])
                ratios.append((ear, height))
                mesh.append(mesh_pose(presence, frame, detected[0]))
        synthetic = []
        for degrees in (0, 20, 35, 50):  # the robustness benchmark's yaw warp, on the first 100 faces found
            turned_mesh, turned_ratio = [], []
            for i in found[:100]:
                rng = np.random.default_rng(i)
                frame, where = place_face(faces[i], rng.uniform(200, 280), rng)
                frame = yaw_warp(degrees)(frame, where, rng) if degrees else frame
                detected = [f for f in detector.detect(frame) if len(f.keypoints) == 6]
                if detected:
                    turned_ratio.append(abs(pose_ratios(detected[0])[0]))
                    turned_mesh.append(abs(mesh_pose(presence, frame, detected[0])[0]))
            synthetic.append({"warp_degrees": degrees, "faces": len(turned_mesh),
                              "median_abs_mesh_yaw": float(np.median(turned_mesh)),
                              "median_abs_ear_ratio": float(np.median(turned_ratio))})
    finally:
        detector.close()
    ear, height = np.array(ratios).T
    mesh_yaw, mesh_pitch = np.array(mesh).T
    k_yaw = fit_slope(ear, mesh_yaw)
    frontal = float(np.median(height))
    pitch_up = -(mesh_pitch - np.median(mesh_pitch))  # the mesh's chin comes nearer (z falls) as the face tilts up
    k_pitch = fit_slope(frontal - height, pitch_up)
    yaw = np.degrees(np.arctan(k_yaw * ear))
    pitch = np.degrees(np.arctan(k_pitch * (frontal - height)))
    cost_us = pose_cost_us(detector_faces)
    picked = np.array(found)
    right = predict_probs(model, spec, faces[picked]).argmax(1) == labels[picked]
    clean = float(right.mean())
    return {
        "faces_found": int(len(found)), "clean_accuracy": clean,
        "fit": {"K_YAW": k_yaw, "K_PITCH": k_pitch, "FRONTAL_NOSE_HEIGHT": frontal,
                "yaw_rms_error_deg": float(np.sqrt(np.mean((yaw - mesh_yaw) ** 2))),
                "pitch_rms_error_deg": float(np.sqrt(np.mean((pitch - pitch_up) ** 2))),
                "yaw_correlation": float(np.corrcoef(yaw, mesh_yaw)[0, 1]),
                "pitch_correlation": float(np.corrcoef(pitch, pitch_up)[0, 1])},
        "turned": {"measure": "abs(yaw_deg)", **binned_crossing(np.abs(yaw), right, clean - DROP)},
        "tilted": {"measure": "abs(pitch_deg)", **binned_crossing(np.abs(pitch), right, clean - DROP)},
        "tilted_up": {"measure": "pitch_deg", **binned_crossing(pitch, right, clean - DROP)},
        "tilted_down": {"measure": "-pitch_deg", **binned_crossing(-pitch, right, clean - DROP)},
        "synthetic_yaw": synthetic,
        "head_pose_us_per_face": cost_us,
    }


def pose_cost_us(faces: list) -> float:
    """Microseconds ``head_pose`` takes per face, the median of five passes over ``faces``."""
    from fer_desktop.faces.pose import head_pose

    passes = []
    for _ in range(5):
        start = time.perf_counter()
        for face in faces:
            head_pose(face)
        passes.append((time.perf_counter() - start) / len(faces) * 1e6)
    return float(np.median(passes))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="FER-2013 (Kaggle folder, .zip or fer2013.csv)")
    p.add_argument("--model", default="squeezenet")
    p.add_argument("--faces", type=int, default=1200, help="PublicTest faces used, a seeded sample (default: 1200)")
    p.add_argument("--pose", action="store_true", help="the head-pose thresholds instead (default --out: "
                   "quality-thresholds-pose.json)")
    add_common_arguments(p, "quality-thresholds.json")
    args = p.parse_args(argv)
    if args.pose and args.out.name == "quality-thresholds.json":
        args.out = args.out.with_name("quality-thresholds-pose.json")
    import torch

    from fer_desktop.weights import DEFAULT_WEIGHTS_DIR, WeightsError, load_named
    from trainer.data import DataError, load_fer
    from trainer.predict import predict_probs

    torch.set_num_threads(1)
    info = announce_machine()
    try:
        model, spec, _ = load_named(args.model, args.weights or DEFAULT_WEIGHTS_DIR)
        faces, labels = load_fer(args.data).select("public")
    except (DataError, WeightsError) as e:
        raise SystemExit(f"quality_thresholds: {e}")
    pick = np.sort(np.random.default_rng(0).permutation(len(labels))[: args.faces])
    faces, labels = faces[pick], labels[pick]
    started = time.perf_counter()
    command = (f"python benchmarks/quality_thresholds.py --data {Path(args.data).name} --model {args.model} "
               f"--faces {args.faces}{' --pose' if args.pose else ''}")
    if args.pose:
        result = pose_study(model, spec, faces, labels)
        write_json(args.out, {"command": command, "machine": info, "model": args.model, "drop": DROP,
                              "seconds": time.perf_counter() - started, **result})
        print(f"fit: {result['fit']}")
        for name in ("turned", "tilted", "tilted_up", "tilted_down"):
            print(f"{name}: {result[name]['measure']} threshold {result[name]['threshold']}")
        return
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
        "command": command,
        "machine": info, "model": args.model, "faces": int(len(labels)), "clean_accuracy": clean, "drop": DROP,
        "seconds": time.perf_counter() - started, "conditions": results,
    })
    for name, r in results.items():
        value = "never within the steps" if r["threshold"] is None else f"{r['threshold']:.1f}"
        print(f"{name}: {r['measure']} threshold {value}")


if __name__ == "__main__":
    main()
