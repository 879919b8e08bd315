"""Synthetic FER-2013 for the trainer tests: Kaggle folder trees, zips and csv files.

The faces are not faces. Each class is a pattern that a small network picks up
in a few steps: a brightness level and horizontal bands of a class-dependent
period, neither of which a mirror or a small shift changes, under noise so no
two images are alike. Images go through ``cv2.imencode`` as the Kaggle files
do, and the expected arrays are what decoding those bytes gives back.
"""

from __future__ import annotations

import csv
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from fer_desktop.emotions import EMOTIONS, FACE_SIZE

SPLITS = ("train", "public", "private")
PREFIX = {"train": "Training", "public": "PublicTest", "private": "PrivateTest"}  # file names and csv Usage alike


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The decode cache of every test in a module that imports this goes to the test's own folder."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("FER_DESKTOP_CACHE", str(folder))
    return folder


def class_pattern(label: int, rng: np.random.Generator, size: int = FACE_SIZE) -> np.ndarray:
    """One noisy (size, size) uint8 image of class ``label``."""
    rows = np.arange(size, dtype=np.float64)[:, None]
    period = 4 + 3 * label
    bands = 45 * np.sign(np.sin(2 * np.pi * (rows + rng.uniform(0, period)) / period))
    level = 50 + 25 * label
    img = level + bands + rng.normal(0, 12, (size, size))
    return np.clip(img, 0, 255).astype(np.uint8)


def encode(img: np.ndarray, ext: str = ".jpg") -> bytes:
    ok, buf = cv2.imencode(ext, img)
    assert ok
    return buf.tobytes()


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)


@dataclass
class Synthetic:
    """A synthetic data set in generation order: split, then class, then file number."""

    images: np.ndarray  # (N, 48, 48) uint8, as decoding the files gives them
    labels: np.ndarray  # (N,) int64
    splits: list[str]  # "train" | "public" | "private" per image
    names: list[str]  # Kaggle-layout relative path per image
    encoded: list[bytes]  # the file contents (JPEG is lossy: re-encoding the images would change them)

    @property
    def files(self) -> dict[str, bytes]:
        return dict(zip(self.names, self.encoded))

    def select(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        mask = np.array([s == split for s in self.splits])
        return self.images[mask], self.labels[mask]


def synthetic_fer(train: int = 4, public: int = 1, private: int = 1, seed: int = 0,
                  prefixed: bool = True) -> Synthetic:
    """``train``/``public``/``private`` images per class; ``prefixed=False`` names test files as a re-export might."""
    rng = np.random.default_rng(seed)
    images, labels, splits, names, encoded = [], [], [], [], []
    number = 0
    for split, per_class in zip(SPLITS, (train, public, private)):
        folder = "train" if split == "train" else "test"
        for label, emotion in enumerate(EMOTIONS):
            for _ in range(per_class):
                number += 1
                stem = f"{PREFIX[split]}_{number:05d}" if prefixed or split == "train" else f"{number:05d}"
                encoded.append(encode(class_pattern(label, rng)))
                images.append(decode(encoded[-1]))
                labels.append(label)
                splits.append(split)
                names.append(f"{folder}/{emotion}/{stem}.jpg")
    return Synthetic(np.stack(images), np.asarray(labels, np.int64), splits, names, encoded)


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_zip(path: Path, files: dict[str, bytes], top: str = "", shuffle_seed: int | None = None) -> Path:
    """The files in a zip, under a ``top`` folder if given, in shuffled order if ``shuffle_seed`` is set."""
    names = list(files)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(names)
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(f"{top}/{name}" if top else name, files[name])
    return path


def csv_row(label: int | str, img: np.ndarray, usage: str = "Training") -> list[str]:
    return [str(label), " ".join(str(int(v)) for v in img.ravel()), usage]


def write_csv(path: Path, data: Synthetic | None = None, header: tuple[str, ...] = ("emotion", "pixels", "Usage"),
              extra_rows: list[list[str]] = ()) -> Path:
    """The original fer2013.csv layout; ``extra_rows`` are appended as given (malformed rows, say)."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        if data is not None:
            for img, label, split in zip(data.images, data.labels, data.splits):
                writer.writerow(csv_row(label, img, PREFIX[split]))
        writer.writerows(extra_rows)
    return path


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Small tensors run faster on one thread than on cores shared with other work; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def assert_never_imported(modules: tuple[str, ...], packages: tuple[str, ...]) -> None:
    """Importing ``modules`` in a fresh interpreter loads none of ``packages``."""
    import subprocess
    import sys

    code = (f"import sys, {', '.join(modules)}; "
            f"bad = sorted({{m for m in sys.modules if m.split('.')[0] in {packages!r}}}); assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
