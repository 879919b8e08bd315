"""Shared fixtures: random weights, a synthetic video, fake sources and detectors. No camera, GPU or network."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from fer_desktop.faces import Face
from fer_desktop.models import create_model
from fer_desktop.pipeline.demo import DEMO_SIZE, astronaut_photo, backdrop, demo_frame
from fer_desktop.weights import save_weights

# Forking a process that runs ONNX Runtime, Qt or torch threads hangs the child on their copied locks:
# every os.fork in the test process is noted, and the test that made it fails.
_forks: list[int] = []
os.register_at_fork(before=lambda: _forks.append(os.getpid()))


@pytest.fixture(autouse=True)
def no_fork() -> Iterator[None]:
    before = len(_forks)
    yield
    if len(_forks) > before:
        pytest.fail("this test forked the test process; use multiprocessing.get_context('spawn') instead")


pytest_plugins = ("pytester",)

VIDEO_FPS = 10.0
# Frame kinds of the synthetic video, in order: True has the astronaut, False has no face.
VIDEO_LAYOUT = [True] * 8 + [False] * 5 + [True] * 4


@pytest.fixture(scope="session")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Randomly initialised SqueezeNet and ResNet18 weights; VGG19 is missing on purpose."""
    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    for arch in ("squeezenet", "resnet18"):
        save_weights(folder / f"{arch}.safetensors", arch, create_model(arch).state_dict(), info={"note": "random"})
    return folder


@pytest.fixture(scope="session")
def face_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MJPG video of VIDEO_LAYOUT: the moving astronaut, then a face-free backdrop, then her again."""
    path = tmp_path_factory.mktemp("video") / "astronaut.avi"
    photo, background = astronaut_photo(), backdrop()
    width, height = DEMO_SIZE
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), VIDEO_FPS, (width, height))
    assert writer.isOpened()
    for i, with_face in enumerate(VIDEO_LAYOUT):
        writer.write(demo_frame(i / VIDEO_FPS, photo, background) if with_face else background)
    writer.release()
    return path


class ListSource:
    """A fake source: the given frames, then the end, or ``fail_with`` as a device that disappeared."""

    fps = 30.0
    frame_count = None

    def __init__(self, frames: list[np.ndarray], live: bool = True, fail_with: Exception | None = None,
                 name: str = "fake camera") -> None:
        self.frames, self.live, self.fail_with, self.name = list(frames), live, fail_with, name
        self.closed = False

    def read(self) -> np.ndarray | None:
        if self.frames:
            return self.frames.pop(0)
        if self.fail_with is not None:
            raise self.fail_with
        return None

    def close(self) -> None:
        self.closed = True


class GridDetector:
    """A fake detector that sees ``count`` faces on a grid, whatever the frame."""

    def __init__(self, count: int) -> None:
        self.count = count

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        h, w = frame_bgr.shape[:2]
        side = min(w, h) / 6
        return [Face((i % 5) * side * 1.1, (i // 5) * side * 1.1, side - i, side - i, 0.9) for i in range(self.count)]

    def close(self) -> None:
        pass


@pytest.fixture
def blank_frame() -> np.ndarray:
    return np.full((DEMO_SIZE[1], DEMO_SIZE[0], 3), 60, np.uint8)
