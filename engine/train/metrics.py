"""Detection and tracking metrics.

Detection: a ground-truth box counts when at least ``min_visible`` of the garment is visible;
less visible ones are "don't care" (a detection on them is neither a hit nor a false alarm),
as MOT benchmarks treat heavily occluded objects. Matching is one-to-one at IoU >= 0.5
(Hungarian, scipy). Tracking: MOTA, IDF1 and ID switches from motmetrics.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from engine.geometry import iou_matrix


def match(det: np.ndarray, gt: np.ndarray, thr: float = 0.5) -> list[tuple[int, int]]:
    """One-to-one matches (det row, gt row) with IoU >= thr, maximising total IoU."""
    iou = iou_matrix(det, gt)
    if iou.size == 0:
        return []
    rows, cols = linear_sum_assignment(-iou)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if iou[r, c] >= thr]


def match_frame(det: np.ndarray, gt: np.ndarray, visible: np.ndarray, min_visible: float = 0.5,
                thr: float = 0.5) -> tuple[int, int, int, np.ndarray]:
    """(true positives, misses, false alarms, per-detection outcome) on one frame.
    Outcome per detection: 1 hit, 0 false alarm, -1 don't care (matched a hidden garment)."""
    pairs = match(det, gt, thr)
    care = np.asarray(visible) >= min_visible
    outcome = np.zeros(len(det), np.int64)
    hit_gt = set()
    for d, g in pairs:
        outcome[d] = 1 if care[g] else -1
        if care[g]:
            hit_gt.add(g)
    tp = len(hit_gt)
    fn = int(care.sum()) - tp
    fp = int((outcome == 0).sum())
    return tp, fn, fp, outcome


def average_precision(scores: np.ndarray, hits: np.ndarray, n_positive: int) -> float:
    """Area under the interpolated precision-recall curve (VOC/COCO style, all points)."""
    if n_positive == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores), kind="stable")
    h = np.asarray(hits)[order]
    tp = np.cumsum(h == 1)
    fp = np.cumsum(h == 0)
    recall = tp / n_positive
    precision = tp / np.maximum(tp + fp, 1)
    mrec = np.concatenate([[0.0], recall, [recall[-1] if len(recall) else 0.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))
