"""The trainer: augmentation, command line, schedule, and short real runs on synthetic FER-2013.

The runs are tiny (SqueezeNet, at most 48 faces, batches of 8, a few epochs on
the CPU in fp32) so they are quick and bit-for-bit repeatable.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
from safetensors import SafetensorError
from fer_fixtures import assert_never_imported, one_torch_thread, private_cache, synthetic_fer, write_tree  # noqa: F401

import fer_desktop.export.outputs
import trainer.train
from fer_desktop.emotions import EMOTIONS
from fer_desktop.models import ENSEMBLE_MEMBERS, SPECS, create_model
from fer_desktop.preprocess import center_crop
from fer_desktop.weights import WeightsError, load_model, read_info, save_weights
from trainer.augment import AugmentConfig, augment, random_erase
from trainer.predict import predict_probs
from trainer.train import TrainConfig, class_weights, get_lr, parse_args, train, training_command

NO_AUGMENTATION = AugmentConfig(crop=False, flip=False, affine=False, erase=0.0)


def faces(n: int = 6, seed: int = 0) -> torch.Tensor:
    """(n, 1, 48, 48) float faces in 0-255 with no two pixels alike, so any resampling shows."""
    return torch.from_numpy(np.random.default_rng(seed).uniform(1, 255, (n, 1, 48, 48))).float()


# ---------------------------------------------------------------- augmentation


def test_augment_output_shape_and_range() -> None:
    out = augment(faces(), 44, AugmentConfig(), torch.Generator().manual_seed(0))
    assert out.shape == (6, 1, 44, 44) and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 255
    assert augment(faces(), 48, AugmentConfig(), torch.Generator().manual_seed(0)).shape == (6, 1, 48, 48)


def test_augment_is_deterministic_for_one_generator_seed() -> None:
    x = faces()
    a = augment(x, 44, AugmentConfig(), torch.Generator().manual_seed(7))
    b = augment(x, 44, AugmentConfig(), torch.Generator().manual_seed(7))
    c = augment(x, 44, AugmentConfig(), torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("size", [44, 48])
def test_augment_with_every_switch_off_is_the_centre_crop(size: int) -> None:
    x = faces()
    out = augment(x, size, NO_AUGMENTATION, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, center_crop(x, size), atol=1e-3, rtol=0)


def test_flip_mirrors_about_half_of_the_faces() -> None:
    x = faces(16)
    out = augment(x, 44, dataclasses.replace(NO_AUGMENTATION, flip=True), torch.Generator().manual_seed(0))
    crop = center_crop(x, 44)
    plain = [torch.allclose(o, c, atol=1e-3) for o, c in zip(out, crop)]
    mirrored = [torch.allclose(o, c.flip(-1), atol=1e-3) for o, c in zip(out, crop)]
    assert all(p != m for p, m in zip(plain, mirrored))  # each face is one or the other
    assert 0 < sum(mirrored) < 16


def test_shift_moves_each_face_by_up_to_its_share_of_the_side() -> None:
    x = faces(64)
    out = augment(x, 48, dataclasses.replace(NO_AUGMENTATION, shift=0.125), torch.Generator().manual_seed(0))
    moves = []
    for o, f in zip(out, x):  # the inside of each output is the face moved by some (dx, dy) within 6 px
        errors = {(dx, dy): (o[0, 8:40, 8:40] - f[0, 8 + dy : 40 + dy, 8 + dx : 40 + dx]).abs().mean().item()
                  for dx in range(-6, 7) for dy in range(-6, 7)}
        best = min(errors, key=errors.get)
        moves.append(max(abs(best[0]), abs(best[1])))
        assert errors[best] < 60  # bilinear blend of neighbours, far from another place's noise (about 85)
    assert max(moves) <= 6 and np.mean(moves) > 1.5


def test_crop_and_affine_move_the_face() -> None:
    x = faces(8)
    crop = center_crop(x, 44)
    for cfg in (dataclasses.replace(NO_AUGMENTATION, crop=True), dataclasses.replace(NO_AUGMENTATION, affine=True)):
        out = augment(x, 44, cfg, torch.Generator().manual_seed(0))
        moved = [not torch.allclose(o, c, atol=1e-3) for o, c in zip(out, crop)]
        assert sum(moved) >= 6


def test_random_erase_blanks_one_rectangle() -> None:
    x = torch.full((8, 1, 44, 44), 100.0)
    out = random_erase(x, 1.0, torch.Generator().manual_seed(0))
    for img in out[:, 0]:
        blank = img == 0
        assert torch.equal(img[~blank], torch.full_like(img[~blank], 100.0))
        rows, cols = blank.any(1).nonzero().squeeze(1), blank.any(0).nonzero().squeeze(1)
        # The blanked pixels fill their bounding box: a rectangle, of 2-25% of the face give or take its edges.
        box = blank[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert box.all()
        assert 0.01 < blank.float().mean() < 0.30
    assert torch.equal(random_erase(x, 0.0, torch.Generator().manual_seed(0)), x)
    erased = augment(faces(8), 44, dataclasses.replace(NO_AUGMENTATION, erase=1.0), torch.Generator().manual_seed(0))
    assert all((img == 0).any() for img in erased)


# ---------------------------------------------------------------- command line and helpers


def test_parse_args_defaults_are_the_config_defaults() -> None:
    assert parse_args(["--data", "fer.zip"]) == TrainConfig(data="fer.zip")


def test_parse_args_flags() -> None:
    cfg = parse_args([
        "--data", "fer.zip", "--model", "vgg19", "--epochs", "3", "--lr", "0.1", "--no-aug-flip", "--aug-erase", "0",
        "--no-amp", "--class-weights", "--resume", "--stop-after", "2", "--teacher", "ensemble",
    ])
    assert (cfg.model, cfg.epochs, cfg.lr, cfg.amp) == ("vgg19", 3, 0.1, False)
    assert (cfg.class_weights, cfg.resume) == (True, True)
    assert (cfg.stop_after, cfg.teacher) == (2, "ensemble")
    assert cfg.augment == AugmentConfig(flip=False, erase=0.0)
    assert isinstance(cfg.epochs, int) and isinstance(cfg.lr, float)


def test_the_recorded_command_leaves_out_how_the_run_was_split_across_invocations() -> None:
    argv = ["--model", "vgg19", "--stop-after", "3", "--init", "vgg19", "--time-limit=50", "--resume", "--lr", "0.02"]
    assert training_command(argv) == "fer-desktop-train --model vgg19 --init vgg19 --lr 0.02"
    assert training_command(["--data", "my faces/fer.zip"]) == "fer-desktop-train --data 'my faces/fer.zip'"


def test_every_training_option_is_a_flag_with_help(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # no wrapping inside a help text
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    fields = [("", f) for f in dataclasses.fields(TrainConfig) if f.name != "augment"]
    fields += [("aug-", f) for f in dataclasses.fields(AugmentConfig)]
    for prefix, f in fields:
        flag = "--" + prefix + f.name.replace("_", "-")
        assert flag in text
        assert f.metadata["help"] in text, f"{flag} has no help"


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        ([], "--data is required"),
        (["--data", "fer.zip", "--model", "alexnet"], "argument --model: invalid choice: 'alexnet'"),
        (["--data", "fer.zip", "--epochs", "many"], "invalid int value"),
        (["--data", "fer.zip", "--no-such-option"], "unrecognized arguments"),
        (["--data", "fer.zip", "--kd-alpha", "5"], "--kd-alpha must be at least 0 and at most 1, not 5.0"),
        (["--data", "fer.zip", "--lr", "0"], "--lr must be a finite number above 0, not 0.0"),
        (["--data", "fer.zip", "--lr", "inf"], "--lr must be a finite number above 0, not inf"),
        (["--data", "fer.zip", "--lr", "nan"], "--lr must be a finite number above 0, not nan"),
        (["--data", "fer.zip", "--threads", "-3"], "--threads must be a finite number of 0 or more, not -3"),
        (["--data", "fer.zip", "--label-smoothing", "1"], "--label-smoothing must be at least 0 and below 1"),
        (["--data", "fer.zip", "--aug-degrade", "1.5"], "--aug-degrade must be at least 0 and at most 1"),
        (["--data", "fer.zip", "--aug-shift", "-0.1"], "--aug-shift must be at least 0 and at most 0.5"),
        (["--data", "fer.zip", "--out", "{file}"], "is a file; give the folder for the runs"),
        (["--data", "fer.zip", "--out", "{file}/runs"], "a_file is a file; give the folder for the runs"),
    ],
)
def test_parse_args_errors(argv: list[str], words: str, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(SystemExit) as err:
        parse_args([a.format(file=tmp_path / "a_file") for a in argv])
    assert err.value.code == 2
    assert words in capsys.readouterr().err


def test_an_out_folder_that_cannot_be_written_is_refused_before_the_data_is_read(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    def read_only(folder: Path) -> None:  # a read-only mount: chmod does not stop root, so the failure is made
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(fer_desktop.export.outputs, "try_creating_in", read_only)
    with pytest.raises(SystemExit) as err:
        parse_args(["--data", "fer.zip", "--out", str(tmp_path / "runs")])
    assert err.value.code == 2
    assert f"--out {tmp_path / 'runs'}: the folder {tmp_path} cannot be written (Read-only file system)" in \
        capsys.readouterr().err


def test_resume_refuses_flags_that_would_change_the_run(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "squeezenet"
    run_dir.mkdir(parents=True)
    started = TrainConfig(data="fer.zip", out=str(tmp_path / "runs"), lr=0.01, augment=AugmentConfig(degrade=0.3))
    (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(started)))
    common = ["--model", "squeezenet", "--out", str(tmp_path / "runs"), "--resume"]
    # Where it runs, how many threads, where the data now lies and how the run is split may change.
    same = parse_args([*common, "--data", "moved/fer.zip", "--lr", "0.01", "--aug-degrade", "0.3", "--threads", "1",
                       "--stop-after", "2"])
    assert (same.data, same.threads, same.lr) == ("moved/fer.zip", 1, 0.01)
    assert parse_args([*common, "--data", "fer.zip"]).resume  # flags left out take the run's, as before
    with pytest.raises(SystemExit) as err:
        parse_args([*common, "--data", "fer.zip", "--lr", "0.05", "--aug-degrade", "0.5", "--no-amp"])
    assert err.value.code == 2
    said = capsys.readouterr().err
    for words in ("--lr is 0.05 here and 0.01 in the run", "--aug-degrade is 0.5 here and 0.3 in the run",
                  "--amp is False here and True in the run", "another --out"):
        assert words in said
    assert "--data" not in said.split("but", 1)[1]


def test_get_lr_warm_up_and_cosine_end_points() -> None:
    peak, total, warmup = 0.1, 100, 10
    lrs = [get_lr(s, total, warmup, peak) for s in range(total + 1)]
    assert lrs[0] == pytest.approx(peak / 10)  # (0 + 1) / 10 of the peak
    assert lrs[9] == pytest.approx(peak)  # warm-up ends at the peak...
    assert lrs[10] == pytest.approx(peak)  # ...where the cosine starts
    assert lrs[55] == pytest.approx(peak / 2)  # half way through the decay: (1 + cos(pi / 2)) / 2
    assert lrs[100] == pytest.approx(0.0, abs=1e-12)
    assert 0 < lrs[99] < 1e-4
    assert all(a < b for a, b in zip(lrs[:10], lrs[1:10]))
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert get_lr(0, total, 0, peak) == pytest.approx(peak)


def test_class_weights_average_one_over_the_samples_and_favour_the_rare() -> None:
    counts = [40, 4, 30, 80, 50, 20, 60]
    labels = np.repeat(np.arange(7), counts)
    w = class_weights(labels)
    assert w.dtype == torch.float32 and w.shape == (7,)
    assert w[labels].mean().item() == pytest.approx(1.0)
    assert w.argmax().item() == EMOTIONS.index("disgust")
    assert w.argmin().item() == EMOTIONS.index("happy")
    assert (w[1] / w[3]).item() == pytest.approx(math.sqrt(80 / 4))  # 1 / sqrt(frequency)
    assert torch.isfinite(class_weights(np.array([0, 0, 3]))).all()  # absent classes do not divide by zero


# ---------------------------------------------------------------- training runs


@pytest.fixture(scope="module")
def fer_dir(tmp_path_factory: pytest.TempPathFactory):
    """56 training, 7 PublicTest and 7 PrivateTest synthetic faces, and a cache of its own."""
    root = tmp_path_factory.mktemp("fer")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FER_DESKTOP_CACHE", str(root / "cache"))
        yield write_tree(root / "kaggle", synthetic_fer(train=8, public=1, private=1).files)


def tiny(fer_dir: Path, out: Path, **changes) -> TrainConfig:
    # The default peak rate (0.05, for batches of 128) throws a batch of 8 about; 0.002 lowered the loss
    # over four epochs from each of eight initialisations tried.
    cfg = TrainConfig(
        model="squeezenet", data=str(fer_dir), out=str(out), epochs=4, batch_size=8, limit=48, lr=0.002,
        device="cpu", amp=False, threads=1,
    )
    return dataclasses.replace(cfg, **changes)


@pytest.fixture(scope="module")
def full_run(fer_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(tiny(fer_dir, tmp_path_factory.mktemp("full")))


def checkpoint(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)


def test_a_few_steps_lower_the_loss_and_write_the_run(full_run: Path) -> None:
    state = checkpoint(full_run)
    history = state["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4] and state["epoch"] == 4
    losses = [h["train_loss"] for h in history]
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0], losses
    assert history[-1]["lr"] < history[0]["lr"]
    assert all(f"{os.cpu_count()} cores" in h["machine"] for h in history)  # figures name their machine

    best = max(history, key=lambda h: h["val_accuracy"])
    info = read_info(full_run / "squeezenet.safetensors")
    assert info["epoch"] == best["epoch"] and best["val_accuracy"] == state["best_acc"]
    # The run ends by measuring BatchNorm statistics anew; they stay only if PublicTest rises (fp32 here, as is
    # the selection, so the trained figure is the best epoch's).
    bn = info["batchnorm"]
    assert bn["public_accuracy_trained"] == best["val_accuracy"]
    assert bn["recalibrated"] == (bn["public_accuracy_recalibrated"] > best["val_accuracy"])
    assert info["public_accuracy"] == (bn["public_accuracy_recalibrated"] if bn["recalibrated"] else best["val_accuracy"])
    assert info["epochs"] == 4 and info["parameters"] > 1e6 and "kaggle" in info["trained_on"]
    # The finished run's record travels in the weights file, for the model card.
    record = info["training"]
    assert record["epochs_run"] == 4 and [h["epoch"] for h in record["history"]] == [1, 2, 3, 4]
    assert record["train_seconds"] == pytest.approx(sum(h["epoch_seconds"] for h in history))
    assert record["machines"] == [history[0]["machine"]]
    load_model(full_run / "squeezenet.safetensors", "squeezenet")

    report = full_run / "report"
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["model"] == "squeezenet" and metrics["split"] == "public"
    for crop in ("single_crop", "ten_crop"):
        assert metrics[crop]["n"] == 7 and 0 <= metrics[crop]["accuracy"] <= 1
    # The report evaluates the weights the run ships.
    assert metrics["single_crop"]["accuracy"] == pytest.approx(info["public_accuracy"])
    assert len(metrics["history"]) == 4
    for name in ("curves.png", "confusion.png"):
        assert (report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    config = json.loads((report / "config.json").read_text())
    assert (config["model"], config["epochs"], config["limit"], config["batch_size"]) == ("squeezenet", 4, 48, 8)
    assert config["augment"] == dataclasses.asdict(AugmentConfig())
    assert (report / "command.txt").read_text().startswith("fer-desktop-train")


def assert_identical(a, b, where: str = "") -> None:
    """Equal structures, tensors equal bit for bit."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_identical(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def assert_same_run(a: Path, b: Path) -> None:
    """Two run folders hold the same training, bit for bit, timings aside."""
    first, second = checkpoint(a), checkpoint(b)
    for part in ("model", "optimizer", "epoch", "best_acc"):
        assert_identical(first[part], second[part], part)
    for h in first["history"] + second["history"]:
        del h["epoch_seconds"], h["images_per_second"]
    assert_identical(first["history"], second["history"], "history")
    wa, _, _ = load_model(a / "squeezenet.safetensors")
    wb, _, _ = load_model(b / "squeezenet.safetensors")
    assert_identical(wa.state_dict(), wb.state_dict(), "best weights")


