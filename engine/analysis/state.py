"""The analysis's state as plain values for the cache (``LiveAnalysis.state``/``restore``):
its version, and boxes packed as base64 of their float64 bytes."""

from __future__ import annotations

import base64

import numpy as np

STATE_VERSION = 4  # 2: boxes as base64 float64; 3: shots' and the video's last frames
# detected; 4: also where a shot ends on a batch's last frame


def pack_boxes(boxes: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(boxes, dtype="<f8").tobytes()).decode("ascii")


def unpack_boxes(text: str, columns: int) -> np.ndarray:
    flat = np.frombuffer(base64.b64decode(text.encode("ascii"), validate=True), dtype="<f8")
    if columns <= 0 or flat.size % columns:
        raise ValueError(f"{flat.size} numbers do not make rows of {columns}")
    return flat.reshape(-1, columns).astype(np.float64)
