"""Face-free video: pictures and patterns with no face in them, moving and zooming over a frame.

Animals, objects, scenes and textures that scikit-image ships (none shows a
person: its ``astronaut`` and ``camera`` are left out), plus generated colour
wheels, gradients, noise, stripes and shapes. Each source becomes a clip in
which the picture drifts and zooms; the same seed gives the same frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import cv2
import numpy as np
from skimage import data

FRAME_SIZE = (640, 480)
# scikit-image's sample pictures that show no human face (checked by eye, one by one).
SKIMAGE_PICTURES = (
    "chelsea", "coffee", "rocket", "colorwheel", "coins", "moon", "horse", "hubble_deep_field",
    "immunohistochemistry", "page", "text", "brick", "grass", "gravel", "clock", "logo", "retina",
    "stereo_motorcycle", "cell", "binary_blobs", "checkerboard", "shepp_logan_phantom",
)


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Any scikit-image picture (grey, RGB, RGBA, bool or float) as uint8 BGR."""
    if image.dtype != np.uint8:
        image = (np.clip(image.astype(np.float64) / max(1e-9, float(image.max())), 0, 1) * 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2BGR)
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)


def skimage_picture(name: str) -> np.ndarray:
    picture = data.binary_blobs(rng=0) if name == "binary_blobs" else getattr(data, name)()  # the one drawn at random
    return as_bgr(picture[0] if isinstance(picture, tuple) else picture)


def colour_wheel(size: int = 400) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - size / 2
    hue = ((np.arctan2(yy, xx) + math.pi) / (2 * math.pi) * 179).astype(np.uint8)
    sat = np.clip(np.hypot(xx, yy) / (size / 2) * 255, 0, 255).astype(np.uint8)
    hsv = np.dstack([hue, sat, np.full_like(hue, 255)])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def gradient(rng: np.random.Generator, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if rng.random() < 0.5:
        t = (xx / w * rng.uniform(-1, 1) + yy / h * rng.uniform(-1, 1))
    else:
        t = np.hypot(xx - rng.uniform(0, w), yy - rng.uniform(0, h)) / max(h, w)
    t = (t - t.min()) / max(1e-6, float(np.ptp(t)))
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    return (a + t[..., None] * (b - a)).astype(np.uint8)


def smooth_noise(rng: np.random.Generator, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """Noise at several scales (clouds, stone, foliage), in colour."""
    h, w = size
    out = np.zeros((h, w, 3), np.float32)
    for cells in (4, 16, 64, 256):
        layer = rng.normal(0, 1, (max(2, h * cells // w), cells, 3)).astype(np.float32)
        out += cv2.resize(layer, (w, h), interpolation=cv2.INTER_CUBIC) * (64 / math.sqrt(cells))
    out = (out - out.min()) / max(1e-6, float(np.ptp(out)))
    return (out * 255).astype(np.uint8)


def white_noise(rng: np.random.Generator, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    return rng.integers(0, 256, (*size, 3), dtype=np.uint8)


def stripes(rng: np.random.Generator, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle, period = rng.uniform(0, math.pi), rng.uniform(8, 60)
    wave = np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period)
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    return (a + ((wave[..., None] + 1) / 2) * (b - a)).astype(np.uint8)


def shapes(rng: np.random.Generator, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """Random filled circles, rectangles and polygons on a plain ground."""
    h, w = size
    image = np.full((h, w, 3), rng.integers(0, 256, 3), np.uint8)
    for _ in range(int(rng.integers(8, 30))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = rng.integers(0, 3)
        if kind == 0:
            centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            cv2.circle(image, centre, int(rng.integers(5, 80)), colour, -1, cv2.LINE_AA)
        elif kind == 1:
            p = rng.integers(0, (w, h), (2, 2))
            cv2.rectangle(image, tuple(int(v) for v in p[0]), tuple(int(v) for v in p[1]), colour, -1)
        else:
            points = rng.integers(0, (w, h), (int(rng.integers(3, 7)), 2)).astype(np.int32)
            cv2.fillPoly(image, [points], colour, cv2.LINE_AA)
    return image


GENERATED: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "gradient": gradient, "smooth noise": smooth_noise, "white noise": white_noise,
    "stripes": stripes, "shapes": shapes,
}


def sources(seed: int = 0) -> Iterator[tuple[str, np.ndarray]]:
    """(name, BGR picture) for every face-free source: scikit-image's, then generated ones (two of each)."""
    for name in SKIMAGE_PICTURES:
        yield name, skimage_picture(name)
    yield "colour wheel (drawn)", colour_wheel()
    rng = np.random.default_rng(seed)
    for name, make in GENERATED.items():
        for k in range(2):
            yield f"{name} {k + 1}", make(rng)


def clip(picture: np.ndarray, frames: int, seed: int, size: tuple[int, int] = FRAME_SIZE) -> Iterator[np.ndarray]:
    """``frames`` frames of ``picture`` drifting and zooming (0.5x to 2x its fitted size) over a grey frame."""
    rng = np.random.default_rng(seed)
    width, height = size
    fit = min(width / picture.shape[1], height / picture.shape[0])
    phase = rng.uniform(0, 2 * math.pi, 3)
    ground = np.full((height, width, 3), int(rng.integers(20, 200)), np.uint8)
    for i in range(frames):
        t = i / max(1, frames - 1)
        scale = fit * 2 ** (math.sin(2 * math.pi * t + phase[0]))  # 0.5x .. 2x
        cx = width / 2 + 0.3 * width * math.sin(2 * math.pi * t + phase[1])
        cy = height / 2 + 0.3 * height * math.sin(2 * math.pi * t + phase[2])
        matrix = np.float32([[scale, 0, cx - scale * picture.shape[1] / 2], [0, scale, cy - scale * picture.shape[0] / 2]])
        frame = ground.copy()
        cv2.warpAffine(picture, matrix, size, dst=frame, flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_TRANSPARENT)
        yield frame


def face_free_clips(frames_per_clip: int = 30, seed: int = 0) -> Iterator[tuple[str, Iterator[np.ndarray]]]:
    """(source name, its frames) for every source; 34 sources."""
    for k, (name, picture) in enumerate(sources(seed)):
        yield name, clip(picture, frames_per_clip, seed * 1000 + k)