@pytest.mark.parametrize("mixing", [{}, {"mixup": 0.4, "cutmix": 1.0}], ids=["plain", "mixup-and-cutmix"])
def test_resume_gives_the_same_result_as_an_uninterrupted_run(fer_dir: Path, tmp_path: Path, mixing: dict) -> None:
    cfg = tiny(fer_dir, tmp_path / "one", epochs=3, limit=16, stop_after=1, **mixing)
    one = train(cfg)
    assert checkpoint(one)["epoch"] == 1
    assert not (one / "report").exists()
    two = tmp_path / "two" / "squeezenet"
    shutil.copytree(one, two)
    # Run one goes on uninterrupted. The saved configuration wins over what --resume is given with it.
    train(dataclasses.replace(cfg, stop_after=0, resume=True, lr=1.0, epochs=1, limit=0, seed=9))
    # Run two stops after every epoch.
    resumed = dataclasses.replace(cfg, out=str(tmp_path / "two"), resume=True)
    train(resumed)
    assert checkpoint(two)["epoch"] == 2 and not (two / "report").exists()
    train(resumed)
    assert checkpoint(two)["epoch"] == 3
    assert_same_run(one, two)
    assert checkpoint(two)["config"] == {**dataclasses.asdict(cfg), "resume": True}
    for run in (one, two):
        assert json.loads((run / "report" / "metrics.json").read_text())["history"][-1]["epoch"] == 3


