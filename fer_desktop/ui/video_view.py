"""The video panel: the newest frame, with a box, the top emotion and its confidence for every face."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from fer_desktop.pipeline import FaceResult, FrameResult
from fer_desktop.ui.images import to_qimage
from fer_desktop.ui.palette import EMOTION_COLORS, NO_MODEL_COLOR


class VideoView(QWidget):
    """Draws what it is given; clicking a face emits its track id."""

    face_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: np.ndarray | None = None  # kept alive: the QImage shares its memory
        self._result: FrameResult | None = None
        self._selected: int | None = None
        self.placeholder = "No source"

    def show_frame(self, image_bgr: np.ndarray) -> None:
        self._image = image_bgr
        self.update()

    def show_result(self, result: FrameResult | None, selected: int | None) -> None:
        self._result, self._selected = result, selected
        self.update()

    def clear(self, placeholder: str) -> None:
        self._image, self._result, self.placeholder = None, None, placeholder
        self.update()

    def _target(self) -> QRectF:
        """Where the frame lies in the widget: as large as fits, aspect kept, centred."""
        height, width = self._image.shape[:2]
        scale = min(self.width() / width, self.height() / height)
        w, h = width * scale, height * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._image is None:
            painter.setPen(Qt.GlobalColor.lightGray)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        target = self._target()
        painter.drawImage(target, to_qimage(self._image))
        if self._result is None:
            return
        scale = target.width() / self._image.shape[1]
        font = QFont(self.font())
        font.setPointSizeF(max(9.0, 11.0 * min(1.0, scale * 1.5)))
        font.setBold(True)
        painter.setFont(font)
        for face in self._result.faces:
            self._draw_face(painter, face, target, scale)
        if not self._result.faces:
            self._draw_tag(painter, QPointF(target.left() + 8, target.top() + 8), "No face in view", QColor("#616161"))

    def _draw_face(self, painter: QPainter, face: FaceResult, target: QRectF, scale: float) -> None:
        box = QRectF(
            target.left() + face.box.x * scale, target.top() + face.box.y * scale, face.box.w * scale, face.box.h * scale
        )
        color = NO_MODEL_COLOR if face.label is None else EMOTION_COLORS[face.label]
        selected = face.track_id == self._selected
        painter.setPen(QPen(color, 4 if selected else 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(box)
        text = "no model" if face.label is None else f"{face.label} {face.confidence:.0%}"
        self._draw_tag(painter, QPointF(box.left(), box.top()), f"#{face.track_id} {text}", color, above=True)

    def _draw_tag(self, painter: QPainter, at: QPointF, text: str, color: QColor, above: bool = False) -> None:
        metrics = painter.fontMetrics()
        rect = QRectF(at.x(), at.y(), metrics.horizontalAdvance(text) + 10, metrics.height() + 4)
        if above:
            rect.moveBottom(max(at.y(), rect.height()))
        painter.fillRect(rect, color)
        painter.setPen(Qt.GlobalColor.black if color.lightness() > 110 else Qt.GlobalColor.white)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._image is None or self._result is None:
            return
        target = self._target()
        scale = target.width() / self._image.shape[1]
        x = (event.position().x() - target.left()) / scale
        y = (event.position().y() - target.top()) / scale
        hits = [f for f in self._result.faces if f.box.x <= x <= f.box.x + f.box.w and f.box.y <= y <= f.box.y + f.box.h]
        if hits:
            self.face_clicked.emit(min(hits, key=lambda f: f.area).track_id)
