"""Which videos a batch covers: files, folders and globs expanded, each with the name its outputs mirror."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# What a folder walk takes; a file named on the command line is taken whatever its suffix.
VIDEO_SUFFIXES = frozenset({
    ".3gp", ".avi", ".flv", ".m2ts", ".m4v", ".mjpeg", ".mjpg", ".mkv", ".mov", ".mp4", ".mpeg", ".mpg", ".mts",
    ".ogv", ".ts", ".webm", ".wmv",
})


class InputError(ValueError):
    """An input names nothing that can be read; the message says which and what to do."""


@dataclass(frozen=True)
class Video:
    path: Path  # absolute, as the workers read it
    name: str  # the input's path relative to the working folder (or without its root): what outputs mirror


def find_videos(inputs: Sequence[str], out_dir: Path, cwd: Path | None = None) -> list[Video]:
    """Every video the inputs name, in the order given (folders and globs sorted), each path once.

    ``out_dir`` is never walked, so outputs kept inside an input folder are not taken for inputs.
    """
    cwd = Path(cwd or os.getcwd()).absolute()
    out_dir = _absolute(out_dir, cwd)
    videos: dict[Path, Video] = {}
    for spec in inputs:
        found = list(_expand(spec, out_dir, cwd))
        if not found and _absolute(Path(spec).expanduser(), cwd).is_dir():
            raise InputError(f"{spec}: this folder holds no video ({', '.join(sorted(VIDEO_SUFFIXES)[:6])}, ...); "
                             "name other files directly")
        if not found and _absolute(Path(spec).expanduser(), cwd).exists():
            raise InputError(f"{spec}: not a file but a pipe or a device, which cannot be read as a video")
        if not found:
            raise InputError(f"{spec}: no such file or folder, and no video matches it as a pattern")
        for path in found:
            key = path.resolve()
            if key not in videos:
                videos[key] = Video(path, mirrored_name(path, cwd))
    return list(videos.values())


def mirrored_name(path: Path, cwd: Path) -> str:
    """``clips/a.mp4`` for a video under the working folder, ``data/clips/a.mp4`` for ``/data/clips/a.mp4``."""
    try:
        relative = path.relative_to(cwd)
    except ValueError:
        relative = path.relative_to(path.anchor)
    return PurePosixPath(*relative.parts).as_posix()


def _expand(spec: str, out_dir: Path, cwd: Path) -> Iterable[Path]:
    path = _absolute(Path(spec).expanduser(), cwd)
    if path.is_file():
        yield path
    elif path.is_dir():
        yield from _walk(path, out_dir)
    elif glob.has_magic(spec):
        for match in sorted(glob.glob(str(path), recursive=True)):
            match_path = Path(match)
            if match_path.is_dir():
                yield from _walk(match_path, out_dir)
            elif match_path.is_file() and not _inside(match_path, out_dir):
                yield match_path


def _walk(folder: Path, out_dir: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _inside(Path(root, d), out_dir))
        for name in sorted(files):
            # a named pipe called x.mp4 would be waited on for ever, and a device read to its end
            if Path(name).suffix.lower() in VIDEO_SUFFIXES and not name.startswith(".") and Path(root, name).is_file():
                yield Path(root, name)


def _absolute(path: Path, cwd: Path) -> Path:
    return Path(os.path.normpath(path if path.is_absolute() else cwd / path))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents
