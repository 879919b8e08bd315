"""A 48x48 FER-2013 face placed into a webcam frame, then degraded the way a webcam and a room degrade it.

Every function takes the frame and a ``numpy`` generator and returns a new
frame; the same seed gives the same pixels. Strengths are in the units a user
would name: light as a fraction of normal exposure, blur in pixels of the
48x48 crop (so a strength means the same whatever the face's size), faces
by their height in the frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from fer_desktop.emotions import FACE_SIZE
from fer_desktop.faces import FER_DX, FER_DY, FER_SCALE, Face

FRAME_SIZE = (640, 480)  # width, height: what most webcams deliver by default
# A face at a desk, as the detector boxes it, in frame pixels. The short-range BlazeFace
# the app ships finds 25% of FER-2013 faces 120 px high in a 640x480 frame, 76% at 200 px
# and 90% at 260 px (100 PublicTest faces, this module's rendering).
FACE_HEIGHTS = (200, 280)
FULL_WELL = 2000.0  # electrons at full scale: a cheap webcam's small pixels
READ_NOISE = 4.0  # electrons
GAMMA = 2.2


@dataclass(frozen=True)
class Placement:
    """Where the face lies in the frame: the detector-style box it should be found at."""

    box: Face  # x, y, w, h of the face box (score 1)

    @property
    def centre(self) -> tuple[float, float]:
        return self.box.x + self.box.w / 2, self.box.y + self.box.h / 2

    @property
    def crop_pixel(self) -> float:
        """Frame pixels per pixel of the 48x48 crop the app would take."""
        return FER_SCALE * self.box.h / FACE_SIZE


def backdrop(rng: np.random.Generator, size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """A plain room wall: a muted colour, a soft light gradient and faint blotches; BGR uint8.

    Made at 1/16 of the size and enlarged: a wall has no fine detail, and it is cheap.
    """
    width, height = size
    small_w, small_h = max(2, width // 16), max(2, height // 16)
    colour = rng.uniform(90, 170, 3).astype(np.float32)
    yy, xx = np.mgrid[0:small_h, 0:small_w].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = 1 + 0.25 * ((xx / small_w - 0.5) * math.cos(angle) + (yy / small_h - 0.5) * math.sin(angle))
    blotches = cv2.resize(rng.normal(0, 6, (max(2, small_h // 2), max(2, small_w // 2))).astype(np.float32),
                          (small_w, small_h), interpolation=cv2.INTER_LINEAR)
    wall = np.clip(ramp[..., None] * colour + blotches[..., None], 0, 255)
    return cv2.resize(wall, size, interpolation=cv2.INTER_LINEAR).astype(np.uint8)


def place_face(face: np.ndarray, face_height: float, rng: np.random.Generator,
               size: tuple[int, int] = FRAME_SIZE) -> tuple[np.ndarray, Placement]:
    """``face`` (48x48 uint8, FER-framed) upscaled so its face box is ``face_height`` high, on a wall.

    The crop's square border is feathered into the wall: a hard-edged square
    would be a cue no real frame has.
    """
    width, height = size
    side = max(4, round(FER_SCALE * face_height))
    patch = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC if side > FACE_SIZE else cv2.INTER_AREA)
    x0 = int(rng.integers(0, width - side + 1))
    y0 = int(rng.integers(0, height - side + 1))
    frame = backdrop(rng, size)
    ramp = np.minimum(np.arange(side) + 0.5, side - 0.5 - np.arange(side)) / max(1.0, 0.08 * side)
    edge = np.clip(ramp, 0, 1).astype(np.float32)
    alpha = np.minimum(edge[:, None], edge[None, :])[..., None]
    region = frame[y0 : y0 + side, x0 : x0 + side].astype(np.float32)
    frame[y0 : y0 + side, x0 : x0 + side] = (alpha * patch[..., None] + (1 - alpha) * region + 0.5).astype(np.uint8)
    # The inverse of fer_box: the square is the face box scaled and shifted.
    h = side / FER_SCALE
    cx = x0 + side / 2 - FER_DX * h
    cy = y0 + side / 2 - FER_DY * h
    return frame, Placement(Face(cx - h / 2, cy - h / 2, h, h, 1.0))


_NORMALS: list[np.ndarray] = []  # one bank of standard normal numbers, made on first use


def standard_normal(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """White Gaussian noise of ``shape``: a slice of a fixed bank at an offset drawn from ``rng``.

    Drawing a whole frame's noise anew takes tens of milliseconds; a slice is free,
    and the offsets keep one frame's noise unlike the next one's.
    """
    if not _NORMALS:
        _NORMALS.append(np.random.default_rng(20261202).standard_normal(4 * FRAME_SIZE[0] * FRAME_SIZE[1] * 3,
                                                                        np.float32))
    bank, n = _NORMALS[0], math.prod(shape)
    if n > len(bank):
        return rng.standard_normal(shape, np.float32)
    start = int(rng.integers(0, len(bank) - n + 1))
    return bank[start : start + n].reshape(shape)


def low_light(exposure: float) -> Callable[[np.ndarray, Placement, np.random.Generator], np.ndarray]:
    """A fraction of the light, with the shot and read noise a sensor adds, and a camera's partial auto-gain.

    Shot noise is drawn as Gaussian with the Poisson variance (exact enough above a few electrons, and
    ten times faster on a whole frame).
    """
    mean_electrons = (np.arange(256, dtype=np.float32) / 255) ** GAMMA * exposure * FULL_WELL
    sigma_electrons = np.sqrt(mean_electrons + READ_NOISE**2)
    gain = exposure**-0.5  # auto-exposure lifts the signal half-way (in stops) back, and the noise with it
    levels = 1024
    encode = ((np.arange(levels, dtype=np.float32) / (levels - 1)) ** (1 / GAMMA) * 255 + 0.5).astype(np.uint8)

    def apply(frame: np.ndarray, _: Placement, rng: np.random.Generator) -> np.ndarray:
        electrons = mean_electrons[frame] + sigma_electrons[frame] * standard_normal(frame.shape, rng)
        level = np.clip(electrons * (gain * (levels - 1) / FULL_WELL) + 0.5, 0, levels - 1).astype(np.int16)
        return encode[level]

    return apply


def gaussian_noise(sigma: float) -> Callable[[np.ndarray, Placement, np.random.Generator], np.ndarray]:
    def apply(frame: np.ndarray, _: Placement, rng: np.random.Generator) -> np.ndarray:
        noisy = frame + sigma * standard_normal(frame.shape, rng)
        return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)

    return apply


def around_face(frame: np.ndarray, where: Placement, margin: float,
                filter_: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``filter_`` applied to the face and ``margin`` pixels around it; the plain wall beyond is left as it is."""
    b = where.box
    pad = FER_SCALE * b.h / 2 + margin
    cx, cy = where.centre
    x0, y0 = max(0, int(cx - pad)), max(0, int(cy - pad))
    x1, y1 = min(frame.shape[1], int(cx + pad) + 1), min(frame.shape[0], int(cy + pad) + 1)
    out = frame.copy()
    out[y0:y1, x0:x1] = filter_(frame[y0:y1, x0:x1])
    return out


