"""numpy BGR images to and from QImage."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def to_qimage(image_bgr: np.ndarray) -> QImage:
    """A QImage sharing the array's memory: keep the array alive while the image is used."""
    height, width = image_bgr.shape[:2]
    return QImage(image_bgr.data, width, height, image_bgr.strides[0], QImage.Format.Format_BGR888)


def to_bgr(image: QImage) -> np.ndarray:
    """A copy of a QImage as an (H, W, 3) BGR array."""
    image = image.convertToFormat(QImage.Format.Format_BGR888)
    width, height = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes()).reshape(height, image.bytesPerLine())
    return rows[:, : width * 3].reshape(height, width, 3).copy()
