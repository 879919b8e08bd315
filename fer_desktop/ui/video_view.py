"""The video panel: the newest frame, with a box, the top emotion and its confidence for every face."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QRegion, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from fer_desktop.pipeline import FaceResult, FrameResult
from fer_desktop.ui.face_text import face_tag
from fer_desktop.ui.images import fit_size
from fer_desktop.ui.palette import EMOTION_COLORS, NO_MODEL_COLOR


class VideoView(QWidget):
    """Draws what it is given; clicking a face emits its track id."""

    face_clicked = Signal(int)
    resized = Signal(tuple)  # (width, height) in device pixels: what frames are scaled to fit, off this thread

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # paintEvent covers every pixel
        self._image: QImage | None = None
        self._source_size = (1, 1)  # the frame's own size, in which face boxes are given
        self._font: QFont | None = None
        self._result: FrameResult | None = None
        self._selected: int | None = None
        self.placeholder = "No source"

    def show_frame(self, image: QImage, source_size: tuple[int, int]) -> None:
        """``image``: a frame of ``source_size`` (width, height), as ``images.to_display_image`` made it."""
        self._image, self._source_size = image, source_size
        self.update()

    def show_result(self, result: FrameResult | None, selected: int | None) -> None:
        self._result, self._selected = result, selected
        self.update()

    def clear(self, placeholder: str) -> None:
        self._image, self._result, self.placeholder = None, None, placeholder
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        ratio = self.devicePixelRatioF()
        self.resized.emit((round(self.width() * ratio), round(self.height() * ratio)))

    def _target(self) -> QRectF:
        """Where the frame lies in the widget: as large as fits, aspect kept, centred, on whole pixels."""
        w, h = fit_size(*self._source_size, self.width(), self.height())
        return QRectF((self.width() - w) // 2, (self.height() - h) // 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self._image is None:
            painter.fillRect(self.rect(), Qt.GlobalColor.black)
            painter.setPen(Qt.GlobalColor.lightGray)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        target = self._target().toRect()
        for bar in QRegion(self.rect()).subtracted(QRegion(target)):  # the letterbox: the image covers the rest
            painter.fillRect(bar, Qt.GlobalColor.black)
        painter.drawImage(target, self._image)  # already this size, unless the panel was just resized
        if self._result is None:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        scale = target.width() / self._source_size[0]
        painter.setFont(self._tag_font(scale))
        for face in self._result.faces:
            self._draw_face(painter, face, target, scale)
        if not self._result.faces:
            self._draw_tag(painter, QPointF(target.left() + 8, target.top() + 8), "No face in view", QColor("#616161"))

    def _tag_font(self, scale: float) -> QFont:
        size = max(9.0, 11.0 * min(1.0, scale * 1.5))
        if self._font is None or self._font.pointSizeF() != size:
            self._font = QFont(self.font())
            self._font.setPointSizeF(size)
            self._font.setBold(True)
        return self._font

    def _draw_face(self, painter: QPainter, face: FaceResult, target: QRect, scale: float) -> None:
        box = QRectF(
            target.left() + face.box.x * scale, target.top() + face.box.y * scale, face.box.w * scale, face.box.h * scale
        )
        color = NO_MODEL_COLOR if face.label is None else EMOTION_COLORS[face.label]
        selected = face.track_id == self._selected
        painter.setPen(QPen(color, 4 if selected else 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(box)
        text = face_tag(face)
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
        scale = target.width() / self._source_size[0]
        x = (event.position().x() - target.left()) / scale
        y = (event.position().y() - target.top()) / scale
        hits = [f for f in self._result.faces if f.box.x <= x <= f.box.x + f.box.w and f.box.y <= y <= f.box.y + f.box.h]
        if hits:
            self.face_clicked.emit(min(hits, key=lambda f: f.area).track_id)