def gaussian_blur(sigma48: float) -> Callable[[np.ndarray, Placement, np.random.Generator], np.ndarray]:
    """Out of focus, Gaussian: ``sigma48`` pixels of the 48x48 crop."""

    def apply(frame: np.ndarray, where: Placement, _: np.random.Generator) -> np.ndarray:
        sigma = sigma48 * where.crop_pixel
        return around_face(frame, where, 4 * sigma,
                           lambda roi: cv2.GaussianBlur(roi, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE))

    return apply


def defocus(radius48: float) -> Callable[[np.ndarray, Placement, np.random.Generator], np.ndarray]:
    """Out of focus, a lens's disk: ``radius48`` pixels of the 48x48 crop."""

    def apply(frame: np.ndarray, where: Placement, _: np.random.Generator) -> np.ndarray:
        r = max(0.5, radius48 * where.crop_pixel)
        k = int(math.ceil(r))
        yy, xx = np.mgrid[-k : k + 1, -k : k + 1]
        disk = (xx**2 + yy**2 <= r * r).astype(np.float32)
        return around_face(frame, where, 2 * r,
                           lambda roi: cv2.filter2D(roi, -1, disk / disk.sum(), borderType=cv2.BORDER_REPLICATE))

    return apply


def motion_blur(length48: float) -> Callable[[np.ndarray, Placement, np.random.Generator], np.ndarray]:
    """A head or camera moving during the exposure: a line ``length48`` crop pixels long, at a random angle."""

    def apply(frame: np.ndarray, where: Placement, rng: np.random.Generator) -> np.ndarray:
        length = max(2.0, length48 * where.crop_pixel)
        k = int(math.ceil(length / 2))
        kernel = np.zeros((2 * k + 1, 2 * k + 1), np.float32)
        angle = rng.uniform(0, math.pi)
        dx, dy = math.cos(angle) * length / 2, math.sin(angle) * length / 2
        cv2.line(kernel, (round(k - dx), round(k - dy)), (round(k + dx), round(k + dy)), 1.0, 1, cv2.LINE_AA)
        return around_face(frame, where, 2 * k,
                           lambda roi: cv2.filter2D(roi, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REPLICATE))

    return apply


