"""Classification metrics of the theses (accuracy, per-class P/R/F1, confusion, detection rate) and calibration ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_desktop.emotions import EMOTIONS
from fer_desktop.export.files import replace_atomically


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, k: int = len(EMOTIONS)) -> np.ndarray:
    """Rows are true classes, columns predictions."""
    return np.bincount(labels * k + preds, minlength=k * k).reshape(k, k)


def classification_metrics(labels: np.ndarray, probs: np.ndarray) -> dict:
    """Everything the evaluator reports, JSON-ready. ``probs`` is (N, 7)."""
    labels = np.asarray(labels, np.int64)
    preds = probs.argmax(1)
    cm = confusion_matrix(labels, preds)
    tp = np.diag(cm).astype(float)
    support = cm.sum(1)
    predicted = cm.sum(0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=precision + recall > 0)
    present = support > 0
    # The first thesis's "emotion detection rate": classes whose most frequent prediction is the class itself.
    detected = [bool(cm[c].argmax() == c) for c in range(len(EMOTIONS)) if present[c]]
    return {
        "n": int(len(labels)),
        "accuracy": float((preds == labels).mean()) if len(labels) else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "emotion_detection_rate": f"{sum(detected)}/{len(detected)}",
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]), "support": int(support[i])}
            for i, name in enumerate(EMOTIONS)
        },
        "confusion_matrix": cm.tolist(),
        **calibration_metrics(labels, probs),
    }


ECE_BINS = 15


def reliability_bins(labels: np.ndarray, probs: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    """Equal-width bins of the top probability: how many faces, their mean confidence and accuracy."""
    top = probs.max(1)
    right = probs.argmax(1) == np.asarray(labels)
    index = np.minimum((top * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        inside = index == b
        n = int(inside.sum())
        out.append({
            "low": b / bins, "high": (b + 1) / bins, "n": n,
            "confidence": float(top[inside].mean()) if n else None,
            "accuracy": float(right[inside].mean()) if n else None,
        })
    return out


def ece(labels: np.ndarray, probs: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error: the face-weighted mean gap between confidence and accuracy per bin."""
    n = len(labels)
    return float(sum(b["n"] / n * abs(b["confidence"] - b["accuracy"]) for b in reliability_bins(labels, probs, bins) if b["n"])) if n else 0.0


def nll(labels: np.ndarray, probs: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class."""
    labels = np.asarray(labels, np.int64)
    return float(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1.0)).mean()) if len(labels) else 0.0


def brier(labels: np.ndarray, probs: np.ndarray) -> float:
    """Mean squared distance to the one-hot truth, summed over the classes (0 perfect, 2 worst)."""
    labels = np.asarray(labels, np.int64)
    return float(((probs - np.eye(probs.shape[1])[labels]) ** 2).sum(1).mean()) if len(labels) else 0.0


def calibration_metrics(labels: np.ndarray, probs: np.ndarray) -> dict:
    return {"ece": ece(labels, probs), "nll": nll(labels, probs), "brier": brier(labels, probs)}


def risk_coverage(labels: np.ndarray, probs: np.ndarray, thresholds: np.ndarray | None = None) -> list[dict]:
    """Per threshold on the top probability: the share of faces at or above it and their accuracy."""
    thresholds = np.round(np.arange(0.0, 1.0, 0.025), 3) if thresholds is None else thresholds
    top = probs.max(1)
    right = probs.argmax(1) == np.asarray(labels)
    rows = []
    for t in thresholds:
        kept = top >= t
        rows.append({"threshold": float(t), "coverage": float(kept.mean()) if len(top) else 0.0,
                     "accuracy": float(right[kept].mean()) if kept.any() else None})
    return rows


def plot_risk_coverage(curves: dict[str, list[dict]], path: Path, title: str, mark: float | None = None) -> None:
    """Accuracy of the kept faces against the share kept, one line per model; ``mark`` rings one threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=110)
    for name, rows in curves.items():
        used = [r for r in rows if r["accuracy"] is not None]
        line, = ax.plot([r["coverage"] for r in used], [r["accuracy"] for r in used], label=name)
        at = [r for r in used if mark is not None and abs(r["threshold"] - mark) < 1e-9]
        if at:
            ax.plot(at[0]["coverage"], at[0]["accuracy"], "o", color=line.get_color(), markersize=7, fillstyle="none")
    ax.set_xlabel("share of faces kept (top probability at or above the threshold)")
    ax.set_ylabel("accuracy of the kept faces")
    ax.set_xlim(0, 1.02)
    ax.set_title(title + ("" if mark is None else f" (circles: threshold {mark:.2f})"), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with replace_atomically(Path(path)) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def plot_reliability(labels: np.ndarray, curves: dict[str, np.ndarray], path: Path, title: str) -> None:
    """A reliability diagram PNG: accuracy against confidence per bin, one line per set of probabilities."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=110)
    ax.plot([0, 1], [0, 1], color="#9e9e9e", linestyle="--", linewidth=1, label="perfect")
    for name, probs in curves.items():
        used = [b for b in reliability_bins(labels, probs) if b["n"]]
        ax.plot([b["confidence"] for b in used], [b["accuracy"] for b in used], marker="o", markersize=4,
                label=f"{name}: ECE {ece(labels, probs):.3f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"top probability (mean of each of {ECE_BINS} bins)")
    ax.set_ylabel("accuracy in the bin")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    with replace_atomically(Path(path)) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def format_table(m: dict) -> str:
    """The metrics as a terminal table."""
    lines = [f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for name, c in m["per_class"].items():
        lines.append(f"{name:<10}{c['precision']:>10.3f}{c['recall']:>10.3f}{c['f1']:>10.3f}{c['support']:>10d}")
    lines.append(
        f"accuracy {m['accuracy']:.2%} on {m['n']} faces · macro F1 {m['macro_f1']:.3f} · "
        f"emotion detection rate {m['emotion_detection_rate']}"
    )
    if "ece" in m:
        lines.append(f"calibration: ECE {m['ece']:.4f} ({ECE_BINS} bins) · NLL {m['nll']:.4f} · Brier {m['brier']:.4f}")
    width = max(len(n) for n in EMOTIONS) + 1
    lines.append("confusion (rows true, columns predicted):")
    lines.append(" " * width + "".join(f"{n[:5]:>7}" for n in EMOTIONS))
    for name, row in zip(EMOTIONS, m["confusion_matrix"]):
        lines.append(f"{name:<{width}}" + "".join(f"{v:>7d}" for v in row))
    return "\n".join(lines)
