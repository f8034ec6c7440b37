"""The detector protocol and the registry that picks one by name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from engine.types import Detections


class DetectorError(RuntimeError):
    """A detector that cannot be made (unknown name, missing or corrupt model file)."""


class Detector(Protocol):
    name: str
    categories: list[str]
    version: str

    def detect(self, frames_bgr: Sequence[np.ndarray]) -> list[Detections]:
        """Garment boxes for each frame (video pixels), ``class_id`` indexing ``categories``,
        ``data["category"]`` the names."""
        ...


def _garment(device: str, **kw) -> Detector:
    from engine.detect.garment import GarmentDetector

    return GarmentDetector.load(device=device, **kw)


def _person_layout(device: str, **kw) -> Detector:
    from engine.detect.person_layout import PersonLayoutDetector

    return PersonLayoutDetector(**kw)


DETECTORS: dict[str, Callable[..., Detector]] = {
    "garment": _garment,
    "person-layout": _person_layout,
}


def create_detector(name: str = "garment", device: str = "auto", **kw) -> Detector:
    """``name`` is a registry name or ``onnx:PATH``."""
    if name.startswith("onnx:"):
        from engine.detect.onnx import OnnxDetector

        return OnnxDetector(name[5:], **kw)
    if name not in DETECTORS:
        valid = ", ".join([*DETECTORS, "onnx:PATH"])
        raise DetectorError(f"unknown detector {name!r}; valid: {valid}")
    return DETECTORS[name](device, **kw)
