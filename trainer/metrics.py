"""Classification metrics of the theses: accuracy, per-class P/R/F1, confusion, detection rate."""

from __future__ import annotations

import numpy as np

from fer_desktop.emotions import EMOTIONS


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
    }


def format_table(m: dict) -> str:
    """The metrics as a terminal table."""
    lines = [f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for name, c in m["per_class"].items():
        lines.append(f"{name:<10}{c['precision']:>10.3f}{c['recall']:>10.3f}{c['f1']:>10.3f}{c['support']:>10d}")
    lines.append(
        f"accuracy {m['accuracy']:.2%} on {m['n']} faces · macro F1 {m['macro_f1']:.3f} · "
        f"emotion detection rate {m['emotion_detection_rate']}"
    )
    width = max(len(n) for n in EMOTIONS) + 1
    lines.append("confusion (rows true, columns predicted):")
    lines.append(" " * width + "".join(f"{n[:5]:>7}" for n in EMOTIONS))
    for name, row in zip(EMOTIONS, m["confusion_matrix"]):
        lines.append(f"{name:<{width}}" + "".join(f"{v:>7d}" for v in row))
    return "\n".join(lines)
