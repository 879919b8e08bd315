"""One interface for classifying a batch of face crops, whatever runs the model.

``load_classifier`` picks the runtime (``backend="auto"``): ONNX Runtime on a
CPU, PyTorch on a GPU. Backends:

- ``torch``: eager fp32, the reference;
- ``onnx``: ONNX Runtime on the model exported at load time (cached by
  weights hash); PyTorch, with a warning, where the export fails. On the
  benchmark machine it is 4.3x eager PyTorch for the SqueezeNet at one face
  and 1.6-2.2x for the others, and it starts without importing PyTorch;
- ``int8``: ONNX Runtime on the shipped ``NAME.int8.onnx`` (convolutions in
  int8, made by ``python -m trainer.quantize`` from these weights): about 2.5x
  ``onnx`` on the SqueezeNet, with the model card's accuracy of its own;
- ``bf16``: PyTorch in bfloat16, traced and frozen: on CPUs with AMX it beats
  ONNX Runtime 1.6-4x at eight faces but not at one, and elsewhere it is slow;
  its probabilities differ from fp32 in the fifth decimal.

PyTorch is imported only when a backend needs it: importing it takes about
2 s, and a CPU app whose ONNX export is cached does not need it at all.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

from fer_desktop.inference.base import Classifier

BACKENDS: tuple[str, ...] = ("auto", "torch", "onnx", "int8", "bf16")
_LAZY = {"TorchClassifier", "FaceProbabilities"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from fer_desktop.inference import torch_backend

        return getattr(torch_backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _no_gpu_possible() -> bool:
    """True where torch cannot see a GPU whatever it is asked: Linux without an NVIDIA or ROCm driver."""
    return sys.platform.startswith("linux") and not (
        Path("/proc/driver/nvidia/version").exists() or Path("/dev/kfd").exists()
    )


def resolve_device(device: str = "auto") -> str:
    """``auto`` picks CUDA, then Apple MPS, then the CPU."""
    if device == "auto":
        if _no_gpu_possible() and "torch" not in sys.modules:
            return "cpu"  # the answer torch would give, without its 2 s import
        import torch

        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unknown device {device!r}; expected auto, cpu, cuda or mps")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for, but torch sees no CUDA device")
    if device == "mps":
        import torch

        if getattr(torch.backends, "mps", None) is None or not torch.backends.mps.is_available():
            raise ValueError("--device mps was asked for, but torch sees no Apple GPU (MPS is on Apple silicon only)")
    return device


def default_model_name(device: str, weights_dir: Path | None = None) -> str:
    """The first model whose weights are in ``weights_dir``, in the hardware's order of preference.

    A GPU prefers the ensemble, a CPU the SqueezeNet; a folder holding one
    trained run (``--weights runs/vgg19``) gives that model. With no weights
    at all, the preferred model, so that the error names its file.
    """
    from fer_desktop.models import by_preference
    from fer_desktop.weights import DEFAULT_WEIGHTS_DIR, files_read

    folder = Path(weights_dir or DEFAULT_WEIGHTS_DIR)
    order = by_preference(device)
    for entry in order:
        if all(f.is_file() for f in files_read(entry.name, folder)):
            return entry.name
    return order[0].name


def resolve_backend(device: str, backend: str = "auto") -> str:
    """``auto``: ONNX Runtime on a CPU (int8 where the model ships an int8 file), PyTorch on a GPU."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend in ("onnx", "int8", "bf16") and device != "cpu":
        raise ValueError(f"the {backend} backend runs on the CPU only, not on {device}")
    if backend != "auto":
        return backend
    return "onnx" if device == "cpu" else "torch"


def load_classifier(
    name: str, device: str = "auto", weights_dir: Path | None = None, backend: str = "auto", threads: int | None = None,
) -> Classifier:
    """Load a model by name from the weights folder; raises ``WeightsError`` naming the file.

    The onnx backend exports the model on first use (a second or two, cached
    by weights hash afterwards); if that fails the PyTorch model is returned,
    with a warning and ``fallback_reason`` saying why. ``auto`` on a CPU takes
    the model's int8 file where one made from these weights ships, and the
    exported float model otherwise. ``threads``: ONNX Runtime's (default: one per core, up to 4).
    """
    from fer_desktop.models import get_model
    from fer_desktop.weights import DEFAULT_WEIGHTS_DIR

    get_model(name)  # an unknown name is a ValueError naming the choices
    device = resolve_device(device)
    auto = backend == "auto"  # on a CPU: the int8 file where one fits, else the float export
    backend = resolve_backend(device, backend)
    weights_dir = Path(weights_dir or DEFAULT_WEIGHTS_DIR)
    if backend == "int8" or (backend == "onnx" and auto):
        from fer_desktop.inference.onnx_backend import OnnxClassifier, quantized_path

        int8 = OnnxClassifier.from_quantized(name, weights_dir, threads=threads)
        if int8 is not None:
            return int8
        if backend == "int8":
            raise ValueError(
                f"{name}: no int8 model made from these weights in {weights_dir} ({quantized_path(name, weights_dir).name}"
                f" is missing or older than them); make it with `python -m trainer.quantize --model {name} --data "
                "fer2013.zip`, or use --backend onnx")
    if backend == "onnx":
        from fer_desktop.inference.onnx_backend import OnnxClassifier

        cached = OnnxClassifier.from_cache(name, weights_dir, threads=threads)
        if cached is not None:
            return cached
    from fer_desktop.inference.torch_backend import TorchClassifier
    from fer_desktop.weights import files_read, load_named

    model, spec, info = load_named(name, weights_dir)
    if backend == "onnx":
        try:
            return OnnxClassifier.from_model(name, model, spec, info, files_read(name, weights_dir),
                                             threads=threads)
        except Exception as e:  # an exporter or runtime gap must not cost the user the model
            reason = f"{type(e).__name__}: {e}".splitlines()[0]
            warnings.warn(f"{name}: ONNX Runtime unavailable ({reason}); running it on PyTorch", stacklevel=2)
            classifier = TorchClassifier(name, model, spec, device, info)
            classifier.fallback_reason = reason
            return classifier
    return TorchClassifier(name, model, spec, device, info, bf16=backend == "bf16")


__all__ = [
    "BACKENDS", "Classifier", "FaceProbabilities", "TorchClassifier", "default_model_name", "load_classifier",
    "resolve_backend", "resolve_device",
]
