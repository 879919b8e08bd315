"""A one-frame slot between two threads: the bounded buffer of the pipeline."""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def _never(_: object) -> bool:
    return False


class LatestSlot(Generic[T]):
    """Holds at most one droppable item (a frame), plus any markers that must arrive.

    With ``drop=True`` (live view) a put replaces a waiting frame, so the newest
    frame wins and every replaced one is counted in ``dropped``. With
    ``drop=False`` (headless, every frame) a put waits until the taker has
    emptied the slot. Items for which ``keep(item)`` is true (a source's end
    marker) are never replaced: they queue behind what came before them, so a
    frame from a source being closed cannot swallow another source's end.
    ``wake()`` releases every waiting thread so that a worker asked to stop
    notices at once.
    """

    def __init__(self, drop: bool = True, keep: Callable[[T], bool] = _never) -> None:
        self.drop = drop
        self.dropped = 0
        self._keep = keep
        self._order = itertools.count()
        self._frame: tuple[int, T] | None = None
        self._markers: deque[tuple[int, T]] = deque()
        self._closed = False
        self._cond = threading.Condition()

    @property
    def _full(self) -> bool:
        return self._frame is not None or bool(self._markers)

    def put(self, item: T, stop: threading.Event | None = None) -> bool:
        """Store ``item``; True when it replaced a frame nobody took (a drop).

        In waiting mode a set ``stop`` ends the wait; the item then replaces a
        waiting frame, or queues if it is a marker, so an end marker always lands.
        """
        with self._cond:
            if not self.drop:
                while self._full and not self._closed and not (stop is not None and stop.is_set()):
                    self._cond.wait()
            entry = (next(self._order), item)
            replaced = False
            if self._keep(item):
                self._markers.append(entry)
            else:
                replaced = self._frame is not None
                if replaced:
                    self.dropped += 1
                self._frame = entry
            self._cond.notify_all()
            return replaced

    def take(self, stop: threading.Event | None = None) -> T | None:
        """Wait for an item, the earliest put first; None once ``stop`` is set or the slot is closed."""
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
        if self._markers and (self._frame is None or self._markers[0][0] < self._frame[0]):
            _, item = self._markers.popleft()
        else:
            assert self._frame is not None
            (_, item), self._frame = self._frame, None
        self._cond.notify_all()
        return item
