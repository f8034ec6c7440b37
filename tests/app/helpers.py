"""Helpers for the app tests: which rendered frame a painted picture shows."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from bench.synth.marker_clip import render_frame
from engine.framesync import thumbnail


def qimage_to_bgr(image: QImage) -> np.ndarray:
    img = image.convertToFormat(QImage.Format.Format_RGB32)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    arr = np.frombuffer(img.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)
    return arr[:, : w * 4].reshape(h, w, 4)[..., :3].copy()


class FrameOracle:
    """Knows every frame of a marker clip; tells which one a picture shows."""

    def __init__(self, frames: int, width: int, height: int) -> None:
        self.thumbs = np.stack(
            [thumbnail(render_frame(i, frames, width, height)) for i in range(frames)]
        )

    def which(self, image: QImage) -> int:
        t = thumbnail(qimage_to_bgr(image))
        return int(np.argmin(np.abs(self.thumbs - t).mean(axis=(1, 2))))
