"""``onnx:PATH``: any detector exported to ONNX with YOLO-style outputs, run by onnxruntime.

Accepted outputs: (batch, boxes, 4 + classes) or, as Ultralytics exports them,
(batch, 4 + classes, boxes); each row cx, cy, w, h in input pixels, then per-class scores.
Class names come from the model's metadata (``names``, as a JSON list or Ultralytics' dict),
else ``class_0``...; ``start_score``, when there, is the score from which a detection starts a
trajectory. Input scaling comes from the metadata key ``normalize``: ``unit`` (x / 255,
the YOLO default) or ``lite`` ((x - 127) / 128, our garment detector).
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.cpu import cpu_threads
from engine.detect.base import DetectorError
from engine.detect.decode import Letterbox, to_detections
from engine.types import Detections


class OnnxDetector:
    name = "onnx"

    def __init__(self, path: str | os.PathLike[str], conf: float = 0.3, iou: float = 0.6,
                 batch: int = 4, input_size: tuple[int, int] | None = None,
                 threads: int | None = None) -> None:
        path = Path(path)
        if not path.is_file():
            raise DetectorError(f"ONNX model not found: {path}")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise DetectorError("onnxruntime is not installed (make setup installs it)") from exc
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads or cpu_threads()
        so.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), so,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for corrupt files
            raise DetectorError(f"cannot load ONNX model {path}: {exc}") from None
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape  # e.g. [batch, 3, 288, 512] or with symbolic dims
        if input_size is None:
            h, w = shape[2], shape[3]
            input_size = (w if isinstance(w, int) else 640, h if isinstance(h, int) else 640)
        self.static_batch = shape[0] if isinstance(shape[0], int) else None
        self.letterbox = Letterbox(input_size)
        meta = self.session.get_modelmeta().custom_metadata_map
        self.categories = _names(meta.get("names"))
        self.normalize = meta.get("normalize", "unit")
        self.version = meta.get("version", path.stem)
        try:
            self.start_score: float | None = float(meta["start_score"])
        except (KeyError, ValueError):
            self.start_score = None
        self.conf, self.iou = conf, iou
        self.batch = self.static_batch or batch
        self.path = path

    def raw(self, frames_bgr: Sequence[np.ndarray]) -> tuple[np.ndarray, list[float]]:
        ims, scales = zip(*(self.letterbox(f) for f in frames_bgr), strict=True)
        x = np.ascontiguousarray(np.stack(ims).transpose(0, 3, 1, 2)).astype(np.float32)
        x = (x - 127.0) / 128.0 if self.normalize == "lite" else x / 255.0
        out = self.session.run(None, {self.input_name: x})[0]
        if out.ndim == 3 and out.shape[1] < out.shape[2]:  # (B, 4 + C, N) -> (B, N, 4 + C)
            out = out.transpose(0, 2, 1)
        return out, list(scales)

    def detect(self, frames_bgr: Sequence[np.ndarray]) -> list[Detections]:
        out: list[Detections] = []
        for i in range(0, len(frames_bgr), self.batch):
            chunk = list(frames_bgr[i:i + self.batch])
            preds, scales = self.raw(chunk)
            if not self.categories:
                self.categories = [f"class_{k}" for k in range(preds.shape[2] - 4)]
            for pred, scale, frame in zip(preds, scales, chunk, strict=True):
                out.append(to_detections(pred, scale, frame.shape, self.categories, self.conf,
                                         self.iou))
        return out


def _names(raw: str | None) -> list[str]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        try:
            value = ast.literal_eval(raw)  # Ultralytics writes a Python dict literal
        except (ValueError, SyntaxError):
            return []
    if isinstance(value, dict):
        return [str(value[k]) for k in sorted(value, key=lambda k: int(k))]
    return [str(v) for v in value]
