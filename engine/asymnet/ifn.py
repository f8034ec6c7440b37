"""The Image Feature Network: EfficientNet-Lite0 (ImageNet weights from a package), spatial
pyramid pooling over its feature maps, and a projection to an L2-normalised embedding.

Video crops and shop images go through the same network. The backbone is frozen (its ImageNet
features are cached for training on a CPU); the projection is what trains. ``pooled`` is the
frozen part (image -> SPP vector) and ``embed`` the trained part (SPP vector -> embedding), so
that training, evaluation and the player share one code path.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.backbone import OUT_CHANNELS, EfficientNetLite0, load_imagenet, to_tensor

INPUT_W, INPUT_H = 128, 160  # the shop images' aspect (4:5); crops are framed to it
SPP_LEVELS = (1, 2, 4)
SPP_STRIDES = (16, 32)  # the last map (the paper's choice) plus the stride-16 map for detail
SPP_DIM = sum(n * n for n in SPP_LEVELS) * sum(OUT_CHANNELS[s] for s in SPP_STRIDES)
COLOR_BINS = 4  # per CIELAB channel: a soft 4 x 4 x 4 histogram
COLOR_DIM = COLOR_BINS ** 3 + 6  # the histogram, then the weighted mean and spread of L, a, b
# names a catalogue's stored colour descriptors (engine/catalog/retrieval.py): change it when
# color_descriptor changes, and catalogues compute theirs again
COLOR_VERSION = "colour-lab444-v1"
FEATURE_DIM = SPP_DIM + COLOR_DIM  # what ``pooled`` gives: SPP vector, then colour descriptor
EMBED_DIM = 256
CROP_MARGIN = 0.08
FILL = 127  # the grey that scales to 0 at the network's input


def spatial_pyramid_pool(fmap: torch.Tensor, levels: tuple[int, ...] = SPP_LEVELS) -> torch.Tensor:
    """(N, C, H, W) of any H, W -> (N, C * sum(n^2)): max pooling over n x n grids (He et al.,
    SPP-net), so that a box of any size gives one vector."""
    parts = [F.adaptive_max_pool2d(fmap, n).flatten(1) for n in levels]
    return torch.cat(parts, dim=1)


def frame_box(frame_rgb: np.ndarray, box: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """The IFN's view of a garment in a video frame: the box widened to the shop images' 4:5
    aspect around its centre (so that a garment is framed as shops frame it, not stretched),
    with a small margin, grey beyond the frame's edges, resized to INPUT_W x INPUT_H."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    w = max(x2 - x1, 2.0) * (1 + CROP_MARGIN)
    h = max(y2 - y1, 2.0) * (1 + CROP_MARGIN)
    aspect = INPUT_W / INPUT_H
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    scale_x, scale_y = INPUT_W / w, INPUT_H / h
    # one affine warp: crop, pad and resize together, sub-pixel exact
    m = np.array([[scale_x, 0, -(cx - w / 2) * scale_x], [0, scale_y, -(cy - h / 2) * scale_y]],
                 np.float32)
    interp = cv2.INTER_AREA if scale_x < 1 else cv2.INTER_LINEAR
    if interp == cv2.INTER_AREA:  # warpAffine has no area filter: shrink the frame first
        f = max(1.0, 1.0 / scale_x)
        small = cv2.resize(frame_rgb, None, fx=1 / f, fy=1 / f, interpolation=cv2.INTER_AREA)
        m = m.copy()
        m[:, :2] *= f
        return cv2.warpAffine(small, m, (INPUT_W, INPUT_H), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(FILL,) * 3)
    return cv2.warpAffine(frame_rgb, m, (INPUT_W, INPUT_H), flags=interp,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(FILL,) * 3)


def shop_view(image_rgb: np.ndarray) -> np.ndarray:
    """A shop image resized to the IFN's input (shops frame their images at about 4:5)."""
    interp = cv2.INTER_AREA if image_rgb.shape[1] > INPUT_W else cv2.INTER_LINEAR
    return cv2.resize(image_rgb, (INPUT_W, INPUT_H), interpolation=interp)


_LAB_CENTRE = None
_COLOR_W, _COLOR_H = INPUT_W // 4, INPUT_H // 4  # colour needs no fine detail


def _centre_weights() -> np.ndarray:
    """A Gaussian over the view, centred: the garment fills the middle of a framed box and of
    a shop image; the edges hold the background, the mannequin, a neighbour's sleeve."""
    global _LAB_CENTRE
    if _LAB_CENTRE is None:
        y = (np.arange(_COLOR_H) + 0.5) / _COLOR_H - 0.5
        x = (np.arange(_COLOR_W) + 0.5) / _COLOR_W - 0.5
        w = np.exp(-0.5 * ((y[:, None] / 0.28) ** 2 + (x[None, :] / 0.22) ** 2))
        _LAB_CENTRE = (w / w.sum()).astype(np.float32).ravel()
    return _LAB_CENTRE


