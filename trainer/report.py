"""The report folder a training run ends with: metrics JSON, curves, confusion matrix, command and config."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fer_desktop.emotions import EMOTIONS  # noqa: E402
from fer_desktop.weights import load_named  # noqa: E402
from trainer.data import FerData  # noqa: E402
from trainer.metrics import classification_metrics, format_table  # noqa: E402
from trainer.predict import predict_probs  # noqa: E402


def plot_confusion(cm: np.ndarray, path: Path, title: str) -> None:
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6, 5.2), dpi=110)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(EMOTIONS)):
        for j in range(len(EMOTIONS)):
            ax.text(j, i, f"{norm[i, j]:.2f}\n{cm[i, j]}", ha="center", va="center", fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45)
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_curves(history: list[dict], path: Path, title: str) -> None:
    epochs = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    a.plot(epochs, [h["train_loss"] for h in history], label="train (augmented)")
    a.plot(epochs, [h["val_loss"] for h in history], label="PublicTest")
    a.set_xlabel("epoch")
    a.set_ylabel("loss")
    a.legend()
    b.plot(epochs, [h["train_accuracy"] for h in history], label="train (augmented)")
    b.plot(epochs, [h["val_accuracy"] for h in history], label="PublicTest")
    b.set_xlabel("epoch")
    b.set_ylabel("accuracy")
    b.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(run_dir: Path, name: str, data: FerData, device: str, history: list[dict] | None) -> Path:
    """Evaluate the run's best weights on PublicTest (single crop and ten-crop) and write the report."""
    report = run_dir / "report"
    report.mkdir(exist_ok=True)
    model, spec, info = load_named(name, run_dir)
    model.to(device)
    x, y = data.select("public")
    results = {}
    for tta in (False, True):
        m = classification_metrics(y, predict_probs(model, spec, x, device, tta=tta))
        results["ten_crop" if tta else "single_crop"] = m
        print(f"\n{name} on PublicTest, {'ten-crop' if tta else 'single crop'}:\n{format_table(m)}", file=sys.stderr)
    metrics = {"model": name, "split": "public", "weights": info, **results}
    if history:
        metrics["history"] = history
        metrics["train_seconds"] = sum(h["epoch_seconds"] for h in history)
        plot_curves(history, report / "curves.png", f"{name}: training curves")
    (report / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_confusion(np.array(results["single_crop"]["confusion_matrix"]), report / "confusion.png",
                   f"{name}, PublicTest, single crop: {results['single_crop']['accuracy']:.2%}")
    for f in ("config.json", "command.txt"):
        if (run_dir / f).is_file():
            shutil.copy2(run_dir / f, report / f)
    return report
