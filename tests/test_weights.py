"""The weights format: fp16 safetensors with a metadata record, the ensemble JSON, and every way a file can be wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from fer_fixtures import one_torch_thread  # noqa: F401
from safetensors import safe_open
from safetensors.torch import save_file

from fer_desktop.emotions import EMOTIONS
from fer_desktop.models import SPECS, create_model
from fer_desktop.models.ensemble import Ensemble
from fer_desktop.weights import (
    FORMAT, WeightsError, load_ensemble, load_model, load_named, read_info, save_ensemble, save_weights, weights_path,
)


def trained_looking(name: str, seed: int) -> torch.nn.Module:
    """A random network whose BatchNorm statistics are no longer the initial 0 and 1."""
    torch.manual_seed(seed)
    model = create_model(name).train()
    with torch.no_grad():
        model(torch.randn(4, 1, 44, 44) * 2 + 0.5)
    return model.eval()


@pytest.fixture(scope="module")
def squeezenet_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    model = trained_looking("squeezenet", 0)
    path = tmp_path_factory.mktemp("weights") / "squeezenet.safetensors"
    save_weights(path, "squeezenet", model.state_dict(), {"public_accuracy": 0.5, "epoch": 3, "teacher": None})
    return path, model


def test_round_trip_is_fp16_on_disk_and_close_to_fp32(squeezenet_file) -> None:
    path, model = squeezenet_file
    original = model.state_dict()
    with safe_open(str(path), framework="pt") as f:
        stored = {k: f.get_tensor(k) for k in f.keys()}
    assert set(stored) == set(original)
    for k, v in original.items():
        assert stored[k].dtype == (torch.float16 if v.is_floating_point() else v.dtype), k

    loaded, spec, _ = load_model(path)
    assert not loaded.training and spec == SPECS["squeezenet"]
    for k, v in loaded.state_dict().items():
        expected = original[k].half().float() if original[k].is_floating_point() else original[k]
        assert torch.equal(v, expected), k
    x = torch.randn(5, 1, 44, 44)
    with torch.no_grad():
        ref, out = model(x), loaded(x)
    assert ref.abs().max() > 0.01  # outputs worth comparing
    torch.testing.assert_close(out, ref, atol=1e-2 * float(ref.abs().max()), rtol=0)
    torch.testing.assert_close(out.softmax(1), ref.softmax(1), atol=1e-2, rtol=0)


def test_metadata_record_reads_back(squeezenet_file) -> None:
    path, _ = squeezenet_file
    info = read_info(path)
    assert info["format"] == FORMAT
    assert info["architecture"] == "squeezenet"
    assert info["classes"] == list(EMOTIONS)
    assert info["spec"] == SPECS["squeezenet"].to_dict()
    assert (info["public_accuracy"], info["epoch"], info["teacher"]) == (0.5, 3, None)
    assert load_named("squeezenet", path.parent)[2] == info


def test_no_temporary_file_is_left(squeezenet_file) -> None:
    path, _ = squeezenet_file
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def _missing(src: Path, tmp: Path) -> Path:
    return tmp / "squeezenet.safetensors"


def _cut_end(src: Path, tmp: Path) -> Path:
    data = src.read_bytes()
    (tmp / "squeezenet.safetensors").write_bytes(data[: len(data) - 1000])
    return tmp / "squeezenet.safetensors"


def _cut_header(src: Path, tmp: Path) -> Path:
    (tmp / "squeezenet.safetensors").write_bytes(src.read_bytes()[:40])
    return tmp / "squeezenet.safetensors"


def _not_safetensors(src: Path, tmp: Path) -> Path:
    (tmp / "squeezenet.safetensors").write_text("<html>404</html>")
    return tmp / "squeezenet.safetensors"


def _foreign(src: Path, tmp: Path) -> Path:
    save_file({"weight": torch.zeros(3, 3)}, str(tmp / "squeezenet.safetensors"))
    return tmp / "squeezenet.safetensors"


def _foreign_with_text_metadata(src: Path, tmp: Path) -> Path:
    save_file({"weight": torch.zeros(3, 3)}, str(tmp / "squeezenet.safetensors"), metadata={"format": "pt"})
    return tmp / "squeezenet.safetensors"


def _other_classes(src: Path, tmp: Path) -> Path:
    path = tmp / "squeezenet.safetensors"
    state = create_model("squeezenet").state_dict()
    save_weights(path, "squeezenet", state, {"classes": ["happy", "sad", "neutral"]})
    return path


def _other_architecture(src: Path, tmp: Path) -> Path:
    shutil.copy(src, tmp / "resnet18.safetensors")
    return tmp / "resnet18.safetensors"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_missing, ["not found", "fer-desktop-train --model squeezenet"]),
        (_cut_end, ["truncated or corrupt"]),
        (_cut_header, ["truncated or corrupt"]),
        (_not_safetensors, ["truncated or corrupt"]),
        (_foreign, ["not a fer-desktop weights file"]),
        (_foreign_with_text_metadata, ["not a fer-desktop weights file"]),
        (_other_classes, ["trained for classes", "'happy', 'sad', 'neutral'"]),
        (_other_architecture, ["squeezenet weights, not resnet18", "--model resnet18"]),
    ],
    ids=["missing", "cut-end", "cut-header", "not-safetensors", "foreign", "foreign-text-metadata", "other-classes",
         "other-architecture"],
)
def test_bad_weights_files_raise_an_error_naming_the_file(squeezenet_file, tmp_path: Path, make, words) -> None:
    src, _ = squeezenet_file
    path = make(src, tmp_path)
    name = path.stem
    with pytest.raises(WeightsError) as err:
        load_named(name, tmp_path)
    message = str(err.value)
    assert str(path) in message
    for word in words:
        assert word in message


def test_weights_that_do_not_fit_the_architecture(tmp_path: Path) -> None:
    state = create_model("squeezenet").state_dict()
    state["head.1.weight"] = torch.zeros(5, 512, 1, 1)  # five classes' worth of classifier
    path = tmp_path / "squeezenet.safetensors"
    save_weights(path, "squeezenet", state, {})
    with pytest.raises(WeightsError, match="do not fit the squeezenet architecture") as err:
        load_model(path)
    assert str(path) in str(err.value)


@pytest.fixture(scope="module")
def ensemble_dir(tmp_path_factory: pytest.TempPathFactory, squeezenet_file) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("ensemble")
    shutil.copy(squeezenet_file[0], folder / "squeezenet.safetensors")
    resnet = trained_looking("resnet18", 1)
    save_weights(folder / "resnet18.safetensors", "resnet18", resnet.state_dict(), {})
    save_ensemble(weights_path("ensemble", folder), {"squeezenet": 0.3, "resnet18": 0.9}, {"public_accuracy": 0.7})
    return folder


def test_ensemble_json_round_trip(ensemble_dir: Path) -> None:
    model, spec, meta = load_named("ensemble", ensemble_dir)
    assert isinstance(model, Ensemble) and not model.training
    assert meta["members"] == {"squeezenet": 0.3, "resnet18": 0.9}
    assert meta["format"] == FORMAT and meta["public_accuracy"] == 0.7
    assert spec == SPECS["squeezenet"]
    torch.testing.assert_close(model.weights, torch.tensor([0.25, 0.75]))
    squeeze, _, _ = load_model(ensemble_dir / "squeezenet.safetensors")
    resnet, _, _ = load_model(ensemble_dir / "resnet18.safetensors")
    x = torch.randn(2, 1, 44, 44)
    with torch.no_grad():
        manual = (0.25 * squeeze(x).softmax(1) + 0.75 * resnet(x).softmax(1)).log()
        torch.testing.assert_close(model(x), manual)
    assert not list(ensemble_dir.glob("*.tmp"))


def test_ensemble_errors_name_the_file(ensemble_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="ensemble file not found") as err:
        load_ensemble(tmp_path / "ensemble.json")
    assert str(tmp_path / "ensemble.json") in str(err.value)

    broken = tmp_path / "ensemble.json"
    broken.write_text("{not json")
    with pytest.raises(WeightsError, match="not a fer-desktop ensemble file") as err:
        load_ensemble(broken)
    assert str(broken) in str(err.value)

    broken.write_text(json.dumps({"format": FORMAT}))
    with pytest.raises(WeightsError, match="not a fer-desktop ensemble file"):
        load_ensemble(broken)

    # A member file missing beside the JSON is named.
    save_ensemble(broken, {"squeezenet": 0.5, "vgg19": 0.5}, {})
    shutil.copy(ensemble_dir / "squeezenet.safetensors", tmp_path)
    with pytest.raises(WeightsError) as err:
        load_ensemble(broken)
    assert str(tmp_path / "vgg19.safetensors") in str(err.value)

    # So is a member file holding another architecture.
    shutil.copy(ensemble_dir / "squeezenet.safetensors", tmp_path / "vgg19.safetensors")
    with pytest.raises(WeightsError, match="squeezenet weights, not vgg19") as err:
        load_ensemble(broken)
    assert str(tmp_path / "vgg19.safetensors") in str(err.value)


def test_weights_path_names() -> None:
    assert weights_path("ensemble", Path("w")) == Path("w/ensemble.json")
    assert weights_path("vgg19", Path("w")) == Path("w/vgg19.safetensors")