def jpeg(quality: int) -> Callable[[np.ndarray, Placement, np.random.Generator], np.ndarray]:
    def apply(frame: np.ndarray, _: Placement, __: np.random.Generator) -> np.ndarray:
        ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        return cv2.imdecode(data, cv2.IMREAD_COLOR)

    return apply


def roll(degrees: float) -> Callable[[np.ndarray, Placement, np.random.Generator], np.ndarray]:
    """The head tilted sideways by ``degrees``, left or right at random, about the face's centre."""

    def apply(frame: np.ndarray, where: Placement, rng: np.random.Generator) -> np.ndarray:
        angle = degrees if rng.random() < 0.5 else -degrees
        matrix = cv2.getRotationMatrix2D(where.centre, angle, 1.0)
        return cv2.warpAffine(frame, matrix, frame.shape[1::-1], flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)

    return apply


def yaw(degrees: float) -> Callable[[np.ndarray, Placement, np.random.Generator], np.ndarray]:
    """The head turned by ``degrees``, as a perspective warp: narrower, and the far side shorter."""

    def apply(frame: np.ndarray, where: Placement, rng: np.random.Generator) -> np.ndarray:
        cx, cy = where.centre
        half = where.box.h / 2
        a = math.radians(degrees)
        narrow = half * math.cos(a)
        far = half * (1 - 0.3 * math.sin(a))
        src = np.float32([[cx - half, cy - half], [cx + half, cy - half], [cx + half, cy + half], [cx - half, cy + half]])
        dst = np.float32([[cx - narrow, cy - half], [cx + narrow, cy - far], [cx + narrow, cy + far], [cx - narrow, cy + half]])
        if rng.random() < 0.5:  # turned the other way
            dst[:, 0] = 2 * cx - dst[:, 0]
            dst = dst[[1, 0, 3, 2]]
        matrix = cv2.getPerspectiveTransform(src, dst)
        warped = cv2.warpPerspective(frame, matrix, frame.shape[1::-1], flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE)
        # Only the head turns: far from it a homography would smear the wall.
        near = np.zeros(frame.shape[:2], np.uint8)
        r = 1.4 * half
        near[max(0, round(cy - r)) : round(cy + r), max(0, round(cx - r)) : round(cx + r)] = 1
        return np.where(near[..., None] == 1, warped, frame)

    return apply


def occlusion(width_share: float) -> Callable[[np.ndarray, Placement, np.random.Generator], np.ndarray]:
    """A hand over the mouth or one cheek: a shaded skin-coloured ellipse ``width_share`` of the face wide."""

    def apply(frame: np.ndarray, where: Placement, rng: np.random.Generator) -> np.ndarray:
        box = where.box
        spot = [(0.5, 0.8), (0.25, 0.62), (0.75, 0.62)][int(rng.integers(0, 3))]  # mouth, either cheek
        centre = (box.x + spot[0] * box.w, box.y + spot[1] * box.h)
        axes = (width_share * box.w / 2, 0.7 * width_share * box.h / 2)
        mask = np.zeros(frame.shape[:2], np.float32)
        cv2.ellipse(mask, (round(centre[0]), round(centre[1])), (max(1, round(axes[0])), max(1, round(axes[1]))),
                    rng.uniform(-30, 30), 0, 360, 1.0, -1, cv2.LINE_AA)
        skin = np.float32([rng.uniform(90, 150), rng.uniform(120, 170), rng.uniform(160, 220)])  # BGR
        shade = 0.8 + 0.4 * (np.arange(frame.shape[0], dtype=np.float32) - centre[1])[:, None, None] / max(1.0, box.h)
        hand = np.clip(skin * shade, 0, 255)
        out = frame.astype(np.float32) * (1 - mask[..., None]) + hand * mask[..., None]
        return (out + 0.5).astype(np.uint8)

    return apply


