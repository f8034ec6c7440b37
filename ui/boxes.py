"""Boxes on the video, as the views draw and click them: a track's colour (the video, the
timeline and the track list agree on it) and which box a point falls in."""

from __future__ import annotations

import colorsys

import numpy as np
from PySide6.QtGui import QColor


def track_color(track_id: int) -> QColor:
    """A stable, distinct colour per track (golden-ratio hues)."""
    hue = (0.11 + 0.618033988749895 * max(0, track_id)) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 1.0)
    return QColor(int(r * 255), int(g * 255), int(b * 255))


def hit_test(xyxy: np.ndarray, x: float, y: float, margin: float = 0.0) -> int:
    """Row of the box under video point (x, y), or -1. Where boxes nest (a shirt inside a
    full-length box), the smallest wins, so every box stays clickable."""
    if len(xyxy) == 0:
        return -1
    inside = (
        (xyxy[:, 0] - margin <= x)
        & (x <= xyxy[:, 2] + margin)
        & (xyxy[:, 1] - margin <= y)
        & (y <= xyxy[:, 3] + margin)
    )
    if not inside.any():
        return -1
    area = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
    rows = np.flatnonzero(inside)
    return int(rows[np.argmin(area[rows])])
