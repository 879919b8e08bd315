"""BlazeFace short-range on ONNX Runtime, at any input size: the detector's own network, decoded here.

MediaPipe's task runs the network on the frame shrunk to 128x128, where a face
smaller than about a fifth of the frame is too small to be found. The network
is convolutional, so here it runs on an image of any size (sides multiples of
16): each cell of its two heads (strides 8 and 16) sees the same neighbourhood
it saw at 128x128, and a face as big as it was trained to find, 25-60 px in
the input, is found wherever it lies. Decoded as MediaPipe decodes the
short-range model (its face_detection_short_range graph): box centre and
keypoints as pixel offsets from the cell's centre, size in pixels, sigmoid
score, then weighted non-maximum suppression at IoU 0.3.

The model is ``assets/face_detection_short_range.onnx``, converted from the
same TFLite file the app ships by ``assets/convert_tflite.py`` (Apache-2.0,
assets/LICENSE-mediapipe.txt).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_desktop.faces.detector import Face
from fer_desktop.faces.sessions import asset_session
from fer_desktop.resources import ASSETS_DIR

CONVOLUTIONAL_MODEL = ASSETS_DIR / "face_detection_short_range.onnx"
STRIDE = 16  # the coarser head's: input sides are multiples of it
HEADS = (("scores_8", "boxes_8", 8), ("scores_16", "boxes_16", 16))
NMS_IOU = 0.3  # MediaPipe's for this model
MIN_SCORE = 0.5


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (x0, y0, x1, y1) box with each row of ``boxes``."""
    w = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = w * h
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-9)


def weighted_nms(scores: np.ndarray, boxes: np.ndarray, points: np.ndarray) -> list[Face]:
    """MediaPipe's weighted suppression: each cluster of overlapping boxes becomes their score-weighted mean.

    ``boxes`` (N, 4) as x0, y0, x1, y1; ``points`` (N, 12): six keypoints' x, y.
    """
    order = np.argsort(-scores)
    scores, boxes, points = scores[order], boxes[order], points[order]
    left = np.ones(len(scores), bool)
    faces = []
    for i in range(len(scores)):
        if not left[i]:
            continue
        cluster = left & (_iou(boxes[i], boxes) > NMS_IOU)
        cluster[i] = True
        left &= ~cluster
        weights = scores[cluster][:, None]
        (x0, y0, x1, y1), keypoints = (weights * boxes[cluster]).sum(0) / weights.sum(), (
            weights * points[cluster]).sum(0) / weights.sum()
        faces.append(Face(float(x0), float(y0), float(x1 - x0), float(y1 - y0), float(scores[i]),
                          tuple((float(keypoints[2 * k]), float(keypoints[2 * k + 1])) for k in range(6))))
    return faces


class ConvolutionalBlazeFace:
    """``detect(rgb)``: the faces in an RGB uint8 image whose sides are multiples of 16, in its pixels."""

    def __init__(self, model_path: Path | str = CONVOLUTIONAL_MODEL, min_score: float = MIN_SCORE) -> None:
        self._session = asset_session(model_path, "face detector")
        self.min_score = min_score
        self._logit_floor = float(np.log(min_score / (1 - min_score)))

    def detect(self, rgb: np.ndarray) -> list[Face]:
        height, width = rgb.shape[:2]
        if height % STRIDE or width % STRIDE:
            raise ValueError(f"image sides must be multiples of {STRIDE}, got {width}x{height}")
        image = (rgb.astype(np.float32) * (2 / 255) - 1)[None]  # -1..1, as MediaPipe feeds it
        outputs = dict(zip([n for head in HEADS for n in head[:2]],
                           self._session.run([n for head in HEADS for n in head[:2]], {"image": image})))
        logits, raw, centres = [], [], []
        for score_name, box_name, stride in HEADS:
            scores, boxes = outputs[score_name][0], outputs[box_name][0]  # (h, w, anchors), (h, w, anchors * 16)
            rows, cols, anchors = scores.shape
            hit = scores > self._logit_floor
            if not hit.any():
                continue
            y, x, a = np.nonzero(hit)
            logits.append(scores[y, x, a])
            raw.append(boxes.reshape(rows, cols, anchors, 16)[y, x, a])
            centres.append(np.stack([(x + 0.5) * stride, (y + 0.5) * stride], 1))
        if not logits:
            return []
        score = 1 / (1 + np.exp(-np.clip(np.concatenate(logits), -100, 100)))
        raw, centre = np.concatenate(raw), np.concatenate(centres)
        cx, cy = raw[:, 0] + centre[:, 0], raw[:, 1] + centre[:, 1]
        half_w, half_h = raw[:, 2] / 2, raw[:, 3] / 2
        boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], 1)
        points = raw[:, 4:16] + np.tile(centre, 6)
        return weighted_nms(score, boxes, points)
