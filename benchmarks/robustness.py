"""Accuracy under webcam conditions through the app's own path, and false faces on face-free video.

    python benchmarks/robustness.py --data path/to/fer2013.zip --model squeezenet
    python benchmarks/robustness.py --data path/to/fer2013.zip --model squeezenet --weights runs/webcam --limit 200

Real faces: PublicTest faces (the same ``--limit`` of them, drawn by ``--seed``,
under every condition), each placed on a wall in a 640x480 frame, degraded at
frame level (benchmarks/degrade.py: low light, noise, small and low-resolution
faces, blur, JPEG, roll, yaw, occlusion, dim + small + noisy, each at two or
three strengths), then found with the app's FaceDetector (each frame searched
whole for small faces, as a still image is, at the zooms that can find a face
of the condition's size), cropped with
``crop_faces`` and classified as the app classifies (``classify``). Per
condition: the share of faces found (a detection overlapping the face's box),
the accuracy on those found, and the class-share drift: for each class the
share of answers over its true share among those faces, the largest of them
and its class (1.0 = no drift; 2.0 = a class answered twice as often as it
occurs), each with its 95% bootstrap interval over the faces found.

False faces: face-free clips (benchmarks/face_free.py) through the app's
``FrameAnalyzer``, which reports a face only once the tracker has confirmed
it; per 1,000 frames, the frames where the app reported a face and where the
detector alone did. What confirmation costs on real faces: the demo's
astronaut and still clips of dim or dim, small and noisy faces, each frame
with fresh noise: share of frames and of clips with the face reported.

Everything is deterministic from ``--seed``. Writes JSON and a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
from common import (  # noqa: E402  (adds the repo to sys.path)
    RESULTS_DIR, add_public_faces_arguments, announce_machine, describe_machine, shown_path, span)
from degrade import Condition, conditions, degraded_clip, degraded_frame
from face_free import face_free_clips

from fer_desktop.emotions import EMOTIONS
from fer_desktop.export.files import replace_atomically, write_json
from fer_desktop.faces import Face, FaceDetector, crop_faces
from fer_desktop.faces.presence import MIN_PRESENCE, FacePresence
from fer_desktop.inference import load_classifier
from fer_desktop.inference.base import Classifier
from fer_desktop.models import mirror_averaged
from fer_desktop.pipeline.analyzer import FrameAnalyzer, classify
from fer_desktop.pipeline.demo import DemoSource
from fer_desktop.pipeline.frames import Frame
from fer_desktop.pipeline.tracking import CONFIRM_FRAMES, MIN_IOU, iou
from fer_desktop.weights import WeightsError
from trainer.data import DataError, load_fer

CLIP_CONDITIONS = ("low light 1/8", "dim+small+noisy 1/4, 32 px, sigma 6")  # real-face clips for confirmation
CLIP_FRAMES = 10
DEMO_FRAMES = 300


def matching_face(found: list[Face], truth: Face) -> Face | None:
    """The detection that overlaps the placed face most, if any overlaps it enough to be the same face."""
    best = max(found, key=lambda f: iou(f, truth), default=None)
    return best if best is not None and iou(best, truth) >= MIN_IOU else None


def predict(classifier: Classifier, crops: np.ndarray, mirror: bool) -> np.ndarray:
    return classify(classifier, crops) if mirror else classifier.predict(crops)


def drift(labels: np.ndarray, predicted: np.ndarray) -> tuple[float, str]:
    """The largest (answered share / true share) over the classes present, and that class."""
    ratios = {}
    for c, name in enumerate(EMOTIONS):
        true = np.mean(labels == c)
        if true > 0:
            ratios[name] = float(np.mean(predicted == c) / true)
    name = max(ratios, key=ratios.get)
    return ratios[name], name


def intervals(labels: np.ndarray, predicted: np.ndarray, seed: int, resamples: int = 1000
              ) -> tuple[list[float], list[float]]:
    """95% bootstrap intervals (percentile, over the faces found) of the accuracy and of the drift.

    A condition's few hundred faces leave both a few points wide: a goal such as drift at most 1.5
    is judged against the interval, not against the one draw.
    """
    rng = np.random.default_rng(seed)
    accuracy, drifts = np.empty(resamples), np.empty(resamples)
    for k in range(resamples):
        pick = rng.integers(0, len(labels), len(labels))
        accuracy[k] = np.mean(predicted[pick] == labels[pick])
        drifts[k] = drift(labels[pick], predicted[pick])[0]
    return ([float(v) for v in np.percentile(accuracy, [2.5, 97.5])],
            [float(v) for v in np.percentile(drifts, [2.5, 97.5])])


def run_condition(condition: Condition, faces: np.ndarray, labels: np.ndarray, detector: FaceDetector,
                  classifier: Classifier, seed: int, upright: bool, mirror: bool) -> dict[str, Any]:
    start = time.perf_counter()
    crops, kept, detected = [], [], 0
    salt = zlib.crc32(condition.key.encode())
    for j, face in enumerate(faces):
        frame, where = degraded_frame(face, condition, [seed, salt, j])
        match = matching_face(detector.detect(frame), where.box)
        detected += match is not None
        if match is not None and detector.is_face(frame, match):
            crops.append(crop_faces(frame, [match], upright)[0])
            kept.append(j)
    row: dict[str, Any] = {"condition": condition.name, "level": condition.level, "faces": len(faces),
                           "detected": detected / len(faces), "found": len(kept) / len(faces)}
    if kept:
        probs = predict(classifier, np.stack(crops), mirror)
        predicted, truth = probs.argmax(1), labels[kept]
        row["accuracy"] = float(np.mean(predicted == truth))
        row["drift"], row["drift_class"] = drift(truth, predicted)
        row["accuracy_95"], row["drift_95"] = intervals(truth, predicted, salt ^ seed)
        row["answer_shares"] = {name: float(np.mean(predicted == c)) for c, name in enumerate(EMOTIONS)}
    row["seconds"] = time.perf_counter() - start
    return row


def reported_frames(analyzer: FrameAnalyzer, source_id: int, frames: list[np.ndarray] | Any) -> tuple[int, int, int]:
    """(frames, frames with a reported face, frames where the detector found any) for one clip."""
    count = reported = detected = 0
    for i, image in enumerate(frames):
        result = analyzer.analyze(Frame(source_id, i, time.perf_counter(), i / 30, image))
        count += 1
        reported += bool(result.faces)
        detected += result.faces_detected > 0
    return count, reported, detected


def false_faces(analyzer: FrameAnalyzer, frames_per_clip: int, seed: int) -> dict[str, Any]:
    per_source, total, reported, detected = {}, 0, 0, 0
    for k, (name, frames) in enumerate(face_free_clips(frames_per_clip, seed)):
        n, r, d = reported_frames(analyzer, 1000 + k, frames)
        total, reported, detected = total + n, reported + r, detected + d
        if r or d:
            per_source[name] = {"reported": r, "detected": d}
    return {"frames": total, "reported_per_1000": 1000 * reported / total,
            "detected_per_1000": 1000 * detected / total, "sources_with_faces": per_source}


def real_face_clips(analyzer: FrameAnalyzer, faces: np.ndarray, seed: int) -> dict[str, Any]:
    """What confirmation costs: per clip set, frames and clips where the face was detected and where reported."""
    out: dict[str, Any] = {}
    n, r, d = reported_frames(analyzer, 1, (DemoSource(DEMO_FRAMES).read() for _ in range(DEMO_FRAMES)))
    out["demo"] = {"frames": n, "frames_reported": r, "frames_detected": d}
    by_key = {c.key: c for c in conditions()}
    for key in CLIP_CONDITIONS:
        condition = by_key[key]
        frames = reported = detected = clips_detected = clips_reported = 0
        for j, face in enumerate(faces):
            clip, _ = degraded_clip(face, condition, [seed, zlib.crc32(key.encode()), j, 1], CLIP_FRAMES)
            n, r, d = reported_frames(analyzer, 2000 + j, clip)
            frames, reported, detected = frames + n, reported + r, detected + d
            clips_detected += d > 0
            clips_reported += r > 0
        out[key] = {"clips": len(faces), "frames": frames, "frames_reported": reported, "frames_detected": detected,
                    "clips_detected": clips_detected, "clips_reported": clips_reported}
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = [f"# Robustness: {result['model']} ({result['weights']})", "",
             f"{result['limit']} PublicTest faces per condition, seed {result['seed']}, "
             f"upright crops {'on' if result['upright'] else 'off'}, mirror averaging "
             f"{'on' if result['mirror'] else 'off'}, small-face search "
             f"{'on' if result.get('small_faces', False) else 'off'}; {result['machine']}. Detected: BlazeFace boxed "
             "the face (the small-face search reports only faces the second look passed); "
             f"found: the landmark model's second look (face presence at least {result['min_presence']}) agreed, "
             "as the app requires; accuracy and drift are over the faces found, with their 95% bootstrap "
             "intervals in brackets.", "",
             "| condition | level | detected | found | accuracy | drift (class) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in result["conditions"]:
        acc = f"{100 * r['accuracy']:.1f}%{span(r, 'accuracy_95', 100, 1)}" if "accuracy" in r else "-"
        dr = f"{r['drift']:.2f}{span(r, 'drift_95', 1, 2)} ({r['drift_class']})" if "drift" in r else "-"
        lines.append(f"| {r['condition']} | {r['level']} | {100 * r['detected']:.1f}% | {100 * r['found']:.1f}% | "
                     f"{acc} | {dr} |")
    ff = result.get("false_faces")
    if ff:
        lines += ["", f"False faces on {ff['frames']} face-free frames: {ff['reported_per_1000']:.1f} per 1,000 "
                      f"frames reported by the app (a face seen in {result['confirm_frames']} consecutive frame(s) and "
                      "confirmed by the second look), "
                      f"{ff['detected_per_1000']:.1f} per 1,000 with any detection."]
    for key, c in result.get("real_face_clips", {}).items():
        clips = f", clips {c['clips_reported']}/{c['clips_detected']} reported/detected" if "clips" in c else ""
        lines.append(f"- {key}: frames {c['frames_reported']}/{c['frames_detected']} reported/detected of "
                     f"{c['frames']}{clips}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> dict[str, Any]:
    info = announce_machine()
    images, labels = load_fer(args.data).select("public")
    sample = np.random.default_rng(args.seed).permutation(len(labels))[: args.limit]
    faces, truth = images[sample], labels[sample]
    classifier = load_classifier(args.model, "cpu", args.weights)
    detector_factory = lambda still_images=False, smallest_face=0.0: FaceDetector(  # noqa: E731
        presence=FacePresence(min_presence=args.min_presence), small_faces=not args.no_small_faces,
        still_images=still_images, smallest_face=smallest_face)
    wanted = [c for c in conditions() if not args.conditions or any(s in c.key for s in args.conditions)]
    upright = not args.plain_crops
    mirror = not args.no_mirror and mirror_averaged(args.model)  # only where the app averages
    rows = []
    with ExitStack() as stack:
        detectors: dict[float, FaceDetector] = {}
        for condition in wanted:
            # Each frame a picture of its own, searched whole, but not at zooms that cannot find a face of this
            # size (its box may be a quarter smaller than the face): the 2x pass is 95% of a still's time.
            smallest = min(condition.face_heights) / 2
            if smallest not in detectors:
                detectors[smallest] = stack.enter_context(detector_factory(still_images=True, smallest_face=smallest))
            row = run_condition(condition, faces, truth, detectors[smallest], classifier, args.seed, upright, mirror)
            rows.append(row)
            acc = f"{100 * row['accuracy']:.1f}%" if "accuracy" in row else "-"
            print(f"  {condition.key}: detected {100 * row['detected']:.1f}%, found {100 * row['found']:.1f}%, accuracy {acc} "
                  f"({row['seconds']:.0f} s)", file=sys.stderr)
    result: dict[str, Any] = {
        "model": args.model, "weights": shown_path(args.weights), "limit": len(sample), "seed": args.seed,
        "upright": upright, "mirror": mirror, "small_faces": not args.no_small_faces,
        "confirm_frames": args.confirm_frames, "min_presence": args.min_presence,
        "machine": describe_machine(info), "conditions": rows,
    }
    if args.face_free_frames:
        analyzer = FrameAnalyzer(detector_factory, confirm_frames=args.confirm_frames)
        analyzer.classifier = classifier
        analyzer.open()
        try:
            result["false_faces"] = false_faces(analyzer, args.face_free_frames, args.seed)
            result["real_face_clips"] = real_face_clips(analyzer, faces[: args.clips], args.seed)
        finally:
            analyzer.close()
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_public_faces_arguments(p, 400, ' per condition')
    p.add_argument("--conditions", nargs="+", metavar="TEXT", help="only conditions whose name contains one of these")
    p.add_argument("--face-free-frames", type=int, default=60, metavar="N",
                   help="frames per face-free clip, 34 clips; 0 leaves out false faces (default: %(default)s)")
    p.add_argument("--clips", type=int, default=50, help="real faces made into clips per clip condition")
    p.add_argument("--confirm-frames", type=int, default=CONFIRM_FRAMES,
                   help="frames a face must be seen in before it is reported (default: the app's, %(default)s)")
    p.add_argument("--min-presence", type=float, default=MIN_PRESENCE,
                   help="the landmark model's face presence a new face must reach (default: the app's, %(default)s)")
    p.add_argument("--no-small-faces", action="store_true",
                   help="MediaPipe's pass alone, without the search for small faces (fer_desktop/faces/small.py)")
    p.add_argument("--plain-crops", action="store_true", help="crop leaning heads straight, as before upright crops")
    p.add_argument("--no-mirror", action="store_true", help="classify the crop alone, even for mirror-averaged models")
    p.add_argument("--json", type=Path, help="the JSON written (default: benchmarks/results/robustness-MODEL.json); "
                                             "the Markdown table goes beside it")
    args = p.parse_args(argv)
    if args.limit < 1 or args.face_free_frames < 0 or args.confirm_frames < 1 or args.clips < 0:
        p.error("--limit and --confirm-frames must be at least 1, --face-free-frames and --clips at least 0")
    out = args.json or RESULTS_DIR / f"robustness-{args.model}.json"
    try:
        result = run(args)
    except (DataError, WeightsError, FileNotFoundError) as e:
        print(f"robustness.py: {e}", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, result)
    table = markdown(result)
    with replace_atomically(out.with_suffix(".md")) as tmp:
        tmp.write_text(table, encoding="utf-8")
    print(table)
    print(f"wrote {out} and {out.with_suffix('.md').name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
