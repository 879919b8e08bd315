"""Write docs/screenshot-trust.png: the window on two copies of the demo face, one clear, one hidden and blurred.

    xvfb-run -a python scripts/screenshot_trust.py docs/screenshot-trust.png --select-right

It shows what the window says about trust: the calibrated bars, "uncertain" with
the two leading emotions where the top probability is below the threshold, the
quality hints beside the chart, and the last minute's timeline.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from fer_desktop.pipeline.demo import DEMO_FPS, astronaut_photo
from fer_desktop.ui.window import MainWindow
from fer_desktop.weights import DEFAULT_WEIGHTS_DIR

SETTLE_MS = 20_000  # the model loads, and the timeline fills a little


class TwoFaceDemo:
    """The astronaut twice, side by side: as photographed, and with her mouth covered and out of focus
    (Gaussian blur, sigma 6 px), each drifting a little so the timeline moves."""

    name = "Demo: a clear face and a hidden, blurred one"
    fps = DEMO_FPS
    live = False
    frame_count = None

    def __init__(self) -> None:
        self._tile = cv2.resize(astronaut_photo()[0:330, 60:390], (480, 480))  # the face fills a fifth of the width
        self._covered = self._tile.copy()
        self._covered[185:240, 180:300] = (120, 110, 100)  # a grey card over the mouth
        self._covered = cv2.GaussianBlur(self._covered, (0, 0), 6)
        self._index = 0

    def read(self) -> np.ndarray:
        t = self._index / self.fps
        self._index += 1
        shift = np.float32([[1, 0, 12 * math.sin(t)], [0, 1, 8 * math.cos(0.7 * t)]])
        tiles = [cv2.warpAffine(tile, shift, (480, 480), borderMode=cv2.BORDER_REPLICATE)
                 for tile in (self._tile, self._covered)]
        return np.hstack(tiles)

    def close(self) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, nargs="?", default=Path("docs/screenshot-trust.png"))
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS_DIR)
    p.add_argument("--model", default="squeezenet")
    p.add_argument("--select-right", action="store_true", help="show the covered face's chart")
    args = p.parse_args(argv)
    app = QApplication(sys.argv[:1])
    window = MainWindow(None, args.model, "cpu", args.weights, probe=lambda: [])
    window.open_source(TwoFaceDemo)
    window.resize(1280, 860)
    window.show()

    def shoot() -> None:
        window.grab().save(str(args.out))
        window.close()

    if args.select_right:
        def pick(result: object) -> None:
            right = [f for f in result.faces if f.box.x > 480]
            if right:
                window.video.face_clicked.emit(right[0].track_id)  # as a click on it would
        window.chart_updated.connect(pick)
    QTimer.singleShot(SETTLE_MS, shoot)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
