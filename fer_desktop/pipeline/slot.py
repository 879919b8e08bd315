"""A one-item slot between two threads: the bounded buffer of the pipeline."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Holds at most one item.

    With ``drop=True`` (live view) a put replaces a waiting item, so the newest
    frame wins and every replaced one is counted in ``dropped``. With
    ``drop=False`` (headless, every frame) a put waits until the taker has
    emptied the slot. ``wake()`` releases every waiting thread so that a worker
    asked to stop notices at once.
    """

    def __init__(self, drop: bool = True) -> None:
        self.drop = drop
        self.dropped = 0
        self._item: T | None = None
        self._full = False
        self._closed = False
        self._cond = threading.Condition()

    def put(self, item: T, stop: threading.Event | None = None) -> bool:
        """Store ``item``; True when it replaced one nobody took (a drop).

        In waiting mode a set ``stop`` ends the wait and the item replaces the
        waiting one, so an end marker always lands.
        """
        with self._cond:
            if not self.drop:
                while self._full and not self._closed and not (stop is not None and stop.is_set()):
                    self._cond.wait()
            replaced = self._full
            if replaced:
                self.dropped += 1
            self._item, self._full = item, True
            self._cond.notify_all()
            return replaced

    def take(self, stop: threading.Event | None = None) -> T | None:
        """Wait for an item; None once ``stop`` is set or the slot is closed."""
        with self._cond:
            while not self._full:
                if self._closed or (stop is not None and stop.is_set()):
                    return None
                self._cond.wait()
            return self._take_locked()

    def take_nowait(self) -> T | None:
        with self._cond:
            return self._take_locked() if self._full else None

    def wake(self) -> None:
        """Let every waiting thread re-check its stop flag."""
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """No more waiting: takers get None, putters stop blocking."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _take_locked(self) -> T | None:
        item, self._item, self._full = self._item, None, False
        self._cond.notify_all()
        return item
