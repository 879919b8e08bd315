"""The status bar: rates, per-stage latency, drops, device and model, recording."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from fer_desktop.pipeline.stats import StatsSnapshot

# Shown name and tooltip of each latency stage, in pipeline order.
STAGE_LABELS: dict[str, tuple[str, str]] = {
    "capture_to_detect_ms": ("wait", "time a frame waited between capture and the start of face detection"),
    "detect_ms": ("detect", "face detection of one frame"),
    "classify_ms": ("classify", "cropping the faces and classifying all of them in one batch"),
    "capture_to_chart_ms": ("to chart", "from capture until the chart showed the frame's result"),
}


SOURCE_WIDTH = 320  # pixels at most for the source's state


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


class PipelineStatusBar(QStatusBar):
    """Permanent fields on the right; transient messages (snapshot saved) on the left."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rates = QLabel()
        self.rates.setToolTip("capture: frames read from the source per second; "
                              "processed: frames that went through detection and classification per second")
        self.latency = QLabel()
        self.latency.setToolTip("median of the last 30 frames:\n" + "\n".join(f"{n}: {t}" for n, t in STAGE_LABELS.values()))
        self.dropped = QLabel()
        self.dropped.setToolTip("captured frames never analysed because a newer frame replaced them (the newest frame wins)")
        self.engine = QLabel()
        self.source = QLabel()
        self.source.setMaximumWidth(SOURCE_WIDTH)  # what the source is doing; a long file name is cut
        self.recording = QLabel()
        self.recording.hide()
        for label in (self.recording, self.source, self.rates, self.latency, self.dropped, self.engine):
            label.setStyleSheet("padding: 0 6px; border-left: 1px solid #bdbdbd")
            self.addPermanentWidget(label)
        self.recording.setStyleSheet("padding: 0 6px; color: #c62828; font-weight: bold")

    def minimumSizeHint(self) -> QSize:
        """No width of its own: figures that gain a digit must not widen the window; narrow, the fields are cut."""
        return QSize(0, super().minimumSizeHint().height())

    def show_stats(self, stats: StatsSnapshot) -> None:
        self.rates.setText(f"capture {stats.capture_fps:.1f} fps · processed {stats.processed_fps:.1f} fps")
        self.latency.setText("ms: " + " · ".join(f"{name} {_ms(stats.latency_ms[stage])}"
                                                 for stage, (name, _) in STAGE_LABELS.items()))
        self.dropped.setText(f"dropped {stats.dropped}")

    def show_engine(self, device: str, model: str) -> None:
        self.engine.setText(f"{device} · {model}")

    def show_source(self, text: str) -> None:
        self.source.setText(text)
        self.source.setToolTip(text)

    def show_recording(self, text: str) -> None:
        self.recording.setText(text)
        self.recording.setVisible(bool(text))
