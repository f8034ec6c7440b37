"""The detector protocol, its error, and the tracker settings a detector implies: what every
detector module imports (the registry that picks one by name is engine/detect/registry.py)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.types import Detections


class DetectorError(RuntimeError):
    """A detector that cannot be made (unknown name, missing or corrupt model file)."""


class Detector(Protocol):
    """Optionally also ``start_score``: the score from which one of its detections may start
    a trajectory, tuned for the model on a validation set (``tracker_settings``)."""

    name: str
    categories: list[str]
    version: str

    def detect(self, frames_bgr: Sequence[np.ndarray]) -> list[Detections]:
        """Garment boxes for each frame (video pixels), ``class_id`` indexing ``categories``,
        ``data["category"]`` the names."""
        ...


def tracker_settings(detector: Detector, overrides: dict | None = None) -> dict:
    """The tracker's keyword arguments for ``detector``: its tuned ``start_score`` as the
    tracker's ``high_score`` when it has one (scores mean different things to different
    models), then ``overrides``."""
    out: dict = {}
    start = getattr(detector, "start_score", None)
    if start is not None:
        out["high_score"] = float(start)
    out.update(overrides or {})
    return out


def no_cuda_here() -> bool:
    """True when this machine surely has no NVIDIA GPU (no driver): asked without torch."""
    return not Path("/proc/driver/nvidia/version").exists() and shutil.which("nvidia-smi") is None
