"""Make a model's int8 file for ONNX Runtime on the CPU, the app's fastest way to run it.

    python -m trainer.quantize --model squeezenet --data ../shared/data/fer2013.zip

The model is exported as the app runs it (uint8 faces in, probabilities out);
its activation ranges are measured on training faces and their mirrors; then
every layer of the feature extractor runs in int8 (7-bit weights per output
channel, activations per tensor), while the classifier head, the pooling before it and
the softmax stay in float, so the probabilities keep their resolution. The
file, ``NAME.int8.onnx`` beside the weights, records the SHA-256 of the weights
it came from; the app uses it only while they match. PublicTest accuracy of the
float and the int8 model, and how many answers agree, are printed (and written
with ``--json``); the model card measures them again from the shipped file.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

import numpy as np

from fer_desktop.cli import EXIT_INTERRUPTED, add_data, add_json, add_version_flag, shared_flags
from fer_desktop.export.files import write_bytes_atomically, write_json
from fer_desktop.export.outputs import OutputError, make_folders_and_check
from fer_desktop.inference.onnx_backend import (
    WEIGHTS_DIGEST_KEY, OnnxClassifier, export_onnx, quantized_path, weights_digest,
)
from fer_desktop.models import MODEL_NAMES, mirror_averaged
from fer_desktop.weights import WeightsError, files_read, load_named
from trainer.data import DataError, load_fer
from trainer.predict import classifier_probs

DEFAULT_FACES = 1000  # and their mirrors: enough that the int8 answers match the float ones (the model card says how often)
CALIBRATION_BATCH = 64
# Node names under these stay in float: each model's classifier head, the pooling before it, and what the
# graph does around the network (casting the uint8 input, the softmax).
FLOAT_PARTS = ("/head", "ReduceMean", "Softmax", "/Cast")


def float_nodes(model_path: Path) -> list[str]:
    """The nodes of an exported graph that stay in float (``FLOAT_PARTS``, and everything outside the network)."""
    import onnx

    graph = onnx.load(str(model_path)).graph
    return [n.name for n in graph.node if any(part in n.name for part in FLOAT_PARTS) or "/model/" not in n.name]


def calibration_faces(train: np.ndarray, count: int, seed: int) -> np.ndarray:
    """``count`` random training faces and their mirror images: the app classifies both."""
    chosen = train[np.random.default_rng(seed).choice(len(train), min(count, len(train)), replace=False)]
    return np.ascontiguousarray(np.concatenate([chosen, chosen[:, :, ::-1]]))


def quantize(float_model: Path, faces: np.ndarray, out: Path, metadata: dict[str, str]) -> None:
    """Write the int8 version of ``float_model`` to ``out``, its activation ranges measured on ``faces``."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(range(0, len(faces), CALIBRATION_BATCH))

        def get_next(self) -> dict[str, np.ndarray] | None:
            start = next(self._batches, None)
            return None if start is None else {"faces": faces[start : start + CALIBRATION_BATCH]}

    with tempfile.TemporaryDirectory(prefix="fer-quantize-") as tmp:
        prepared, quantized = Path(tmp) / "prepared.onnx", Path(tmp) / "int8.onnx"
        quant_pre_process(str(float_model), str(prepared))
        # reduce_range: 7-bit weights. CPUs without VNNI (AVX2 alone) sum pairs of uint8 x int8 products in
        # int16, which full-range weights overflow: the shipped SqueezeNet fell from 67.7% to 65.4% on such a CPU.
        # With 7 bits every CPU computes the same answers, and VNNI ones keep their uint8 x int8 kernel.
        quantize_static(
            str(prepared), str(quantized), Batches(), quant_format=QuantFormat.QDQ, per_channel=True,
            reduce_range=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            nodes_to_exclude=float_nodes(prepared),
        )
        model = onnx.load(str(quantized))
        onnx.helper.set_model_props(model, metadata)
        write_bytes_atomically(out, model.SerializeToString())


def run(args: argparse.Namespace) -> dict:
    model, spec, info = load_named(args.model, args.weights)
    files = files_read(args.model, args.weights)
    data = load_fer(args.data)
    faces = calibration_faces(data.select("train")[0], args.faces, args.seed)
    out = quantized_path(args.model, args.weights)
    from fer_desktop.inference.torch_backend import FaceProbabilities

    with tempfile.TemporaryDirectory(prefix="fer-export-") as tmp:
        exported = Path(tmp) / "float.onnx"
        export_onnx(FaceProbabilities(model, spec), exported)
        print(f"{args.model}: measuring activations on {len(faces) // 2} training faces and their mirrors", file=sys.stderr)
        quantize(exported, faces, out, {
            WEIGHTS_DIGEST_KEY: weights_digest(files),
            "fer_desktop.model": args.model,
            "fer_desktop.command": shlex.join(["python", "-m", "trainer.quantize", *args.argv]),
        })
        int8 = OnnxClassifier.from_quantized(args.model, args.weights)
        if int8 is None:
            raise WeightsError(f"{out}: written, but it does not load as the int8 model of these weights")
        x, y = data.select("public")
        float_probs = classifier_probs(OnnxClassifier(args.model, exported, spec, info), x, progress="float")
        int8_probs = classifier_probs(int8, x, progress="int8")
    return {
        "model": args.model, "file": str(out), "calibration_faces": len(faces) // 2,
        "public_accuracy_float": float((float_probs.argmax(1) == y).mean()),
        "public_accuracy_int8": float((int8_probs.argmax(1) == y).mean()),
        "same_answer": float((float_probs.argmax(1) == int8_probs.argmax(1)).mean()),
        "max_probability_change": float(np.abs(float_probs - int8_probs).max()),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m trainer.quantize", description=__doc__.split("\n\n")[0],
                                parents=[shared_flags("weights", "overwrite")])
    add_version_flag(p)
    p.add_argument("--model", required=True, choices=MODEL_NAMES)
    add_data(p)
    p.add_argument("--faces", type=int, default=DEFAULT_FACES,
                   help=f"training faces whose activations set the int8 ranges (default: {DEFAULT_FACES})")
    p.add_argument("--seed", type=int, default=0, help="which training faces")
    add_json(p, "the accuracies")
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.faces < 1:
        p.error("--faces must be at least 1")
    if args.json:  # checked before the export and calibration, which take minutes
        try:
            make_folders_and_check([("--json", args.json)], overwrite=args.overwrite)
        except OutputError as e:
            p.error(str(e))
    try:
        result = run(args)
    except (DataError, WeightsError, ValueError, OSError) as e:
        raise SystemExit(f"python -m trainer.quantize: {e}")
    except KeyboardInterrupt:
        raise SystemExit(EXIT_INTERRUPTED)
    print(f"wrote {result['file']}")
    view = "single crop with mirror" if mirror_averaged(args.model) else "single crop"
    print(f"PublicTest, {view}: float {result['public_accuracy_float']:.2%}, "
          f"int8 {result['public_accuracy_int8']:.2%}; the same answer for {result['same_answer']:.2%} of faces, "
          f"probabilities within {result['max_probability_change']:.3f}")
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    main()
