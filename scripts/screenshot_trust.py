"""Write docs/screenshot-trust.png: the window on two demo faces, one sharp and one out of focus, after a while.

    xvfb-run -a python scripts/screenshot_trust.py docs/screenshot-trust.png --weights weights

It shows what the window says about trust: the calibrated bars, "uncertain" with
the two leading emotions where the top probability is below the threshold, the
quality hints beside the chart, and the last minute's timeline.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from fer_desktop.pipeline.demo import DEMO_FPS, astronaut_photo, backdrop, demo_frame
from fer_desktop.ui.window import MainWindow
from fer_desktop.weights import DEFAULT_WEIGHTS_DIR

SETTLE_MS = 20_000  # the model loads, and the timeline fills a little


class TwoFaceDemo:
    """The demo above, and below it the demo a moment later, out of focus (Gaussian blur, sigma 3 px)."""

    name = "Demo: a sharp face and a blurred one"
    fps = DEMO_FPS
    live = False
    frame_count = None

    def __init__(self) -> None:
        self._photo, self._background = astronaut_photo(), backdrop()
        self._index = 0

    def read(self) -> np.ndarray:
        t = self._index / self.fps
        self._index += 1
        sharp = demo_frame(t, self._photo, self._background)
        blurred = cv2.GaussianBlur(demo_frame(t + 1.5, self._photo, self._background), (0, 0), 3)
        return np.vstack([sharp, blurred])

    def close(self) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, nargs="?", default=Path("docs/screenshot-trust.png"))
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS_DIR)
    p.add_argument("--model", default="squeezenet")
    p.add_argument("--select-lower", action="store_true", help="show the blurred face's chart")
    args = p.parse_args(argv)
    app = QApplication(sys.argv[:1])
    window = MainWindow(None, args.model, "cpu", args.weights, probe=lambda: [])
    window.open_source(TwoFaceDemo)
    window.resize(1280, 860)
    window.show()

    def shoot() -> None:
        window.grab().save(str(args.out))
        window.close()

    if args.select_lower:
        def pick(result: object) -> None:
            lower = [f for f in result.faces if f.box.y > 480]
            if lower:
                window.video.face_clicked.emit(lower[0].track_id)  # as a click on it would
        window.chart_updated.connect(pick)
    QTimer.singleShot(SETTLE_MS, shoot)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
