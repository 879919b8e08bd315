"""fer-desktop-eval on synthetic FER-2013 and on a folder of labelled photos."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
import torch

from fer_desktop.emotions import EMOTIONS
from fer_desktop.models import create_model
from fer_desktop.weights import save_weights
from fer_fixtures import synthetic_fer, write_zip
from trainer.evaluate import main

HAPPY = EMOTIONS.index("happy")


@pytest.fixture
def always_happy(tmp_path: Path) -> Path:
    """A weights folder whose SqueezeNet answers "happy" whatever it sees."""
    model = create_model("squeezenet")
    with torch.no_grad():
        model.head[-1].weight.zero_()
        model.head[-1].bias.zero_()
        model.head[-1].bias[HAPPY] = 10.0
    folder = tmp_path / "weights"
    save_weights(folder / "squeezenet.safetensors", "squeezenet", model.state_dict(), {"public_accuracy": None})
    return folder


def run(args: list[str], out: Path) -> dict:
    main([*args, "--json", str(out), "--device", "cpu"])
    return json.loads(out.read_text())


@pytest.mark.parametrize("split, tta", [("public", False), ("private", True), ("test", False)])
def test_fer_splits(tmp_path, monkeypatch, always_happy, split, tta):
    monkeypatch.setenv("FER_DESKTOP_CACHE", str(tmp_path / "cache"))
    data = synthetic_fer(train=2, public=3, private=2)
    archive = write_zip(tmp_path / "fer.zip", data.files)
    args = ["--model", "squeezenet", "--data", str(archive), "--split", split, "--weights", str(always_happy)]
    result = run(args + (["--tta"] if tta else []), tmp_path / "out.json")
    per_class = {"public": 3, "private": 2, "test": 5}[split]
    assert result["n"] == 7 * per_class
    assert result["no_face"] == 0
    assert result["mirror"] is (not tta)  # the SqueezeNet is mirror-averaged as in the app, unless ten-crop
    # Every face is called happy: one class in seven is right, and only happy has a precision.
    assert result["accuracy"] == pytest.approx(1 / 7)
    assert result["per_class"]["happy"]["recall"] == 1.0
    assert result["per_class"]["happy"]["precision"] == pytest.approx(1 / 7)
    assert result["per_class"]["angry"]["recall"] == 0.0
    assert result["emotion_detection_rate"] == "1/7"
    cm = np.array(result["confusion_matrix"])
    assert cm[:, HAPPY].sum() == result["n"] and cm.sum() == result["n"]


def test_photo_folder_goes_through_face_detection(tmp_path, always_happy, capfd):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "astronaut.jpg"), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(photos / "wall.png"), np.full((240, 320, 3), 128, np.uint8))
    (photos / "broken.jpg").write_bytes(b"not an image")
    (photos / "labels.csv").write_text("path,label\nastronaut.jpg,happy\nwall.png,3\nbroken.jpg,neutral\ngone.jpg,sad\n")
    result = run(["--model", "squeezenet", "--data", str(photos), "--weights", str(always_happy)], tmp_path / "o.json")
    assert result["split"] == "photos"
    assert (result["n"], result["no_face"], result["skipped"]) == (1, 1, 2)
    assert result["accuracy"] == 1.0
    out, err = capfd.readouterr()  # the file descriptors: OpenCV's own warnings bypass Python's streams
    assert "no face found in 1 photo; 2 unreadable, left out" in out
    assert "line 4: broken.jpg: not an image OpenCV can read, left out" in err
    assert "line 5: gone.jpg: not found, left out" in err
    assert "WARN" not in err and "loadsave" not in err


def test_a_spreadsheets_labels_csv_is_read(tmp_path, always_happy):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "astronaut.jpg"), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    # "CSV UTF-8" from a spreadsheet: a byte-order mark, Windows line endings, labels capitalised
    (photos / "labels.csv").write_bytes("path,label\r\nastronaut.jpg,Happy\r\n".encode("utf-8-sig"))
    result = run(["--model", "squeezenet", "--data", str(photos), "--weights", str(always_happy)], tmp_path / "o.json")
    assert (result["n"], result["accuracy"]) == (1, 1.0)


def test_bad_inputs_stop_with_one_clear_sentence(tmp_path, always_happy):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "labels.csv").write_text("file,emotion\na.jpg,happy\n")
    with pytest.raises(SystemExit, match="expected a header 'path,label'"):
        main(["--model", "squeezenet", "--data", str(photos), "--weights", str(always_happy)])
    (photos / "labels.csv").write_text("path,label\na.jpg,joyful\n")
    with pytest.raises(SystemExit, match="label 'joyful' is neither a class name"):
        main(["--model", "squeezenet", "--data", str(photos), "--weights", str(always_happy)])
    (photos / "labels.csv").write_text("path,label\na.jpg\n")  # a row without its label
    with pytest.raises(SystemExit, match="labels.csv line 2: expected a path and a label"):
        main(["--model", "squeezenet", "--data", str(photos), "--weights", str(always_happy)])
    (photos / "labels.csv").write_bytes("path,label\na.jpg,happy\nb.jpg,fr\xf6hlich\n".encode("latin-1"))
    with pytest.raises(SystemExit, match="labels.csv: not UTF-8 text"):
        main(["--model", "squeezenet", "--data", str(photos), "--weights", str(always_happy)])
    with pytest.raises(SystemExit, match=r"vgg19\.safetensors: weights file not found"):
        main(["--model", "vgg19", "--data", str(photos), "--weights", str(always_happy)])


def test_calibration_metrics_and_reliability_diagram(tmp_path, monkeypatch, always_happy):
    from fer_desktop.weights import update_weights

    monkeypatch.setenv("FER_DESKTOP_CACHE", str(tmp_path / "cache"))
    archive = write_zip(tmp_path / "fer.zip", synthetic_fer(train=1, public=2, private=1).files)
    args = ["--model", "squeezenet", "--data", str(archive), "--weights", str(always_happy)]
    plain = run(args, tmp_path / "plain.json")
    # Always "happy" at ~100% while right one time in seven: ECE is the gap, about 6/7.
    assert plain["ece"] == pytest.approx(1 - 1 / 7, abs=0.01)
    assert plain["calibration"] is None and (tmp_path / "plain-reliability.png").is_file()
    update_weights(always_happy / "squeezenet.safetensors", {"calibration": {"method": "temperature", "temperature": 8.0}})
    calibrated = run(args, tmp_path / "calibrated.json")
    assert calibrated["calibration"] == "temperature"
    assert calibrated["accuracy"] == plain["accuracy"]
    assert calibrated["ece"] < plain["ece"] and calibrated["nll"] < plain["nll"] and calibrated["brier"] < plain["brier"]
    assert calibrated["uncalibrated"]["ece"] == pytest.approx(plain["ece"])
    assert (tmp_path / "calibrated-reliability.png").read_bytes()[:4] == b"\x89PNG"


def test_existing_outputs_are_refused_before_the_evaluation(tmp_path, always_happy, capsys, monkeypatch):
    import trainer.evaluate

    monkeypatch.setattr(trainer.evaluate, "evaluate", lambda args: pytest.fail("evaluated before the check"))
    base = ["--model", "squeezenet", "--data", str(tmp_path), "--weights", str(always_happy)]
    mine = tmp_path / "mine.json"
    for taken in (mine, tmp_path / "mine-reliability.png"):  # the diagram beside it is an output too
        taken.write_text("the user's own")
        with pytest.raises(SystemExit) as exit_:
            main([*base, "--json", str(mine)])
        assert exit_.value.code == 2 and f"{taken} already exists" in capsys.readouterr().err
        assert taken.read_text() == "the user's own"
        taken.unlink()
    with pytest.raises(SystemExit) as exit_:
        main([*base, "--json", str(tmp_path)])
    assert exit_.value.code == 2 and "is a folder" in capsys.readouterr().err


def test_overwrite_replaces_an_earlier_result(tmp_path, always_happy):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "astronaut.jpg"), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    (photos / "labels.csv").write_text("path,label\nastronaut.jpg,happy\n")
    out = tmp_path / "o.json"
    out.write_text("an earlier result")
    main(["--model", "squeezenet", "--data", str(photos), "--weights", str(always_happy), "--json", str(out),
          "--device", "cpu", "--overwrite"])
    assert json.loads(out.read_text())["accuracy"] == 1.0
