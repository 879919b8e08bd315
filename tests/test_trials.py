"""The ablation record: a trial's weights measured as fer-desktop-eval measures them, and listed in the card."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from fer_fixtures import one_torch_thread, private_cache, synthetic_fer, write_tree  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import model_card  # noqa: E402
import trials  # noqa: E402

from fer_desktop.models import create_model  # noqa: E402
from fer_desktop.weights import save_weights  # noqa: E402
from trainer.evaluate import main as eval_main  # noqa: E402


@pytest.fixture()
def fer_dir(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "kaggle", synthetic_fer(train=2, public=6, private=0).files)


def trial_folder(root: Path, seed: int, command: str) -> Path:
    torch.manual_seed(seed)
    folder = root / f"trial{seed}"
    save_weights(folder / "squeezenet.safetensors", "squeezenet", create_model("squeezenet").state_dict(),
                 {"public_accuracy": None, "command": command})
    return folder


def test_a_trial_is_recorded_with_the_accuracy_eval_gives_and_the_files_own_command(
        fer_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = trial_folder(tmp_path, 1, "fer-desktop-train --seed 1")
    record = tmp_path / "trials.json"
    trials.main(["--data", str(fer_dir), "--model", "squeezenet", "--weights", str(folder), "--what", "a seed",
                 "--out", str(record)])
    eval_json = tmp_path / "eval.json"
    eval_main(["--model", "squeezenet", "--weights", str(folder), "--data", str(fer_dir), "--device", "cpu",
               "--json", str(eval_json)])
    [trial] = json.loads(record.read_text())["trials"]
    assert trial["public_accuracy"] == json.loads(eval_json.read_text())["accuracy"]
    assert (trial["model"], trial["what"], trial["made_with"], trial["faces"]) == (
        "squeezenet", "a seed", "fer-desktop-train --seed 1", 7 * 6)
    assert "core" in trial["machine"]


def test_measuring_a_folder_again_replaces_its_record_and_another_folder_adds_one(fer_dir: Path, tmp_path: Path) -> None:
    first, second = trial_folder(tmp_path, 1, "one"), trial_folder(tmp_path, 2, "two")
    record = tmp_path / "trials.json"
    for folder, what, made in ((first, "first try", None), (second, "second", None), (first, "first again", "soup")):
        trials.main(["--data", str(fer_dir), "--model", "squeezenet", "--weights", str(folder), "--what", what,
                     "--out", str(record), *(["--made-with", made] if made else [])])
    got = [(t["weights"], t["what"], t["made_with"]) for t in json.loads(record.read_text())["trials"]]
    assert got == [(second.name, "second", "two"), (first.name, "first again", "soup")]


def test_a_missing_weights_folder_is_one_sentence(fer_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as e:
        trials.main(["--data", str(fer_dir), "--model", "squeezenet", "--weights", str(tmp_path / "nowhere"),
                     "--what", "x", "--out", str(tmp_path / "trials.json")])
    assert str(e.value).startswith("trials: ") and "not found" in str(e.value)
    assert not (tmp_path / "trials.json").exists()


def test_the_card_lists_each_models_trials_under_it(monkeypatch: pytest.MonkeyPatch) -> None:
    record = [{"model": "resnet18", "weights": "runs/x", "what": "a longer run", "public_accuracy": 0.6757,
               "made_with": "fer-desktop-train --model resnet18 --data /home/someone/fer2013.zip --out /tmp/runs/x",
               "faces": 3589, "machine": "Intel Xeon, 2 cores", "date": "2026-12-04"},
              {"model": "vgg19", "weights": "runs/y", "what": "other", "public_accuracy": 0.5, "made_with": None,
               "faces": 3589, "machine": "m", "date": "2026-12-04"}]
    monkeypatch.setattr(model_card, "read_trials", lambda: record)
    lines = model_card.trial_lines("resnet18")
    assert len(lines) == 2 and lines[0].startswith("- Tried and not shipped")
    # The card never shows a machine's own folders.
    assert lines[1] == ("  - 67.57% single crop: a longer run; made with `fer-desktop-train --model resnet18 "
                        "--data data/fer2013.zip --out runs/x` (measured 2026-12-04 on Intel Xeon, 2 cores)")
    assert model_card.trial_lines("squeezenet") == []
