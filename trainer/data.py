"""FER-2013 in every form users have it, decoded once and cached.

Forms: the Kaggle folder layout (a folder or a .zip; ``test/`` may hold the
PublicTest and PrivateTest halves mixed, told apart by the file-name prefix),
and the original ``fer2013.csv`` (``emotion,pixels,Usage``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from fer_desktop.emotions import EMOTIONS, FACE_SIZE
from fer_desktop import resources
from fer_desktop.export.files import replace_atomically

SPLITS = ("train", "public", "private", "test")  # "test" is both test halves together
_CODES = {"train": 0, "public": 1, "private": 2}
_USAGE = {"Training": "train", "PublicTest": "public", "PrivateTest": "private"}
_IMAGE = re.compile(r"(?:^|/)(train|test)/([^/]+)/([^/]+\.(?:jpe?g|png|bmp|pgm|tiff?|webp))$", re.IGNORECASE)
_CACHE_VERSION = "1"


class DataError(ValueError):
    """The data is not FER-2013 in a form we read; the message says what was expected."""


@dataclass
class FerData:
    images: np.ndarray  # (N, 48, 48) uint8
    labels: np.ndarray  # (N,) int64, FER-2013 label order
    splits: np.ndarray  # (N,) uint8 codes of _CODES
    skipped: int = 0  # unreadable images or malformed rows, left out
    notes: list[str] = field(default_factory=list)

    def select(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        mask = self.splits != _CODES["train"] if split == "test" else self.splits == _CODES[split]
        return self.images[mask], self.labels[mask]

    def counts(self) -> dict[str, int]:
        return {s: int(len(self.select(s)[1])) for s in SPLITS}


def describe_data(path: str | Path) -> str:
    """What a model trained on ``path`` was trained on, for its weights' record."""
    return f"FER-2013 ({Path(path).name}): train split, selected on PublicTest"


def _decode(data: bytes) -> np.ndarray | None:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None or img.size == 0:
        return None
    if img.shape != (FACE_SIZE, FACE_SIZE):
        img = cv2.resize(img, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
    return img


def _class_index(name: str, where: str) -> int:
    try:
        return EMOTIONS.index(name.lower())
    except ValueError:
        raise DataError(
            f"unknown class folder {name!r} in {where}; expected the seven FER-2013 classes: {', '.join(EMOTIONS)}"
        ) from None


def _image_entries(path: Path) -> Iterator[tuple[str, callable]]:
    """(relative name, reader) for every file of a folder or zip."""
    if path.suffix.lower() == ".zip":
        zf = zipfile.ZipFile(path)
        for info in zf.infolist():
            if not info.is_dir():
                yield info.filename, (lambda i=info: zf.read(i))
    else:
        for root, _, files in os.walk(path):
            for f in files:
                full = Path(root) / f
                yield full.relative_to(path).as_posix(), full.read_bytes


def _read_layout(path: Path) -> FerData:
    found = []
    for name, read in _image_entries(path):
        m = _IMAGE.search(name)
        if m:
            folder, cls, fname = m.groups()
            found.append((folder.lower(), _class_index(cls, str(path)), fname, read))
    # Folders list in file-system order and zips in archive order: sort, so a data set reads the same everywhere.
    found.sort(key=lambda entry: entry[:3])
    if not found:
        raise DataError(
            f"no FER-2013 images in {path}: expected the Kaggle layout train/<class>/*.jpg and test/<class>/*.jpg "
            f"(a folder or .zip) or the original fer2013.csv"
        )
    notes: list[str] = []
    prefixed = any(f.startswith(("PublicTest", "PrivateTest")) for folder, _, f, _ in found if folder == "test")
    if not prefixed and any(folder == "test" for folder, *_ in found):
        notes.append("test/ files carry no PublicTest_/PrivateTest_ prefix: all of test/ is used as the PublicTest split")
    images, labels, splits, skipped = [], [], [], 0
    for folder, label, fname, read in tqdm(found, desc=f"decoding {path.name}", unit="img", file=sys.stderr):
        if folder == "train":
            split = "train"
        else:
            split = "private" if fname.startswith("PrivateTest") else "public"
        try:
            img = _decode(read())
        except (OSError, zipfile.BadZipFile, cv2.error):
            img = None
        if img is None:
            skipped += 1
            continue
        images.append(img)
        labels.append(label)
        splits.append(_CODES[split])
    return _assemble(images, labels, splits, skipped, notes, path)


def _read_csv(path: Path) -> FerData:
    try:
        return _parse_csv(path)
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path}: not a text file that CSV can read; expected the original fer2013.csv "
                        f"(columns emotion,pixels,Usage)") from None


