"""A constant-velocity Kalman filter on (cx, cy, aspect, height), as SORT and ByteTrack use.

Noise scales with the box's height, so a garment near the camera may move more pixels per
frame than one far away."""

from __future__ import annotations

import numpy as np

_STD_POS = 1.0 / 20
_STD_VEL = 1.0 / 160


def xyxy_to_xyah(b: np.ndarray) -> np.ndarray:
    w, h = b[2] - b[0], b[3] - b[1]
    return np.array([b[0] + w / 2, b[1] + h / 2, w / max(h, 1e-6), h], np.float64)


def xyah_to_xyxy(s: np.ndarray) -> np.ndarray:
    w = s[2] * s[3]
    return np.array([s[0] - w / 2, s[1] - s[3] / 2, s[0] + w / 2, s[1] + s[3] / 2])


class KalmanBox:
    """State (cx, cy, a, h, vcx, vcy, va, vh) and its covariance."""

    _F = np.eye(8)
    _F[:4, 4:] = np.eye(4)
    _H = np.eye(4, 8)

    def __init__(self, box_xyxy: np.ndarray) -> None:
        z = xyxy_to_xyah(box_xyxy)
        self.x = np.r_[z, np.zeros(4)]
        h = z[3]
        std = [2 * _STD_POS * h, 2 * _STD_POS * h, 1e-2, 2 * _STD_POS * h,
               10 * _STD_VEL * h, 10 * _STD_VEL * h, 1e-5, 10 * _STD_VEL * h]
        self.P = np.diag(np.square(std))

    def predict(self) -> np.ndarray:
        h = max(self.x[3], 1.0)
        q = np.square([_STD_POS * h, _STD_POS * h, 1e-2, _STD_POS * h,
                       _STD_VEL * h, _STD_VEL * h, 1e-5, _STD_VEL * h])
        self.x = self._F @ self.x
        self.P = self._F @ self.P @ self._F.T + np.diag(q)
        if self.x[3] < 1:
            self.x[3] = 1
        return self.box()

    def update(self, box_xyxy: np.ndarray) -> None:
        z = xyxy_to_xyah(box_xyxy)
        h = max(self.x[3], 1.0)
        r = np.diag(np.square([_STD_POS * h, _STD_POS * h, 1e-1, _STD_POS * h]))
        s = self._H @ self.P @ self._H.T + r
        k = np.linalg.solve(s, (self.P @ self._H.T).T).T
        self.x = self.x + k @ (z - self._H @ self.x)
        self.P = (np.eye(8) - k @ self._H) @ self.P

    def box(self) -> np.ndarray:
        return xyah_to_xyxy(self.x[:4])
