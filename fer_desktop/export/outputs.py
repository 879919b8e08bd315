"""Checks on output paths, made before anything is opened: an input is never written, an output never clobbered."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from fer_desktop.export.files import is_device, try_creating_in

OVERWRITE_FLAG = "--overwrite"


class OutputError(ValueError):
    """An output path that cannot or must not be written; the message names the flag and what to do."""


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same inode when both exist (hard links, case-insensitive
    file systems), else the same resolved path (symbolic links, ``./`` and ``..``)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(Path(a).resolve()) == os.path.normcase(Path(b).resolve())


def check_outputs(outputs: Sequence[tuple[str, Path]], inputs: Sequence[tuple[str, Path]] = (),
                  overwrite: bool = False) -> None:
    """Raise ``OutputError`` unless every ``(flag, path)`` output can be written without harm.

    Refused: an output that is one of the ``inputs``, two outputs that are one
    file, a folder, a named pipe, socket or disk (replaced, or waited on for
    ever), an existing file (unless ``overwrite``), and a folder that is
    missing or cannot be written (tried by creating a file there, which works
    for every user, root included). A character device such as ``/dev/null``
    is written into, never replaced (``files.replace_atomically``).
    """
    for n, (flag, path) in enumerate(outputs):
        for input_flag, source in inputs:
            if same_file(path, source):
                raise OutputError(f"{flag} {path} is the {input_flag} file itself; writing it would destroy "
                                  f"the input, so choose another output name")
        for other_flag, other in outputs[:n]:
            if same_file(path, other):
                raise OutputError(f"{other_flag} and {flag} are the same file ({path}); give each its own name")
        if path.is_dir():
            raise OutputError(f"{flag} {path} is a folder; give a file name inside it")
        kind = _special_kind(path)
        if kind is not None:
            raise OutputError(f"{flag} {path} is {kind}, not a file; give the name of a file to write")
        if path.exists() and not overwrite:
            raise OutputError(f"{flag} {path} already exists and is never overwritten without {OVERWRITE_FLAG}; "
                              f"add {OVERWRITE_FLAG} or choose another name")
        if not is_device(path):  # a device is written into: its folder need not take new files
            _check_folder(flag, path)


def folder_problem(folder: Path, what: str) -> str | None:
    """Why ``folder`` (for ``what``: "the runs") cannot be made or written, found before any work; None if it can."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        return f"{existing} is a file; give the folder for {what} (it is made if missing)"
    try:
        try_creating_in(existing)
    except OSError as e:
        return f"the folder {existing} cannot be written ({e.strerror or e}); choose another folder for {what}"
    return None


def make_folders_and_check(outputs: Sequence[tuple[str, Path]], overwrite: bool = False) -> None:
    """``check_outputs`` for commands that make missing folders: each output's folder is made first."""
    for flag, path in outputs:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"{flag} {path}: the folder {path.parent} cannot be made ({e.strerror or e}); "
                              "choose another path") from None
    check_outputs(outputs, overwrite=overwrite)


def _special_kind(path: Path) -> str | None:
    """What an existing output is when it is neither a file nor a character device, else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    kinds = {stat.S_ISFIFO: "a named pipe", stat.S_ISSOCK: "a socket", stat.S_ISBLK: "a block device (a disk)"}
    return next((kind for test, kind in kinds.items() if test(mode)), None)


def _check_folder(flag: str, path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        problem = "does not exist" if not folder.exists() else "is not a folder"
        raise OutputError(f"{flag} {path}: the folder {folder} {problem}; create it or choose another path")
    try:
        try_creating_in(folder)
    except OSError as e:
        raise OutputError(f"{flag} {path}: the folder {folder} cannot be written ({e.strerror or e}); "
                          f"choose another path") from None
