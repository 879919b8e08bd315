"""Mistakes and damaged files given to the trainer and the evaluator: one sentence, an exit code, no traceback."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fer_desktop.models import create_model
from fer_desktop.weights import WeightsError, load_model, load_named, save_ensemble, save_weights
from fer_fixtures import synthetic_fer, write_tree
from trainer.data import load_fer

ROOT = Path(__file__).resolve().parent.parent


def run(module: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env=env)


def assert_one_sentence(out: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert out.returncode == code, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    assert all(w in out.stderr for w in words), out.stderr


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not a whole zip", b"\x80\x04garbage"])
def test_a_damaged_checkpoint_is_named_on_resume(tmp_path: Path, content: bytes) -> None:
    ckpt = tmp_path / "runs" / "squeezenet" / "checkpoint.pt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(content)
    out = run("trainer.train", "--model", "squeezenet", "--data", str(tmp_path), "--out", str(tmp_path / "runs"),
              "--resume", "--device", "cpu")
    assert_one_sentence(out, 1, str(ckpt), "truncated or corrupt")


def test_a_checkpoint_cut_short_is_named_on_resume(tmp_path: Path) -> None:
    ckpt = tmp_path / "runs" / "squeezenet" / "checkpoint.pt"
    ckpt.parent.mkdir(parents=True)
    torch.save({"model": create_model("squeezenet").state_dict(), "config": {}}, ckpt)
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    out = run("trainer.train", "--data", str(tmp_path), "--out", str(tmp_path / "runs"), "--resume")
    assert_one_sentence(out, 1, str(ckpt), "truncated or corrupt")


@pytest.mark.parametrize("flag, value", [("--batch-size", "0"), ("--batch-size", "-8"), ("--epochs", "0"),
                                         ("--epochs", "-1")])
def test_sizes_below_one_are_refused(tmp_path: Path, flag: str, value: str) -> None:
    out = run("trainer.train", "--data", str(tmp_path), "--out", str(tmp_path / "runs"), flag, value)
    assert_one_sentence(out, 2, flag, "above 0")
    assert not (tmp_path / "runs").exists()


def test_a_damaged_data_cache_is_rebuilt(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "kaggle", synthetic_fer(train=2, public=1, private=1).files)
    first = load_fer(source, cache_dir=tmp_path / "cache")
    (cache,) = (tmp_path / "cache").glob("*.npz")
    cache.write_bytes(cache.read_bytes()[:100])  # a run killed while the cache was copied in, a full disk
    again = load_fer(source, cache_dir=tmp_path / "cache")
    assert np.array_equal(again.images, first.images) and np.array_equal(again.labels, first.labels)
    third = load_fer(source, cache_dir=tmp_path / "cache")  # and the cache is whole again
    assert np.array_equal(third.images, first.images)


@pytest.fixture
def member_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "weights"
    torch.manual_seed(0)
    for arch in ("resnet18", "vgg19"):
        save_weights(folder / f"{arch}.safetensors", arch, create_model(arch).state_dict(), {})
    return folder


@pytest.mark.parametrize("text, words", [
    ("", ("ensemble.json", "not a fer-desktop ensemble file", "members")),
    ("{members: resnet18}", ("ensemble.json", "not a fer-desktop ensemble file")),
    ('{"members": ["resnet18", "vgg19"]}', ("ensemble.json", "not a fer-desktop ensemble file")),
    ('{"members": {"resnet18": 0.5, "vgg16": 0.5}}', ("ensemble.json", "vgg16", "resnet18, vgg19")),
    ('{"members": {"resnet18": "half", "vgg19": 0.5}}', ("ensemble.json", "'half'", "fusion weights")),
    ('{"members": {"resnet18": 0, "vgg19": 0}}', ("ensemble.json", "not all 0")),
    ('{"members": {}}', ("ensemble.json", "not all 0")),
])
def test_a_bad_ensemble_file_is_one_sentence(member_folder: Path, text: str, words: tuple[str, ...]) -> None:
    (member_folder / "ensemble.json").write_text(text)
    with pytest.raises(WeightsError) as err:
        load_named("ensemble", member_folder)
    assert all(w in str(err.value) for w in words), err.value
    assert "--model vgg16" not in str(err.value)


def test_a_bad_ensemble_file_ends_the_evaluator_with_one_sentence(member_folder: Path) -> None:
    (member_folder / "ensemble.json").write_text('{"members": {"resnet18": "half", "vgg19": 0.5}}')
    out = run("trainer.evaluate", "--model", "ensemble", "--weights", str(member_folder), "--data", "x",
              "--device", "cpu")
    assert_one_sentence(out, 1, str(member_folder / "ensemble.json"))


def test_an_ensemble_member_that_is_missing_is_named_as_a_member(member_folder: Path) -> None:
    save_ensemble(member_folder / "ensemble.json", {"resnet18": 0.5, "vgg19": 0.5}, {})
    (member_folder / "vgg19.safetensors").unlink()
    with pytest.raises(WeightsError, match=r"ensemble\.json names the member vgg19: .*vgg19\.safetensors: weights file"):
        load_named("ensemble", member_folder)


def test_no_hint_names_a_model_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(WeightsError) as err:
        load_model(tmp_path / "vgg16.safetensors")
    assert "--model vgg16" not in str(err.value) and "squeezenet" in str(err.value)


def test_the_evaluator_names_a_weights_file_given_for_a_folder(member_folder: Path) -> None:
    out = run("trainer.evaluate", "--model", "resnet18", "--weights", str(member_folder / "resnet18.safetensors"),
              "--data", "x")
    assert_one_sentence(out, 2, "--weights", "resnet18.safetensors is a file", f"(here: {member_folder})")


def test_the_evaluator_names_what_a_data_folder_lacks(tmp_path: Path, member_folder: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "smile.jpg").write_bytes(b"not read")
    out = run("trainer.evaluate", "--model", "resnet18", "--weights", str(member_folder), "--data", str(photos),
              "--device", "cpu", env={"FER_DESKTOP_CACHE": str(tmp_path / "cache")})
    assert_one_sentence(out, 1, str(photos), "labels.csv", "train/<class>")


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_weights_are_created_with_the_users_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        save_weights(tmp_path / "squeezenet.safetensors", "squeezenet", create_model("squeezenet").state_dict(), {})
        save_ensemble(tmp_path / "ensemble.json", {"squeezenet": 1.0}, {})
    finally:
        os.umask(old)
    for name in ("squeezenet.safetensors", "ensemble.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask, name
    assert json.loads((tmp_path / "ensemble.json").read_text())["members"] == {"squeezenet": 1.0}


@pytest.mark.parametrize("module, args", [
    ("trainer.calibrate", ["--data", "x", "--model", "squeezenet"]),
    ("trainer.fuse", ["--data", "x", "--out", "o", "resnet18=a.safetensors", "vgg19=b.safetensors"]),
    ("trainer.soup", ["--data", "x", "--out", "o.safetensors", "a.safetensors", "b.safetensors"]),
    ("trainer.recalibrate", ["--data", "x", "a.safetensors"]),
])
def test_an_unknown_device_is_a_usage_error(module: str, args: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as e:
        importlib.import_module(module).main([*args, "--device", "gpu0"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--device: invalid choice: 'gpu0'" in err and "Traceback" not in err, err


# Each helper command's first slow step, replaced by one that fails as a user or the machine would make it fail.
SLOW_STEPS = {
    "trainer.calibrate": ("public_probs", ["--data", "x", "--model", "squeezenet"]),
    "trainer.fuse": ("load_fer", ["--data", "x", "--out", "{tmp}/o", "resnet18=a.safetensors", "vgg19=b.safetensors"]),
    "trainer.soup": ("faces_to_measure_on", ["--data", "x", "--out", "{tmp}/o.safetensors", "a.safetensors",
                                             "b.safetensors"]),
    "trainer.recalibrate": ("faces_to_measure_on", ["--data", "x", "a.safetensors"]),
}


@pytest.mark.parametrize("module", SLOW_STEPS)
@pytest.mark.parametrize("failure, code, words", [
    (KeyboardInterrupt(), 130, "interrupted"),
    (OSError(28, "No space left on device", "/full/disk/file"), 1, "/full/disk/file: No space left on device"),
])
def test_helper_commands_end_ctrl_c_and_a_full_disk_in_one_line(
    module: str, failure: BaseException, code: int, words: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
) -> None:
    step, args = SLOW_STEPS[module]
    command = importlib.import_module(module)

    def fail(*_args, **_kwargs):
        raise failure

    monkeypatch.setattr(command, step, fail)
    with pytest.raises(SystemExit) as e:
        command.main([a.format(tmp=tmp_path) for a in args])
    said = f"{capsys.readouterr().err}{e.value.code if isinstance(e.value.code, str) else ''}"
    assert (e.value.code if isinstance(e.value.code, int) else 1) == code
    assert words in said and "Errno" not in said and "Traceback" not in said, said
