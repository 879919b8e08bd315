"""Fusing networks into the ensemble: the weight search, further members of one architecture, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from fer_fixtures import one_torch_thread, private_cache, synthetic_fer, write_tree  # noqa: F401

from fer_desktop.models import create_model
from fer_desktop.weights import (
    WeightsError, files_read, load_ensemble, load_model, member_architecture, save_ensemble, save_weights,
)
from trainer.fuse import main as fuse_main
from trainer.fuse import search_fusion, splits
from trainer.predict import predict_probs


def test_splits_share_one_in_twentieths() -> None:
    three = splits(3)
    assert len(three) == len(set(three)) == 231  # (20 + 2 choose 2)
    assert all(sum(round(w * 20) for w in ws) == 20 and all(round(w * 20) / 20 == w for w in ws) for ws in three)
    assert splits(2)[0] == (1.0, 0.0) and splits(2)[-1] == (0.0, 1.0) and len(splits(2)) == 21


def confident(answers: list[int], share: float = 0.9) -> np.ndarray:
    probs = np.full((len(answers), 7), (1 - share) / 6)
    probs[np.arange(len(answers)), answers] = share
    return probs


def test_a_third_member_outvotes_the_other_two_where_they_disagree() -> None:
    # Each member is wrong on one face, a different one: only a fusion with no member above half
    # the weight gets all three faces right.
    labels = np.array([0, 1, 2])
    probs = [confident([0, 1, 5]), confident([0, 5, 2]), confident([5, 1, 2])]
    weights, search = search_fusion(probs, labels)
    assert search["/".join(f"{w:.2f}" for w in weights)] == max(search.values()) == 1.0
    assert max(weights) < 0.5 and sum(weights) == pytest.approx(1)
    assert search["0.60/0.20/0.20"] == pytest.approx(2 / 3)


def test_equal_members_get_the_split_nearest_an_even_one() -> None:
    labels = np.array([0, 1, 2, 3])
    same = confident([0, 1, 2, 4])
    weights, search = search_fusion([same, same, same], labels)
    assert set(search.values()) == {0.75}
    assert sorted(weights) == [0.3, 0.35, 0.35]


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, dict[str, Path], np.ndarray, np.ndarray]:
    syn = synthetic_fer(train=1, public=1, private=0, seed=7)
    public = [i for i, split in enumerate(syn.splits) if split == "public"]
    keep = [i for i, split in enumerate(syn.splits) if split == "train"] + public
    data = write_tree(tmp_path / "kaggle", {syn.names[i]: syn.encoded[i] for i in keep})
    files = {}
    for i, (member, arch) in enumerate((("resnet18", "resnet18"), ("vgg19", "vgg19"), ("vgg19-2", "vgg19"))):
        torch.manual_seed(20 + i)
        files[member] = tmp_path / "runs" / f"run{i}" / f"{arch}.safetensors"
        save_weights(files[member], arch, create_model(arch).state_dict(), {"seed": 20 + i})
    return data, files, syn.images[public], syn.labels[public]


def test_fuse_writes_a_three_member_ensemble_the_app_loads(runs, tmp_path: Path) -> None:
    data, files, faces, labels = runs
    out = tmp_path / "ensemble3"
    fuse_main(["--data", str(data), "--out", str(out), "--device", "cpu", *(f"{m}={p}" for m, p in files.items())])
    meta = json.loads((out / "ensemble.json").read_text())
    assert list(meta["members"]) == ["resnet18", "vgg19", "vgg19-2"] and sum(meta["members"].values()) == 1
    assert len(meta["fusion_search"]) == 231
    # The members lie beside the JSON, each under its member name, as the app reads them.
    assert [p.name for p in files_read("ensemble", out)] == [
        "ensemble.json", "resnet18.safetensors", "vgg19.safetensors", "vgg19-2.safetensors"]
    model, _, _ = load_ensemble(out / "ensemble.json")
    assert len(model.members) == 3
    probs = []
    for member, path in files.items():
        net, spec, info = load_model(out / f"{member}.safetensors")
        assert info["seed"] == load_model(path)[2]["seed"]  # the very file given, copied
        probs.append(predict_probs(net, spec, faces))
    fused = sum(w * p for w, p in zip(meta["members"].values(), probs))
    assert meta["public_accuracy"] == pytest.approx(float((fused.argmax(1) == labels).mean()))
    assert json.loads((out / "report" / "metrics.json").read_text())["weights"]["members"] == meta["members"]


def test_fuse_replaces_a_fusion_already_in_out_only_with_overwrite(runs, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    data, files, _, _ = runs
    out = tmp_path / "shipped"
    out.mkdir()
    (out / "ensemble.json").write_text("a fusion a user keeps")
    (out / "vgg19.safetensors").write_bytes(b"a member a user keeps")
    argv = ["--data", str(data), "--out", str(out), "--device", "cpu",
            f"resnet18={files['resnet18']}", f"vgg19={files['vgg19']}"]
    with pytest.raises(SystemExit) as exit_:
        fuse_main(argv)
    assert exit_.value.code == 2
    assert "ensemble.json already exists" in capsys.readouterr().err
    assert (out / "ensemble.json").read_text() == "a fusion a user keeps"
    assert (out / "vgg19.safetensors").read_bytes() == b"a member a user keeps"
    (out / "ensemble.json").unlink()
    with pytest.raises(SystemExit):  # a member file is guarded as the fusion's JSON is
        fuse_main(argv)
    assert "vgg19.safetensors already exists" in capsys.readouterr().err
    fuse_main([*argv, "--overwrite"])
    assert list(json.loads((out / "ensemble.json").read_text())["members"]) == ["resnet18", "vgg19"]
    # Fusing the members where they already lie rewrites only the JSON (with --overwrite, as it exists).
    fuse_main(["--data", str(data), "--out", str(out), "--device", "cpu", "--overwrite",
               f"resnet18={out / 'resnet18.safetensors'}", f"vgg19={out / 'vgg19.safetensors'}"])


@pytest.mark.parametrize("member, words", [
    ("squeezenet", "not a member name for ensemble"),  # an architecture the ensemble does not fuse
    ("vgg19_2", "not a member name for ensemble"),
    ("vgg19-", "not a member name for ensemble"),
])
def test_fuse_refuses_names_that_are_not_member_names(runs, tmp_path: Path, member: str, words: str,
                                                     capsys: pytest.CaptureFixture) -> None:
    data, files, _, _ = runs
    with pytest.raises(SystemExit) as exit_:
        fuse_main(["--data", str(data), "--out", str(tmp_path / "out"), "--device", "cpu",
                   f"resnet18={files['resnet18']}", f"{member}={files['vgg19']}"])
    assert words in str(exit_.value) and str(exit_.value).startswith("fuse: ")
    assert not (tmp_path / "out" / "ensemble.json").exists()


def test_fuse_names_a_file_of_another_architecture(runs, tmp_path: Path) -> None:
    data, files, _, _ = runs
    with pytest.raises(SystemExit, match=r"holds resnet18 weights, not vgg19") as exit_:
        fuse_main(["--data", str(data), "--out", str(tmp_path / "out"), "--device", "cpu",
                   f"vgg19={files['vgg19']}", f"vgg19-2={files['resnet18']}"])
    assert str(files["resnet18"]) in str(exit_.value)


@pytest.mark.parametrize("args", [["vgg19=a.safetensors"], ["vgg19=a", "vgg19=b"], ["vgg19", "resnet18=b"]])
def test_fuse_usage_errors(args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        fuse_main(["--data", str(tmp_path), "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and ("NAME=FILE" in err or "two or more members, each name once" in err)


def test_member_names() -> None:
    assert [member_architecture(m) for m in ("vgg19", "vgg19-2", "resnet18-b7", "vgg19-", "vgg19-X", "../vgg19",
                                             "vgg19/2", "alexnet")] == ["vgg19", "vgg19", "resnet18"] + [None] * 5


def test_an_ensemble_json_naming_a_path_is_refused(runs, tmp_path: Path) -> None:
    _, files, _, _ = runs
    path = tmp_path / "ensemble.json"
    save_ensemble(path, {"resnet18": 0.5, "../runs/run1/vgg19": 0.5}, {})
    with pytest.raises(WeightsError, match="member files") as err:
        load_ensemble(path)
    assert str(path) in str(err.value)


def test_the_ensemble_is_the_gpu_default_only_with_every_member_it_names(tmp_path: Path) -> None:
    from fer_desktop.inference import default_model_name

    for name in ("squeezenet", "resnet18", "vgg19"):
        (tmp_path / f"{name}.safetensors").touch()
    save_ensemble(tmp_path / "ensemble.json", {"resnet18": 0.4, "vgg19": 0.3, "vgg19-2": 0.3}, {})
    assert default_model_name("cuda", tmp_path) == "resnet18"  # the next in the GPU's order
    (tmp_path / "vgg19-2.safetensors").touch()
    assert default_model_name("cuda", tmp_path) == "ensemble"
