"""A worker for slow one-off jobs (loading a model, probing cameras, writing a snapshot)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

STOP_TIMEOUT_S = 0.5


class LatestRequestWorker(threading.Thread):
    """Runs ``job`` on the newest request only: a burst of requests collapses into one run.

    Results leave through ``on_done(request, result)`` or
    ``on_failed(request, error)``, called from this thread; none is called once
    ``stop()`` has been asked.
    """

    def __init__(
        self,
        job: Callable[[Any], Any],
        on_done: Callable[[Any, Any], None],
        on_failed: Callable[[Any, Exception], None],
        name: str,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._job, self._on_done, self._on_failed = job, on_done, on_failed
        self._wake = threading.Event()
        self._stopping = False
        self._lock = threading.Lock()
        self._pending: tuple[Any] | None = None  # the newest request, boxed: None is a valid request
        self.start()

    def request(self, arg: Any) -> None:
        with self._lock:
            self._pending = (arg,)
        self._wake.set()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Flag, wake, join (``timeout=0``: only ask); a running job (a model read) may outlast the timeout."""
        self._stopping = True
        self._wake.set()
        if timeout > 0:
            self.join(timeout)

    def run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            with self._lock:
                pending, self._pending = self._pending, None
            if pending is None:
                continue
            (arg,) = pending
            try:
                result = self._job(arg)
            except Exception as e:
                if not self._stopping:
                    self._on_failed(arg, e)
                continue
            if not self._stopping:
                self._on_done(arg, result)
