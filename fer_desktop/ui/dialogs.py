"""The save dialog every file the window writes is chosen with."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget


def save_dialog(parent: QWidget | None, title: str, suggestion: Path, name_filter: str, suffix: str) -> QFileDialog:
    """A save dialog that adds ``suffix`` to a name typed without one *before* it asks whether to replace a file.

    Adding it afterwards (as a name typed ``shot`` becoming ``shot.png`` when saving)
    would replace ``shot.png`` without asking.
    """
    dialog = QFileDialog(parent, title, str(suggestion.parent), name_filter)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    dialog.setDefaultSuffix(suffix.lstrip("."))
    dialog.selectFile(suggestion.name)
    return dialog


def ask_save_path(parent: QWidget | None, title: str, suggestion: Path, name_filter: str, suffix: str) -> Path | None:
    """The file the user chose to write (they have agreed to replace it if it exists), or None if they cancelled."""
    dialog = save_dialog(parent, title, suggestion, name_filter, suffix)
    if dialog.exec() != QFileDialog.DialogCode.Accepted or not dialog.selectedFiles():
        return None
    return Path(dialog.selectedFiles()[0])
