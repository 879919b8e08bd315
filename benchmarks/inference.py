"""Latency per face of every model on every CPU backend worth trying, and whether they agree.

    python benchmarks/inference.py                      # all models and backends, ~3 min
    python benchmarks/inference.py --models squeezenet --backends torch onnx-1t --seconds 0.2
    python benchmarks/inference.py --pause /tmp/fer-train.pid   # stop a training run while timing

Backends: ``torch`` (eager fp32, the reference), ``torch-autocast`` (bf16
autocast), ``torch-compile`` (``torch.compile``, inductor), ``torch-bf16``
(bf16 weights, channels-last, traced and frozen), ``torch-bf16-compile``,
``onnx-1t`` / ``onnx-2t`` (ONNX Runtime on the model exported by the app's own
path, 1 or 2 threads), ``int8-1t`` / ``int8-2t`` (ONNX Runtime on the shipped
int8 file, where the model has one: ``python -m trainer.quantize``). PyTorch runs on its default threads (one per core).
Each is timed through ``Classifier.predict``, so the figures include what the
app pays besides the network: preprocessing, copies and the softmax.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from common import (
    MODELS, add_common_arguments, announce_machine, describe_machine, pause_pid, percentiles, prepare_weights,
    print_background, print_table, quietly, write_json,
)



from fer_desktop.inference import Classifier, TorchClassifier  # noqa: E402
from fer_desktop.inference.onnx_backend import OnnxClassifier  # noqa: E402
from fer_desktop.weights import files_read, load_named  # noqa: E402

BACKENDS = ("torch", "torch-autocast", "torch-compile", "torch-bf16", "torch-bf16-compile", "onnx-1t", "onnx-2t",
            "int8-1t", "int8-2t")
SAME_OUTPUTS = 1e-4  # max |p - p_torch| of a backend that gives the reference's answers
REFERENCE = "torch"


class TorchVariant(TorchClassifier):
    """The app's PyTorch classifier run under bf16 autocast (every weight cast on every call) and/or
    ``torch.compile`` (inductor): variants the app does not ship, weighed against those it does."""

    def __init__(self, name: str, model, spec, info: dict, *, bf16: bool, autocast: bool, compile: bool) -> None:
        super().__init__(name, model, spec, "cpu", info, bf16=bf16)
        if compile:
            torch._dynamo.reset()  # each model and dtype recompiles the same forward: stay under dynamo's limit
            self.runner = torch.compile(self.net)
        self.autocast = autocast
        self.backend += ("-autocast" if autocast else "") + ("-compile" if compile else "")

    def predict(self, faces: np.ndarray) -> np.ndarray:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.autocast):
            return super().predict(faces)


def make(backend: str, name: str, weights_dir: Path, cache_dir: Path) -> Classifier | None:
    """None for an int8 backend where the model ships no int8 file."""
    if backend.startswith("int8"):
        return OnnxClassifier.from_quantized(name, weights_dir, threads=int(backend.removeprefix("int8-").removesuffix("t")))
    model, spec, info = load_named(name, weights_dir)
    if backend.startswith("torch"):
        return TorchVariant(name, model, spec, info, bf16="bf16" in backend, autocast="autocast" in backend,
                            compile="compile" in backend)
    threads = int(backend.removeprefix("onnx-").removesuffix("t"))
    return OnnxClassifier.from_model(name, model, spec, info, files_read(name, weights_dir),
                                     cache_dir=cache_dir, threads=threads)


def time_calls(classifier: Classifier, faces: np.ndarray, seconds: float, min_calls: int = 5) -> list[float]:
    """Milliseconds per ``predict`` call, for about ``seconds``."""
    times: list[float] = []
    end = time.perf_counter() + seconds
    while len(times) < min_calls or time.perf_counter() < end:
        t = time.perf_counter()
        classifier.predict(faces)
        times.append((time.perf_counter() - t) * 1e3)
    return times


def predict_all(classifier: Classifier, faces: np.ndarray, batch: int = 64) -> np.ndarray:
    return np.concatenate([classifier.predict(faces[i : i + batch]) for i in range(0, len(faces), batch)])


def load_times(name: str, weights_dir: Path) -> dict[str, float]:
    """Seconds to a ready classifier: torch; ONNX with an empty cache (export included); ONNX cached."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        for label, kind in (("torch_s", "torch"), ("onnx_cold_s", "onnx-1t"), ("onnx_cached_s", "onnx-1t")):
            t = time.perf_counter()
            make(kind, name, weights_dir, Path(cache))
            out[label] = time.perf_counter() - t
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    p.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    p.add_argument("--seconds", type=float, default=1.5, help="timing per model, backend and batch size")
    p.add_argument("--fer", metavar="PATH", help="FER-2013 (zip, folder or csv): check outputs on its PublicTest "
                   "faces (max difference and top-1 agreement) instead of on random pixels")
    add_common_arguments(p, "inference.json")
    args = p.parse_args(argv)
    args.backends = [REFERENCE, *(b for b in args.backends if b != REFERENCE)]  # speed-ups are against it
    pid = pause_pid(args.pause)

    weights_dir, kinds = prepare_weights(args.models, args.weights)
    info = announce_machine()
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (max(args.batches), 48, 48), dtype=np.uint8)
    check = faces
    if args.fer:
        from trainer.data import load_fer

        check = load_fer(args.fer).select("public")[0]
    cache_dir = Path(tempfile.mkdtemp(prefix="fer-bench-onnx-"))
    results: list[dict] = []
    loads: dict[str, dict[str, float]] = {}
    for name in args.models:
        print(f"{name} ({kinds[name]} weights)", file=sys.stderr)
        reference = predict_all(make(REFERENCE, name, weights_dir, cache_dir), check)
        for backend in args.backends:
            classifier = make(backend, name, weights_dir, cache_dir)
            if classifier is None:
                print(f"  {backend:14s} no int8 file ships for {name}: left out", file=sys.stderr)
                continue
            for batch in args.batches:  # warm up, and compile every shape, before the clock runs
                for _ in range(3):
                    classifier.predict(faces[:batch])
            probs = predict_all(classifier, check)
            diff = float(np.abs(probs - reference).max())
            agree = float((probs.argmax(1) == reference.argmax(1)).mean())
            for batch in args.batches:
                def timed(batch: int = batch) -> list[float]:
                    classifier.predict(faces[:batch])
                    return time_calls(classifier, faces[:batch], args.seconds)

                times, background = quietly(timed, pid)
                median = float(np.median(times))
                results.append({
                    "model": name, "backend": backend, "batch": batch, "weights": kinds[name],
                    "ms_per_call": median, "ms_per_face": median / batch, "calls": len(times),
                    **{f"{k}_ms": v for k, v in percentiles(times, (50, 95)).items()},
                    "max_abs_diff": diff, "top1_agreement": agree, "checked_on": len(check),
                    "background_cores": background,
                })
                print(f"  {backend:14s} batch {batch}: {median:7.2f} ms/call, {median / batch:6.2f} ms/face, "
                      f"max |p - p_torch| {diff:.1e}", file=sys.stderr)
            del classifier
        if any(b.startswith("onnx") for b in args.backends):
            loads[name], _ = quietly(lambda: load_times(name, weights_dir), pid)

    def cell(model: str, backend: str, batch: int) -> dict | None:
        return next((r for r in results if (r["model"], r["backend"], r["batch"]) == (model, backend, batch)), None)

    rows, choices = [], {}
    for name in args.models:
        for backend in args.backends:
            per_batch = [cell(name, backend, b) for b in args.batches]
            if None in per_batch:
                continue
            speedups = [
                (ref["ms_per_call"] / r["ms_per_call"]) if (ref := cell(name, REFERENCE, b)) and r else float("nan")
                for b, r in zip(args.batches, per_batch)
            ]
            rows.append([name, backend, *[f"{r['ms_per_face']:.2f}" for r in per_batch],
                         *[f"{s:.2f}x" for s in speedups], f"{per_batch[0]['max_abs_diff']:.1e}",
                         f"{per_batch[0]['top1_agreement']:.2%}"])
        # Fastest at batch 1 (one face, the common case): of all, and of those giving the reference's outputs.
        ran = [b for b in args.backends if cell(name, b, args.batches[0])]
        ms = {b: cell(name, b, args.batches[0])["ms_per_call"] for b in ran}
        same = [b for b in ran if cell(name, b, args.batches[0])["max_abs_diff"] <= SAME_OUTPUTS]
        best, best_same = min(ms, key=ms.get), min(same, key=ms.get)
        choices[name] = {"fastest": best, "speedup": ms[REFERENCE] / ms[best], "fastest_same_outputs": best_same,
                         "speedup_same_outputs": ms[REFERENCE] / ms[best_same]}

    print(f"\n{describe_machine(info)}; weights: {', '.join(f'{m} {k}' for m, k in kinds.items())}; "
          f"outputs checked on {len(check)} {'FER-2013 PublicTest' if args.fer else 'random'} faces\n")
    print_table(["model", "backend", *[f"ms/face b{b}" for b in args.batches],
                 *[f"vs torch b{b}" for b in args.batches], "max abs diff", "same top-1"], rows)
    if loads:
        print()
        print_table(["model", "torch load s", "onnx load s (export)", "onnx load s (cached)"],
                    [[m, f"{v['torch_s']:.2f}", f"{v['onnx_cold_s']:.2f}", f"{v['onnx_cached_s']:.2f}"]
                     for m, v in loads.items()])
    print_background([r["background_cores"] for r in results])
    print()
    for name, c in choices.items():
        print(f"{name}: fastest at batch {args.batches[0]} {c['fastest']} ({c['speedup']:.2f}x eager torch); "
              f"with the same outputs {c['fastest_same_outputs']} ({c['speedup_same_outputs']:.2f}x)")
    write_json(args.out, {"machine": info, "paused_pid": pid, "seconds_per_cell": args.seconds, "weights": kinds,
                          "results": results, "load_s": loads, "fastest": choices})
    return 0


if __name__ == "__main__":
    sys.exit(main())
