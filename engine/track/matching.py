"""Association costs and assignment: IoU, appearance, category; a Hungarian assignment."""

from __future__ import annotations

import cv2
import numpy as np

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


def min_cost_assignment(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of a minimum-cost complete assignment of the smaller side (the
    Hungarian method with potentials, O(n^2 m)). The same answer as SciPy's
    ``linear_sum_assignment`` (tests compare them), without importing SciPy, which costs the
    player's engine over half a second before its first boxes; trackers' matrices are small."""
    cost = np.asarray(cost, np.float64)
    transposed = cost.shape[0] > cost.shape[1]
    a = cost.T if transposed else cost
    n, m = a.shape
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    p = np.zeros(m + 1, np.int64)  # p[j]: the row (1-based) assigned to column j, 0 = none
    way = np.zeros(m + 1, np.int64)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            cur = a[i0 - 1] - u[i0] - v[1:]
            free = ~used[1:]
            better = free & (cur < minv[1:])
            minv[1:][better] = cur[better]
            way[1:][better] = j0
            cand = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(cand)) + 1
            delta = cand[j1 - 1]
            u[p[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    cols = np.flatnonzero(p[1:])
    rows = p[1:][cols] - 1
    if transposed:
        rows, cols = cols, rows
    order = np.argsort(rows)
    return rows[order].astype(np.int64), cols[order].astype(np.int64)


def assign(cost: np.ndarray, max_cost: float) -> tuple[list[tuple[int, int]], list[int],
                                                        list[int]]:
    """Minimum-cost matches under ``max_cost``; unmatched rows and columns."""
    if cost.size == 0:
        return [], list(range(cost.shape[0])), list(range(cost.shape[1]))
    rows, cols = min_cost_assignment(cost)
    pairs = [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] <= max_cost]
    mr = {r for r, _ in pairs}
    mc = {c for _, c in pairs}
    return (pairs, [r for r in range(cost.shape[0]) if r not in mr],
            [c for c in range(cost.shape[1]) if c not in mc])


__all__ = ["INF", "appearance", "appearance_distance", "assign", "center_distance", "iou_matrix",
           "min_cost_assignment"]