def _parse_csv(path: Path) -> FerData:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        if "emotion" not in header or "pixels" not in header:
            raise DataError(
                f"{path}: expected the columns emotion,pixels,Usage of the original fer2013.csv, found {','.join(header)}"
            )
        ie, ip = header.index("emotion"), header.index("pixels")
        iu = header.index("Usage") if "Usage" in header else None
        notes = [] if iu is not None else ["no Usage column: every row is used as training data"]
        images, labels, splits, skipped = [], [], [], 0
        for row in tqdm(reader, desc=f"decoding {path.name}", unit="row", file=sys.stderr):
            try:
                label = int(row[ie])
                pixels = np.array(row[ip].split(), dtype=np.int64)
                split = _USAGE[row[iu].strip()] if iu is not None else "train"
                if not 0 <= label < len(EMOTIONS) or pixels.size != FACE_SIZE**2 or pixels.min() < 0 or pixels.max() > 255:
                    raise ValueError
            except (ValueError, IndexError, KeyError):
                skipped += 1
                continue
            images.append(pixels.astype(np.uint8).reshape(FACE_SIZE, FACE_SIZE))
            labels.append(label)
            splits.append(_CODES[split])
    return _assemble(images, labels, splits, skipped, notes, path)


def _assemble(images, labels, splits, skipped, notes, path) -> FerData:
    if not images:
        raise DataError(f"{path}: no readable FER-2013 images ({skipped} unreadable)")
    return FerData(
        np.stack(images), np.asarray(labels, np.int64), np.asarray(splits, np.uint8), skipped, notes
    )


def _find_source(path: Path) -> Path:
    if not path.exists():
        raise DataError(f"{path}: no such file or folder; expected FER-2013 as a Kaggle folder, its .zip, or fer2013.csv")
    if path.is_dir() and not any(path.iterdir()):
        raise DataError(f"{path}: the folder is empty; expected train/<class>/*.jpg and test/<class>/*.jpg or fer2013.csv")
    if path.is_dir() and (path / "fer2013.csv").is_file():
        return path / "fer2013.csv"
    return path


def _cache_file(src: Path, cache_dir: Path) -> Path:
    st = src.stat() if src.is_file() else max((p.stat() for p in src.rglob("*")), key=lambda s: s.st_mtime_ns)
    key = f"{_CACHE_VERSION}|{src.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return cache_dir / f"fer2013-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"


def default_cache_dir() -> Path:
    return resources.cache_dir()


def _read_cache(cache: Path) -> FerData | None:
    """The decoded arrays from an earlier run; None (and the file removed) when it cannot be read."""
    try:
        with np.load(cache) as z:
            return FerData(z["images"], z["labels"], z["splits"], int(z["skipped"]), list(z["notes"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        print(f"note: {cache} is damaged ({type(e).__name__}); decoding the data set again", file=sys.stderr)
        cache.unlink(missing_ok=True)
        return None


def load_fer(path: str | Path, cache_dir: Path | None = None) -> FerData:
    """FER-2013 from a Kaggle folder, its .zip or fer2013.csv; decoded arrays are cached."""
    src = _find_source(Path(path))
    cache = _cache_file(src, cache_dir or default_cache_dir()) if cache_dir is not False else None
    if cache is not None and cache.is_file():
        cached = _read_cache(cache)
        if cached is not None:
            return cached
    if src.suffix.lower() == ".csv":
        data = _read_csv(src)
    elif src.is_dir() or zipfile.is_zipfile(src):
        data = _read_layout(src)
    elif src.suffix.lower() == ".zip":
        raise DataError(f"{src}: not a readable .zip (empty, cut short or damaged); download FER-2013 again")
    else:
        raise DataError(f"{src}: not a folder, .zip or .csv; expected FER-2013 in the Kaggle layout or fer2013.csv")
    if cache is not None:
        _write_cache(cache, data)
    return data


def _write_cache(cache: Path, data: FerData) -> None:
    """Keep the decoded arrays for the next run, if the cache folder takes them; the data is good either way."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        # A unique temporary file: scripts/train_all.sh starts two runs that may decode at once.
        with replace_atomically(cache) as tmp, open(tmp, "wb") as f:
            np.savez(f, images=data.images, labels=data.labels, splits=data.splits,
                     skipped=data.skipped, notes=np.array(data.notes, dtype=str))
    except OSError as e:
        print(f"note: the decoded data cannot be kept in {cache.parent} ({e.strerror or e}), so it is decoded again "
              f"next time; set FER_DESKTOP_CACHE to a folder that can be written", file=sys.stderr)