def test_one_seed_gives_one_run(fer_dir: Path, tmp_path: Path) -> None:
    # A run must not depend on what the process did before it (an ensemble trains two models in one process).
    cfg = tiny(fer_dir, tmp_path / "a", epochs=2, limit=8, stop_after=1)
    torch.manual_seed(1)
    a = train(cfg)
    torch.manual_seed(2)
    b = train(dataclasses.replace(cfg, out=str(tmp_path / "b")))
    assert_same_run(a, b)


def test_a_run_that_never_scores_still_saves_weights_and_a_report(
    fer_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Validation that gets every PublicTest face wrong, as a tiny smoke run on real data can.
    def always_wrong(model, spec, faces, *args, **kwargs) -> np.ndarray:
        labels = synthetic_fer(train=8, public=1, private=1).select("public")[1]
        return np.eye(7, dtype=np.float32)[(labels + 1) % 7]

    monkeypatch.setattr(trainer.train, "predict_probs", always_wrong)
    run_dir = train(tiny(fer_dir, tmp_path, epochs=1, limit=8))
    assert checkpoint(run_dir)["history"][0]["val_accuracy"] == 0.0
    assert read_info(run_dir / "squeezenet.safetensors")["epoch"] == 1
    assert (run_dir / "report" / "metrics.json").is_file()


def test_an_occupied_run_folder_is_refused_without_resume(full_run: Path, fer_dir: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "squeezenet"
    run_dir.mkdir()
    shutil.copy2(full_run / "checkpoint.pt", run_dir / "checkpoint.pt")
    before = (run_dir / "checkpoint.pt").read_bytes()
    with pytest.raises(SystemExit, match="already holds a run") as err:
        train(tiny(fer_dir, tmp_path))
    assert "--resume" in str(err.value.code) and str(run_dir) in str(err.value.code)
    assert (run_dir / "checkpoint.pt").read_bytes() == before
    assert [p.name for p in run_dir.iterdir()] == ["checkpoint.pt"]


def test_resume_without_a_checkpoint_says_so(fer_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--resume: no checkpoint") as err:
        train(tiny(fer_dir, tmp_path, resume=True))
    assert str(tmp_path / "squeezenet" / "checkpoint.pt") in str(err.value.code)
    assert not (tmp_path / "squeezenet").exists()


@pytest.mark.parametrize("full", ["checkpoint", "weights"])
def test_a_full_disk_ends_the_run_with_one_sentence_and_no_partial_file(
    full: str, fer_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def torch_save(obj: object, path: Path) -> None:  # what torch.save does when the disk fills
        Path(path).write_bytes(b"PK\x03\x04 cut short")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534\nframes")

    def save_file(tensors: dict, path: str, metadata: dict | None = None) -> None:  # and safetensors
        Path(path).write_bytes(b"cut short")
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    if full == "checkpoint":
        monkeypatch.setattr(trainer.train.torch, "save", torch_save)
    else:
        monkeypatch.setattr(safetensors.torch, "save_file", save_file)
    with pytest.raises(SystemExit) as err:
        trainer.train.main(["--model", "squeezenet", "--data", str(fer_dir), "--out", str(tmp_path), "--epochs", "1",
                            "--batch-size", "8", "--limit", "8", "--device", "cpu", "--no-amp", "--threads", "1"])
    message = str(err.value.code)
    assert message.startswith(f"fer-desktop-train: {tmp_path / 'squeezenet'}/") and "\n" not in message, message
    assert "cannot be written" in message and "nothing is saved" in message, message
    assert not [f.name for f in (tmp_path / "squeezenet").iterdir() if ".partial-" in f.name]


def test_too_little_data_for_one_batch_is_refused(fer_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"56 training and 7 PublicTest faces.*one batch \(64\)"):
        train(tiny(fer_dir, tmp_path, batch_size=64, limit=0))


@pytest.mark.parametrize("ten_crop", [False, True])
def test_distillation_from_a_teacher_file(tmp_path: Path, ten_crop: bool) -> None:
    syn = synthetic_fer(train=2, public=1, private=0, seed=4)
    data = write_tree(tmp_path / "kaggle", syn.files)
    torch.manual_seed(3)
    teacher_path = tmp_path / "teacher" / "squeezenet.safetensors"
    save_weights(teacher_path, "squeezenet", create_model("squeezenet").state_dict(), {"note": "random teacher"})
    run_dir = train(tiny(data, tmp_path / "runs", teacher=str(teacher_path), epochs=1, limit=0,
                         teacher_ten_crop=ten_crop))

    views = "ten-crop" if ten_crop else "centre-and-mirror"
    cached = np.load(run_dir / f"teacher_log_probs_{views}.npy")
    assert cached.shape == (14, 7) and cached.dtype == np.float32
    # The teacher's log-probabilities of the training faces, in the order of the data.
    teacher, spec, _ = load_model(teacher_path)
    faces = syn.select("train")[0]
    if ten_crop:
        expected = predict_probs(teacher, spec, faces, tta=True)
    else:  # the centre crop is symmetric, so the mirrored face's centre crop is the centre crop's mirror
        expected = (predict_probs(teacher, spec, faces) + predict_probs(teacher, spec, faces[:, :, ::-1].copy())) / 2
    np.testing.assert_allclose(cached, np.log(expected), atol=1e-4)
    assert read_info(run_dir / "squeezenet.safetensors")["teacher"] == str(teacher_path)
    assert math.isfinite(checkpoint(run_dir)["history"][0]["train_loss"])


def test_ensemble_fuses_finished_member_runs(tmp_path: Path) -> None:
    syn = synthetic_fer(train=1, public=1, private=0, seed=5)
    public = [i for i, split in enumerate(syn.splits) if split == "public"][2:4]  # two faces: fear and happy
    keep = [i for i, split in enumerate(syn.splits) if split == "train"] + public
    data = write_tree(tmp_path / "kaggle", {syn.names[i]: syn.encoded[i] for i in keep})
    out = tmp_path / "runs"
    for i, member in enumerate(ENSEMBLE_MEMBERS):
        torch.manual_seed(10 + i)
        # The training record marks a finished run: these files are all the fusion needs, as shipped weights are.
        record = {"epochs_run": 1, "train_seconds": 1.0, "machines": ["this test"]}
        save_weights(out / member / f"{member}.safetensors", member, create_model(member).state_dict(),
                     {"training": record})

    threads = torch.get_num_threads()
    try:
        run_dir = train(TrainConfig(model="ensemble", data=str(data), out=str(out), device="cpu", amp=False,
                                    threads=threads + 1))
        assert torch.get_num_threads() == threads + 1  # --threads holds for the fusion too
    finally:
        torch.set_num_threads(threads)
    assert run_dir == out / "ensemble"
    assert not any((out / m / "checkpoint.pt").exists() for m in ENSEMBLE_MEMBERS)  # nothing was retrained
    meta = json.loads((run_dir / "ensemble.json").read_text())
    first, second = ENSEMBLE_MEMBERS
    w = meta["members"][first]
    # Exact twentieths that add up to one: the JSON reads 0.45, never 0.44999999999999996.
    assert {round(v * 20) / 20 for v in meta["members"].values()} == set(meta["members"].values())
    assert meta["members"][first] + meta["members"][second] == 1
    search = {float(k.split("/")[0]): v for k, v in meta["fusion_search"].items()}
    assert sorted(search) == pytest.approx([i / 20 for i in range(21)])
    assert all(float(a) + float(b) == 1 for a, b in (k.split("/") for k in meta["fusion_search"]))
    best = max(search.values())
    assert meta["public_accuracy"] == best == search[min(search, key=lambda g: abs(g - w))]
    # Of the weights that tie for the best accuracy, the one nearest an even split.
    assert abs(w - 0.5) == pytest.approx(min(abs(g - 0.5) for g, a in search.items() if a == best))

    probs = []
    for member in ENSEMBLE_MEMBERS:
        model, spec, _ = load_model(run_dir / f"{member}.safetensors", member)  # copied beside the JSON
        probs.append(predict_probs(model, spec, syn.images[public]))
    fused = w * probs[0] + (1 - w) * probs[1]
    assert float((fused.argmax(1) == syn.labels[public]).mean()) == pytest.approx(best)

    metrics = json.loads((run_dir / "report" / "metrics.json").read_text())
    assert metrics["model"] == "ensemble" and metrics["single_crop"]["n"] == 2
    assert metrics["weights"]["members"] == meta["members"]
    assert (run_dir / "report" / "confusion.png").is_file() and not (run_dir / "report" / "curves.png").exists()


def test_ensemble_finishes_a_begun_member_before_starting_the_other(fer_dir: Path, tmp_path: Path) -> None:
    first, second = ENSEMBLE_MEMBERS
    train(tiny(fer_dir, tmp_path, model=second, epochs=2, limit=8, stop_after=1))  # begun, not finished
    train(tiny(fer_dir, tmp_path, model="ensemble", epochs=2, limit=8, stop_after=1))
    assert (tmp_path / second / "report" / "metrics.json").is_file()  # resumed first, and finished
    assert checkpoint(tmp_path / first)["epoch"] == 1  # then the other began
    assert not (tmp_path / "ensemble").exists()


def test_specs_agree_with_training_input() -> None:
    # The trainer feeds every architecture its spec's crop; the ensemble members must share one.
    assert len({(SPECS[m].input_size, SPECS[m].mean, SPECS[m].std) for m in ENSEMBLE_MEMBERS}) == 1


def test_time_limit_ends_an_invocation_between_epochs(fer_dir: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    # The first epoch always runs; the next would end past a limit of a few milliseconds.
    run_dir = train(tiny(fer_dir, tmp_path, epochs=3, limit=16, time_limit=1e-4))
    assert checkpoint(run_dir)["epoch"] == 1 and not (run_dir / "report").exists()
    said = capsys.readouterr().err
    assert "3 epochs of 2 steps of 8 faces" in said
    assert "stopped after epoch 1/3; continue with --resume" in said
    train(tiny(fer_dir, tmp_path, epochs=3, limit=16, resume=True))  # no limit now: runs to the end
    assert checkpoint(run_dir)["epoch"] == 3 and (run_dir / "report" / "metrics.json").is_file()


def test_a_one_epoch_run_says_so_in_the_singular(fer_dir: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    train(tiny(fer_dir, tmp_path, epochs=1, limit=8))
    assert "1 epoch of 1 step of 8 faces" in capsys.readouterr().err


def run_script(name: str, data: Path, runs: Path, **env: str) -> subprocess.CompletedProcess:
    """One of scripts/, on the CPU with tiny runs (its GPU work, in miniature); it must succeed."""
    script = Path(__file__).resolve().parents[1] / "scripts" / name
    env = {**os.environ, "DEVICE": "cpu", "EXTRA": "--threads 1 --batch-size 8 --limit 16 --no-amp", **env}
    done = subprocess.run(["bash", str(script), str(data), str(runs)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-2000:]
    return done


def test_train_all_script_trains_fuses_and_distils(fer_dir: Path, tmp_path: Path) -> None:
    # The GPU chain of scripts/train_all.sh, run on the CPU for one epoch each on synthetic faces.
    done = run_script("train_all.sh", fer_dir, tmp_path / "runs", MEMBER_EPOCHS="1", STUDENT_EPOCHS="1")
    runs = tmp_path / "runs"
    for member in ENSEMBLE_MEMBERS:
        assert read_info(runs / member / f"{member}.safetensors")["architecture"] == member
    assert set(json.loads((runs / "ensemble" / "ensemble.json").read_text())["members"]) == set(ENSEMBLE_MEMBERS)
    student = read_info(runs / "distilled" / "squeezenet" / "squeezenet.safetensors")
    assert student["teacher"] == str(runs / "ensemble" / "ensemble.json")
    assert done.stdout.count("on public:") == 4  # each model evaluated from its run folder


def test_init_starts_from_trained_weights_and_records_them(fer_dir: Path, tmp_path: Path) -> None:
    torch.manual_seed(21)
    start = create_model("squeezenet")
    start_path = tmp_path / "start" / "squeezenet.safetensors"
    save_weights(start_path, "squeezenet", start.state_dict(), {"public_accuracy": 0.5, "epochs": 9,
                                                                 "command": "fer-desktop-train --epochs 9"})
    # With a learning rate of zero the convolutions keep the weights they started from.
    run_dir = train(tiny(fer_dir, tmp_path / "runs", init=str(start_path), epochs=1, lr=0.0))

    started, _, _ = load_model(start_path)
    ended = checkpoint(run_dir)["model"]
    convs = [k for k, v in started.state_dict().items() if v.ndim == 4]
    assert convs
    for k in convs:
        torch.testing.assert_close(ended[k], started.state_dict()[k], rtol=0, atol=0)
    lineage = read_info(run_dir / "squeezenet.safetensors")["init"]
    assert lineage == {"from": str(start_path), "public_accuracy": 0.5, "epochs": 9,
                       "command": "fer-desktop-train --epochs 9"}


def test_init_with_another_architecture_is_refused(fer_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "resnet18.safetensors"
    save_weights(path, "resnet18", create_model("resnet18").state_dict(), {})
    with pytest.raises(SystemExit, match="holds resnet18 weights, not squeezenet"):
        train(tiny(fer_dir, tmp_path / "runs", init=str(path)))


@pytest.mark.parametrize("flag", ["init", "teacher"])
@pytest.mark.parametrize("ref, words", [
    ("{tmp}/missing.safetensors", "missing.safetensors: weights file not found"),
    ("{tmp}/damaged.safetensors", "damaged.safetensors: unreadable weights file"),
    ("{tmp}/missing.json", "missing.json: no such ensemble file"),
    ("resnet", "resnet: no such weights"),
])
def test_a_bad_init_or_teacher_is_refused_before_the_data_is_decoded(
    flag: str, ref: str, words: str, fer_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "damaged.safetensors").write_bytes(b"not weights")

    def decoding(*_args, **_kwargs):
        raise AssertionError("the data was decoded before the weights were checked")

    monkeypatch.setattr(trainer.train, "load_fer", decoding)
    with pytest.raises(WeightsError, match=f"--{flag}: .*{words}"):
        train(tiny(fer_dir, tmp_path / "runs", **{flag: ref.format(tmp=tmp_path)}))


def test_init_is_refused_for_the_ensemble(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--model", "ensemble", "--data", "x", "--init", "resnet18"])
    assert "--init starts one architecture" in capsys.readouterr().err


def test_trainer_needs_none_of_the_apps_packages() -> None:
    """A GPU training machine has torch and numpy, not mediapipe or Qt: the trainer's commands import neither."""
    assert_never_imported(("trainer.train", "trainer.fuse", "trainer.evaluate", "trainer.report"),
                          ("mediapipe", "PySide6", "pyqtgraph", "sounddevice"))


def test_train_timed_script_fits_each_schedule_to_the_budget(fer_dir: Path, tmp_path: Path) -> None:
    # scripts/train_timed.sh on the CPU: the probe's speed sets each run's epochs, and each run ends its schedule.
    done = run_script("train_timed.sh", fer_dir, tmp_path / "runs", MINUTES="1.5", MODELS="squeezenet resnet18")
    for model in ("squeezenet", "resnet18"):
        fitted = int(re.search(rf"^{model}: \d+ images/s side by side; (\d+) epochs fit", done.stdout, re.M).group(1))
        info = read_info(tmp_path / "runs" / model / f"{model}.safetensors")
        assert info["epochs"] == fitted and info["training"]["epochs_run"] == fitted  # finished, not cut short
