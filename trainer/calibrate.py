"""Choose, check and store a model's calibration on PublicTest.

    python -m trainer.calibrate --data ../shared/data/fer2013.zip --model squeezenet --figures docs/models

PublicTest is split in two halves by a fixed seed. Each method (temperature,
vector scaling, isotonic map of the top probability) is scored on the first
half by two-fold cross-validation within it; a method that moves any argmax
there is refused (accuracy must not change). The winner, fitted on the whole
first half, is checked on the second (and, to show how much of that figure is
the split's luck, on 20 other halvings); then it is fitted on all of PublicTest
and written into the weights' record (``--weights`` folder: the safetensors
metadata, or ``ensemble.json`` beside the member list). ``--dry-run`` writes
nothing but the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from fer_desktop.calibration import DEFAULT_UNCERTAIN_BELOW, METHODS, apply_calibration, fit_calibration
from fer_desktop.cli import EXIT_INTERRUPTED, add_device, describe_os_error
from fer_desktop.export.files import write_json
from fer_desktop.models import MODEL_NAMES, get_model
from fer_desktop.weights import DEFAULT_WEIGHTS_DIR, WeightsError, load_named, update_weights, weights_path
from trainer.data import DataError, load_fer
from trainer.metrics import calibration_metrics, ece, plot_reliability, plot_risk_coverage, risk_coverage

SPLIT_SEED = 20240528


def halves(n: int, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The fixed split of PublicTest: (selection half, check half) indices."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2 :])


def _moves_argmax(method: str, probs: np.ndarray, labels: np.ndarray) -> bool:
    calibrated = apply_calibration(probs, fit_calibration(method, probs, labels))
    return bool((calibrated.argmax(1) != probs.argmax(1)).any())


def cross_validated_ece(method: str, probs: np.ndarray, labels: np.ndarray, seed: int = SPLIT_SEED, repeats: int = 5) -> float:
    """Mean ECE of ``method`` over ``repeats`` two-fold splits of ``probs``: fitted on one fold, measured on the other.

    Repeated because one split of some 900 faces is too noisy to rank methods whose ECEs differ by 0.01.
    """
    scores = []
    for r in range(repeats):
        a, b = halves(len(labels), seed + 1 + r)
        for fit, test in ((a, b), (b, a)):
            calibration = fit_calibration(method, probs[fit], labels[fit])
            scores.append(ece(labels[test], apply_calibration(probs[test], calibration)))
    return float(np.mean(scores))


def select_method(probs: np.ndarray, labels: np.ndarray, seed: int = SPLIT_SEED) -> dict[str, Any]:
    """Score every method on the selection half; the one with the lowest cross-validated ECE that keeps every argmax."""
    scores: dict[str, Any] = {}
    for method in METHODS:
        if _moves_argmax(method, probs, labels):
            scores[method] = "refused: moves an argmax"
        else:
            scores[method] = cross_validated_ece(method, probs, labels, seed)
    usable = {m: s for m, s in scores.items() if not isinstance(s, str)}
    return {"chosen": min(usable, key=usable.get), "cross_validated_ece": scores}


def calibrate(probs: np.ndarray, labels: np.ndarray, seed: int = SPLIT_SEED) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the calibration fitted on all faces, the record of how it was chosen and checked)."""
    probs = np.asarray(probs, np.float64)
    labels = np.asarray(labels, np.int64)
    select, check = halves(len(labels), seed)
    choice = select_method(probs[select], labels[select], seed)
    method = choice["chosen"]
    on_half = apply_calibration(probs[check], fit_calibration(method, probs[select], labels[select]))
    record = {
        "split_seed": seed, "selection_faces": int(len(select)), "check_faces": int(len(check)), **choice,
        "check_before": calibration_metrics(labels[check], probs[check]),
        "check_after": calibration_metrics(labels[check], on_half.astype(np.float64)),
        "check_argmax_moved": int((on_half.argmax(1) != probs[check].argmax(1)).sum()),
        "check_ece_if_perfectly_calibrated": noise_floor(on_half.astype(np.float64)),
        "check_ece_other_halvings": other_halvings(method, probs, labels, seed),
    }
    calibration = {**fit_calibration(method, probs, labels), "fitted_on": f"PublicTest, {len(labels)} faces, single crop"}
    return calibration, record


