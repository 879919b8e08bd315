"""Weight averaging: the mean of several runs' weights, kept as far as PublicTest says it helps."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from fer_fixtures import one_torch_thread, private_cache, synthetic_fer, write_tree  # noqa: F401

from fer_desktop.models import create_model
from fer_desktop.weights import load_model, read_info, save_weights
from trainer.data import load_fer
from trainer.predict import predict_probs
from trainer.soup import average_states, main


def test_average_is_the_mean_as_fp16_holds_it_and_counters_come_from_the_first() -> None:
    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(5)}
    b = {"w": torch.tensor([2.0, 1.0 / 3.0]), "n": torch.tensor(9)}
    avg = average_states([a, b])
    assert torch.equal(avg["w"], torch.tensor([1.5, 7.0 / 6.0]).half().float())
    assert avg["w"].dtype == torch.float32 and avg["n"].item() == 5


@pytest.fixture()
def fer_dir(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "kaggle", synthetic_fer(train=8, public=3, private=0).files)


def run_file(folder: Path, seed: int, command: str) -> Path:
    torch.manual_seed(seed)
    path = folder / f"run{seed}" / "squeezenet.safetensors"
    path.parent.mkdir()
    save_weights(path, "squeezenet", create_model("squeezenet").state_dict(),
                 {"public_accuracy": 0.0, "command": command, "training": {"epochs_run": 3}})
    return path


def public_accuracy(path: Path, fer_dir: Path) -> float:
    x, y = load_fer(fer_dir).select("public")
    model, spec, _ = load_model(path)
    return float((predict_probs(model, spec, x).argmax(1) == y).mean())


def test_the_soup_records_every_run_and_its_own_accuracy_is_the_files(fer_dir: Path, tmp_path: Path) -> None:
    runs = [run_file(tmp_path, seed, f"fer-desktop-train --seed {seed}") for seed in (1, 2, 3)]
    out = tmp_path / "soup.safetensors"
    main([*map(str, runs), "--out", str(out), "--data", str(fer_dir), "--device", "cpu"])

    info = read_info(out)
    soup = info["soup"]
    assert sorted(r["file"] for r in soup["runs"]) == sorted(map(str, runs))
    own = [r["public_accuracy"] for r in soup["runs"]]
    assert own == sorted(own, reverse=True)  # the best run first: the soup starts from it
    assert own == [public_accuracy(Path(r["file"]), fer_dir) for r in soup["runs"]]
    assert soup["runs"][0]["averaged"] and soup["public_accuracy_best_run"] == own[0]
    assert info["public_accuracy"] >= own[0]  # a run joins only when it does not lower the accuracy
    assert info["public_accuracy"] == public_accuracy(out, fer_dir)  # fer-desktop-eval gives the recorded figure
    best = next(r for r in soup["runs"] if r["public_accuracy"] == own[0])
    assert info["command"] == best["command"] and info["training"] == {"epochs_run": 3}
    if sum(r["averaged"] for r in soup["runs"]) > 1:
        assert info["batchnorm"]["faces"] == 2 * 8 * 7  # eight training faces a class, and their mirrors


def test_an_average_of_an_average_keeps_the_runs_behind_it(fer_dir: Path, tmp_path: Path) -> None:
    first, second, third = (run_file(tmp_path, seed, f"fer-desktop-train --seed {seed}") for seed in (1, 2, 3))
    inner = tmp_path / "inner.safetensors"
    main([str(first), str(second), "--out", str(inner), "--data", str(fer_dir), "--device", "cpu"])
    outer = tmp_path / "outer.safetensors"
    main([str(inner), str(third), "--out", str(outer), "--data", str(fer_dir), "--device", "cpu"])

    runs = {r["file"]: r for r in read_info(outer)["soup"]["runs"]}
    assert runs[str(inner)]["soup"] == read_info(inner)["soup"]
    assert {r["file"] for r in runs[str(inner)]["soup"]["runs"]} == {str(first), str(second)}
    assert "soup" not in runs[str(third)]


def test_a_copy_of_the_best_run_always_joins_and_changes_nothing(fer_dir: Path, tmp_path: Path) -> None:
    first = run_file(tmp_path, 1, "fer-desktop-train")
    copy = tmp_path / "copy.safetensors"
    shutil.copy(first, copy)
    main([str(first), str(copy), "--out", str(first), "--data", str(fer_dir), "--device", "cpu"])  # in place
    info = read_info(first)
    assert all(r["averaged"] for r in info["soup"]["runs"])
    assert info["public_accuracy"] >= info["soup"]["public_accuracy_best_run"]
    averaged = {k: v for k, v in load_model(first)[0].state_dict().items() if "running" not in k}
    original = {k: v for k, v in load_model(copy)[0].state_dict().items() if "running" not in k}
    assert all(torch.equal(averaged[k], original[k]) for k in original)


def test_runs_of_two_architectures_are_refused_by_name(fer_dir: Path, tmp_path: Path) -> None:
    squeeze = run_file(tmp_path, 1, "fer-desktop-train")
    resnet = tmp_path / "resnet18.safetensors"
    save_weights(resnet, "resnet18", create_model("resnet18").state_dict(), {})
    with pytest.raises(SystemExit, match="resnet18, squeezenet"):
        main([str(squeeze), str(resnet), "--out", str(tmp_path / "x.safetensors"), "--data", str(fer_dir)])


def test_one_file_is_not_a_soup(fer_dir: Path, tmp_path: Path) -> None:
    only = run_file(tmp_path, 1, "fer-desktop-train")
    with pytest.raises(SystemExit, match="two or more"):
        main([str(only), str(only), "--out", str(tmp_path / "x.safetensors"), "--data", str(fer_dir)])


def test_a_missing_file_is_named(fer_dir: Path, tmp_path: Path) -> None:
    only = run_file(tmp_path, 1, "fer-desktop-train")
    with pytest.raises(SystemExit, match="gone.safetensors"):
        main([str(only), str(tmp_path / "gone.safetensors"), "--out", str(tmp_path / "x.safetensors"),
              "--data", str(fer_dir)])


def test_a_mix_is_the_weighted_mean_of_a_model_and_its_fine_tune(fer_dir: Path, tmp_path: Path) -> None:
    base, tuned = run_file(tmp_path, 1, "clean"), run_file(tmp_path, 2, "fine-tune")
    out = tmp_path / "mix.safetensors"
    main([str(base), str(tuned), "--mix", "0.7", "--out", str(out), "--data", str(fer_dir), "--device", "cpu"])
    info = read_info(out)
    assert info["soup"]["mix"] == 0.7 and [r["share"] for r in info["soup"]["runs"]] == pytest.approx([0.3, 0.7])
    assert info["public_accuracy"] == pytest.approx(public_accuracy(out, fer_dir))
    a, b, m = (load_model(p)[0].state_dict() for p in (base, tuned, out))
    weight = "features.0.weight"  # a convolution: BatchNorm statistics may have been measured anew
    assert torch.allclose(m[weight].float(), (0.3 * a[weight].float() + 0.7 * b[weight].float()).half().float(),
                          atol=1e-3)


def test_a_mix_needs_two_files_and_a_share_between_0_and_1(fer_dir: Path, tmp_path: Path) -> None:
    base, tuned = run_file(tmp_path, 1, "clean"), run_file(tmp_path, 2, "fine-tune")
    for share in ("0", "1.5"):
        with pytest.raises(SystemExit) as e:
            main([str(base), str(tuned), "--mix", share, "--out", str(tmp_path / "m.safetensors"), "--data", str(fer_dir)])
        assert e.value.code == 2


def test_an_existing_file_that_is_no_input_is_refused_before_the_work(fer_dir: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    first, second = run_file(tmp_path, 1, "a"), run_file(tmp_path, 2, "b")
    notes = tmp_path / "notes.safetensors"
    notes.write_text("a file of the user's")
    with pytest.raises(SystemExit) as e:
        main([str(first), str(second), "--out", str(notes), "--data", str(tmp_path / "not read yet")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and f"--out {notes} already exists" in err and "--overwrite" in err, err
    assert notes.read_text() == "a file of the user's"
    main([str(first), str(second), "--out", str(notes), "--overwrite", "--data", str(fer_dir), "--device", "cpu"])
    assert read_info(notes)["soup"]["runs"]
