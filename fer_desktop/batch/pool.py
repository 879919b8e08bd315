"""Videos on local worker processes: spawned (never forked), one video at a time each, stoppable mid-video.

Stopping: the command sets ``stop``; the pool sets the workers' shared event
(a task not yet begun returns at once) and sends each worker SIGTERM, which
a running task turns into a KeyboardInterrupt: headless mode then ends the
video early and the task reports it ``interrupted``, its partial CSV deleted.
Workers ignore SIGINT, and SIGTERM between tasks, so a Ctrl-C in the terminal
(sent to every process of the group) goes through the command alone.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

from fer_desktop.batch.task import Settings, VideoResult, analyse_video, worker_classifier

POLL_S = 0.1
WORKER_DIED = ("the worker process analysing it died (this video, or one analysed beside it, crashed it); "
               "run the command again to retry it")

OnFrames = Callable[[int, int], None]  # (video index, frames just done)
OnDone = Callable[[int, VideoResult], None]

# In each worker, set by ``_start_worker``: the channel to the command and the "stop now" flag.
_messages: Any = None
_stopping: Any = None


def run_in_processes(paths: Sequence[str], settings: Settings, workers: int, on_frames: OnFrames,
                     on_done: OnDone, stop: threading.Event) -> None:
    """Analyse ``paths`` on ``workers`` processes; ``on_done`` hears of each video that ends, in this thread.

    Returns when all have ended or, once ``stop`` is set, when the running ones
    have been interrupted; a video never begun gets no ``on_done``. Should a
    worker die, the videos it had not begun go to a fresh pool.
    """
    remaining = list(range(len(paths)))
    while remaining and not stop.is_set():
        remaining = _one_pool(paths, remaining, settings, workers, on_frames, on_done, stop)


def _one_pool(paths: Sequence[str], indices: list[int], settings: Settings, workers: int, on_frames: OnFrames,
              on_done: OnDone, stop: threading.Event) -> list[int]:
    """Run ``indices``; returns those that a dead worker left unbegun."""
    context = mp.get_context("spawn")
    messages, stopping = context.SimpleQueue(), context.Event()
    pids: set[int] = set()
    started: set[int] = set()
    with _signals_ignored():  # the workers spawned here inherit SIG_IGN
        executor = ProcessPoolExecutor(min(workers, len(indices)), mp_context=context,
                                       initializer=_start_worker, initargs=(messages, stopping, settings))
        futures: dict[Future[VideoResult], int] = {executor.submit(_task, i, paths[i], settings): i for i in indices}
    pending = set(futures)
    lost: list[int] = []

    def collect(future: Future[VideoResult]) -> None:
        error = future.exception()
        if error is None:
            on_done(futures[future], future.result())
        elif isinstance(error, KeyboardInterrupt):  # the stop signal landed between two lines of the task
            on_done(futures[future], VideoResult("interrupted"))
        else:  # BrokenProcessPool: a worker died
            lost.append(futures[future])

    try:
        while pending and not stop.is_set() and not lost:
            done, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
            _drain(messages, pids, started, on_frames)
            for future in done:
                collect(future)
        if pending:
            stopping.set()
            for pid in pids:
                _send(pid, signal.SIGTERM)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    _drain(messages, pids, started, on_frames)
    for future in pending:
        if not future.cancelled():
            collect(future)
    for index in lost:
        if index in started:
            on_done(index, VideoResult("failed", error=WORKER_DIED))
    return [i for i in lost if i not in started]


def _start_worker(messages: Any, stopping: Any, settings: Settings) -> None:
    global _messages, _stopping
    _messages, _stopping = messages, stopping
    # MediaPipe's native log (a dozen lines per video) would bury the progress bar; a worker's
    # own errors reach the command as results, and the model's warnings showed when the command loaded it.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        # Loaded here, where SIGTERM is ignored: a stop landing in an import breaks the module for good.
        worker_classifier(settings)
    except Exception:
        pass  # each task will report it
    messages.put(("pid", os.getpid(), 0))


def _task(index: int, path: str, settings: Settings) -> VideoResult:
    _messages.put(("start", index, 0))
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if _stopping.is_set():
            return VideoResult("interrupted")
        result = analyse_video(path, settings, report=lambda n: _messages.put(("frames", index, n)))
        # A failure while stopping is the stop's doing (an interrupted import or read), not the video's.
        return VideoResult("interrupted") if result.status == "failed" and _stopping.is_set() else result
    except KeyboardInterrupt:
        return VideoResult("interrupted")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _drain(messages: Any, pids: set[int], started: set[int], on_frames: OnFrames) -> None:
    while not messages.empty():
        kind, key, frames = messages.get()
        if kind == "pid":
            pids.add(key)
        elif kind == "start":
            started.add(key)
        else:
            on_frames(key, frames)


def _send(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """SIGINT and SIGTERM ignored while workers are spawned: a spawned process inherits SIG_IGN, and Python keeps it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
