"""Videos as Ray tasks: on a local Ray started here, or on an existing cluster at ``address``.

Each task is ``analyse_video``, the very function the local pool runs; it
returns the CSV's bytes and summary, so the outputs are written by the
command, into the same files as a local run. The inputs must lie where the
nodes can read them (a shared path). Ray is an optional extra: ``pip install
'fer-desktop[cluster]'``.
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Sequence

from fer_desktop.batch.pool import POLL_S, OnDone
from fer_desktop.batch.task import Settings, VideoResult, analyse_video


REACH_TIMEOUT_S = 5.0


class ClusterError(RuntimeError):
    """The cluster cannot be reached; the message says what to check."""


def check_address(address: str) -> None:
    """Fail at once where nothing listens at ``host:port`` (Ray itself would retry for minutes)."""
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", or a form Ray checks itself
    try:
        socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT_S).close()
    except OSError as e:
        raise ClusterError(f"--ray {address}: nothing answers there ({e.strerror or e}); start the cluster's head "
                           "(`ray start --head` prints its address) or check the address") from None


def run_on_ray(paths: Sequence[str], settings: Settings, workers: int, address: str | None,
               on_done: OnDone, stop: threading.Event) -> None:
    """Like ``run_in_processes``; progress comes per video as each ends (``on_done``), not per frame."""
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        if address:
            try:
                ray.init(address=address, log_to_driver=False)
            except ConnectionError as e:
                raise ClusterError(f"--ray {address}: {e}") from None
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        for signum, handler in handlers.items():  # Ray's own would end the command without a clean stop
            if handler is not None:
                signal.signal(signum, handler)
    try:
        task = ray.remote(num_cpus=1)(analyse_video)
        refs = {task.remote(path, settings): i for i, path in enumerate(paths)}
        while refs and not stop.is_set():
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=POLL_S)
            for ref in ready:
                index = refs.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as e:  # the node or worker process died
                    result = VideoResult("failed", error=f"the Ray task failed: {str(e).splitlines()[0]}")
                on_done(index, result)
        for ref in refs:
            ray.cancel(ref, force=True)
    finally:
        if started_here:
            ray.shutdown()
