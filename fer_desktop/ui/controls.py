"""The toolbar: source, model, smoothing, record and snapshot controls. It shows state and asks; the window acts."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLabel, QPushButton, QToolBar, QWidget

from fer_desktop.calibration import DEFAULT_UNCERTAIN_BELOW
from fer_desktop.pipeline.smoothing import MAX_SMOOTHING
from fer_desktop.pipeline.sources import DEMO
from fer_desktop.ui.palette import MODEL_LABELS

# The window's keys (the README lists them): what each does, by the control it acts on.
KEYS = {"file": "Ctrl+O", "cameras": "F5", "demo": "Ctrl+D", "record": "Ctrl+R", "snapshot": "Ctrl+S", "quit": "Ctrl+Q"}  # quit: the window's action


class ControlBar(QToolBar):
    """Signals what the user asked for; ``show_*`` methods set the controls without echoing a signal."""

    source_chosen = Signal(str)  # a camera index, a file, a URL or "demo" from the list
    file_requested = Signal()
    url_requested = Signal()
    cameras_requested = Signal()
    model_chosen = Signal(str)
    smoothing_changed = Signal(float)
    uncertain_below_changed = Signal(float)
    record_toggled = Signal(bool)
    pause_toggled = Signal(bool)
    snapshot_requested = Signal()

    def __init__(
        self, smoothing: float, parent: QWidget | None = None, uncertain_below: float = DEFAULT_UNCERTAIN_BELOW
    ) -> None:
        super().__init__("Controls", parent)
        self.setMovable(False)
        self.source_box = QComboBox(self)
        self.source_box.setMinimumContentsLength(16)
        self.source_box.addItem("Demo (astronaut)", DEMO)
        self.file_button = QPushButton("Open video file…", self)
        self.url_button = QPushButton("Stream URL…", self)
        self.cameras_button = QPushButton("Find cameras", self)
        self.model_box = QComboBox(self)
        for name, label in MODEL_LABELS.items():
            self.model_box.addItem(label, name)
        self.smoothing_box = QDoubleSpinBox(self)
        self.smoothing_box.setRange(0.0, MAX_SMOOTHING)
        self.smoothing_box.setSingleStep(0.05)
        self.smoothing_box.setValue(smoothing)
        self.smoothing_box.setToolTip("weight each face keeps from its previous frames: 0 shows every frame's own "
                                      "output, higher is steadier but slower to follow a change")
        self.pause_button = QPushButton("Pause", self)
        self.pause_button.setCheckable(True)
        self.pause_button.setShortcut("Space")
        self.pause_button.setToolTip("hold the video at the current frame (Space)")
        self.uncertain_box = QDoubleSpinBox(self)
        self.uncertain_box.setRange(0.0, 1.0)
        self.uncertain_box.setSingleStep(0.05)
        self.uncertain_box.setValue(uncertain_below)
        self.uncertain_box.setToolTip("a face whose top (calibrated) probability is below this reads \"uncertain\"; 0 never")
        self.record_button = QPushButton("● Record", self)
        self.record_button.setCheckable(True)
        self.record_button.setToolTip("write one CSV row per face per processed frame")
        self.snapshot_button = QPushButton("Snapshot", self)
        self.snapshot_button.setToolTip("save the window as a PNG")

        groups = [
            ("Source", [self.source_box, self.file_button, self.url_button, self.cameras_button, self.pause_button]),
            ("Model", [self.model_box]),
            ("Smoothing", [self.smoothing_box]),
            ("Uncertain below", [self.uncertain_box]),
            (None, [self.record_button, self.snapshot_button]),
        ]
        for n, (caption, widgets) in enumerate(groups):
            if n:
                self.addSeparator()
            if caption:
                self.addWidget(QLabel(f" {caption} ", self))
            for widget in widgets:
                self.addWidget(widget)

        self.source_box.activated.connect(lambda i: self.source_chosen.emit(self.source_box.itemData(i)))
        self.file_button.clicked.connect(self.file_requested)
        self.url_button.clicked.connect(self.url_requested)
        self.cameras_button.clicked.connect(self.cameras_requested)
        for name, button in (("file", self.file_button), ("cameras", self.cameras_button),
                             ("record", self.record_button), ("snapshot", self.snapshot_button)):
            # a shortcut of the bar, not of the button: a button pushed into the bar's overflow menu is hidden
            QShortcut(QKeySequence(KEYS[name]), self, button.click)
            button.setToolTip(f"{button.toolTip() or button.text()} ({KEYS[name]})")
        QShortcut(QKeySequence(KEYS["demo"]), self, lambda: self.source_chosen.emit(DEMO))
        self.model_box.activated.connect(lambda i: self.model_chosen.emit(self.model_box.itemData(i)))
        self.smoothing_box.valueChanged.connect(self.smoothing_changed)
        self.uncertain_box.valueChanged.connect(self.uncertain_below_changed)
        self.record_button.toggled.connect(self.record_toggled)
        self.pause_button.toggled.connect(self.pause_toggled)
        self.snapshot_button.clicked.connect(self.snapshot_requested)

    def show_cameras(self, cameras: list[int]) -> None:
        """Replace the camera entries of the source list, keeping the current choice."""
        current = self.source_box.currentData()
        for i in reversed(range(self.source_box.count())):
            if str(self.source_box.itemData(i)).isdigit():
                self.source_box.removeItem(i)
        for n, index in enumerate(cameras):
            self.source_box.insertItem(n, f"Camera {index}", str(index))
        if current is not None and self.source_box.findData(current) >= 0:
            self.source_box.setCurrentIndex(self.source_box.findData(current))
        self.cameras_button.setEnabled(True)

    def show_source(self, spec: str) -> None:
        """Select ``spec`` in the source list, adding files and URLs the first time."""
        index = self.source_box.findData(spec)
        if index < 0:
            self.source_box.addItem(spec if "://" in spec else Path(spec).name, spec)
            index = self.source_box.count() - 1
            self.source_box.setItemData(index, spec, Qt.ItemDataRole.ToolTipRole)
        self.source_box.setCurrentIndex(index)

    def show_model(self, name: str) -> None:
        self.model_box.setCurrentIndex(self.model_box.findData(name))

    def show_recording(self, on: bool) -> None:
        _set_checked(self.record_button, on)

    def show_paused(self, paused: bool) -> None:
        _set_checked(self.pause_button, paused)


def _set_checked(button: QPushButton, on: bool) -> None:
    button.blockSignals(True)
    button.setChecked(on)
    button.blockSignals(False)
