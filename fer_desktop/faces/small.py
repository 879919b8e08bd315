"""Faces too small for MediaPipe's pass over the whole frame: found on enlarged windows, then followed.

MediaPipe's short-range task sees the frame at 128x128, so a face under about
120 px in a 640x480 frame (someone a few metres from the camera) is never
found. BlazeFace finds faces 24-190 px high in its input, wherever they lie
(fer_desktop/faces/blazeface.py), so the frame is searched at two zooms:
twice enlarged for faces 16-64 px high, halved for 64-380 px. A search of the
whole frame at 2x costs about 75 of MediaPipe's passes, too much for every
frame, so a video is searched one window (128x128 frame pixels, 256x256 at 2x)
per frame where MediaPipe's pass found no face: a sweep of a 640x480 frame
takes 49 frames, under 2 s at 30 fps. Where it found one, a far face may still
sit beside the near one, so the sweep goes on one window every
SWEEP_EVERY_WITH_FACES frames (under 40 s at 30 fps), passing over windows
the near faces already fill. A face found is then
looked for every frame in a window around its last box, enlarged so that it is
as big there as MediaPipe's pass likes faces (one 128x128 pass a face). A still
image is searched whole at once.

A new face must pass the landmark model's second look before it is reported
(fer_desktop/faces/presence.py), as every face the tracker confirms must.
benchmarks/robustness.py measures what it finds and what it costs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from fer_desktop.faces.blazeface import STRIDE, ConvolutionalBlazeFace
from fer_desktop.faces.detector import Face, iou
from fer_desktop.faces.presence import FacePresence

# (zoom, window side in frame pixels, step between windows). On 60 benchmark faces a size,
# 2x finds 87% of faces 16 px high, 98% at 24 px, 95% at 64 px; 0.5x 87% at 64 px, 98% at 96-128 px.
ZOOMS = ((2.0, 128, 80), (0.5, 640, 320))
LARGEST_INPUT_FACE = 190  # px high in the network's input: no larger face is found at any zoom
FOLLOW_INPUT = 128  # a followed face's window, in network pixels: MediaPipe's own input size
FOLLOW_SIDE = 3.2  # that window's side over the face's: the face 40 px high in it
FOLLOW_PATIENCE = 3  # frames a followed face may be missed before it is let go
MAX_FOLLOWED = 8  # each costs one pass a frame
# With a face in view the sweep takes one window in this many frames. A window costs about 10 ms in the
# headless pipeline (benchmarks/pipeline.py, one face: 171 fps with no sweep, 133 fps with a window every
# 6 frames); with one every 24 frames it ran at 194 fps, and fer-desktop-batch lost about 5%.
SWEEP_EVERY_WITH_FACES = 24
MIN_OVERLAP = 0.3  # IoU at which two boxes are one face
# The landmark model's face presence a new small face must reach. Far above the 0.12 MediaPipe's
# faces need: on enlarged windows of textures the network sees many more face-like things.
# Measured in stills (every window searched) on 340 face-free frames against 100 benchmark
# faces a size: at 0.12, 44 false faces and 96/96/75 faces found at 32/24/16 px; at 0.9,
# 3 false faces and 93/92/59 found.
MIN_PRESENCE = 0.9


@dataclass(frozen=True)
class Window:
    """A region of the frame (top-left corner and size, frame pixels) and its size in the network."""

    x: float
    y: float
    w: float
    h: float
    input_w: int
    input_h: int


@dataclass
class _Followed:
    face: Face
    missed: int = 0


def windows(width: int, height: int) -> list[Window]:
    """One sweep over a frame: every zoom's windows, overlapping by more than the largest face each zoom finds."""
    out = []
    for zoom, side, step in ZOOMS:
        w, h = min(side, width), min(side, height)
        starts = lambda size, span: sorted({min(size - span, s) for s in range(0, size - span + step, step)})  # noqa: E731
        input_w, input_h = (max(STRIDE, round(span * zoom / STRIDE) * STRIDE) for span in (w, h))
        out += [Window(x, y, w, h, input_w, input_h) for y in starts(height, h) for x in starts(width, w)]
    return out


def whole_frame(width: int, height: int, smallest_face: float = 0.0) -> list[Window]:
    """The frame whole at every zoom that can find a face ``smallest_face`` px high or larger: a still image's search."""
    return [Window(0, 0, width, height, *(max(STRIDE, round(span * zoom / STRIDE) * STRIDE) for span in (width, height)))
            for zoom, _, _ in ZOOMS if smallest_face * zoom <= LARGEST_INPUT_FACE]


def follow_window(face: Face) -> Window:
    side = FOLLOW_SIDE * max(face.w, face.h)
    return Window(face.x + face.w / 2 - side / 2, face.y + face.h / 2 - side / 2, side, side, FOLLOW_INPUT, FOLLOW_INPUT)


