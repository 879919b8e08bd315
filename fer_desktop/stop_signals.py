"""Ctrl-C, a closed terminal (SIGHUP) and a job scheduler (SIGTERM) all mean "stop": one handler for the three.

Handlers run in the main thread only, so this is used there: by the command
line during start-up and by a headless run, each in the mode it needs.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


def exit_code(signum: int | str) -> int:
    """What a shell reports for a process stopped by ``signum`` (a number or a name such as "SIGTERM"): 128 + it."""
    return 128 + int(signal.Signals[signum] if isinstance(signum, str) else signum)


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived while there was nothing yet to save."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


def interrupting_signal(error: BaseException) -> int | None:
    """The stop signal behind ``error``, if any: one that arrives inside an import of a compiled module
    comes out as that module's ``ImportError``, caused by the ``KeyboardInterrupt``."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return getattr(error, "signum", signal.SIGINT)
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


class StopSignals:
    """Where the stop signals go; ``mode`` may change while installed.

    - ``"raise"``: the first raises ``Interrupted`` (start-up: nothing to save yet);
    - ``"flag"``: remembered in ``received`` for a loop to notice (a run saves what it has);
    - ``"ignore"``: the work is done and its files are being written; a late signal changes nothing.

    Only the first signal counts, so pressing Ctrl-C twice never interrupts the clean-up of the first.
    """

    def __init__(self, mode: str = "raise") -> None:
        self.mode = mode
        self.received: int | None = None

    def _handle(self, signum: int, _: FrameType | None) -> None:
        if self.received is not None or self.mode == "ignore":
            return
        self.received = signum
        if self.mode == "raise":
            raise Interrupted(signum)


@contextmanager
def handling_stop_signals(mode: str = "raise", signals: Sequence[int] = STOP_SIGNALS) -> Iterator[StopSignals]:
    """Install a ``StopSignals`` for the block and restore the previous handlers after it."""
    handlers = StopSignals(mode)
    with stop_signals_call(handlers._handle, signals):
        yield handlers


@contextmanager
def stop_signals_call(handler: Callable[[int, FrameType | None], object],
                      signals: Sequence[int] = STOP_SIGNALS) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # Python delivers signals to the main thread only; there, its handlers stay as they are
        return
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