def noise_floor(probs: np.ndarray, trials: int = 200, seed: int = 0) -> float:
    """The mean ECE that a perfectly calibrated model with these top probabilities would show on this many faces.

    ECE of a finite sample is never 0: each bin's accuracy is a binomial estimate. Labels are drawn
    right with the top probability itself; what ECE remains is sampling noise.
    """
    rng = np.random.default_rng(seed)
    top, k = probs.max(1), probs.argmax(1)
    scores = []
    for _ in range(trials):
        drawn = np.where(rng.random(len(top)) < top, k, (k + 1) % probs.shape[1])
        scores.append(ece(drawn, probs))
    return float(np.mean(scores))


def other_halvings(method: str, probs: np.ndarray, labels: np.ndarray, seed: int = SPLIT_SEED,
                   count: int = 20) -> dict[str, float]:
    """The held-out ECE of ``method`` over ``count`` other halvings of the same faces: how much of one check's
    figure is the luck of the split (mean, min, max)."""
    scores = []
    for r in range(count):
        fit, check = halves(len(labels), seed + 1000 + r)
        scores.append(ece(labels[check], apply_calibration(probs[check], fit_calibration(method, probs[fit], labels[fit]))))
    return {"halvings": count, "mean": float(np.mean(scores)), "min": float(np.min(scores)), "max": float(np.max(scores))}


def cross_fitted(method: str, probs: np.ndarray, labels: np.ndarray, seed: int = SPLIT_SEED) -> np.ndarray:
    """Every face's probabilities calibrated by ``method`` fitted on the other half: honest calibrated values for all."""
    out = np.empty_like(probs, dtype=np.float64)
    a, b = halves(len(labels), seed)
    for fit, apply in ((a, b), (b, a)):
        out[apply] = apply_calibration(probs[apply], fit_calibration(method, probs[fit], labels[fit]))
    return out


def store_calibration(name: str, weights_dir: Path, calibration: dict[str, Any]) -> Path:
    """Write ``calibration`` into the record of ``name``'s weights in ``weights_dir`` (atomically)."""
    path = weights_path(name, weights_dir)
    if get_model(name).is_fusion:
        write_json(path, {**json.loads(path.read_text()), "calibration": calibration})
    else:
        update_weights(path, {"calibration": calibration})
    return path


def public_probs(name: str, data_path: Path, weights_dir: Path, device: str) -> tuple[np.ndarray, np.ndarray]:
    """The model's single-crop probabilities on PublicTest, as the app computes them, before any calibration."""
    from fer_desktop.inference import resolve_device
    from fer_desktop.models import mirror_averaged
    from trainer.predict import predict_probs

    device = resolve_device(device)
    model, spec, _ = load_named(name, weights_dir)
    faces, labels = load_fer(data_path).select("public")
    if len(labels) == 0:
        raise DataError(f"{data_path}: no PublicTest faces to calibrate on")
    return predict_probs(model.to(device), spec, faces, device, mirror=mirror_averaged(name),
                         progress=f"{name} on PublicTest"), labels


