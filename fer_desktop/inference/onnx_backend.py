"""ONNX Runtime on the CPU: the model exported once per weights file, then cached, or its shipped int8 file.

The exported graph is ``FaceProbabilities``: uint8 crops in, probabilities out,
with a dynamic batch axis. The cache key is a hash of the weights files and of
what shapes the graph (this module's format, torch's version, the opset), so
retrained weights or a new torch give a fresh export and an old one is never
run against new weights.

``NAME.int8.onnx`` beside the weights is the same graph with its convolutions in
int8, made by ``python -m trainer.quantize`` (which needs training faces to set
the activation ranges, so it ships rather than being made here). It records the
SHA-256 of the weights it came from and is used only while they match.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime as ort

from fer_desktop.emotions import FACE_SIZE, NUM_CLASSES
from fer_desktop.inference.base import Classifier
from fer_desktop import resources

if TYPE_CHECKING:
    from torch import nn

    from fer_desktop.models import ModelSpec

OPSET = 17
EXPORT_FORMAT = "1"  # bump when FaceProbabilities or the export options change
# One thread per core, up to 4: on 2 cores the second thread took the SqueezeNet
# pipeline from 82 to 105 fps with one face and from 27 to 43 with eight, though
# capture shares the cores (benchmarks/pipeline.py --ort-threads 1).
DEFAULT_THREADS = min(4, os.cpu_count() or 1)


QUANTIZED_SUFFIX = ".int8.onnx"
WEIGHTS_DIGEST_KEY = "fer_desktop.weights_sha256"  # in the int8 file's metadata


def default_cache_dir() -> Path:
    """Where exported models are kept: ``onnx/`` in the user's cache folder (fer_desktop.resources.cache_dir)."""
    return resources.cache_dir() / "onnx"


def _torch_version() -> str:
    try:
        return version("torch")  # from the package's metadata: no 2 s import of torch
    except PackageNotFoundError:
        return "?"


def _hashed(files: Sequence[Path], prefix: str = "") -> str:
    """SHA-256 over ``prefix`` and then the bytes of ``files``, in order."""
    digest = hashlib.sha256(prefix.encode())
    for path in files:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def cache_key(files: Sequence[Path]) -> str:
    return _hashed(files, f"{EXPORT_FORMAT}|{OPSET}|{_torch_version()}")[:20]


def weights_digest(files: Sequence[Path]) -> str:
    """SHA-256 over the bytes of a model's weights files, in order."""
    return _hashed(files)


def quantized_path(name: str, weights_dir: Path) -> Path:
    """Where a model's int8 file ships: beside its weights."""
    return Path(weights_dir) / f"{name}{QUANTIZED_SUFFIX}"


def export_onnx(net: nn.Module, out: Path | io.BytesIO) -> None:
    """Write ``net`` (uint8 faces -> probabilities) as ONNX with a dynamic batch axis.

    The TorchScript exporter: for these plain CNNs it gives the same graph as
    the torch.export one in a quarter of the time, and time is what a model
    switch in the app waits for.
    """
    import torch

    example = torch.zeros((2, FACE_SIZE, FACE_SIZE), dtype=torch.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and deprecation notes, not problems
        torch.onnx.export(
            net.eval(), (example,), out if isinstance(out, io.BytesIO) else str(out), dynamo=False,
            input_names=["faces"], output_names=["probs"], opset_version=OPSET,
            dynamic_axes={"faces": {0: "batch"}, "probs": {0: "batch"}},
        )


def cached_path(files: Sequence[Path], cache_dir: Path | None = None) -> Path:
    return (cache_dir or default_cache_dir()) / f"{files[0].stem}-{cache_key(files)}.onnx"


def exported_model(net: nn.Module, files: Sequence[Path], cache_dir: Path | None = None) -> bytes | Path:
    """The cached export for these weights files, made now if missing; bytes when the cache is unwritable."""
    cache_dir = cache_dir or default_cache_dir()
    path = cached_path(files, cache_dir)
    if path.is_file():
        return path
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".onnx.tmp", dir=cache_dir)
        os.close(fd)
    except OSError:
        buffer = io.BytesIO()
        export_onnx(net, buffer)
        return buffer.getvalue()
    try:
        export_onnx(net, Path(tmp))
        os.replace(tmp, path)  # atomic: two app instances exporting at once both end with a whole file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def session_options(threads: int | None = None) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or DEFAULT_THREADS
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Spinning threads would keep a core busy between frames, a core that capture and detection need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def _described(name: str, weights_dir: Path) -> tuple[dict[str, Any], list[Path], ModelSpec]:
    """A model's record, its weights files and its input spec, read from the files' headers (no PyTorch)."""
    from fer_desktop.models import ModelSpec, get_model
    from fer_desktop.weights import files_read, read_info

    files = files_read(name, weights_dir)
    fusion = get_model(name).is_fusion
    info = json.loads(files[0].read_text()) if fusion else read_info(files[0])
    return info, files, ModelSpec(**read_info(files[1 if fusion else 0])["spec"])


