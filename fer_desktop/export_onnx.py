"""fer-desktop-export: a model (the ensemble too) as one ONNX file, checked against PyTorch.

    fer-desktop-export --model squeezenet                 # writes squeezenet.onnx
    fer-desktop-export --model ensemble --weights runs/ensemble --out ensemble.onnx

The graph takes what the app's face stage gives, (N, 48, 48) uint8 crops with
any N, and returns (N, 7) probabilities in FER-2013 order: preprocessing and
softmax are inside. The app makes the same export by itself (and caches it);
this command is for using the model elsewhere.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from fer_desktop.cli import add_version_flag, interruptible, shared_flags
from fer_desktop.emotions import EMOTIONS, FACE_SIZE
from fer_desktop.export.outputs import OutputError, make_folders_and_check
from fer_desktop.models import MODEL_NAMES
from fer_desktop.weights import WeightsError, load_named

TOLERANCE = 1e-4  # max |p_onnx - p_torch|


def export_model(name: str, weights_dir: Path, out: Path, tolerance: float = TOLERANCE) -> float:
    """Write ``out`` and return the largest probability difference from PyTorch on random faces."""
    from fer_desktop.export.files import replace_atomically
    from fer_desktop.inference import TorchClassifier
    from fer_desktop.inference.onnx_backend import OnnxClassifier, export_onnx

    model, spec, info = load_named(name, weights_dir)
    reference = TorchClassifier(name, model, spec, "cpu", info)
    with replace_atomically(out) as tmp:  # only a file that passed the check takes the name
        export_onnx(reference.net, tmp)
        exported = OnnxClassifier(name, tmp, spec, info)
        faces = np.random.default_rng(0).integers(0, 256, (8, FACE_SIZE, FACE_SIZE), dtype=np.uint8)
        diff = max(float(np.abs(exported.predict(faces[:n]) - reference.predict(faces[:n])).max()) for n in (1, 8))
        if diff > tolerance:
            raise ValueError(f"the exported model differs from PyTorch by {diff:.1e} (> {tolerance:.0e}); "
                             f"{out} is not written")
    return diff


@interruptible("fer-desktop-export")
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="fer-desktop-export", description=__doc__.split("\n\n")[0],
                                parents=[shared_flags("weights", "overwrite")])
    add_version_flag(p)
    p.add_argument("--model", required=True, choices=MODEL_NAMES)
    p.add_argument("--out", type=Path, metavar="FILE.onnx", help="default: MODEL.onnx in the current folder")
    p.add_argument("--tolerance", type=float, default=TOLERANCE, help="largest probability difference accepted")
    args = p.parse_args(argv)
    if not args.tolerance > 0:
        p.error(f"--tolerance {args.tolerance}: give a difference above 0")
    out = args.out or Path(f"{args.model}.onnx")
    try:
        make_folders_and_check([("--out", out)], overwrite=args.overwrite)
    except OutputError as e:
        p.error(str(e))
    t = time.perf_counter()
    try:
        diff = export_model(args.model, args.weights, out, args.tolerance)
    except (WeightsError, ValueError, OSError) as e:
        print(f"fer-desktop-export: {e}", file=sys.stderr)
        return 2
    print(f"{out}: input 'faces' (N, {FACE_SIZE}, {FACE_SIZE}) uint8, output 'probs' (N, {len(EMOTIONS)}) "
          f"[{', '.join(EMOTIONS)}]; max |p - p_torch| {diff:.1e}; {time.perf_counter() - t:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
