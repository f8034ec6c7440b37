"""Which world a frame is from: the synthetic benchmark's renderer, or anything else (real
footage: a film, a street, a phone video; also drawings and other people's animation).

The garment detector was trained on the renderer's frames alone and is the better detector
there; on anything else it boxes faces and floors. So ``auto`` asks of each shot whether it
looks like the renderer's work. The question is one of image statistics more than of content,
and an ImageNet network's feature statistics answer it well: the mean and spread of every
channel of the packaged EfficientNet-Lite0 (engine/backbone.py) at strides 16 and 32, on the
whole frame at 224x224, then a logistic regression. The regression (864 weights) is trained by
``scripts/train_world.py`` on frames the renderer made with seeds that no benchmark uses, and
on photographs and footage from packages that are not in the real-footage evaluation set
(resources/models/world.md); its weights are a small JSON file in resources/models.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import cv2
import numpy as np

from engine.detect.base import DetectorError

ROOT = Path(__file__).resolve().parents[2]
WORLD_WEIGHTS = ROOT / "resources" / "models" / "world.json"
SIZE = 224
TAPS = (16, 32)


class WorldModelError(DetectorError):
    """A world-classifier file that is missing or does not fit, with what to do."""


def frame_input(frame_bgr: np.ndarray) -> np.ndarray:
    """The classifier's view of a frame: the whole of it, RGB, SIZE x SIZE."""
    interp = cv2.INTER_AREA if min(frame_bgr.shape[:2]) > SIZE else cv2.INTER_LINEAR
    return cv2.cvtColor(cv2.resize(frame_bgr, (SIZE, SIZE), interpolation=interp),
                        cv2.COLOR_BGR2RGB)


class FeatureNet:
    """The backbone's per-channel mean and standard deviation at the TAPS strides."""

    def __init__(self, device: str = "cpu") -> None:
        import torch

        from engine.backbone import EfficientNetLite0, load_imagenet, pick_device

        self.torch = torch
        self.device = pick_device(device)
        self.net = load_imagenet(EfficientNetLite0()).eval().to(self.device)
        self.lock = threading.Lock()

    def __call__(self, images_rgb: list[np.ndarray]) -> np.ndarray:
        from engine.backbone import to_tensor

        feats = []
        with self.lock, self.torch.inference_mode():
            for i in range(0, len(images_rgb), 32):
                maps = self.net(to_tensor(images_rgb[i:i + 32]).to(self.device))
                parts = []
                for s in TAPS:
                    m = maps[s].flatten(2)
                    parts += [m.mean(2), m.std(2)]
                feats.append(self.torch.cat(parts, 1).float().cpu().numpy())
        return np.concatenate(feats, 0)


class WorldClassifier:
    """p(the renderer made this frame), from the trained regression in ``path``."""

    def __init__(self, path: str | Path = WORLD_WEIGHTS, device: str = "cpu",
                 features: FeatureNet | None = None) -> None:
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            self.mean = np.asarray(raw["mean"], np.float32)
            self.scale = np.asarray(raw["scale"], np.float32)
            self.weights = np.asarray(raw["weights"], np.float32)
            self.bias = float(raw["bias"])
            if not (self.mean.shape == self.scale.shape == self.weights.shape) or \
                    raw.get("taps") != list(TAPS) or raw.get("size") != SIZE:
                raise ValueError("its shapes, taps or size do not fit this code")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise WorldModelError(
                f"cannot use the world classifier {path}: {exc}; restore it from git or "
                "retrain it with scripts/train_world.py (resources/models/world.md)") from None
        self.version = f"world-{raw.get('version', 1)}-{raw.get('trained', '?')}"
        self.threshold = float(raw.get("threshold", 0.5))
        self.features = features or FeatureNet(device)

    def logits(self, feats: np.ndarray) -> np.ndarray:
        return ((feats - self.mean) / self.scale) @ self.weights + self.bias

    def p_synthetic(self, frames_bgr: list[np.ndarray]) -> np.ndarray:
        z = self.logits(self.features([frame_input(f) for f in frames_bgr]))
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
