"""Per-face exponential smoothing of probabilities, so labels do not flicker."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

# Weight kept from the past each frame: 0 shows each frame's own output.
DEFAULT_SMOOTHING = 0.6
MAX_SMOOTHING = 0.95


class ProbabilitySmoother:
    """``s = smoothing * s_previous + (1 - smoothing) * p``, one state per track id."""

    def __init__(self, smoothing: float = DEFAULT_SMOOTHING) -> None:
        self.smoothing = smoothing
        self._state: dict[int, np.ndarray] = {}

    @property
    def smoothing(self) -> float:
        return self._smoothing

    @smoothing.setter
    def smoothing(self, value: float) -> None:
        if not 0.0 <= value <= MAX_SMOOTHING:
            raise ValueError(f"smoothing must lie in [0, {MAX_SMOOTHING}], got {value}")
        self._smoothing = float(value)

    def update(self, track_id: int, probs: np.ndarray) -> np.ndarray:
        previous = self._state.get(track_id)
        a = self._smoothing
        smoothed = probs.astype(np.float32) if previous is None else a * previous + (1.0 - a) * probs
        self._state[track_id] = smoothed
        return smoothed

    def retain(self, track_ids: Iterable[int]) -> None:
        """Forget every track not in ``track_ids``."""
        keep = set(track_ids)
        for track_id in [t for t in self._state if t not in keep]:
            del self._state[track_id]

    def reset(self) -> None:
        self._state.clear()
