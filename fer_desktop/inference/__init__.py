"""One interface for classifying a batch of face crops, whatever runs the model.

``load_classifier`` picks the runtime (``backend="auto"``): on a CPU the one
``benchmarks/inference.py`` found clearly faster than eager PyTorch for that
model (``CPU_BACKENDS``), on a GPU PyTorch. Backends:

- ``torch``: eager fp32, the reference;
- ``onnx``: ONNX Runtime on the model exported at load time (cached by
  weights hash); PyTorch, with a warning, where the export fails;
- ``bf16``: PyTorch in bfloat16, traced and frozen: fast only on CPUs with
  AMX, and its probabilities differ from fp32 in the third decimal.

PyTorch is imported only when a backend needs it: importing it takes about
2 s, and a CPU app whose ONNX export is cached does not need it at all.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

from fer_desktop.inference.base import Classifier

BACKENDS: tuple[str, ...] = ("auto", "torch", "onnx", "bf16")
# What "auto" runs on a CPU, per model (README.md, Benchmarks; 2 cores with AMX):
# ONNX Runtime is 4x eager PyTorch for the SqueezeNet at one face; for the
# large models bf16 on AMX is 2-2.5x, where ONNX Runtime gains 1.1-2x.
CPU_BACKENDS: dict[str, str] = {"squeezenet": "onnx", "resnet18": "bf16", "vgg19": "bf16", "ensemble": "bf16"}
_LAZY = {"TorchClassifier", "FaceProbabilities", "fast_bf16"}


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
    return device


def default_model_name(device: str) -> str:
    """The ensemble where a GPU can carry it, the SqueezeNet on a CPU."""
    return "squeezenet" if device == "cpu" else "ensemble"


def resolve_backend(name: str, device: str, backend: str = "auto") -> str:
    """``auto``: on a CPU the model's ``CPU_BACKENDS`` entry (bf16 only where it is fast), else torch."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend == "onnx" and device != "cpu":
        raise ValueError(f"the onnx backend runs on the CPU only, not on {device}")
    if backend != "auto":
        return backend
    if device != "cpu":
        return "torch"
    choice = CPU_BACKENDS.get(name, "torch")
    if choice == "bf16":
        from fer_desktop.inference.torch_backend import fast_bf16

        return "bf16" if fast_bf16() else "onnx"
    return choice


def load_classifier(
    name: str, device: str = "auto", weights_dir: Path | None = None, backend: str = "auto"
) -> Classifier:
    """Load a model by name from the weights folder; raises ``WeightsError`` naming the file.

    The onnx backend exports the model on first use (a second or two, cached
    by weights hash afterwards); if that fails the PyTorch model is returned,
    with a warning and ``fallback_reason`` saying why.
    """
    from fer_desktop.models import MODEL_NAMES
    from fer_desktop.weights import DEFAULT_WEIGHTS_DIR

    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")
    device = resolve_device(device)
    backend = resolve_backend(name, device, backend)
    weights_dir = Path(weights_dir or DEFAULT_WEIGHTS_DIR)
    if backend == "onnx":
        from fer_desktop.inference.onnx_backend import OnnxClassifier

        cached = OnnxClassifier.from_cache(name, weights_dir)
        if cached is not None:
            return cached
    from fer_desktop.inference.torch_backend import TorchClassifier
    from fer_desktop.weights import load_named

    model, spec, info = load_named(name, weights_dir)
    if backend == "onnx":
        from fer_desktop.inference.onnx_backend import weights_files

        try:
            return OnnxClassifier.from_model(name, model, spec, info, weights_files(name, weights_dir, info))
        except Exception as e:  # an exporter or runtime gap must not cost the user the model
            reason = f"{type(e).__name__}: {e}".splitlines()[0]
            warnings.warn(f"{name}: ONNX Runtime unavailable ({reason}); running it on PyTorch", stacklevel=2)
            classifier = TorchClassifier(name, model, spec, device, info)
            classifier.fallback_reason = reason
            return classifier
    return TorchClassifier(name, model, spec, device, info, bf16=backend == "bf16")


__all__ = [
    "BACKENDS", "CPU_BACKENDS", "Classifier", "FaceProbabilities", "TorchClassifier", "default_model_name", "fast_bf16",
    "load_classifier", "resolve_backend", "resolve_device",
]
