"""Box decoding shared by the torch detector and its ONNX export, without torch: YOLO-style
rows to boxes (``postprocess``), the letterbox that feeds the network, and ``to_detections``.
Kept apart so that the engine can run a cached ONNX export without importing torch (starting
the player's engine a second or so sooner)."""

from __future__ import annotations

import cv2
import numpy as np

from engine.types import Detections


def postprocess(pred: np.ndarray, conf: float, iou: float, max_det: int = 100
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's YOLO-style rows (N, 4 + C): cx, cy, w, h, class scores -> (xyxy, score,
    class) after a score threshold and class-wise non-maximum suppression."""
    scores = pred[:, 4:]
    cls = scores.argmax(1)
    conf_all = scores[np.arange(len(scores)), cls]
    keep = conf_all >= conf
    if not keep.any():
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    p, s, c = pred[keep, :4], conf_all[keep], cls[keep]
    xyxy = np.stack([p[:, 0] - p[:, 2] / 2, p[:, 1] - p[:, 3] / 2, p[:, 0] + p[:, 2] / 2,
                     p[:, 1] + p[:, 3] / 2], 1).astype(np.float32)
    order = np.argsort(-s, kind="stable")
    xyxy, s, c = xyxy[order], s[order], c[order]
    kept: list[int] = []
    for k in np.unique(c):
        idx = np.flatnonzero(c == k)
        boxes = [[float(x1), float(y1), float(x2 - x1), float(y2 - y1)]
                 for x1, y1, x2, y2 in xyxy[idx]]
        sel = cv2.dnn.NMSBoxes(boxes, [float(v) for v in s[idx]], conf, iou)
        kept += [int(idx[i]) for i in np.asarray(sel).reshape(-1)]
    kept = sorted(kept, key=lambda i: -s[i])[:max_det]
    return xyxy[kept], s[kept].astype(np.float32), c[kept].astype(np.int64)


class Letterbox:
    """Resize keeping the aspect ratio into (width, height), padding right and bottom."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size

    def __call__(self, bgr: np.ndarray) -> tuple[np.ndarray, float]:
        w, h = self.size
        ih, iw = bgr.shape[:2]
        scale = min(w / iw, h / ih)
        nw, nh = max(1, round(iw * scale)), max(1, round(ih * scale))
        out = np.full((h, w, 3), 114, np.uint8)
        out[:nh, :nw] = cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_AREA)[..., ::-1]
        return out, scale


def to_detections(pred: np.ndarray, scale: float, shape: tuple[int, ...], categories: list[str],
                  conf: float, iou: float) -> Detections:
    xyxy, score, cls = postprocess(pred, conf, iou)
    h, w = shape[:2]
    xyxy = xyxy / scale
    xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
    xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
    names = np.array([categories[c] if 0 <= c < len(categories) else str(c) for c in cls],
                     dtype=object)
    return Detections(xyxy=xyxy, confidence=score, class_id=cls, data={"category": names})
