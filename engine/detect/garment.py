"""The garment detector: EfficientNet-Lite0 (ImageNet weights from a package), a small
feature pyramid, and an anchor-free CenterNet head at stride 8.

Why this head: garments far from the camera are 10-20 pixels wide, and a centre heat map at
stride 8 finds them without anchor tuning; one peak per object needs no NMS in principle. The
model's exported output is YOLO-style, (batch, cells, 4 + classes) with cx, cy, w, h in input
pixels and per-class scores that are zero off the heat map's peaks, so that the same
post-processing (``postprocess``) serves the torch model and its ONNX export.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.backbone import EfficientNetLite0, load_imagenet, pick_device, to_tensor
from engine.cache import cache_dir
from engine.detect.base import DetectorError
from engine.detect.decode import Letterbox, postprocess, to_detections  # noqa: F401 (API)
from engine.device import DeviceGuard
from engine.resources import GARMENT_WEIGHTS
from engine.types import Detections

DEFAULT_WEIGHTS = GARMENT_WEIGHTS
STRIDE = 8
SPLIT_BLOCK = 4  # blocks 0..4 (stride 8) can be frozen and their output cached for training
# A detection scoring this much may start a trajectory (weaker ones only extend one). Chosen
# for the bundled weights on a validation set of an unseen seed (model card); a weights file
# can carry its own ("start_score").
START_SCORE = 0.5


def dwsep(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
        nn.ReLU(inplace=True), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class GarmentNet(nn.Module):
    """``objectness``: the heat map has one more channel, "any garment here", whose peaks are
    the detections and whose value is their score; the class channels only name the
    category. Without it a garment the model is unsure how to name (jacket or coat?) splits
    its score between classes and falls below the threshold, although its box is right."""

    def __init__(self, num_classes: int, width: int = 64, pretrained: bool = True,
                 objectness: bool = True) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.objectness = objectness
        self.backbone = EfficientNetLite0()
        if pretrained:
            load_imagenet(self.backbone)
        self.lat8 = nn.Conv2d(40, width, 1)
        self.lat16 = nn.Conv2d(112, width, 1)
        self.lat32 = nn.Conv2d(320, width, 1)
        self.fuse16 = dwsep(width, width)
        self.fuse8 = dwsep(width, width)
        self.head_hm = nn.Sequential(dwsep(width, width),
                                     nn.Conv2d(width, num_classes + int(objectness), 1))
        self.head_reg = nn.Sequential(dwsep(width, width), nn.Conv2d(width, 4, 1))
        nn.init.constant_(self.head_hm[-1].bias, -2.19)  # start from p = 0.1 (CenterNet)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """Image -> the stride-8 map after block ``SPLIT_BLOCK`` (the frozen part)."""
        b = self.backbone
        x = b.act(b._bn0(b._conv_stem(x)))
        for block in b._blocks[: SPLIT_BLOCK + 1]:
            x = block(x)
        return x

    def from_stem(self, s8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Stride-8 map -> (heat map logits (B, C [+ 1], H, W), regression (B, 4, H, W))."""
        x = s8
        feats = {8: s8}
        for i, block in enumerate(self.backbone._blocks[SPLIT_BLOCK + 1:], SPLIT_BLOCK + 1):
            x = block(x)
            if i in self.backbone.taps:
                feats[self.backbone.taps[i]] = x
        p32 = self.lat32(feats[32])
        p16 = self.fuse16(self.lat16(feats[16]) + F.interpolate(p32, size=feats[16].shape[-2:]))
        p8 = self.fuse8(self.lat8(feats[8]) + F.interpolate(p16, size=feats[8].shape[-2:]))
        return self.head_hm(p8), self.head_reg(p8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.from_stem(self.stem(x))


class YoloStyle(nn.Module):
    """GarmentNet with the decode in the graph: (B, H*W, 4 + C) as YOLO exports give."""

    def __init__(self, net: GarmentNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hm, reg = self.net(x)
        return decode_grid(hm, reg, self.net.objectness)


def decode_grid(hm: torch.Tensor, reg: torch.Tensor, objectness: bool = False) -> torch.Tensor:
    """Heat map and regression -> YOLO-style rows. With ``objectness`` (the last heat-map
    channel), a row's only non-zero class score is its objectness, under its best class."""
    if objectness:
        obj = torch.sigmoid(hm[:, -1:])
        cls = hm[:, :-1]
        peaks = (F.max_pool2d(obj, 3, 1, 1) == obj).to(obj.dtype)
        best = (cls == cls.max(1, keepdim=True).values).to(obj.dtype)
        scores = best * obj * peaks
    else:
        scores = torch.sigmoid(hm)
        peaks = (F.max_pool2d(scores, 3, 1, 1) == scores).to(scores.dtype)
        scores = scores * peaks
    b, _, h, w = scores.shape
    ys = torch.arange(h, dtype=reg.dtype, device=reg.device).view(1, h, 1).expand(b, h, w)
    xs = torch.arange(w, dtype=reg.dtype, device=reg.device).view(1, 1, w).expand(b, h, w)
    cx = (xs + reg[:, 0]) * STRIDE
    cy = (ys + reg[:, 1]) * STRIDE
    bw = torch.exp(reg[:, 2].clamp(-4, 6)) * STRIDE
    bh = torch.exp(reg[:, 3].clamp(-4, 6)) * STRIDE
    boxes = torch.stack([cx, cy, bw, bh], 1)  # B, 4, H, W
    out = torch.cat([boxes, scores], 1)  # B, 4 + C, H, W
    return out.flatten(2).transpose(1, 2)  # B, H*W, 4 + C


class GarmentDetector:
    """The trained detector: frames (BGR, any size) in, garment boxes in video pixels out."""

    name = "garment"

    def __init__(self, net: GarmentNet, categories: list[str], input_size: tuple[int, int],
                 version: str, device: str = "auto", conf: float = 0.3, iou: float = 0.6,
                 batch: int = 4, backend: str = "auto", weights_id: str = "",
                 start_score: float = START_SCORE) -> None:
        if backend not in ("auto", "torch", "onnxruntime"):
            raise ValueError(f"backend must be auto, torch or onnxruntime, got {backend!r}")
        self.device = pick_device(device)
        self.half = self.device.type == "cuda"
        self.net = net.to(self.device).eval()
        if self.half:
            self.net = self.net.half()
        self.model = YoloStyle(self.net)
        self.categories = categories
        self.letterbox = Letterbox(input_size)
        self.version = version
        self.conf, self.iou, self.batch = conf, iou, batch
        self.weights_id = weights_id
        self.start_score = start_score
        # On the CPU, onnxruntime runs this network about 3x faster than eager torch
        # (measured in `video2shop bench`); CUDA runs torch in half precision.
        self.backend = "torch"
        self._ort = None
        if backend == "onnxruntime" or (backend == "auto" and self.device.type == "cpu"):
            self._ort = self._onnx_session()
            if self._ort is not None:
                self.backend = "onnxruntime"
        self.guard = DeviceGuard("the garment detector", lambda: self.device, self._to_cpu)

    def _to_cpu(self) -> None:
        """After a device error: full precision on the CPU, through onnxruntime when it can."""
        if self.device.type != "cpu":
            self.device, self.half = torch.device("cpu"), False
            self.net = self.net.float().to(self.device)
            self.model = YoloStyle(self.net)
            self._ort = self._onnx_session()
            self.backend = "onnxruntime" if self._ort is not None else "torch"

    def _onnx_session(self):
        try:
            from engine.detect.onnx import OnnxDetector
        except ImportError:
            return None
        cache = cache_dir()
        # keyed by the weights' hash: retrained weights never meet a stale export
        path = cache / "models" / f"{self.version}-{self.weights_id or 'unsaved'}.onnx"
        try:
            if not path.is_file():
                export_onnx(self, path)
            return OnnxDetector(path, conf=self.conf, iou=self.iou, batch=self.batch)
        except (DetectorError, OSError, RuntimeError):
            return None  # torch still works; slower

    @classmethod
    def load(cls, path: str | Path | None = None, device: str = "auto", **kw) -> GarmentDetector:
        path = Path(path) if path else DEFAULT_WEIGHTS
        if not path.is_file():
            raise DetectorError(
                f"garment detector weights not found: {path}. Train them with `video2shop train "
                "detector --data DIR`, or use --detector person-layout"
            )
        try:
            blob = torch.load(path, map_location="cpu", weights_only=False)
            categories = list(blob["categories"])
            net = GarmentNet(len(categories), width=blob.get("width", 64), pretrained=False,
                             objectness=bool(blob.get("objectness", False)))
            net.load_state_dict(blob["state_dict"])
        except Exception as exc:  # a corrupt file of any kind
            raise DetectorError(f"cannot load the garment detector from {path}: {exc}. "
                                "Re-train it or restore the file from the repository") from None
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        kw.setdefault("start_score", float(blob.get("start_score", START_SCORE)))
        return cls(net, categories, tuple(blob["input_size"]), blob.get("version", "?"),
                   device=device, weights_id=digest, **kw)

    def raw(self, frames_bgr: Sequence[np.ndarray]) -> tuple[np.ndarray, list[float]]:
        """YOLO-style rows for each frame, and each frame's letterbox scale."""
        return self.guard.run(self._raw, frames_bgr)

    @torch.inference_mode()
    def _raw(self, frames_bgr: Sequence[np.ndarray]) -> tuple[np.ndarray, list[float]]:
        if self._ort is not None:
            return self._ort.raw(frames_bgr)
        ims, scales = zip(*(self.letterbox(f) for f in frames_bgr), strict=True)
        x = to_tensor(list(ims)).to(self.device)
        if self.half:
            x = x.half()
        return self.model(x).float().cpu().numpy(), list(scales)

    def detect(self, frames_bgr: Sequence[np.ndarray]) -> list[Detections]:
        out: list[Detections] = []
        for i in range(0, len(frames_bgr), self.batch):
            preds, scales = self.raw(frames_bgr[i:i + self.batch])
            for pred, scale, frame in zip(preds, scales, frames_bgr[i:i + self.batch],
                                          strict=True):
                out.append(to_detections(pred, scale, frame.shape, self.categories, self.conf,
                                         self.iou))
        return out


def save_weights(path: str | Path, net: GarmentNet, categories: list[str],
                 input_size: tuple[int, int], version: str, extra: dict[str, Any],
                 start_score: float = START_SCORE) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # half precision halves the file; loading converts back (the numbers it loses are far
    # below what changes a detection)
    state = {k: (v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu())
             for k, v in net.state_dict().items()}
    blob = {"state_dict": state, "categories": categories, "input_size": list(input_size),
            "version": version, "width": net.lat8.out_channels, "objectness": net.objectness,
            "start_score": start_score,
            "extra": json.dumps(extra)}
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)


def export_onnx(detector, path: str | os.PathLike[str]) -> Path:
    """Writes a ``GarmentDetector``'s network, decode included, as a YOLO-style ONNX file with
    its class names and input scaling in the metadata."""
    import onnx
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = detector.letterbox.size
    # a float CPU copy: the detector's own network (half precision on CUDA) stays as it is
    model = YoloStyle(copy.deepcopy(detector.net).float().cpu()).eval()
    tmp = path.with_name(f"{path.stem}.tmp-{os.getpid()}.onnx")  # processes export at once
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(1, 3, h, w), str(tmp), input_names=["images"],
                          output_names=["output0"], opset_version=17, dynamo=False,
                          dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}})
    proto = onnx.load(str(tmp))
    for k, v in {"names": json.dumps(detector.categories), "normalize": "lite",
                 "version": detector.version,
                 "start_score": str(detector.start_score)}.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(proto, str(tmp))
    tmp.replace(path)
    return path
