"""Where frames come from: a camera index, a video file, a stream URL or the built-in demo."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

# FFmpeg's own log ("[tcp @ 0x...] Connection ... failed", "[h264 @ 0x...] error while decoding") is read by
# OpenCV when its FFmpeg backend first starts: the app says what went wrong in its own sentence instead.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET; set it to debug a stream

import cv2  # noqa: E402
import numpy as np  # noqa: E402

DEMO = "demo"
# A live device that fails this many reads in a row has gone (unplugged, stream cut).
MAX_FAILED_READS = 5
# A file that fails this many reads in a row has ended (or is broken beyond); fewer are frames that do not
# decode (a damaged or cut recording), skipped: the frames after them are still read.
MAX_UNDECODABLE_FRAMES = 30
STREAM_TIMEOUT_MS = 2000


class SourceError(RuntimeError):
    """A source cannot be opened or stopped delivering; the message says which and why."""


class FrameSource(Protocol):
    name: str
    fps: float  # nominal frame rate
    live: bool  # frames arrive at the device's own pace (camera, stream)
    frame_count: int | None
    # A source may also count ``frames_skipped``: a file's frames that did not decode, before one that did.

    def read(self) -> np.ndarray | None:
        """The next BGR frame, None at the end; raises SourceError when a live device fails."""

    def close(self) -> None: ...


class VideoCaptureSource:
    """A camera, file or stream read through OpenCV."""

    def __init__(self, capture: cv2.VideoCapture, name: str, live: bool) -> None:
        self._capture, self.name, self.live = capture, name, live
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1.0 <= fps <= 240.0 else 30.0
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = None if live or count <= 0 else count
        self.frames_skipped = 0
        # Read one frame now so that a file OpenCV "opens" but cannot decode fails at open time (a live source
        # gets one try: a stream that opens but sends nothing is reported after one read timeout, not five).
        first = self._next(1 if live else MAX_UNDECODABLE_FRAMES)
        if first is None:
            capture.release()
            raise SourceError(f"{name}: opened, but no frame could be read from it")
        self._pending: np.ndarray | None = first

    def read(self) -> np.ndarray | None:
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        frame = self._next(MAX_FAILED_READS if self.live else MAX_UNDECODABLE_FRAMES)
        if frame is None and self.live:
            raise SourceError(f"{self.name} stopped delivering frames (disconnected?)")
        return frame

    def _next(self, attempts: int) -> np.ndarray | None:
        """The next frame that decodes in ``attempts`` reads; a file's failed reads before it count as skipped."""
        for failed in range(attempts):
            ok, frame = self._capture.read()
            if ok and frame is not None:
                if not self.live:
                    self.frames_skipped += failed
                return frame
        return None

    def close(self) -> None:
        self._capture.release()


def open_source(spec: str) -> FrameSource:
    """``0`` (camera index), ``demo``, ``rtsp://...`` / ``http://...`` (stream) or a video file path."""
    spec = spec.strip()
    if spec == DEMO:
        from fer_desktop.pipeline.demo import DemoSource

        return DemoSource()
    if spec.isdigit():
        with quiet_opencv():
            capture = cv2.VideoCapture(int(spec))
        if not capture.isOpened():
            raise SourceError(f"camera {spec}: no camera opens at this index")
        return VideoCaptureSource(capture, f"camera {spec}", live=True)
    if "://" in spec:
        with quiet_opencv():  # a URL that does not answer is our one sentence below, not OpenCV's warnings
            capture = cv2.VideoCapture(
                spec, cv2.CAP_FFMPEG,
                [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_TIMEOUT_MS],
            )
        if not capture.isOpened():
            raise SourceError(f"{spec}: the stream could not be opened (wrong URL, or nothing is serving it)")
        return VideoCaptureSource(capture, spec, live=True)
    path = Path(spec).expanduser()
    if not path.is_file():
        raise SourceError(f"{path}: {not_a_file(path)}")
    with quiet_opencv():
        capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SourceError(f"{path}: not a video OpenCV can read (unknown or broken format)")
    try:
        return VideoCaptureSource(capture, path.name, live=False)
    except SourceError:
        raise SourceError(f"{path}: not a video OpenCV can read (no frame could be decoded)") from None


def not_a_file(path: Path) -> str:
    """Why ``path``, which is not a regular file, is no video file: a few words."""
    if path.is_dir():
        return "is a folder, not a video file"
    if path.exists():  # a named pipe would be waited on for ever, a device read without end
        return "is a pipe or a device, not a video file"
    return "no such video file"


def probe_cameras(skip: Collection[int] = (), max_index: int = 4) -> list[int]:
    """The camera indices in 0..max_index-1 that open and deliver a frame, leaving those in ``skip`` (in use) alone."""
    found = []
    with quiet_opencv():
        for index in range(max_index):
            if index in skip:
                continue
            capture = cv2.VideoCapture(index)
            try:
                if capture.isOpened() and capture.read()[0]:
                    found.append(index)
            finally:
                capture.release()
    return found


@contextmanager
def quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's log while probing: a missing camera is an answer here, not an error."""
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(previous)
