"""Association costs and assignment: IoU, appearance, category; Hungarian from scipy."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from engine.geometry import iou_matrix

INF = 1e6


def appearance(frame_bgr: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """A colour signature per box: an HSV histogram of its inner part (8x4x4 bins), as
    square roots so that a dot product is the Bhattacharyya coefficient (1 = identical)."""
    out = np.zeros((len(boxes), 128), np.float32)
    h, w = frame_bgr.shape[:2]
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        bw, bh = x2 - x1, y2 - y1
        xa, xb = int(max(0, x1 + 0.15 * bw)), int(min(w, x2 - 0.15 * bw))
        ya, yb = int(max(0, y1 + 0.15 * bh)), int(min(h, y2 - 0.15 * bh))
        if xb - xa < 2 or yb - ya < 2:
            continue
        crop = frame_bgr[ya:yb, xa:xb]
        if crop.shape[0] * crop.shape[1] > 4096:  # a few thousand pixels are plenty
            f = np.sqrt(4096 / (crop.shape[0] * crop.shape[1]))
            crop = cv2.resize(crop, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
        s = hist.sum()
        if s > 0:
            out[i] = np.sqrt(hist / s)
    return out


def appearance_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - Bhattacharyya coefficient: 0 for the same colours, 1 for disjoint ones."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    return np.clip(1.0 - a @ b.T, 0.0, 1.0)


def center_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance between centres, in units of the first box's height."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    ca = (a[:, None, :2] + a[:, None, 2:]) / 2
    cb = (b[None, :, :2] + b[None, :, 2:]) / 2
    h = np.maximum(a[:, None, 3] - a[:, None, 1], 1.0)
    return np.linalg.norm(ca - cb, axis=2) / h


def assign(cost: np.ndarray, max_cost: float) -> tuple[list[tuple[int, int]], list[int],
                                                        list[int]]:
    """Minimum-cost matches under ``max_cost``; unmatched rows and columns."""
    if cost.size == 0:
        return [], list(range(cost.shape[0])), list(range(cost.shape[1]))
    rows, cols = linear_sum_assignment(cost)
    pairs = [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] <= max_cost]
    mr = {r for r, _ in pairs}
    mc = {c for _, c in pairs}
    return (pairs, [r for r in range(cost.shape[0]) if r not in mr],
            [c for c in range(cost.shape[1]) if c not in mc])


__all__ = ["INF", "appearance", "appearance_distance", "assign", "center_distance", "iou_matrix"]
