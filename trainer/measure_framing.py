"""Measure how FER-2013 frames a face relative to the detector's box.

Each 48x48 face is upscaled, padded so the detector sees some context, and
detected; the FER square is then expressed in the box's terms: its side as a
multiple of the box side, its centre offset as a fraction of that side. The
constants in fer_desktop/faces/crop.py come from here (docs/framing.md).

    python -m trainer.measure_framing --data /work/shared/data/fer2013.zip
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields

import cv2
import numpy as np

from fer_desktop.emotions import FACE_SIZE
from fer_desktop.faces import FER_DX, FER_DY, FER_SCALE, Face, FaceDetector, crop_box, fer_box
from trainer.data import load_fer

BORDERS = {"replicate": cv2.BORDER_REPLICATE, "gray": cv2.BORDER_CONSTANT}


@dataclass
class Framing:
    """One row per detected face; ``found`` has one entry per image."""

    found: np.ndarray  # bool: a face at or above the score threshold covers the centre
    scale: np.ndarray  # FER side / box side
    dx: np.ndarray  # (FER centre - box centre) / box side
    dy: np.ndarray
    square: np.ndarray  # box width == height
    edge: np.ndarray  # mean distance of fer_box's edges from the FER square's, in 48-px pixels
    error: np.ndarray  # mean abs pixel error of the crop.py crop against the original
    raw: np.ndarray  # the same for the detector's own box, unexpanded
    floor: np.ndarray  # the same for the exact FER square: resampling and equalisation alone

    @staticmethod
    def concat(runs: list[Framing]) -> Framing:
        return Framing(*(np.concatenate([getattr(r, f.name) for r in runs]) for f in fields(Framing)))


def canvas(face: np.ndarray, size: int, pad: int, border: str) -> np.ndarray:
    """A 48x48 face upscaled to ``size`` with ``pad`` pixels of context on each side."""
    big = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    return cv2.copyMakeBorder(big, pad, pad, pad, pad, BORDERS[border], value=int(face.mean()))


def central_face(faces: list[Face], centre: float) -> Face | None:
    """The most confident face whose box holds the canvas centre (padding can echo a face)."""
    for f in faces:
        if f.x <= centre <= f.x + f.w and f.y <= centre <= f.y + f.h:
            return f
    return None


def measure(detector: FaceDetector, faces: np.ndarray, size: int, pad_frac: float, border: str) -> Framing:
    """Detect every face on its canvas and place the FER square in the detected box's terms."""
    pad = round(pad_frac * size)
    centre = pad + size / 2
    truth = np.array([pad, pad, pad + size, pad + size])
    found, rows = np.zeros(len(faces), bool), []
    for i, face in enumerate(faces):
        img = canvas(face, size, pad, border)
        f = central_face(detector.detect(img), centre)
        if f is None:
            continue
        found[i] = True
        side = (f.w + f.h) / 2
        box = fer_box(f)
        raw = (round(f.x), round(f.y), round(f.x + side), round(f.y + side))
        errors = [np.abs(crop_box(img, b).astype(int) - face).mean() for b in (box, raw, tuple(truth))]
        rows.append((size / side, (centre - f.x - f.w / 2) / side, (centre - f.y - f.h / 2) / side, f.w == f.h,
                     np.abs(np.subtract(box, truth)).mean() * FACE_SIZE / size, *errors))
    cols = np.array(rows, float).reshape(-1, 8).T
    return Framing(found, *cols[:3], cols[3].astype(bool), *cols[4:])


def shift_error(faces: np.ndarray, px: int) -> float:
    """Mean abs pixel error of faces moved sideways by ``px``: a yardstick for the errors above."""
    move = np.float32([[1, 0, px], [0, 1, 0]])
    return float(np.mean([np.abs(cv2.warpAffine(f, move, f.shape[::-1], borderMode=cv2.BORDER_REPLICATE)
                                 .astype(int) - f).mean() for f in faces]))


def equalisation_gap(faces: np.ndarray) -> np.ndarray:
    """Per face, the mean abs pixel change cv2.equalizeHist makes: near 0 for an equalised face."""
    return np.array([np.abs(cv2.equalizeHist(f).astype(int) - f).mean() for f in faces])


def flat_edge_share(faces: np.ndarray) -> float:
    """Share of faces with an outer row or column of one grey (within 2 levels): padding in the source."""
    edges = [faces[:, 0], faces[:, -1], faces[:, :, 0], faces[:, :, -1]]
    return float(np.any([np.ptp(e, axis=1) <= 2 for e in edges], axis=0).mean())


def spread(x: np.ndarray) -> str:
    """Median [quartiles]."""
    q1, med, q3 = np.percentile(x, [25, 50, 75]) if len(x) else (np.nan,) * 3
    return f"{med:.3f} [{q1:.3f}, {q3:.3f}]"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="FER-2013: Kaggle folder, its .zip, or fer2013.csv")
    ap.add_argument("--sizes", type=int, nargs="+", default=[192], help="upscaled face sides, px")
    ap.add_argument("--pads", type=float, nargs="+", default=[0.5], help="context per side, x face side")
    ap.add_argument("--borders", nargs="+", default=["replicate"], choices=sorted(BORDERS), help="context fill")
    ap.add_argument("--train-sample", type=int, default=2000, help="training images measured beside PublicTest")
    ap.add_argument("--min-score", type=float, default=0.5, help="detector confidence threshold")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    data = load_fer(args.data)
    train = data.select("train")[0]
    pick = np.random.default_rng(args.seed).choice(len(train), min(args.train_sample, len(train)), replace=False)
    sets = {"public": data.select("public")[0], "train": train[np.sort(pick)]}
    print(f"images: {', '.join(f'{k} {len(v)}' for k, v in sets.items())}; min score {args.min_score}")
    print(f"crop.py constants: scale {FER_SCALE}, dx {FER_DX}, dy {FER_DY}")
    yardstick = " / ".join(f"{shift_error(sets['public'], px):.1f}" for px in (1, 2, 3))
    measured = np.concatenate(list(sets.values()))
    gap = equalisation_gap(measured)
    print(f"yardstick, PublicTest shifted 1 / 2 / 3 px: error {yardstick}")
    print(f"equalisation gap: median {np.median(gap):.2f}, under 3 levels for {np.mean(gap < 3):.1%}; "
          f"flat outer row or column: {flat_edge_share(measured):.1%}\n")
    print("| size | pad | border | found public | found train | scale | dx | dy | square | edge px | "
          "crop error | raw box error | floor |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    with FaceDetector(min_score=args.min_score) as detector:
        for size in args.sizes:
            for pad in args.pads:
                for border in args.borders:
                    runs = {k: measure(detector, v, size, pad, border) for k, v in sets.items()}
                    both = Framing.concat(list(runs.values()))
                    print(f"| {size} | {pad:g} | {border} | {runs['public'].found.mean():.1%} | "
                          f"{runs['train'].found.mean():.1%} | {spread(both.scale)} | {spread(both.dx)} | "
                          f"{spread(both.dy)} | {both.square.mean():.1%} | {np.median(both.edge):.2f} | "
                          f"{both.error.mean():.1f} | {both.raw.mean():.1f} | {both.floor.mean():.1f} |", flush=True)


if __name__ == "__main__":
    main()
