"""``fer-desktop`` that reports its first classified frame and closes: benchmarks/startup.py launches this.

    python benchmarks/first_result.py --source demo --model squeezenet --device cpu

The app itself is unchanged: the window is wrapped from outside, through its
``chart_updated`` signal, and the wall-clock time the first frame with a
classified face reached the chart is printed on stderr.
"""

from __future__ import annotations

import sys
import time

from common import ROOT  # noqa: F401  (adds the repo to sys.path)

from fer_desktop import app  # noqa: E402
from fer_desktop.ui import window as window_module  # noqa: E402

MESSAGE = "first classified frame at"


def close_after_first_result(window: window_module.MainWindow) -> None:
    def charted(result) -> None:
        if result.model is not None and result.faces:
            window.chart_updated.disconnect(charted)
            print(f"fer-desktop: {MESSAGE} {time.time():.3f}", file=sys.stderr, flush=True)
            window.close()

    window.chart_updated.connect(charted)


def main(argv: list[str]) -> int:
    build = window_module.MainWindow.__init__

    def built_and_watched(self, *args, **kwargs) -> None:
        build(self, *args, **kwargs)
        close_after_first_result(self)

    window_module.MainWindow.__init__ = built_and_watched
    return app.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
