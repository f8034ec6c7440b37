"""The registry that picks a detector by name (``create_detector``), and the lazy loading that
keeps the first boxes fast: the garment detector from its cached ONNX export, the real-footage
localiser made on its first frame."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from engine.detect.base import Detector, DetectorError, no_cuda_here
from engine.resources import GARMENT_WEIGHTS
from engine.types import Detections


def cached_garment_onnx(weights: Path = GARMENT_WEIGHTS) -> Detector | None:
    """The garment detector from its cached ONNX export (made by the first torch load, keyed
    by the weights' hash), without importing torch: on the CPU, the same network and the same
    post-processing, a second or so sooner. None when there is no such export yet."""
    from engine.cache import cache_dir

    try:
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
        found = sorted((cache_dir() / "models").glob(f"garment-*-{digest}.onnx"))
        if len(found) != 1:
            return None
        from engine.detect.onnx import OnnxDetector

        det = OnnxDetector(found[0])
    except (OSError, DetectorError):
        return None
    det.name, det.backend, det.weights_id = "garment", "onnxruntime", digest
    if det.start_score is None:  # an export made before the key existed
        return None
    return det


def _garment(device: str, **kw) -> Detector:
    if not kw and (device == "cpu" or (device == "auto" and no_cuda_here())):
        fast = cached_garment_onnx()
        if fast is not None:
            return fast
    from engine.detect.garment import GarmentDetector

    return GarmentDetector.load(device=device, **kw)


def _person_layout(device: str, **kw) -> Detector:
    from engine.detect.person_layout import PersonLayoutDetector

    return PersonLayoutDetector(**kw)


def _people(device: str, **kw) -> Detector:
    from engine.detect.people import PeopleDetector

    return PeopleDetector(**kw)


class LazyDetector:
    """A detector made on its first ``detect``: what it is called, what it names and its
    version are known before. ``auto`` holds the localiser so: its models take half a second
    to load, which a synthetic clip never needs and the first boxes should not wait for."""

    def __init__(self, make: Callable[[], Detector], *, name: str, categories: list[str],
                 version: str, start_score: float | None = None) -> None:
        self._make, self._detector = make, None
        self.name, self.categories, self.version = name, categories, version
        self.start_score = start_score

    @property
    def loaded(self) -> bool:
        return self._detector is not None

    @property
    def detector(self) -> Detector:
        if self._detector is None:
            self._detector = self._make()
        return self._detector

    @property
    def stage_ms(self) -> dict[str, float]:
        return getattr(self._detector, "stage_ms", {}) if self._detector is not None else {}

    def detect(self, frames_bgr: Sequence[np.ndarray]) -> list[Detections]:
        return self.detector.detect(frames_bgr)


def _auto(device: str, **kw) -> Detector:
    from engine.detect.fused import FusedDetector
    from engine.detect.people import PeopleDetector, people_version
    from engine.detect.world import WorldClassifier

    people = LazyDetector(lambda: _people(device), name=PeopleDetector.name,
                          categories=list(PeopleDetector.categories), version=people_version(),
                          start_score=PeopleDetector.start_score)
    return FusedDetector(_garment(device), people, WorldClassifier(device=device), **kw)


DEFAULT_DETECTOR = "auto"

DETECTORS: dict[str, Callable[..., Detector]] = {
    "auto": _auto,
    "garment": _garment,
    "people": _people,
    "person-layout": _person_layout,
}


def create_detector(name: str = DEFAULT_DETECTOR, device: str = "auto", **kw) -> Detector:
    """``name`` is a registry name or ``onnx:PATH``."""
    if name.startswith("onnx:"):
        from engine.detect.onnx import OnnxDetector

        return OnnxDetector(name[5:], **kw)
    if name not in DETECTORS:
        valid = ", ".join([*DETECTORS, "onnx:PATH"])
        raise DetectorError(f"unknown detector {name!r}; valid: {valid}")
    return DETECTORS[name](device, **kw)
