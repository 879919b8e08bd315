"""One clear message per fault (source, model, pipeline), with the actions that get out of it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

STYLES = {
    "error": "background: #ffebee; color: #b71c1c; border: 1px solid #ef9a9a;",
    "info": "background: #e3f2fd; color: #0d47a1; border: 1px solid #90caf9;",
}


class MessageBanner(QFrame):
    """Rows keyed by topic; a new message on a topic replaces the old one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._rows: dict[str, tuple[QWidget, str]] = {}
        self.hide()

    def show_message(
        self, topic: str, text: str, kind: str = "error", actions: Sequence[tuple[str, Callable[[], None]]] = ()
    ) -> None:
        self.clear(topic)
        row = QFrame(self)
        row.setStyleSheet(f"QFrame {{ {STYLES[kind]} border-radius: 4px; }} QLabel {{ border: none; }}")
        layout = QHBoxLayout(row)
        label = QLabel(text, row)
        label.setWordWrap(True)
        layout.addWidget(label, 1)
        for caption, slot in actions:
            button = QPushButton(caption, row)
            button.clicked.connect(slot)
            layout.addWidget(button)
        self._layout.addWidget(row)
        self._rows[topic] = (row, text)
        self.show()

    def clear(self, topic: str) -> None:
        if topic in self._rows:
            row, _ = self._rows.pop(topic)
            row.hide()
            row.deleteLater()
        self.setVisible(bool(self._rows))

    def text(self, topic: str | None = None) -> str:
        """The message on ``topic`` (all of them, one a line, without one)."""
        if topic is not None:
            return self._rows[topic][1] if topic in self._rows else ""
        return "\n".join(text for _, text in self._rows.values())
