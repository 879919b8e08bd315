"""numpy BGR images to and from QImage."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QImage


def fit_size(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """The largest whole-pixel size of a ``width`` x ``height`` image that fits the box, aspect kept."""
    scale = min(box_width / width, box_height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def to_display_image(image_bgr: np.ndarray, box: tuple[int, int] | None = None) -> QImage:
    """The frame as the video panel draws it: scaled to fit ``box`` (device pixels), 32-bit, owning its pixels.

    Made in a worker thread, so that painting is a plain copy: scaling and
    converting 24-bit BGR while painting cost the GUI thread about 3 ms a frame.
    """
    height, width = image_bgr.shape[:2]
    if box is not None and min(box) > 0:
        size = fit_size(width, height, *box)
        if size != (width, height):
            shrink = size[0] < width
            image_bgr = cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    bgra = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2BGRA)  # QImage.Format_RGB32's byte order on little-endian
    height, width = bgra.shape[:2]
    return QImage(bgra.data, width, height, bgra.strides[0], QImage.Format.Format_RGB32).copy()


def to_bgr(image: QImage) -> np.ndarray:
    """A copy of a QImage as an (H, W, 3) BGR array."""
    image = image.convertToFormat(QImage.Format.Format_BGR888)
    width, height = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes()).reshape(height, image.bytesPerLine())
    return rows[:, : width * 3].reshape(height, width, 3).copy()
