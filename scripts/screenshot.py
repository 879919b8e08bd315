"""Write the README's screenshot: the window on the built-in demo, a few seconds in.

    QT_QPA_PLATFORM=offscreen python scripts/screenshot.py docs/screenshot.png
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from fer_desktop.pipeline.smoothing import DEFAULT_SMOOTHING
from fer_desktop.ui.window import MainWindow
from fer_desktop.weights import DEFAULT_WEIGHTS_DIR

SETTLE_MS = 6000  # the model loads and the smoothed bars settle


def main(path: str) -> int:
    app = QApplication(sys.argv[:1])
    window = MainWindow("demo", "squeezenet", "cpu", DEFAULT_WEIGHTS_DIR, DEFAULT_SMOOTHING)
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
