"""The int8 file: made from training faces by ``python -m trainer.quantize``, picked by the app only for its own weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from fer_desktop.inference import load_classifier
from fer_desktop.inference.onnx_backend import WEIGHTS_DIGEST_KEY, quantized_path
from fer_desktop.models import create_model
from fer_desktop.weights import DEFAULT_WEIGHTS_DIR, save_weights
from fer_fixtures import synthetic_fer, write_zip
from trainer.evaluate import main as evaluate_main
from trainer.quantize import main as quantize_main


def _weights(folder: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    save_weights(folder / "squeezenet.safetensors", "squeezenet", create_model("squeezenet").state_dict(), info={})
    return folder


@pytest.fixture(scope="module")
def fer_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_zip(tmp_path_factory.mktemp("fer") / "fer2013.zip", synthetic_fer(train=4, public=2).files)


@pytest.fixture(scope="module")
def quantized(tmp_path_factory: pytest.TempPathFactory, fer_zip: Path) -> tuple[Path, dict]:
    folder = _weights(tmp_path_factory.mktemp("weights"), seed=3)
    out = folder / "quantize.json"
    quantize_main(["--model", "squeezenet", "--data", str(fer_zip), "--weights", str(folder), "--faces", "20",
                   "--json", str(out)])
    return folder, json.loads(out.read_text())


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FER_DESKTOP_CACHE", str(tmp_path / "cache"))


def test_an_existing_json_is_refused_before_the_work(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    earlier = tmp_path / "quantize.json"
    earlier.write_text('{"an": "earlier result"}')
    with pytest.raises(SystemExit) as e:
        quantize_main(["--model", "squeezenet", "--data", str(tmp_path / "not read yet.zip"),
                       "--weights", str(tmp_path / "no weights"), "--json", str(earlier)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and f"--json {earlier} already exists" in err and "--overwrite" in err, err
    assert earlier.read_text() == '{"an": "earlier result"}'


def test_the_app_runs_the_int8_file_where_it_ships(quantized: tuple[Path, dict]) -> None:
    folder, result = quantized
    assert result["calibration_faces"] == 20 and 0 <= result["public_accuracy_int8"] <= 1
    faces = np.random.default_rng(0).integers(0, 256, (6, 48, 48), dtype=np.uint8)
    int8 = load_classifier("squeezenet", "cpu", folder)  # auto
    assert int8.backend == "onnxruntime-int8"
    float_model = load_classifier("squeezenet", "cpu", folder, backend="onnx")
    assert float_model.backend == "onnxruntime"
    p, q = int8.predict(faces), float_model.predict(faces)
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-5)
    assert np.abs(p - q).max() < 0.05  # the same model, rounded: close, not equal
    assert not np.array_equal(p, q)


def test_the_head_and_the_softmax_stay_in_float(quantized: tuple[Path, dict]) -> None:
    graph = onnx.load(str(quantized_path("squeezenet", quantized[0]))).graph
    producers = {out: node for node in graph.node for out in node.output}
    assert producers["probs"].op_type == "Softmax"
    head = next(n for n in graph.node if n.op_type == "Conv" and "/head/" in n.name)
    assert head.input[1] in {i.name for i in graph.initializer}  # float weights, not a DequantizeLinear's output
    assert any(n.op_type == "DequantizeLinear" for n in graph.node)  # while the feature extractor is int8


def int8_weight_range(path: Path) -> tuple[int, int]:
    """The smallest and largest int8 weight of a quantized graph (its int8 initializers)."""
    values = [onnx.numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer
              if i.data_type == onnx.TensorProto.INT8]
    assert values, f"{path} has no int8 weights"
    return min(int(v.min()) for v in values), max(int(v.max()) for v in values)


@pytest.mark.parametrize("shipped", [False, True], ids=["made", "shipped"])
def test_int8_weights_keep_to_7_bits(quantized: tuple[Path, dict], shipped: bool) -> None:
    # CPUs without VNNI (AVX2 alone) add pairs of uint8 x int8 products in int16: 2 x 255 x 64 fits, 2 x 255 x 127
    # overflows, and answers change there.
    files = sorted(DEFAULT_WEIGHTS_DIR.glob("*.int8.onnx")) if shipped else [quantized_path("squeezenet", quantized[0])]
    if not files:
        pytest.skip("no int8 file ships in weights/")
    for path in files:
        low, high = int8_weight_range(path)
        assert -64 <= low and high <= 64, f"{path.name}: int8 weights span {low}..{high}; remake it with trainer.quantize"


def test_an_int8_file_of_other_weights_is_never_run(quantized: tuple[Path, dict], tmp_path: Path) -> None:
    folder = _weights(tmp_path / "retrained", seed=4)
    (folder / "squeezenet.int8.onnx").write_bytes(quantized_path("squeezenet", quantized[0]).read_bytes())
    assert load_classifier("squeezenet", "cpu", folder).backend == "onnxruntime"  # auto falls back to float
    with pytest.raises(ValueError, match="trainer.quantize"):
        load_classifier("squeezenet", "cpu", folder, backend="int8")
    recorded = onnx.load(str(folder / "squeezenet.int8.onnx")).metadata_props
    assert any(p.key == WEIGHTS_DIGEST_KEY for p in recorded)


def test_the_evaluator_measures_the_int8_file(quantized: tuple[Path, dict], fer_zip: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    evaluate_main(["--model", "squeezenet", "--data", str(fer_zip), "--weights", str(quantized[0]),
                   "--backend", "int8", "--json", str(out)])
    result = json.loads(out.read_text())
    assert result["backend"] == "onnxruntime-int8" and result["mirror"]
    assert result["accuracy"] == pytest.approx(quantized[1]["public_accuracy_int8"])
