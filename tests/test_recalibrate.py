"""BatchNorm recalibration: exact statistics of plain centre crops, and a weights file that keeps the better."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from fer_fixtures import one_torch_thread, private_cache, synthetic_fer, write_tree  # noqa: F401
from torch import nn

from fer_desktop.models import SPECS, create_model
from fer_desktop.preprocess import as_tensor, center_crop, normalize
from fer_desktop.weights import load_model, read_info, save_weights
from trainer.data import load_fer
from trainer.predict import predict_probs
from trainer.recalibrate import main, recalibrate_batchnorm, recalibrate_weights


def batchnorms(model: nn.Module) -> list[nn.BatchNorm2d]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def test_statistics_are_the_average_over_centre_crops_and_mirrors() -> None:
    torch.manual_seed(0)
    model, spec = create_model("squeezenet"), SPECS["squeezenet"]
    faces = np.random.default_rng(0).integers(0, 256, (12, 48, 48), dtype=np.uint8)
    first = batchnorms(model)[0]  # the stem's: its input depends on no other BatchNorm
    seen = []
    hook = first.register_forward_pre_hook(lambda _, args: seen.append(args[0].detach().clone()))
    model.eval()
    with torch.no_grad():
        for i in (0, 4, 8):  # the batches recalibration takes
            centre = center_crop(as_tensor(faces[i : i + 4]), spec.input_size)
            model(normalize(torch.cat([centre, centre.flip(-1)]), spec))
    hook.remove()
    want_mean = torch.stack([x.mean((0, 2, 3)) for x in seen]).mean(0)
    want_var = torch.stack([x.transpose(0, 1).flatten(1).var(1) for x in seen]).mean(0)

    momentum = first.momentum
    recalibrate_batchnorm(model, spec, faces, batch=4, amp=False)  # exact figures need fp32
    torch.testing.assert_close(first.running_mean, want_mean, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(first.running_var, want_var, rtol=1e-4, atol=1e-5)
    assert first.num_batches_tracked.item() == 3
    assert not any(m.training for m in model.modules()) and first.momentum == momentum


def test_dropout_stays_off_while_measuring() -> None:
    """The fire modules' dropout lies before later BatchNorms: were it on, two passes would disagree."""
    faces = np.random.default_rng(1).integers(0, 256, (8, 48, 48), dtype=np.uint8)
    stats = []
    for _ in range(2):
        torch.manual_seed(0)
        model = create_model("squeezenet")
        torch.manual_seed(len(stats))  # another random stream for each pass
        recalibrate_batchnorm(model, SPECS["squeezenet"], faces)
        stats.append(batchnorms(model)[-1].running_var.clone())
    assert torch.equal(stats[0], stats[1])


@pytest.fixture()
def fer_dir(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "kaggle", synthetic_fer(train=8, public=2, private=0).files)


def test_a_file_keeps_the_recalibrated_statistics_only_when_publictest_rises(fer_dir: Path, tmp_path: Path) -> None:
    data = load_fer(fer_dir)
    train_x, _ = data.select("train")
    val_x, val_y = data.select("public")
    torch.manual_seed(3)
    model = create_model("squeezenet")
    path = tmp_path / "squeezenet.safetensors"
    save_weights(path, "squeezenet", model.state_dict(), {"public_accuracy": 0.25, "command": "fer-desktop-train"})

    record = recalibrate_weights(path, train_x, val_x, val_y)
    info = read_info(path)
    assert info["batchnorm"] == record and record["faces"] == 2 * len(train_x)
    assert record["recalibrated"] == (record["public_accuracy_recalibrated"] > record["public_accuracy_trained"])
    assert info["command"] == "fer-desktop-train"  # the rest of the record stays
    stats = {k: v for k, v in load_model(path)[0].state_dict().items() if "running" in k}
    fresh = {k: v.half().float() for k, v in model.state_dict().items() if "running" in k}
    changed = any(not torch.equal(stats[k], fresh[k]) for k in stats)
    assert changed == record["recalibrated"]
    assert info["public_accuracy"] == (record["public_accuracy_recalibrated"] if record["recalibrated"] else 0.25)
    # The figure recorded is the file's own: fer-desktop-eval gives it back.
    shipped, spec, _ = load_model(path)
    from_file = float((predict_probs(shipped, spec, val_x).argmax(1) == val_y).mean())
    assert from_file == record["public_accuracy_recalibrated" if record["recalibrated"] else "public_accuracy_trained"]


def test_the_command_recalibrates_each_file_once(fer_dir: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "squeezenet.safetensors"
    save_weights(path, "squeezenet", create_model("squeezenet").state_dict(), {})
    main([str(path), "--data", str(fer_dir), "--device", "cpu"])
    assert "batchnorm" in read_info(path)
    assert "PublicTest" in capsys.readouterr().err
    main([str(path), "--data", str(fer_dir), "--device", "cpu"])
    assert "already recalibrated" in capsys.readouterr().err


def test_the_command_names_a_file_that_is_not_weights(fer_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "vgg19.safetensors"
    bad.write_bytes(b"not a weights file")
    with pytest.raises(SystemExit, match="vgg19.safetensors"):
        main([str(bad), "--data", str(fer_dir), "--device", "cpu"])