def chain(*steps: Callable[[np.ndarray, Placement, np.random.Generator], np.ndarray]
          ) -> Callable[[np.ndarray, Placement, np.random.Generator], np.ndarray]:
    def apply(frame: np.ndarray, where: Placement, rng: np.random.Generator) -> np.ndarray:
        for step in steps:
            frame = step(frame, where, rng)
        return frame

    return apply


def unchanged(frame: np.ndarray, _: Placement, __: np.random.Generator) -> np.ndarray:
    return frame


@dataclass(frozen=True)
class Condition:
    """One condition at one strength: the face's height range in the frame, then what happens to the frame."""

    name: str
    level: str
    degrade: Callable[[np.ndarray, Placement, np.random.Generator], np.ndarray] = unchanged
    face_heights: tuple[float, float] = FACE_HEIGHTS
    # When set, the frame is made with the face this many pixels high, degraded at that
    # size and then enlarged to the usual face size: what the classifier gets from a small
    # face, without asking a detector for faces it was not made to find.
    render_height: float | None = None

    @property
    def key(self) -> str:
        return f"{self.name} {self.level}".strip()


def conditions() -> list[Condition]:
    """Every condition of the benchmark, each at two or three strengths, clean first."""
    small = lambda h: (h, h)  # noqa: E731
    return [
        Condition("clean", ""),
        *(Condition("low light", f"{f}", low_light(e)) for f, e in (("1/4", 1 / 4), ("1/8", 1 / 8), ("1/16", 1 / 16))),
        *(Condition("noise", f"sigma {s}", gaussian_noise(s)) for s in (8, 16, 24)),
        *(Condition("small face", f"{h} px", face_heights=small(h)) for h in (32, 24, 16)),
        *(Condition("low resolution", f"{h} px", render_height=h) for h in (32, 24, 16)),
        *(Condition("blur", f"sigma {s} px@48", gaussian_blur(s)) for s in (0.6, 1.2, 2.0)),
        *(Condition("defocus", f"r {r} px@48", defocus(r)) for r in (1.0, 2.0)),
        *(Condition("motion blur", f"{n} px@48", motion_blur(n)) for n in (3, 6)),
        *(Condition("jpeg", f"q{q}", jpeg(q)) for q in (30, 15, 8)),
        *(Condition("roll", f"{d} deg", roll(d)) for d in (10, 20, 30)),
        *(Condition("yaw", f"{d} deg", yaw(d)) for d in (20, 35, 50)),
        *(Condition("occlusion", f"{int(w * 100)}% wide", occlusion(w)) for w in (0.3, 0.45, 0.6)),
        Condition("dim+small+noisy", "1/4, 32 px, sigma 6", chain(low_light(1 / 4), gaussian_noise(6)), render_height=32),
        Condition("dim+small+noisy", "1/8, 24 px, sigma 10", chain(low_light(1 / 8), gaussian_noise(10)), render_height=24),
    ]


Seed = int | Sequence[int]


def degraded_clip(face: np.ndarray, condition: Condition, seed: Seed, frames: int
                  ) -> tuple[list[np.ndarray], Placement]:
    """``frames`` frames of one still face under one condition, the noise fresh in each; the same seed, the same clip."""
    rng = np.random.default_rng(seed)
    height = rng.uniform(*condition.face_heights)
    scale = 1.0 if condition.render_height is None else condition.render_height / height
    size = (round(FRAME_SIZE[0] * scale), round(FRAME_SIZE[1] * scale))
    frame, where = place_face(face, height * scale, rng, size)
    clip = []
    for _ in range(frames):
        out = condition.degrade(frame, where, rng)
        clip.append(out if scale == 1.0 else cv2.resize(out, FRAME_SIZE, interpolation=cv2.INTER_LINEAR))
    b = where.box
    return clip, Placement(Face(b.x / scale, b.y / scale, b.w / scale, b.h / scale, 1.0))


def degraded_frame(face: np.ndarray, condition: Condition, seed: Seed) -> tuple[np.ndarray, Placement]:
    """The frame for one face under one condition; the same seed gives the same frame."""
    clip, where = degraded_clip(face, condition, seed, 1)
    return clip[0], where
