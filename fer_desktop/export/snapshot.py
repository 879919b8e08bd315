"""Saving an image of the window."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fer_desktop.export.files import write_bytes_atomically


def save_png(image_bgr: np.ndarray, path: Path) -> Path:
    """Write a BGR image as PNG to exactly ``path``, whatever its name ends in; the file appears whole or not at all.

    The name is never changed here: a changed name would replace a file nobody
    was asked about. The save dialog adds ``.png`` before it asks.
    """
    ok, encoded = cv2.imencode(".png", image_bgr)
    if not ok:
        raise OSError(f"{path}: the PNG could not be encoded")
    write_bytes_atomically(Path(path), encoded.tobytes())
    return Path(path)
