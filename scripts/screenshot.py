"""Write the README's screenshot: the window on a short clip made from the demo's public-domain photo.

    QT_QPA_PLATFORM=offscreen python scripts/screenshot.py docs/screenshot.png

Two copies of the astronaut's head, side by side: one as the demo shows it,
one dim, noisy and blurred, as a cheap webcam in a dark room delivers a face,
and a little larger so that its chart is the one shown. The picture then
shows what the window says about a face it cannot read reliably: the
"uncertain" label, the quality hints under the chart, and the timeline.
"""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from fer_desktop.pipeline.demo import DEMO_FPS, DEMO_SIZE, FACE_CENTRE, astronaut_photo, backdrop
from fer_desktop.pipeline.smoothing import DEFAULT_SMOOTHING
from fer_desktop.ui.window import MainWindow
from fer_desktop.weights import DEFAULT_WEIGHTS_DIR

SETTLE_MS = 8000  # the model loads, the faces are confirmed and the timeline fills a little
SECONDS = 20
HEAD = 300  # side of the square cut around the astronaut's face


def head() -> np.ndarray:
    x, y = int(FACE_CENTRE[0]) - HEAD // 2, 0
    return astronaut_photo()[y : y + HEAD, x : x + HEAD]


def dim_noisy_blurred(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    dark = cv2.GaussianBlur(image.astype(np.float32), (0, 0), 3.5) * 0.2
    return np.clip(dark + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8)


def write_clip(path: Path) -> Path:
    rng = np.random.default_rng(0)
    clear, width, height = head(), *DEMO_SIZE
    dark = cv2.resize(clear, None, fx=1.08, fy=1.08)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), DEMO_FPS, DEMO_SIZE)
    for i in range(int(SECONDS * DEMO_FPS)):
        t = i / DEMO_FPS
        frame = backdrop(DEMO_SIZE).copy()
        dx, dy = int(6 * math.sin(t)), int(8 + 6 * math.cos(0.7 * t))
        frame[60 + dy : 60 + dy + HEAD, 8 + dx : 8 + dx + HEAD] = clear
        top, left = 40 - dy, width - dark.shape[1] - 8 + dx
        frame[top : top + dark.shape[0], left : left + dark.shape[1]] = dim_noisy_blurred(dark, rng)
        writer.write(frame[:height])
    writer.release()
    return path


def main(path: str) -> int:
    app = QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="fer-screenshot-") as folder:
        clip = write_clip(Path(folder) / "two-faces.avi")
        window = MainWindow(str(clip), "squeezenet", "cpu", DEFAULT_WEIGHTS_DIR, DEFAULT_SMOOTHING)
        window.resize(1280, 760)
        window.show()

        def shoot() -> None:
            window.grab().save(path)
            window.close()

        QTimer.singleShot(SETTLE_MS, shoot)
        app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot.png"))
