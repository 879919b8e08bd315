"""Shipped files are found through fer_desktop.resources; what the app makes goes to the user's cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from platformdirs import user_cache_dir

from fer_desktop import resources
from fer_desktop.faces import DEFAULT_MODEL
from fer_desktop.inference.onnx_backend import default_cache_dir as onnx_cache
from fer_desktop.weights import DEFAULT_WEIGHTS_DIR
from trainer.data import default_cache_dir as data_cache


def test_the_shipped_files_are_where_resources_says() -> None:
    assert DEFAULT_WEIGHTS_DIR == resources.WEIGHTS_DIR and DEFAULT_MODEL == resources.DETECTOR_MODEL
    assert (resources.WEIGHTS_DIR / "squeezenet.safetensors").is_file()
    assert resources.DETECTOR_MODEL.is_file()
    assert (resources.ASSETS_DIR / "LICENSE-mediapipe.txt").is_file()


def test_exports_and_data_go_to_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FER_DESKTOP_CACHE", raising=False)
    assert data_cache() == Path(user_cache_dir("fer-desktop", appauthor=False))
    assert onnx_cache() == data_cache() / "onnx"


def test_fer_desktop_cache_overrides_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FER_DESKTOP_CACHE", str(tmp_path))
    assert data_cache() == tmp_path and onnx_cache() == tmp_path / "onnx"
