"""Colours and names the window shows, so the video overlay and the charts agree."""

from __future__ import annotations

from PySide6.QtGui import QColor

from fer_desktop.emotions import EMOTIONS
from fer_desktop.models import by_preference

EMOTION_COLORS: dict[str, QColor] = {
    name: QColor(hex_rgb)
    for name, hex_rgb in zip(
        EMOTIONS, ("#e53935", "#43a047", "#8e24aa", "#fdd835", "#1e88e5", "#fb8c00", "#9e9e9e")
    )
}
NO_MODEL_COLOR = QColor("#ffffff")

# Dropdown order: the most accurate first (the GPU's order of preference).
MODEL_LABELS: dict[str, str] = {entry.name: entry.label for entry in by_preference("cuda")}
