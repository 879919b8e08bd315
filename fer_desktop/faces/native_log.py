"""Keep MediaPipe's native start-up chatter out of the user's terminal.

MediaPipe's C++ side (LiteRT, absl) writes INFO lines and an alignment warning
straight to file descriptor 2 when a detector is made, first runs and is closed;
no environment variable silences them. Around those calls descriptor 2 goes to a
temporary file, and afterwards every line that is not such chatter is written
back, so nothing else printed meanwhile (by any thread) is lost.

The alignment warning is logged once a process, at the first inference whose
internal buffer happens to be unaligned: usually the first, which is filtered,
but in some runs a later one, and then it still shows. Filtering
every frame would put a descriptor swap on the per-frame path; it is not worth it.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

CHATTER = re.compile(
    rb"^(INFO: |WARNING: Logging before InitGoogle\(\)|"
    rb"[IW]\d{4} [\d:.]+ +\d+ inference_runner_litert\.cc:\d+\] Input tensor memory is not aligned)"
)
_lock = threading.Lock()


def _flush_python_stderr() -> None:
    if sys.stderr is not None:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass


@contextmanager
def native_chatter_filtered() -> Iterator[None]:
    """Run the body with descriptor 2 captured; write back what is not MediaPipe's chatter."""
    with _lock:
        _flush_python_stderr()
        try:
            saved = os.dup(2)
        except OSError:  # no descriptor 2 (a windowed Windows process): nothing to filter
            yield
            return
        with tempfile.TemporaryFile() as captured:
            os.dup2(captured.fileno(), 2)
            try:
                yield
            finally:
                _flush_python_stderr()
                os.dup2(saved, 2)
                os.close(saved)
                captured.seek(0)
                kept = b"".join(line for line in captured if not CHATTER.match(line))
                if kept:
                    os.write(2, kept)