def filled_by(window: Window, face: Face) -> bool:
    """Whether the face's box covers the window: a smaller face cannot be in it."""
    return (face.x <= window.x and face.y <= window.y
            and window.x + window.w <= face.x + face.w and window.y + window.h <= face.y + face.h)


def overlaps(face: Face, others: Sequence[Face]) -> bool:
    return any(iou(face, other) >= MIN_OVERLAP for other in others)


class SmallFaceFinder:
    """``find(rgb, frame_bgr, known)``: small faces besides ``known`` (MediaPipe's), each passed by the second look.

    ``still_images``: every call is a picture of its own, searched whole; else
    frames of one video, swept a window a frame and followed. ``smallest_face``
    (stills only): faces below this height in frame pixels are not looked for,
    which spares the costly enlarged pass where only larger faces can be.
    """

    def __init__(self, presence: FacePresence | None, still_images: bool = False,
                 network: ConvolutionalBlazeFace | None = None, smallest_face: float = 0.0) -> None:
        self._network = network or ConvolutionalBlazeFace()
        self._presence = presence
        self.still_images = still_images
        self.smallest_face = smallest_face
        self._followed: list[_Followed] = []
        self._sweep: Iterator[Window] = iter(())
        self._frame_size: tuple[int, int] | None = None
        self._windows: list[Window] = []  # one sweep of the current frame size
        self._frames = 0

    def detect(self, rgb: np.ndarray, window: Window) -> list[Face]:
        """The network's faces in one window of the frame, in frame pixels."""
        kx, ky = window.input_w / window.w, window.input_h / window.h
        height, width = rgb.shape[:2]
        x0, y0 = round(window.x), round(window.y)
        if (x0, y0) == (window.x, window.y) and x0 + window.w <= width and y0 + window.h <= height:
            inside = rgb[y0 : y0 + round(window.h), x0 : x0 + round(window.w)]
            image = cv2.resize(inside, (window.input_w, window.input_h),
                               interpolation=cv2.INTER_AREA if kx < 1 else cv2.INTER_LINEAR)
        else:  # a followed face's window may leave the frame: its edge repeats
            matrix = np.float32([[kx, 0, -window.x * kx], [0, ky, -window.y * ky]])
            image = cv2.warpAffine(rgb, matrix, (window.input_w, window.input_h), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
        return [Face(window.x + f.x / kx, window.y + f.y / ky, f.w / kx, f.h / ky, f.score,
                     tuple((window.x + px / kx, window.y + py / ky) for px, py in f.keypoints))
                for f in self._network.detect(image)]

    def find(self, rgb: np.ndarray, frame_bgr: np.ndarray, known: Sequence[Face]) -> list[Face]:
        height, width = rgb.shape[:2]
        if self.still_images:
            return self._new_faces(rgb, frame_bgr, whole_frame(width, height, self.smallest_face), list(known))
        if (width, height) != self._frame_size:
            self._frame_size, self._followed, self._sweep = (width, height), [], iter(())
            self._windows = windows(width, height)
        found = self._follow(rgb, known)
        self._frames += 1
        if not known or self._frames % SWEEP_EVERY_WITH_FACES == 0:
            window = self._next_window(known)
            room = MAX_FOLLOWED - len(self._followed)
            where = [window] if window is not None else []
            new = self._new_faces(rgb, frame_bgr, where, [*known, *found])[: max(0, room)]
            self._followed += [_Followed(face) for face in new]
            found += new
        return found

    def _next_window(self, known: Sequence[Face]) -> Window | None:
        """The sweep's next window that no known face fills (None if they fill them all); sweeps follow each other."""
        for _ in range(2 * len(self._windows)):
            window = next(self._sweep, None)
            if window is None:
                self._sweep = iter(self._windows)
            elif not any(filled_by(window, face) for face in known):
                return window
        return None

    def _follow(self, rgb: np.ndarray, known: Sequence[Face]) -> list[Face]:
        found, kept = [], []
        for followed in self._followed:
            if overlaps(followed.face, known):
                continue  # grown big enough for MediaPipe's pass: its box from now on
            best = max(self.detect(rgb, follow_window(followed.face)), key=lambda f: iou(f, followed.face), default=None)
            if best is not None and iou(best, followed.face) >= MIN_OVERLAP and not overlaps(best, found):
                followed.face, followed.missed = best, 0
                found.append(best)
            else:
                followed.missed += 1
            if followed.missed <= FOLLOW_PATIENCE:
                kept.append(followed)
        self._followed = kept
        return found

    def _new_faces(self, rgb: np.ndarray, frame_bgr: np.ndarray, where: Sequence[Window],
                   known: list[Face]) -> list[Face]:
        new: list[Face] = []
        candidates = sorted((f for w in where for f in self.detect(rgb, w)), key=lambda f: f.score, reverse=True)
        for face in candidates:
            if not overlaps(face, known + new) and (
                    self._presence is None or self._presence.score(frame_bgr, face) >= MIN_PRESENCE):
                new.append(face)
        return new

