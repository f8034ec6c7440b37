"""Shot cuts: a jump in the colour distribution between consecutive frames."""

from __future__ import annotations

import cv2
import numpy as np


class ShotCutDetector:
    """``is_cut(frame)`` is True on the first frame of a new shot.

    Compares HSV histograms (16 hue x 8 saturation x 4 value bins) of consecutive frames,
    shrunk to 96 pixels wide, by Bhattacharyya distance. Camera pans, zooms, lighting drift and
    people walking change it little; a cut to another set changes it a lot.
    """

    def __init__(self, threshold: float = 0.45) -> None:
        if not 0 < threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        self.threshold = threshold
        self._prev: np.ndarray | None = None
        self.last_distance = 0.0

    def reset(self) -> None:
        self._prev = None

    def signature(self, frame_bgr: np.ndarray) -> np.ndarray:
        h, w = frame_bgr.shape[:2]
        small = cv2.resize(frame_bgr, (96, max(1, round(96 * h / w))), interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, [16, 8, 4], [0, 180, 0, 256, 0, 256])
        return cv2.normalize(hist, None).ravel()

    def is_cut(self, frame_bgr: np.ndarray) -> bool:
        sig = self.signature(frame_bgr)
        cut = False
        if self._prev is not None:
            self.last_distance = float(cv2.compareHist(self._prev, sig,
                                                       cv2.HISTCMP_BHATTACHARYYA))
            cut = self.last_distance > self.threshold
        self._prev = sig
        return cut