class OnnxClassifier(Classifier):
    backend = "onnxruntime"

    def __init__(self, name: str, model: bytes | Path, spec: ModelSpec, info: dict[str, Any],
                 threads: int | None = None) -> None:
        super().__init__(name, spec, "cpu", info)
        source = model if isinstance(model, bytes) else str(model)
        self.session = ort.InferenceSession(source, session_options(threads), providers=["CPUExecutionProvider"])
        self.model_path = None if isinstance(model, bytes) else Path(model)
        if self.model_path is not None and self.model_path.name.endswith(QUANTIZED_SUFFIX):
            self.backend = "onnxruntime-int8"

    @classmethod
    def from_quantized(cls, name: str, weights_dir: Path, threads: int | None = None) -> OnnxClassifier | None:
        """The shipped int8 file, if there is one made from these very weights; None otherwise."""
        path = quantized_path(name, weights_dir)
        if not path.is_file():
            return None
        try:
            info, files, spec = _described(name, weights_dir)
            classifier = cls(name, path, spec, info, threads)
        except Exception:  # weights that will not load are reported by the float path; a damaged int8 file is skipped
            return None
        made_from = classifier.session.get_modelmeta().custom_metadata_map.get(WEIGHTS_DIGEST_KEY)
        return classifier if made_from == weights_digest(files) else None

    @classmethod
    def from_cache(cls, name: str, weights_dir: Path, cache_dir: Path | None = None,
                   threads: int | None = None) -> OnnxClassifier | None:
        """The model's cached export, opened without building (or importing) PyTorch; None when there is none."""
        from fer_desktop.weights import WeightsError

        try:
            info, files, spec = _described(name, weights_dir)
            exported = cached_path(files, cache_dir)
        except (WeightsError, OSError, ValueError, KeyError, TypeError):
            return None  # loading the model the long way says what is wrong
        if not exported.is_file():
            return None
        try:
            return cls(name, exported, spec, info, threads)
        except Exception:  # a damaged file: ``from_model`` exports it anew
            return None

    @classmethod
    def from_model(
        cls, name: str, model: nn.Module, spec: ModelSpec, info: dict[str, Any], files: Sequence[Path],
        cache_dir: Path | None = None, threads: int | None = None,
    ) -> OnnxClassifier:
        """Export (or find in the cache) and open; a cached file that will not open is exported again."""
        from fer_desktop.inference.torch_backend import FaceProbabilities

        net = FaceProbabilities(model, spec)
        exported = exported_model(net, files, cache_dir)
        try:
            return cls(name, exported, spec, info, threads)
        except Exception:
            if isinstance(exported, bytes):
                raise
            exported.unlink(missing_ok=True)  # a damaged cache file: make it anew
            return cls(name, exported_model(net, files, cache_dir), spec, info, threads)

    def predict(self, faces: np.ndarray) -> np.ndarray:
        if len(faces) == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        faces = np.asarray(faces)
        if faces.dtype != np.uint8 or faces.ndim != 3:
            raise ValueError(f"expected (N, H, W) uint8 faces, got {faces.shape} {faces.dtype}")
        x = np.ascontiguousarray(faces)
        return self.session.run(None, {"faces": x})[0]
