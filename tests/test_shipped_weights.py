"""The files in weights/ are what the app loads on a fresh clone: measured, not taken at their word.

Fixed faces go in and the outputs recorded from these very files must come
out; the preprocessing inside the exported ONNX graph must give PyTorch's
answer; every registry entry must load and read the astronaut's smile.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from shipped_outputs import RECORD, astronaut_crop, decode_face, fixed_faces, weights_hash

from fer_desktop.emotions import EMOTIONS
from fer_desktop.inference import load_classifier
from fer_desktop.inference.onnx_backend import quantized_path
from fer_desktop.models import MODEL_NAMES, get_model
from fer_desktop.weights import DEFAULT_WEIGHTS_DIR, files_read, load_named, member_architecture, read_info

SHIPPED = [n for n in MODEL_NAMES if all(f.is_file() for f in files_read(n))]
RECORDED = json.loads(RECORD.read_text())
SAME = 1e-4  # largest probability difference between two runs of one model on one input


@pytest.fixture(scope="module")
def faces() -> dict[str, np.ndarray]:
    return fixed_faces(decode_face(RECORDED["astronaut"]))


def test_every_model_the_user_can_choose_is_shipped() -> None:
    assert SHIPPED == list(MODEL_NAMES)


def test_the_weights_folder_stays_under_100_mb() -> None:
    # The float models (fp16 safetensors) and their int8 files, which the wheel carries.
    total = sum(f.stat().st_size for f in DEFAULT_WEIGHTS_DIR.iterdir() if f.is_file())
    assert total < 100e6, f"weights/ holds {total / 1e6:.1f} MB"


INT8 = [n for n in SHIPPED if quantized_path(n, DEFAULT_WEIGHTS_DIR).is_file()]


@pytest.mark.parametrize("name", INT8)
def test_each_int8_file_was_made_from_the_shipped_weights_and_is_what_a_cpu_runs(
        name: str, faces: dict[str, np.ndarray]) -> None:
    int8 = load_classifier(name, "cpu")
    assert int8.backend == "onnxruntime-int8", (
        f"{quantized_path(name, DEFAULT_WEIGHTS_DIR)} was not made from the shipped weights; "
        f"make it anew with `python -m trainer.quantize --model {name} --data fer2013.zip`")
    batch = np.stack(list(faces.values()))
    reference = load_classifier(name, "cpu", backend="torch").predict(batch)
    assert np.abs(int8.predict(batch) - reference).max() < 0.1


@pytest.mark.parametrize("name", SHIPPED)
def test_fixed_faces_give_the_recorded_outputs(name: str, faces: dict[str, np.ndarray]) -> None:
    recorded = RECORDED["models"].get(name)
    assert recorded is not None and recorded["sha256"] == weights_hash(name), (
        f"{name}: the weights changed since tests/data/shipped_outputs.json was recorded; "
        "check them, then record anew with `python tests/shipped_outputs.py`")
    probs = load_classifier(name, "cpu", backend="torch").predict(np.stack(list(faces.values())))
    expected = np.array([recorded["probs"][k] for k in faces], np.float32)
    np.testing.assert_allclose(probs, expected, atol=SAME)


@pytest.mark.parametrize("name", SHIPPED)
def test_the_exported_graph_carries_the_preprocessing(name: str, faces: dict[str, np.ndarray], tmp_path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The ONNX graph takes raw uint8 crops: cropping and normalising happen inside it, from the spec the
    # weights file carries. Both runtimes must give one answer, and the spec must be the registry's.
    monkeypatch.setenv("FER_DESKTOP_CACHE", str(tmp_path))
    batch = np.stack(list(faces.values()))
    onnx = load_classifier(name, "cpu", backend="onnx")
    assert onnx.backend == "onnxruntime", onnx.fallback_reason
    torch_probs = load_classifier(name, "cpu", backend="torch").predict(batch)
    np.testing.assert_allclose(onnx.predict(batch), torch_probs, atol=SAME)
    np.testing.assert_allclose(onnx.predict(batch[:1]), torch_probs[:1], atol=SAME)  # batch-independent
    for path in files_read(name):
        if path.suffix == ".safetensors":
            info = read_info(path)
            assert info["spec"] == get_model(info["architecture"]).spec.to_dict()


@pytest.mark.parametrize("name", SHIPPED)
def test_every_registry_entry_reads_the_astronauts_smile(name: str) -> None:
    crop = astronaut_crop()  # through the app's own detector and crop
    probs = load_classifier(name, "cpu").predict(np.stack([crop, crop[:, ::-1]]))
    assert probs.shape == (2, len(EMOTIONS)) and np.allclose(probs.sum(1), 1, atol=1e-4)
    assert [EMOTIONS[i] for i in probs.argmax(1)] == ["happy", "happy"]


@pytest.mark.parametrize("path", sorted(DEFAULT_WEIGHTS_DIR.glob("*.safetensors")), ids=lambda p: p.stem)
def test_each_shipped_file_carries_its_training_record(path: Path) -> None:
    # benchmarks/model_card.py writes the card from the files alone: run folders do not ship.
    info = read_info(path)
    record = info["training"]
    assert 1 <= info["epoch"] <= record["epochs_run"] <= info["epochs"]
    assert record["train_seconds"] > 0 and record["machines"] and info["command"].startswith("fer-desktop-train")


@pytest.mark.parametrize("name", [n for n in SHIPPED if get_model(n).is_fusion])
def test_a_shipped_fusion_reads_only_its_registered_architectures(name: str) -> None:
    _, _, info = load_named(name)
    assert {member_architecture(m) for m in info["members"]} == set(get_model(name).members)
