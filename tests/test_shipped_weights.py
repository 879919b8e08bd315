"""The files in weights/ are what the app loads on a fresh clone: they must load, fit and stay small."""

from __future__ import annotations

import json

import pytest
import torch

from fer_desktop.models import ARCHITECTURES
from fer_desktop.weights import DEFAULT_WEIGHTS_DIR, load_named, read_info, weights_path

SHIPPED = [n for n in (*ARCHITECTURES, "ensemble") if weights_path(n).is_file()]


def test_the_weights_folder_stays_under_70_mb() -> None:
    total = sum(f.stat().st_size for f in DEFAULT_WEIGHTS_DIR.iterdir() if f.is_file())
    assert total < 70e6, f"weights/ holds {total / 1e6:.1f} MB"


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_model_loads_and_says_how_it_was_selected(name: str) -> None:
    model, spec, info = load_named(name)
    assert info["public_accuracy"] > 0.5, "a shipped model should be trained, not random"
    assert "train split, selected on PublicTest" in info["trained_on"]
    with torch.inference_mode():
        probs = model(torch.zeros(2, 1, spec.input_size, spec.input_size)).float().softmax(1)
    assert probs.shape == (2, 7)
    assert torch.allclose(probs.sum(1), torch.ones(2), atol=1e-4)


@pytest.mark.parametrize("name", [n for n in SHIPPED if n != "ensemble"])
def test_each_shipped_file_carries_its_training_record(name: str) -> None:
    # benchmarks/model_card.py writes the card from the files alone: run folders do not ship.
    info = read_info(weights_path(name))
    record = info["training"]
    assert 1 <= info["epoch"] <= record["epochs_run"] <= info["epochs"]
    assert record["train_seconds"] > 0 and record["machines"] and info["command"].startswith("fer-desktop-train")


def test_the_shipped_ensemble_reads_only_shipped_members() -> None:
    if "ensemble" not in SHIPPED:
        pytest.skip("no ensemble shipped")
    members = json.loads(weights_path("ensemble").read_text())["members"]
    assert set(members) == {"resnet18", "vgg19"}
    assert all(weights_path(m).is_file() for m in members)
