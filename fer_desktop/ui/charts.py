"""pyqtgraph bar charts: the selected face's seven probabilities, and one compact bar per face."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from fer_desktop.emotions import EMOTIONS, NUM_CLASSES
from fer_desktop.pipeline import FaceResult
from fer_desktop.ui.palette import EMOTION_COLORS

BRUSHES = [pg.mkBrush(EMOTION_COLORS[name]) for name in EMOTIONS]


def _static_plot(plot: pg.PlotWidget) -> None:
    """A chart to read, not to pan or zoom."""
    plot.setBackground("w")
    plot.setMouseEnabled(x=False, y=False)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    for side in ("left", "bottom"):
        plot.getAxis(side).setTextPen("#212121")
        plot.getAxis(side).setPen("#9e9e9e")


class ProbabilityChart(pg.PlotWidget):
    """Seven horizontal bars, 0 to 1, one per emotion, with the percentages in a column on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        _static_plot(self)
        self.invertY(True)  # FER-2013 order from the top
        self.setXRange(0, 1.15, padding=0)
        self.setYRange(-0.6, NUM_CLASSES - 0.4, padding=0)
        self.getAxis("left").setTicks([list(enumerate(EMOTIONS))])
        self.getAxis("bottom").setTicks([[(v, f"{v:.0%}") for v in (0, 0.25, 0.5, 0.75, 1.0)]])
        rows = np.arange(NUM_CLASSES)
        self.bars = pg.BarGraphItem(x0=np.zeros(NUM_CLASSES), y=rows, width=np.zeros(NUM_CLASSES), height=0.7,
                                    brushes=BRUSHES)
        self.addItem(self.bars)
        self._values = []
        for i in rows:
            text = pg.TextItem("", color="k", anchor=(0.0, 0.5))
            text.setPos(1.01, i)  # fixed: moving seven items every frame made each chart paint slower
            self.addItem(text)
            self._values.append(text)
        self.values = np.zeros(NUM_CLASSES)
        self.title = ""

    def show_probabilities(self, probs: np.ndarray | None, title: str) -> None:
        """``None`` clears the bars (no face, or no model)."""
        self.values = np.zeros(NUM_CLASSES) if probs is None else np.asarray(probs, float)
        self.bars.setOpts(width=self.values)
        # Text and title change far less often than the bars; each change costs the GUI thread a re-layout.
        for i, item in enumerate(self._values):
            text = "" if probs is None else f"{self.values[i]:.0%}"
            if text != item.toPlainText():
                item.setText(text)
        if title != self.title:
            self.title = title
            self.setTitle(title, color="k")


class FaceBarsChart(pg.PlotWidget):
    """One horizontal bar per face, split into the seven probabilities (colours as above)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        _static_plot(self)
        self.setXRange(0, 1, padding=0)
        self.getAxis("bottom").setTicks([[(v, f"{v:.0%}") for v in (0, 0.5, 1.0)]])
        self.getAxis("left").setWidth(40)
        self.invertY(True)  # the largest face on top
        # Every face's seven segments in one item: one redraw a frame, however many faces.
        self._segments = pg.BarGraphItem(x0=[], y=[], width=[], height=0.75, brushes=[])
        self.addItem(self._segments)
        self.rows = 0
        self._labels: list[tuple[int, str]] = []

    def show_faces(self, faces: Sequence[FaceResult], selected: int | None) -> None:
        classified = [f for f in faces if f.probs is not None]
        self.rows = len(classified)
        probs = np.array([f.probs for f in classified]).reshape(-1, NUM_CLASSES)
        starts = np.cumsum(probs, axis=1) - probs
        rows = np.repeat(np.arange(len(classified)), NUM_CLASSES)
        self._segments.setOpts(x0=starts.ravel(), y=rows, width=probs.ravel(), brushes=BRUSHES * len(classified))
        # Labels, range and title change only when faces come, go or are selected; each change re-lays the plot out.
        labels = [(i, f"▶#{f.track_id}" if f.track_id == selected else f"#{f.track_id}") for i, f in enumerate(classified)]
        if labels != self._labels:
            self._labels = labels
            self.getAxis("left").setTicks([labels])
            self.setYRange(-0.6, max(len(classified), 1) - 0.4, padding=0)
            self.setTitle(f"All {len(classified)} faces (colours as above)", color="k")