def write_figures(name: str, probs: np.ndarray, labels: np.ndarray, calibration: dict, record: dict, out: Path) -> list[dict]:
    """The check half's reliability diagram before and after, the record as JSON; returns the risk-coverage curve
    of the cross-fitted calibrated probabilities."""
    select, check = halves(len(labels), record["split_seed"])
    fitted = fit_calibration(calibration["method"], probs[select], labels[select])
    out.mkdir(parents=True, exist_ok=True)
    plot_reliability(
        labels[check], {"before": probs[check], f"after ({calibration['method']})": apply_calibration(probs[check], fitted)},
        out / f"{name}-reliability.png", f"{name}: held-out half of PublicTest ({len(check)} faces)",
    )
    curve = risk_coverage(labels, cross_fitted(calibration["method"], probs, labels, record["split_seed"]))
    write_json(out / f"{name}-calibration.json",
               {"model": name, "calibration": calibration, "selection": record, "risk_coverage": curve})
    return curve


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m trainer.calibrate", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, type=Path, help="FER-2013 (Kaggle folder, .zip or fer2013.csv)")
    p.add_argument("--model", required=True, nargs="+", choices=MODEL_NAMES)
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS_DIR, help="weights folder to read and write (default: weights/)")
    p.add_argument("--figures", type=Path,
                   help="write NAME-reliability.png and NAME-calibration.json here, and risk-coverage.png of every "
                   "model calibrated into it")
    p.add_argument("--dry-run", action="store_true", help="choose and check, but leave the weights as they are")
    add_device(p)
    args = p.parse_args(argv)
    try:
        calibrate_models(args)
    except OSError as e:
        raise SystemExit(f"python -m trainer.calibrate: {describe_os_error(e)}")
    except KeyboardInterrupt:
        print("python -m trainer.calibrate: interrupted; each weights file is either as it was or calibrated whole",
              file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED)


def calibrate_models(args: argparse.Namespace) -> None:
    """Choose, check and store the calibration of each of ``--model``, with the figures of ``--figures``."""
    curves = {}
    for name in args.model:
        try:
            probs, labels = public_probs(name, args.data, args.weights, args.device)
        except (DataError, WeightsError, ValueError) as e:
            print(f"python -m trainer.calibrate: {e}", file=sys.stderr)
            raise SystemExit(1)
        calibration, record = calibrate(probs, labels)
        before, after = record["check_before"], record["check_after"]
        spread = record["check_ece_other_halvings"]
        print(f"{name}: {calibration['method']} chosen (cross-validated ECE on the selection half: "
              + ", ".join(f"{m} {s if isinstance(s, str) else f'{s:.4f}'}" for m, s in record["cross_validated_ece"].items())
              + f"); held-out half: ECE {before['ece']:.4f} -> {after['ece']:.4f}, NLL {before['nll']:.4f} -> "
              f"{after['nll']:.4f}, Brier {before['brier']:.4f} -> {after['brier']:.4f}, "
              f"{record['check_argmax_moved']} argmax moved; ECE over {spread['halvings']} other halvings "
              f"{spread['mean']:.4f} on average ({spread['min']:.4f} to {spread['max']:.4f}), "
              f"{record['check_ece_if_perfectly_calibrated']:.4f} for a perfectly calibrated model")
        if args.figures:
            curves[name] = write_figures(name, probs, labels, calibration, record, args.figures)
            kept = next(r for r in curves[name] if abs(r["threshold"] - DEFAULT_UNCERTAIN_BELOW) < 1e-9)
            right = "none" if kept["accuracy"] is None else f"{kept['accuracy']:.1%}"
            print(f"{name}: at the uncertainty threshold {DEFAULT_UNCERTAIN_BELOW} (calibrated), {kept['coverage']:.1%} "
                  f"of PublicTest faces are kept, {right} of them right")
        if not args.dry_run:
            print(f"{name}: calibration written to {store_calibration(name, args.weights, calibration)}")
    if args.figures:
        # Every model calibrated into this folder so far, not only this run's: models may be calibrated one at a time.
        for path in sorted(args.figures.glob("*-calibration.json")):
            record = json.loads(path.read_text())
            curves.setdefault(record["model"], record["risk_coverage"])
        plot_risk_coverage(curves, args.figures / "risk-coverage.png", "PublicTest, calibrated (cross-fitted)",
                           DEFAULT_UNCERTAIN_BELOW)


if __name__ == "__main__":
    main()
