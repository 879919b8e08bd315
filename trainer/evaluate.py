"""fer-desktop-eval: measure a model on FER-2013 or on a folder of labelled photos.

    fer-desktop-eval --model squeezenet --data ../shared/data/fer2013.zip --split public --tta

A folder with a ``labels.csv`` (``path,label``) is read as ordinary photos: each
goes through the app's own face detection and cropping, and photos where no
face is found are counted in ``no_face``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import cv2
import numpy as np

from fer_desktop.calibration import apply_calibration
from fer_desktop.cli import EXIT_INTERRUPTED, add_data, add_json, add_version_flag, shared_flags
from fer_desktop.emotions import EMOTIONS
from fer_desktop.export.files import write_json
from fer_desktop.export.outputs import OutputError, make_folders_and_check
from fer_desktop.faces import FaceDetector, crop_faces
from fer_desktop.inference import BACKENDS, load_classifier, resolve_device
from fer_desktop.models import MODEL_NAMES, mirror_averaged
from fer_desktop.pipeline.sources import quiet_opencv
from fer_desktop.weights import WeightsError, load_named
from fer_desktop.words import count
from trainer.data import SPLITS, DataError, load_fer
from trainer.metrics import calibration_metrics, classification_metrics, format_table, plot_reliability
from trainer.predict import classifier_probs, predict_probs

UNREADABLE_NAMED = 5  # photos named one by one when they cannot be read; the rest are counted


def parse_label(value: str, where: str) -> int:
    value = value.strip()
    if value.isdigit() and int(value) < len(EMOTIONS):
        return int(value)
    if value.lower() in EMOTIONS:
        return EMOTIONS.index(value.lower())
    raise DataError(f"{where}: label {value!r} is neither a class name ({', '.join(EMOTIONS)}) nor an index 0-6")


def read_photos(folder: Path) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Crops of the largest face in each labelled photo: (faces, labels, no_face, unreadable)."""
    table = folder / "labels.csv"
    try:
        # utf-8-sig: a spreadsheet's "CSV UTF-8" starts with a byte-order mark, which would hide the 'path' column
        with open(table, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            rows = [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError:
        raise DataError(f"{table}: not UTF-8 text; save it as CSV (UTF-8) with a header 'path,label'") from None
    except csv.Error as e:
        raise DataError(f"{table}: not a CSV file ({e})") from None
    if not rows or not {"path", "label"} <= set(rows[0][1]):
        raise DataError(f"{table}: expected a header 'path,label' and one row per photo")
    faces, labels, no_face, unreadable = [], [], 0, 0
    with FaceDetector() as detector:
        for i, row in rows:
            if row["path"] is None or row["label"] is None:
                raise DataError(f"{table} line {i}: expected a path and a label, separated by a comma")
            label = parse_label(row["label"], f"{table} line {i}")
            with quiet_opencv():  # OpenCV's own warning names its C++ source file; the note below names the photo
                image = cv2.imread(str(folder / row["path"]), cv2.IMREAD_COLOR)
            if image is None:
                unreadable += 1
                if unreadable <= UNREADABLE_NAMED:
                    why = "not found" if not (folder / row["path"]).exists() else "not an image OpenCV can read"
                    print(f"note: {table} line {i}: {row['path']}: {why}, left out", file=sys.stderr)
                continue
            found = detector.detect(image)
            if not found:
                no_face += 1
                continue
            largest = max(found, key=lambda face: face.w * face.h)
            faces.append(crop_faces(image, [largest])[0])
            labels.append(label)
    if unreadable > UNREADABLE_NAMED:
        print(f"note: {count(unreadable - UNREADABLE_NAMED, 'more photo')} of {table} cannot be read, left out", file=sys.stderr)
    shape = (len(faces), *(faces[0].shape if faces else (48, 48)))
    return np.array(faces, np.uint8).reshape(shape), np.array(labels, np.int64), no_face, unreadable


def evaluate(args: argparse.Namespace) -> dict:
    device = resolve_device(args.device)
    if args.backend == "torch":
        model, spec, info = load_named(args.model, Path(args.weights))
        model.to(device)
    else:  # the app's own classifier: what the window and headless runs show
        classifier = load_classifier(args.model, device, Path(args.weights), args.backend)
        info = classifier.info
    data_path = Path(args.data)
    if data_path.is_dir() and (data_path / "labels.csv").is_file():
        faces, labels, no_face, skipped = read_photos(data_path)
        split = "photos"
    else:
        try:
            data = load_fer(data_path)
        except DataError as e:
            if not data_path.is_dir():
                raise
            raise DataError(f"{e}; or, for photos, a labels.csv (path,label) in {data_path}, which has none") from None
        faces, labels = data.select(args.split)
        no_face, skipped, split = 0, data.skipped, args.split
        for note in data.notes:
            print(f"note: {note}", file=sys.stderr)
    if len(labels) == 0:
        what = (f"no photo with a face could be read (no face in {no_face}, {skipped} unreadable)" if split == "photos"
                else f"no {split} faces to evaluate")
        raise DataError(f"{data_path}: {what}")
    mirror = not args.tta and mirror_averaged(args.model)  # as the app classifies it
    if args.backend == "torch":
        uncalibrated = predict_probs(model, spec, faces, device, tta=args.tta, mirror=mirror, progress="evaluating")
    else:
        uncalibrated = classifier_probs(classifier, faces, progress="evaluating")
    probs = apply_calibration(uncalibrated, info.get("calibration"))  # as the app shows them
    metrics = classification_metrics(labels, probs)
    if args.json:
        curves = {"uncalibrated": uncalibrated, "calibrated": probs} if info.get("calibration") else {"probabilities": probs}
        plot_reliability(labels, curves, reliability_path(args.json), f"{args.model} on {split}: reliability")
    return {
        "model": args.model, "data": str(data_path), "split": split, "tta": args.tta, "mirror": mirror,
        "device": device, "backend": args.backend if args.backend == "torch" else classifier.backend,
        "no_face": no_face, "skipped": skipped, "weights_public_accuracy": info.get("public_accuracy"), **metrics,
        "calibration": (info.get("calibration") or {}).get("method"), "uncalibrated": calibration_metrics(labels, uncalibrated),
    }


def reliability_path(json_path: Path) -> Path:
    """The reliability diagram beside the metrics JSON."""
    return json_path.with_name(f"{json_path.stem}-reliability.png")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="fer-desktop-eval", description=__doc__.split("\n\n")[0],
                                parents=[shared_flags("device", "weights", "overwrite")])
    add_version_flag(p)
    p.add_argument("--model", required=True, choices=MODEL_NAMES)
    add_data(p, extra=", or a folder of photos with labels.csv")
    p.add_argument("--split", default="public", choices=SPLITS, help="FER-2013 split (default: public)")
    p.add_argument("--tta", action="store_true", help="ten-crop and mirror test-time augmentation (torch backend)")
    p.add_argument("--backend", default="torch", choices=BACKENDS,
                   help="what runs the model: torch (fp32, the reference; default), or the app's own: auto, onnx, "
                   "int8 (the shipped int8 file), bf16")
    add_json(p, "the metrics")
    args = p.parse_args(argv)
    if args.tta and args.backend != "torch":
        p.error("--tta runs on the torch backend only")
    if args.json:  # checked before the evaluation, which can take minutes
        try:
            make_folders_and_check([("--json", args.json),
                                    ("the reliability diagram for --json", reliability_path(args.json))],
                                   overwrite=args.overwrite)
        except OutputError as e:
            p.error(str(e))
    try:
        result = evaluate(args)
    except (DataError, WeightsError, ValueError) as e:
        raise SystemExit(f"fer-desktop-eval: {e}")
    except KeyboardInterrupt:
        raise SystemExit(EXIT_INTERRUPTED)
    runs_on = "" if args.backend == "torch" else f" on {result['backend']}"
    print(f"{args.model}{runs_on} on {result['split']}{' (ten-crop)' if args.tta else ''}:")
    if result["mirror"]:
        print("(each crop averaged with its mirror image, as the app classifies it)")
    print(format_table(result))
    if result["no_face"] or result["skipped"]:
        no_face = result["no_face"]
        print(f"no face found in {count(no_face, 'photo')}; {result['skipped']} unreadable, left out")
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    main()
