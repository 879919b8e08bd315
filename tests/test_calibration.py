"""Calibration: fitted maps fix synthetic miscalibration without moving any argmax."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fer_desktop.calibration import METHODS, apply_calibration, fit_calibration, pool_adjacent_violators, set_top
from trainer.calibrate import calibrate, halves, store_calibration
from trainer.metrics import brier, ece, nll, plot_reliability, reliability_bins


def synthetic_model(n: int, temperature: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A calibrated 7-class model's probabilities sharpened by ``temperature`` (< 1: over-confident), and labels
    drawn from the calibrated ones."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (n, 7))
    true = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(7, p=p) for p in true])
    shown = np.exp(logits / temperature)
    return shown / shown.sum(1, keepdims=True), labels


def test_fitted_temperature_fixes_an_over_confident_model() -> None:
    probs, labels = synthetic_model(6000, temperature=0.5)
    fit, check = halves(len(labels), seed=3)
    calibration = fit_calibration("temperature", probs[fit], labels[fit])
    assert calibration["temperature"] == pytest.approx(2.0, rel=0.1)
    fixed = apply_calibration(probs[check], calibration)
    assert ece(labels[check], probs[check]) > 0.1
    assert ece(labels[check], fixed) < 0.03
    assert nll(labels[check], fixed) < nll(labels[check], probs[check])


@pytest.mark.parametrize("method", METHODS)
def test_every_method_improves_an_over_confident_model(method: str) -> None:
    probs, labels = synthetic_model(6000, temperature=0.6, seed=1)
    fit, check = halves(len(labels), seed=4)
    fixed = apply_calibration(probs[check], fit_calibration(method, probs[fit], labels[fit]))
    assert np.allclose(fixed.sum(1), 1, atol=1e-5)
    assert ece(labels[check], fixed) < ece(labels[check], probs[check]) / 2


@pytest.mark.parametrize("method", ["temperature", "isotonic"])
def test_no_argmax_moves(method: str) -> None:
    # Near-ties and flat rows are where a careless rescaling lets a runner-up overtake the top class.
    probs, labels = synthetic_model(3000, temperature=1.7, seed=2)
    probs[:50] = np.full(7, 1 / 7) + np.random.default_rng(5).normal(0, 1e-3, (50, 7))
    probs[:50] /= probs[:50].sum(1, keepdims=True)
    calibration = fit_calibration(method, probs, labels)
    assert (apply_calibration(probs, calibration).argmax(1) == probs.argmax(1)).all()


def test_set_top_keeps_the_vector_consistent() -> None:
    probs = np.array([[0.40, 0.38, 0.22, 0, 0, 0, 0], [0.7, 0.1, 0.1, 0.1, 0, 0, 0], [1.0, 0, 0, 0, 0, 0, 0]])
    out = set_top(probs, np.array([0.30, 0.5, 0.8]))
    assert np.allclose(out.sum(1), 1)
    assert (out.argmax(1) == 0).all()
    assert out[1, 0] == pytest.approx(0.5) and np.allclose(out[1, 1:4], 0.5 / 3)  # the others keep their ratios
    assert out[0, 0] > out[0, 1]  # lowered as far as it may go, not below the runner-up
    assert out[2, 0] == pytest.approx(0.8) and np.allclose(out[2, 1:], 0.2 / 6)


def test_no_calibration_returns_the_probabilities_themselves() -> None:
    probs = np.random.default_rng(0).dirichlet(np.ones(7), 5).astype(np.float32)
    assert apply_calibration(probs, None) is probs
    with pytest.raises(ValueError, match="unknown calibration method"):
        apply_calibration(probs, {"method": "magic"})


def test_pool_adjacent_violators_is_monotone_and_averages_violations() -> None:
    x, y = pool_adjacent_violators(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.0, 1.0, 0.0, 1.0]))
    assert np.all(np.diff(y) >= 0)
    assert y.tolist() == [0.0, 0.5, 1.0] and x.tolist() == pytest.approx([0.1, 0.25, 0.4])


def test_metrics_against_hand_worked_values() -> None:
    probs = np.array([[0.9, 0.1, 0, 0, 0, 0, 0], [0.6, 0.4, 0, 0, 0, 0, 0]])
    labels = np.array([0, 1])
    # Bins: 0.9 falls in bin 13 (right: gap 0.1), 0.6 in bin 9 (wrong: gap 0.6); ECE = (0.1 + 0.6) / 2.
    assert ece(labels, probs) == pytest.approx(0.35)
    assert nll(labels, probs) == pytest.approx(-(np.log(0.9) + np.log(0.4)) / 2)
    assert brier(labels, probs) == pytest.approx((0.01 + 0.01 + 0.36 + 0.36) / 2)
    bins = reliability_bins(labels, probs)
    assert len(bins) == 15 and sum(b["n"] for b in bins) == 2 and bins[13]["accuracy"] == 1.0


def test_calibrate_chooses_checks_and_refuses_what_moves_an_argmax(tmp_path) -> None:
    probs, labels = synthetic_model(4000, temperature=0.6, seed=6)
    calibration, record = calibrate(probs, labels)
    assert record["check_argmax_moved"] == 0
    assert record["check_after"]["ece"] < record["check_before"]["ece"]
    assert calibration["method"] == record["chosen"]
    spread = record["check_ece_other_halvings"]
    assert spread["halvings"] == 20 and spread["min"] <= spread["mean"] <= spread["max"]
    assert spread["min"] < spread["max"]  # other splits, other figures
    assert spread["mean"] < record["check_before"]["ece"]  # the fix is no luck of one split
    for method, score in record["cross_validated_ece"].items():
        if isinstance(score, str):
            assert "moves an argmax" in score
    plot_reliability(labels, {"before": probs, "after": apply_calibration(probs, calibration)}, tmp_path / "r.png", "t")
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_store_calibration_beside_the_ensemble_members(tmp_path) -> None:
    import json

    path = tmp_path / "ensemble.json"
    path.write_text(json.dumps({"format": "fer-desktop-weights/1", "members": {"resnet18": 0.5, "vgg19": 0.5}}))
    store_calibration("ensemble", tmp_path, {"method": "temperature", "temperature": 1.2})
    meta = json.loads(path.read_text())
    assert meta["members"] == {"resnet18": 0.5, "vgg19": 0.5}
    assert meta["calibration"] == {"method": "temperature", "temperature": 1.2}


def test_calibrate_command_writes_into_the_weights_and_draws_the_figures(tmp_path, monkeypatch) -> None:
    import torch

    from fer_desktop.models import create_model
    from fer_desktop.weights import read_info, save_weights
    from fer_fixtures import synthetic_fer, write_zip
    from trainer.calibrate import main

    monkeypatch.setenv("FER_DESKTOP_CACHE", str(tmp_path / "cache"))
    archive = write_zip(tmp_path / "fer.zip", synthetic_fer(train=1, public=12, private=1).files)
    torch.manual_seed(0)
    weights = tmp_path / "weights"
    save_weights(weights / "squeezenet.safetensors", "squeezenet", create_model("squeezenet").state_dict(), {"note": "random"})
    main(["--data", str(archive), "--model", "squeezenet", "--weights", str(weights), "--figures", str(tmp_path / "fig"),
          "--device", "cpu"])
    info = read_info(weights / "squeezenet.safetensors")
    assert info["note"] == "random" and info["calibration"]["method"] in ("temperature", "isotonic", "vector")
    assert info["calibration"]["fitted_on"].startswith("PublicTest, 84 faces")
    for name in ("squeezenet-reliability.png", "risk-coverage.png"):
        assert (tmp_path / "fig" / name).read_bytes()[:4] == b"\x89PNG"
    record = json.loads((tmp_path / "fig" / "squeezenet-calibration.json").read_text())
    assert record["selection"]["check_argmax_moved"] == 0 and len(record["risk_coverage"]) == 40
