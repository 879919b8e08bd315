"""The built-in demo source: scikit-image's public-domain astronaut photo, moving, at 30 fps.

It needs no camera and ships nothing but a public-domain image, so a machine
without a camera (or CI) can still show the whole pipeline working.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from skimage import data

DEMO_FPS = 30.0
DEMO_SIZE = (640, 480)
# Where the face lies in the 512x512 photo (x, y); the path below moves this point.
FACE_CENTRE = (225.0, 130.0)
MIRROR_EVERY_S = 4.0


class DemoSource:
    """Endless (or ``frames`` long) frames of the astronaut drifting, zooming and mirroring."""

    name = "Demo (astronaut)"
    fps = DEMO_FPS
    live = False

    def __init__(self, frames: int | None = None, size: tuple[int, int] = DEMO_SIZE) -> None:
        self.frame_count = frames
        self._size = size
        self._photo = astronaut_photo()
        self._background = backdrop(size)
        self._index = 0

    def read(self) -> np.ndarray | None:
        if self.frame_count is not None and self._index >= self.frame_count:
            return None
        frame = demo_frame(self._index / self.fps, self._photo, self._background)
        self._index += 1
        return frame

    def close(self) -> None:
        pass


def demo_frame(t: float, photo: np.ndarray, background: np.ndarray) -> np.ndarray:
    """The demo image at time ``t`` seconds."""
    height, width = background.shape[:2]
    # The short-range face detector wants a face of at least ~15% of the frame width.
    scale = 1.05 + 0.15 * math.sin(2 * math.pi * t / 5.0)
    mirrored = int(t // MIRROR_EVERY_S) % 2 == 1
    image = photo[:, ::-1] if mirrored else photo
    face_x = photo.shape[1] - FACE_CENTRE[0] if mirrored else FACE_CENTRE[0]
    target_x = width / 2 + 0.18 * width * math.sin(2 * math.pi * t / 6.0)
    target_y = height * 0.38 + 0.08 * height * math.sin(2 * math.pi * t / 3.7)
    # Affine warp of the photo onto the frame: scale about the origin, then move the face to the target.
    matrix = np.float32([[scale, 0, target_x - scale * face_x], [0, scale, target_y - scale * FACE_CENTRE[1]]])
    frame = background.copy()
    cv2.warpAffine(
        np.ascontiguousarray(image), matrix, (width, height), dst=frame,
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT,
    )
    return frame


def astronaut_photo() -> np.ndarray:
    """scikit-image's public-domain astronaut portrait, 512x512 BGR."""
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def backdrop(size: tuple[int, int] = DEMO_SIZE) -> np.ndarray:
    """The face-free background of the demo, (height, width, 3) BGR."""
    width, height = size
    ramp = np.linspace(40, 90, height, dtype=np.float32)[:, None, None]
    tint = np.float32([1.0, 0.8, 0.6])  # BGR: a dark blue backdrop
    return np.broadcast_to(ramp * tint, (height, width, 3)).astype(np.uint8)
