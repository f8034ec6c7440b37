"""Detectors behind one protocol, picked by name: ``garment`` (the trained torch detector,
default), ``person-layout`` (people found by OpenCV, garments from body proportions; no
training) and ``onnx:PATH`` (any YOLO-style ONNX detector)."""

from __future__ import annotations

from engine.detect.base import Detector, DetectorError
from engine.detect.registry import DETECTORS, create_detector

__all__ = ["DETECTORS", "Detector", "DetectorError", "create_detector"]