def color_descriptor(view_rgb: np.ndarray) -> np.ndarray:
    """(INPUT_H, INPUT_W, 3) uint8 RGB -> (COLOR_DIM,) float32: a centre-weighted soft
    (trilinear) 4 x 4 x 4 CIELAB histogram, square-rooted (Hellinger), then the weighted mean
    and standard deviation of L, a and b scaled to about [0, 1].

    The frozen ImageNet features were trained to name objects whatever their colour; a
    shopper's "the same jacket" is first of all the same colour (siblings differ in one shade,
    the paper's known failure), so the IFN gets the colour explicitly beside them."""
    small = cv2.resize(np.ascontiguousarray(view_rgb), (_COLOR_W, _COLOR_H),
                       interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32) / 255.0
    w = _centre_weights()
    pos = np.clip(lab * COLOR_BINS - 0.5, 0, COLOR_BINS - 1 - 1e-4)
    lo = np.floor(pos).astype(np.int64)
    frac = pos - lo
    hist = np.zeros(COLOR_BINS ** 3, np.float64)
    for dl in (0, 1):
        for da in (0, 1):
            for db in (0, 1):
                idx = ((np.minimum(lo[:, 0] + dl, COLOR_BINS - 1) * COLOR_BINS
                        + np.minimum(lo[:, 1] + da, COLOR_BINS - 1)) * COLOR_BINS
                       + np.minimum(lo[:, 2] + db, COLOR_BINS - 1))
                wt = (w * np.where(dl, frac[:, 0], 1 - frac[:, 0])
                      * np.where(da, frac[:, 1], 1 - frac[:, 1])
                      * np.where(db, frac[:, 2], 1 - frac[:, 2]))
                hist += np.bincount(idx, wt, COLOR_BINS ** 3)
    mean = (lab * w[:, None]).sum(0)
    std = np.sqrt(np.maximum(((lab - mean) ** 2 * w[:, None]).sum(0), 0))
    return np.concatenate([np.sqrt(hist / max(hist.sum(), 1e-12)), mean, 2 * std]).astype(
        np.float32)


class IFNHead(nn.Module):
    """Feature vector (SPP vector, then colour descriptor) -> L2-normalised embedding.

    Each part has its layer norm and its first fully connected layer; their sum goes through
    ReLU and the second layer. ``color_dim`` 0 ignores the colour columns (the IFN of the
    paper, for ablations)."""

    def __init__(self, in_dim: int = SPP_DIM, hidden: int = 256, out_dim: int = EMBED_DIM,
                 dropout: float = 0.5, color_dim: int = COLOR_DIM) -> None:
        super().__init__()
        self.spp_dim, self.color_dim = in_dim, color_dim
        self.spp = nn.Sequential(nn.LayerNorm(in_dim), nn.Dropout(dropout),
                                 nn.Linear(in_dim, hidden))
        self.color = (nn.Sequential(nn.LayerNorm(color_dim), nn.Linear(color_dim, hidden))
                      if color_dim else None)
        self.out = nn.Sequential(nn.ReLU(), nn.Linear(hidden, out_dim))

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        x = pooled.float()
        h = self.spp(x[..., : self.spp_dim])
        if self.color is not None:
            h = h + self.color(x[..., self.spp_dim: self.spp_dim + self.color_dim])
        return F.normalize(self.out(h), dim=-1)


class ImageFeatureNetwork(nn.Module):
    """Backbone (frozen, ImageNet) + SPP + ``IFNHead``."""

    def __init__(self, pretrained: bool = True) -> None:
        super().__init__()
        self.backbone = EfficientNetLite0()
        if pretrained:
            load_imagenet(self.backbone)
        self.backbone.eval().requires_grad_(False)
        self.head = IFNHead()

    @torch.no_grad()
    def pooled(self, images_rgb: list[np.ndarray] | np.ndarray, batch: int = 64,
               device: torch.device | None = None) -> torch.Tensor:
        """uint8 RGB views (N, INPUT_H, INPUT_W, 3) -> feature vectors (N, FEATURE_DIM) on the
        CPU: the SPP vector, then the colour descriptor (``color_descriptor``)."""
        n = len(images_rgb)
        if n == 0:
            return torch.zeros((0, FEATURE_DIM))
        device = device or next(self.backbone.parameters()).device
        out = []
        for i in range(0, n, batch):
            x = to_tensor(images_rgb[i:i + batch]).to(device)
            with torch.autocast("cuda", dtype=torch.float16, enabled=device.type == "cuda"):
                maps = self.backbone(x)
            pooled = torch.cat([spatial_pyramid_pool(maps[s].float()) for s in SPP_STRIDES], 1)
            color = torch.from_numpy(np.stack([color_descriptor(np.asarray(v))
                                               for v in images_rgb[i:i + batch]]))
            out.append(torch.cat([pooled.cpu(), color], 1))
        return torch.cat(out)

    def embed(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.head(pooled)

    def embed_images(self, images_rgb: list[np.ndarray] | np.ndarray) -> np.ndarray:
        """uint8 RGB views -> embeddings (N, EMBED_DIM) as float32 numpy."""
        return self.embed_images_and_colors(images_rgb)[0]

    @torch.no_grad()
    def embed_images_and_colors(self, images_rgb: list[np.ndarray] | np.ndarray
                                ) -> tuple[np.ndarray, np.ndarray]:
        """uint8 RGB views -> embeddings (N, EMBED_DIM) and colour descriptors (N, COLOR_DIM)
        as float32 numpy, from one pass of the backbone (the re-ranker compares the latter)."""
        was = self.head.training
        self.head.eval()
        try:
            pooled = self.pooled(images_rgb)
            if len(pooled) == 0:
                return np.zeros((0, EMBED_DIM), np.float32), np.zeros((0, COLOR_DIM), np.float32)
            dev = next(self.head.parameters()).device
            return (self.head(pooled.to(dev)).cpu().numpy().astype(np.float32),
                    pooled[:, SPP_DIM:].numpy().astype(np.float32))
        finally:
            self.head.train(was)
