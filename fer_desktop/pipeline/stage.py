"""A pipeline stage in its own thread: takes items from one slot, works on each, hands the outcome on."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fer_desktop.pipeline.frames import SourceEnd
from fer_desktop.pipeline.slot import LatestSlot


def _nothing() -> None:
    pass


class StageWorker(threading.Thread):
    """Runs ``work`` on every item of ``slot`` until ``stop()``; outlives sources.

    ``open`` runs first in this thread (a detector belongs to the thread that
    made it) and ``close`` last; if ``open`` fails the slots are closed, so the
    stages on either side stop waiting. A source's end marker passes through
    untouched to ``on_end``. A failing item is reported once per distinct fault
    and skipped: one bad frame must not end a live view.
    """

    def __init__(
        self,
        name: str,
        slot: LatestSlot,
        work: Callable[[Any], Any],
        on_output: Callable[[Any], None],
        on_end: Callable[[SourceEnd], None],
        on_error: Callable[[str], None],
        open: Callable[[], None] = _nothing,
        close: Callable[[], None] = _nothing,
        closes_on_failure: tuple[LatestSlot, ...] = (),
        what_opens: str = "the stage",
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._slot, self._work, self._on_output = slot, work, on_output
        self._on_end, self._on_error = on_end, on_error
        self._open, self._close = open, close
        self._closes_on_failure = (slot, *closes_on_failure)
        self._what_opens = what_opens
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()
        self._slot.wake()

    def run(self) -> None:
        try:
            self._open()
        except Exception as e:
            for slot in self._closes_on_failure:
                slot.close()  # nobody will take frames: the stages around must not wait for us
            self._on_error(f"{self._what_opens} could not start: {e}")
            return
        last_error = None
        try:
            while (item := self._slot.take(self.stopping)) is not None:
                if isinstance(item, SourceEnd):
                    self._on_end(item)
                    continue
                try:
                    self._on_output(self._work(item))  # the recorder writes here and reports its own write errors
                except Exception as e:
                    message = f"{type(e).__name__}: {e}"
                    if message != last_error:  # once per fault, not once per frame
                        index = getattr(getattr(item, "frame", item), "index", "?")
                        self._on_error(f"frame {index} could not be processed: {message}")
                    last_error = message
                    continue
                last_error = None
        finally:
            self._close()
