"""Backends agree with PyTorch, the ONNX export is cached and falls back to PyTorch, the export command works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

import fer_desktop.inference.onnx_backend as onnx_backend
import fer_desktop.weights
from fer_desktop.export_onnx import main as export_main
from fer_desktop.inference import default_model_name, load_classifier, resolve_backend
from fer_desktop.models import create_model
from fer_desktop.weights import save_ensemble, save_weights

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random SqueezeNet and ResNet18, and an ensemble of the two (cheaper to export than VGG19's)."""
    folder = tmp_path_factory.mktemp("inference-weights")
    torch.manual_seed(1)
    for arch in ("squeezenet", "resnet18"):
        save_weights(folder / f"{arch}.safetensors", arch, create_model(arch).state_dict(), info={})
    save_ensemble(folder / "ensemble.json", {"squeezenet": 0.3, "resnet18": 0.7}, {})
    return folder


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FER_DESKTOP_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "onnx"


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (8, 48, 48), dtype=np.uint8)


@pytest.mark.parametrize("name", ["squeezenet", "ensemble"])
def test_onnx_gives_the_probabilities_of_torch(name: str, weights: Path, faces: np.ndarray, cache: Path) -> None:
    reference = load_classifier(name, "cpu", weights, backend="torch")
    exported = load_classifier(name, "cpu", weights, backend="onnx")
    assert (reference.backend, exported.backend) == ("torch", "onnxruntime")
    for n in (0, 1, 8):
        got, want = exported.predict(faces[:n]), reference.predict(faces[:n])
        assert got.shape == want.shape == (n, 7) and got.dtype == np.float32
        np.testing.assert_allclose(got, want, atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(exported.predict(faces).sum(1), 1.0, atol=1e-5)
    assert len(list(cache.glob(f"{name}-*.onnx"))) == 1


def test_bf16_is_close_to_fp32(weights: Path, faces: np.ndarray) -> None:
    reference = load_classifier("squeezenet", "cpu", weights, backend="torch")
    bf16 = load_classifier("squeezenet", "cpu", weights, backend="bf16")
    assert bf16.backend == "torch-bf16"
    for n in (0, 1, 8):
        got = bf16.predict(faces[:n])
        assert got.shape == (n, 7) and got.dtype == np.float32
        np.testing.assert_allclose(got, reference.predict(faces[:n]), atol=2e-2)  # bf16 keeps ~3 digits


def test_a_cached_export_is_reused_and_new_weights_export_anew(
    weights: Path, faces: np.ndarray, cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = load_classifier("squeezenet", "cpu", weights)
    monkeypatch.setattr(onnx_backend, "export_onnx", _failing_export)
    load_named = fer_desktop.weights.load_named
    monkeypatch.setattr(fer_desktop.weights, "load_named", _failing_export)  # a cached export builds no model
    again = load_classifier("squeezenet", "cpu", weights)
    assert again.backend == "onnxruntime" and again.model_path == first.model_path
    np.testing.assert_array_equal(again.predict(faces), first.predict(faces))
    monkeypatch.setattr(fer_desktop.weights, "load_named", load_named)

    retrained = tmp_path / "retrained"
    torch.manual_seed(2)
    save_weights(retrained / "squeezenet.safetensors", "squeezenet", create_model("squeezenet").state_dict(), info={})
    with pytest.warns(UserWarning, match="export failed"):
        assert load_classifier("squeezenet", "cpu", retrained).backend == "torch"  # not the old weights' export


def test_a_damaged_cache_file_is_exported_again(weights: Path, faces: np.ndarray, cache: Path) -> None:
    path = load_classifier("squeezenet", "cpu", weights).model_path
    path.write_bytes(b"not a model")
    repaired = load_classifier("squeezenet", "cpu", weights)
    assert repaired.backend == "onnxruntime" and repaired.predict(faces).shape == (8, 7)


def test_failed_export_falls_back_to_torch(
    weights: Path, faces: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnx_backend, "export_onnx", _failing_export)
    with pytest.warns(UserWarning, match="running it on PyTorch"):
        classifier = load_classifier("squeezenet", "cpu", weights)
    assert classifier.backend == "torch" and "export failed" in classifier.fallback_reason
    reference = load_classifier("squeezenet", "cpu", weights, backend="torch")
    np.testing.assert_array_equal(classifier.predict(faces), reference.predict(faces))


def test_unwritable_cache_exports_in_memory(weights: Path, faces: np.ndarray, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv("FER_DESKTOP_CACHE", str(blocker))  # onnx/ cannot be made under a file
    classifier = load_classifier("squeezenet", "cpu", weights)
    assert classifier.backend == "onnxruntime" and classifier.model_path is None
    assert classifier.predict(faces[:1]).shape == (1, 7)


def test_backend_choice() -> None:
    assert resolve_backend("cpu") == "onnx"
    assert resolve_backend("cuda") == "torch"  # a GPU stays on PyTorch
    assert resolve_backend("cpu", "torch") == "torch"
    assert resolve_backend("cpu", "bf16") == "bf16"
    with pytest.raises(ValueError, match="CPU only"):
        resolve_backend("cuda", "onnx")
    with pytest.raises(ValueError, match="unknown backend"):
        resolve_backend("cpu", "tensorrt")


@pytest.mark.parametrize(
    ("files", "cpu", "gpu"),
    [
        (["squeezenet.safetensors", "resnet18.safetensors", "vgg19.safetensors", "ensemble.json"], "squeezenet", "ensemble"),
        (["squeezenet.safetensors"], "squeezenet", "squeezenet"),  # what a clone holds before the GPU models ship
        (["squeezenet.safetensors", "vgg19.safetensors", "ensemble.json"], "squeezenet", "vgg19"),  # a member missing
        (["vgg19.safetensors"], "vgg19", "vgg19"),  # --weights runs/vgg19: one trained run
        ([], "squeezenet", "ensemble"),  # nothing: the preferred model, whose load error names its file
    ],
)
def test_the_default_model_follows_the_hardware_and_the_weights_there(
    tmp_path: Path, files: list[str], cpu: str, gpu: str
) -> None:
    for name in files:
        (tmp_path / name).touch()
    assert default_model_name("cpu", tmp_path) == cpu
    assert default_model_name("cuda", tmp_path) == gpu


@pytest.mark.parametrize("backend", ["torch", "onnx", "bf16"])
def test_wrong_input_is_refused(weights: Path, backend: str) -> None:
    classifier = load_classifier("squeezenet", "cpu", weights, backend=backend)
    with pytest.raises(ValueError, match="uint8"):
        classifier.predict(np.zeros((2, 48, 48), np.float32))


def test_export_command_writes_a_loadable_model(weights: Path, faces: np.ndarray, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out" / "squeezenet.onnx"
    assert export_main(["--model", "squeezenet", "--weights", str(weights), "--out", str(out)]) == 0
    assert "max |p - p_torch|" in capsys.readouterr().out
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    probs = session.run(None, {"faces": faces[:3]})[0]
    want = load_classifier("squeezenet", "cpu", weights, backend="torch").predict(faces[:3])
    np.testing.assert_allclose(probs, want, atol=TOLERANCE, rtol=0)


def test_export_command_names_a_missing_weights_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert export_main(["--model", "vgg19", "--weights", str(tmp_path), "--out", str(tmp_path / "v.onnx")]) == 2
    assert "vgg19.safetensors" in capsys.readouterr().err


def test_export_command_never_replaces_a_file_unasked(weights: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    mine = tmp_path / "mine.onnx"
    mine.write_text("the user's own file")
    with pytest.raises(SystemExit) as exit_:
        export_main(["--model", "squeezenet", "--weights", str(weights), "--out", str(mine)])
    assert exit_.value.code == 2 and "already exists" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # a folder is refused before the export, not after it
        export_main(["--model", "squeezenet", "--weights", str(weights), "--out", str(tmp_path)])
    assert exit_.value.code == 2 and "is a folder" in capsys.readouterr().err
    assert mine.read_text() == "the user's own file" and sorted(p.name for p in tmp_path.iterdir()) == ["mine.onnx"]
    # A check that fails leaves the old file too, and no partial one.
    assert export_main(["--model", "squeezenet", "--weights", str(weights), "--out", str(mine), "--overwrite",
                        "--tolerance", "1e-30"]) == 2
    assert "is not written" in capsys.readouterr().err
    assert mine.read_text() == "the user's own file" and sorted(p.name for p in tmp_path.iterdir()) == ["mine.onnx"]
    assert export_main(["--model", "squeezenet", "--weights", str(weights), "--out", str(mine), "--overwrite"]) == 0
    assert ort.InferenceSession(str(mine), providers=["CPUExecutionProvider"]).get_inputs()[0].name == "faces"


def _failing_export(*args: object, **kwargs: object) -> None:
    raise RuntimeError("export failed (simulated)")


def test_a_cached_onnx_model_runs_without_importing_pytorch(weights: Path, faces: np.ndarray, cache: Path) -> None:
    """PyTorch's import takes about 2 s of the app's start-up; the CPU app does not need it once exported."""
    load_classifier("squeezenet", "cpu", weights)  # exports into the cache
    script = (
        "import sys, numpy as np\n"
        "import fer_desktop.app, fer_desktop.ui.window\n"
        "from fer_desktop.inference import load_classifier\n"
        f"c = load_classifier('squeezenet', 'cpu', {str(weights)!r})\n"
        "assert c.backend == 'onnxruntime', c.backend\n"
        "assert c.predict(np.zeros((2, 48, 48), np.uint8)).shape == (2, 7)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    env = {**os.environ, "FER_DESKTOP_CACHE": str(cache.parent), "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
