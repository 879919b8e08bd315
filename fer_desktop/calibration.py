"""Calibrated probabilities: of the faces shown at 80%, about 80% right.

A calibration is a small JSON-ready dict stored with the weights (a
safetensors file's metadata, or beside the ensemble's member list). Three
methods, each a function of a classifier's (N, 7) probabilities:

- ``temperature``: ``softmax(log p / T)``;
- ``vector``: ``softmax(a * log p + b)``, one scale and one bias per class
  (it may move an argmax, so the selection refuses it where it does);
- ``isotonic``: a monotone map of the top probability (pool-adjacent-violators
  on whether the top class was right), with the other six rescaled so the
  vector still sums to 1 and never overtakes the top class.

``apply_calibration(probs, None)`` returns ``probs`` unchanged, so uncalibrated
weights work as before. Only NumPy: the app's ONNX path runs without PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

METHODS: tuple[str, ...] = ("temperature", "vector", "isotonic")
# Below this top calibrated probability a face reads "uncertain". Chosen on PublicTest by
# `python -m trainer.calibrate ... --figures docs/models` (the risk-coverage curves and NAME-calibration.json).
DEFAULT_UNCERTAIN_BELOW = 0.5
_EPS = 1e-7


def _log(probs: np.ndarray) -> np.ndarray:
    return np.log(np.clip(probs, 1e-12, 1.0))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def set_top(probs: np.ndarray, top: np.ndarray) -> np.ndarray:
    """``probs`` with each row's largest value replaced by ``top`` and the others rescaled to sum to 1.

    ``top`` is raised where needed so that no other class overtakes the top one:
    the argmax never moves.
    """
    probs = np.asarray(probs, np.float64)
    rows = np.arange(len(probs))
    k = probs.argmax(axis=1)
    old = probs[rows, k]
    others = probs.copy()
    others[rows, k] = 0.0
    second = others.max(axis=1) if probs.shape[1] > 1 else np.zeros(len(probs))
    rest = np.maximum(1.0 - old, 0.0)
    # After rescaling, the runner-up is second * (1 - top) / rest; it stays below top when
    # top >= second / (rest + second).
    floor = np.divide(second, rest + second, out=np.zeros_like(second), where=rest + second > 0)
    top = np.clip(np.maximum(np.asarray(top, np.float64), floor + 1e-6), 0.0, 1.0)
    scale = np.divide(1.0 - top, rest, out=np.zeros_like(rest), where=rest > _EPS)
    out = others * scale[:, None]
    spread = (rest <= _EPS) & (top < 1.0)  # a one-hot row lowered: share the rest evenly among the others
    if spread.any() and probs.shape[1] > 1:
        out[spread] = ((1.0 - top[spread]) / (probs.shape[1] - 1))[:, None]
        out[rows[spread], k[spread]] = 0.0
    out[rows, k] = top
    return out


def apply_calibration(probs: np.ndarray, calibration: dict[str, Any] | None) -> np.ndarray:
    """Calibrated (N, C) float32 probabilities; ``calibration`` None returns ``probs`` unchanged."""
    if not calibration:
        return probs
    p = np.asarray(probs, np.float64).reshape(-1, np.shape(probs)[-1])
    method = calibration.get("method")
    if method == "temperature":
        out = _softmax(_log(p) / float(calibration["temperature"]))
    elif method == "vector":
        out = _softmax(_log(p) * np.asarray(calibration["scale"]) + np.asarray(calibration["bias"]))
    elif method == "isotonic":
        top = np.interp(p.max(axis=1), calibration["x"], calibration["y"])
        out = set_top(p, top)
    else:
        raise ValueError(f"unknown calibration method {method!r}; expected one of {', '.join(METHODS)}")
    return out.astype(np.float32).reshape(np.shape(probs))


# -- fitting ---------------------------------------------------------------------------------


def _nll(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(-_log(probs[np.arange(len(labels)), labels]).mean())


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """The temperature minimising NLL, by golden-section search on log T (NLL is unimodal in it)."""
    logp = _log(np.asarray(probs, np.float64))
    labels = np.asarray(labels, np.int64)

    def loss(log_t: float) -> float:
        return _nll(_softmax(logp / np.exp(log_t)), labels)

    lo, hi = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = loss(b)
    return {"method": "temperature", "temperature": float(np.exp((lo + hi) / 2))}


def fit_vector(probs: np.ndarray, labels: np.ndarray, steps: int = 500, lr: float = 0.1) -> dict[str, Any]:
    """Per-class scale and bias on log p minimising NLL (full-batch gradient descent with Adam)."""
    logp = _log(np.asarray(probs, np.float64))
    labels = np.asarray(labels, np.int64)
    n, c = logp.shape
    onehot = np.eye(c)[labels]
    params = np.concatenate([np.ones(c), np.zeros(c)])
    m, v = np.zeros_like(params), np.zeros_like(params)
    for t in range(1, steps + 1):
        q = _softmax(logp * params[:c] + params[c:])
        diff = (q - onehot) / n
        grad = np.concatenate([(diff * logp).sum(0), diff.sum(0)])
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        params -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return {"method": "vector", "scale": params[:c].tolist(), "bias": params[c:].tolist()}


def pool_adjacent_violators(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The non-decreasing least-squares fit of ``y`` on sorted ``x``: block mean x and block mean y."""
    order = np.argsort(x, kind="stable")
    xs, ys = np.asarray(x, np.float64)[order], np.asarray(y, np.float64)[order]
    means, weights, xsum = [], [], []
    for xi, yi in zip(xs, ys):
        means.append(yi)
        weights.append(1.0)
        xsum.append(xi)
        while len(means) > 1 and means[-2] >= means[-1]:
            w = weights[-2] + weights[-1]
            means[-2] = (means[-2] * weights[-2] + means[-1] * weights[-1]) / w
            xsum[-2] += xsum[-1]
            weights[-2] = w
            del means[-1], weights[-1], xsum[-1]
    w = np.asarray(weights)
    return np.asarray(xsum) / w, np.asarray(means)


def fit_isotonic(probs: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """A monotone map of the top probability to the share of top classes that were right.

    The map interpolates linearly between the centres of the fitted blocks,
    which is smoother than the step function and generalises better.
    """
    probs = np.asarray(probs, np.float64)
    top = probs.max(axis=1)
    right = (probs.argmax(axis=1) == np.asarray(labels)).astype(np.float64)
    x, y = pool_adjacent_violators(top, right)
    c = probs.shape[1]
    # Anchor the ends: a uniform vector stays uniform-ish, a certain one stays certain-ish.
    x = np.concatenate([[1.0 / c], x, [1.0]])
    y = np.concatenate([[min(1.0 / c, y[0])], y, [y[-1]]])
    keep = np.concatenate([[True], np.diff(x) > 1e-9])
    return {"method": "isotonic", "x": np.round(x[keep], 6).tolist(), "y": np.round(y[keep], 6).tolist()}


FITTERS = {"temperature": fit_temperature, "vector": fit_vector, "isotonic": fit_isotonic}


def fit_calibration(method: str, probs: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    if method not in FITTERS:
        raise ValueError(f"unknown calibration method {method!r}; expected one of {', '.join(METHODS)}")
    return FITTERS[method](probs, labels)


__all__ = ["METHODS", "apply_calibration", "fit_calibration", "fit_isotonic", "fit_temperature", "fit_vector", "set_top"]
