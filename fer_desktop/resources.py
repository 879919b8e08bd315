"""Where the files fer-desktop ships and the files it keeps are found.

The weights and the face detector live in the repository's top-level ``weights/``
and ``assets/``. A built sdist or wheel carries both inside the package, as
``fer_desktop/shipped/weights`` and ``fer_desktop/shipped/assets`` (mapped in
pyproject.toml), so an installed copy never looks at a source tree; a checkout
or an editable install reads the repository's folders themselves. What the app
makes (ONNX exports, the decoded data set) goes to the user's cache folder.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from platformdirs import user_cache_dir

APP_NAME = "fer-desktop"
_CHECKOUT = Path(__file__).resolve().parent.parent


def _shipped(folder: str) -> Path:
    packaged = files("fer_desktop") / "shipped" / folder
    if packaged.is_dir():
        return Path(str(packaged))
    return _CHECKOUT / folder


WEIGHTS_DIR = _shipped("weights")
ASSETS_DIR = _shipped("assets")
DETECTOR_MODEL = ASSETS_DIR / "face_detection_short_range.tflite"


def cache_dir() -> Path:
    """``$FER_DESKTOP_CACHE``, else the user's cache folder (``~/.cache/fer-desktop`` on Linux)."""
    return Path(os.environ.get("FER_DESKTOP_CACHE") or user_cache_dir(APP_NAME, appauthor=False))
