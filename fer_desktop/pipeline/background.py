"""A worker for slow one-off jobs (loading a model, probing cameras, writing a snapshot)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

STOP_TIMEOUT_S = 0.5


class LatestRequestWorker(threading.Thread):
    """Runs ``job`` on the newest request only: a burst of requests collapses into one run.

    With ``keep_all`` every request runs instead, in the order made: each one
    is something the user asked for by hand (a snapshot, a report), never one
    to drop. Results leave through ``on_done(request, result)`` or
    ``on_failed(request, error)``, called from this thread; none is called once
    ``stop()`` has been asked.
    """

    def __init__(
        self,
        job: Callable[[Any], Any],
        on_done: Callable[[Any, Any], None],
        on_failed: Callable[[Any, Exception], None],
        name: str,
        keep_all: bool = False,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._job, self._on_done, self._on_failed = job, on_done, on_failed
        self._keep_all = keep_all
        self._wake = threading.Event()
        self._stopping = False
        self._lock = threading.Lock()
        self._pending: deque[Any] = deque()  # requests not yet run; None is a valid request
        self.start()

    def request(self, arg: Any) -> None:
        with self._lock:
            if not self._keep_all:
                self._pending.clear()
            self._pending.append(arg)
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
            while not self._stopping:
                with self._lock:
                    if not self._pending:
                        break
                    arg = self._pending.popleft()
                self._run(arg)
            if self._stopping:
                return

    def _run(self, arg: Any) -> None:
        try:
            result = self._job(arg)
        except Exception as e:
            if not self._stopping:
                self._on_failed(arg, e)
            return
        if not self._stopping:
            self._on_done(arg, result)
