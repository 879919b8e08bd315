"""Saving an image of the window."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fer_desktop.export.files import replace_atomically


def save_png(image_bgr: np.ndarray, path: Path) -> Path:
    """Write a BGR image as PNG; the file appears whole or not at all."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        path = path.with_suffix(".png")
    with replace_atomically(path) as tmp:
        if not cv2.imwrite(str(tmp), image_bgr):
            raise OSError(f"{path}: the PNG could not be written")
    return path
