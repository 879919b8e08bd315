"""The session timeline: a face's smoothed probabilities over the last minute, so a change of expression shows."""

from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from fer_desktop.emotions import EMOTIONS, NUM_CLASSES
from fer_desktop.pipeline import FrameResult
from fer_desktop.ui.charts import _static_plot
from fer_desktop.ui.palette import EMOTION_COLORS

WINDOW_S = 60.0
REDRAW_S = 0.1  # at most ten redraws a second: the lines move by a pixel or less between them


class TimelineHistory:
    """Per tracked face, (time, probabilities) of the last ``window_s`` seconds of media time. No Qt."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._faces: dict[int, deque[tuple[float, np.ndarray]]] = {}
        self.now = 0.0

    def add(self, result: FrameResult) -> None:
        t = result.frame.time_s
        if t < self.now:  # a new source or a replay starts its clock again
            self.clear()
        self.now = t
        for face in result.faces:
            if face.probs is not None:
                self._faces.setdefault(face.track_id, deque()).append((t, np.asarray(face.probs, np.float32)))
        for track_id in list(self._faces):
            points = self._faces[track_id]
            while points and points[0][0] < t - self.window_s:
                points.popleft()
            if not points:
                del self._faces[track_id]

    def series(self, track_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(seconds before now, (n, 7) probabilities) of one face; empty for a face not seen in the window."""
        points = self._faces.get(track_id)
        if not points:
            return np.zeros(0), np.zeros((0, NUM_CLASSES), np.float32)
        times = np.fromiter((p[0] for p in points), float, len(points))
        return times - self.now, np.stack([p[1] for p in points])

    @property
    def track_ids(self) -> list[int]:
        return list(self._faces)

    def clear(self) -> None:
        self._faces.clear()
        self.now = 0.0


class SessionTimeline(pg.PlotWidget):
    """Seven lines, the colours of the bars, for the face ``show`` names, over the last minute."""

    def __init__(self, parent: QWidget | None = None, window_s: float = WINDOW_S) -> None:
        super().__init__(parent)
        _static_plot(self)
        self.history = TimelineHistory(window_s)
        self.setXRange(-window_s, 0, padding=0)
        self.setYRange(0, 1, padding=0.02)
        self.getAxis("left").setTicks([[(v, f"{v:.0%}") for v in (0, 0.5, 1.0)]])
        self.getAxis("bottom").setLabel("seconds ago", color="#212121")
        self.lines = [self.plot(pen=pg.mkPen(EMOTION_COLORS[name], width=2), name=name) for name in EMOTIONS]
        self.track_id: int | None = None
        self._drawn_at: float | None = None
        self.setTitle("Last minute", color="k")

    def add(self, result: FrameResult, track_id: int | None) -> None:
        """Remember ``result``'s faces and draw ``track_id``'s last minute (None: no face)."""
        self.history.add(result)
        now = self.history.now
        if track_id == self.track_id and self._drawn_at is not None and 0 <= now - self._drawn_at < REDRAW_S:
            return
        self._drawn_at = now
        if track_id != self.track_id:
            self.track_id = track_id
            self.setTitle("Last minute" if track_id is None else f"Face #{track_id}: last minute", color="k")
        times, probs = self.history.series(track_id) if track_id is not None else self.history.series(-1)
        for i, line in enumerate(self.lines):
            line.setData(times, probs[:, i])

    def reset(self) -> None:
        """Forget every face (a new source). Not ``clear``: PlotWidget binds that name to its PlotItem's."""
        self.history.clear()
        self._drawn_at = None
        for line in self.lines:
            line.setData([], [])
