"""``video2shop train detector``: the garment detector on a benchmark's train split.

CPU-friendly: the backbone's first blocks (stride 2 to 8) stay frozen at their ImageNet
weights, so their output is computed once per training frame and cached (half precision);
training runs the rest of the backbone, the pyramid and the CenterNet head on the cache.
Horizontal flips are applied to the cached maps and the targets together.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from engine.backbone import to_tensor
from engine.categories import SHOP_CATEGORIES
from engine.detect.garment import STRIDE, GarmentNet, Letterbox, save_weights
from engine.train.data import boxes_by_frame, load_split
from engine.video import iter_frames

INPUT_SIZE = (512, 288)
MIN_VISIBLE = 0.3  # boxes less visible than this are not taught as positives


@dataclass
class Sample:
    s8: torch.Tensor  # (40, H/8, W/8) half
    boxes: np.ndarray  # (N, 4) input pixels
    classes: np.ndarray  # (N,)


def gaussian_radius(h: float, w: float, min_overlap: float = 0.7) -> float:
    """CenterNet's radius: how far a centre may move with the box still overlapping enough."""
    a1, b1, c1 = 1, h + w, w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1 ** 2 - 4 * a1 * c1)) / 2
    a2, b2, c2 = 4, 2 * (h + w), (1 - min_overlap) * w * h
    r2 = (b2 + math.sqrt(b2 ** 2 - 4 * a2 * c2)) / 2
    a3, b3, c3 = 4 * min_overlap, -2 * min_overlap * (h + w), (min_overlap - 1) * w * h
    r3 = (b3 + math.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def make_targets(boxes: np.ndarray, classes: np.ndarray, num_classes: int, hw: tuple[int, int]):
    """Heat map (C, H, W), regression targets (4, H, W) and their mask (H, W)."""
    h, w = hw
    hm = np.zeros((num_classes, h, w), np.float32)
    reg = np.zeros((4, h, w), np.float32)
    mask = np.zeros((h, w), np.float32)
    for (x1, y1, x2, y2), c in zip(boxes / STRIDE, classes, strict=True):
        bw, bh = x2 - x1, y2 - y1
        if bw <= 0.25 or bh <= 0.25:
            continue
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        ix, iy = int(min(w - 1, max(0, cx))), int(min(h - 1, max(0, cy)))
        r = max(0, int(gaussian_radius(bh, bw)))
        sigma = (2 * r + 1) / 6
        ys, xs = np.ogrid[-r:r + 1, -r:r + 1]
        g = np.exp(-(xs * xs + ys * ys) / (2 * sigma * sigma))
        t, b = max(0, iy - r), min(h, iy + r + 1)
        left, right = max(0, ix - r), min(w, ix + r + 1)
        region = hm[c, t:b, left:right]
        np.maximum(region, g[t - iy + r:b - iy + r, left - ix + r:right - ix + r], out=region)
        reg[:, iy, ix] = (cx - ix, cy - iy, math.log(bw), math.log(bh))
        mask[iy, ix] = 1
    return hm, reg, mask


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CornerNet's penalty-reduced focal loss on a gaussian heat map."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    neg = 1 - pos
    pos_loss = torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = torch.log(1 - p) * p ** 2 * (1 - target) ** 4 * neg
    n = pos.sum().clamp(min=1)
    return -(pos_loss.sum() + neg_loss.sum()) / n


def recolor(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another version of a frame with shifted hues and changed saturation and light, so that
    the detector learns garment shapes rather than the colours of the few it was shown."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + int(rng.integers(15, 165))) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.6, 1.3), 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] * rng.uniform(0.75, 1.2), 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)


def collect(net: GarmentNet, data: str | Path, split: str, step: int, categories: list[str],
            log: Callable[[str], None], recolored: int = 1, seed: int = 0) -> list[Sample]:
    """Frames of the split, letterboxed, through the frozen stem once (plus ``recolored``
    colour-shifted copies of each)."""
    rng = np.random.default_rng(seed)
    letterbox = Letterbox(INPUT_SIZE)
    index = {c: i for i, c in enumerate(categories)}
    samples: list[Sample] = []
    net.eval()
    for clip in load_split(data, split):
        by_frame = boxes_by_frame(clip.truth)
        batch_imgs, batch_targets = [], []
        for fi, frame in iter_frames(clip.video, step):
            img, scale = letterbox(frame)
            rows = [(cat, row) for _, cat, row in by_frame.get(fi, []) if row[5] >= MIN_VISIBLE]
            boxes = np.array([row[1:5] * scale for _, row in rows], np.float32).reshape(-1, 4)
            classes = np.array([index[c] for c, _ in rows], np.int64)
            for copy in [img, *(recolor(img, rng) for _ in range(recolored))]:
                batch_imgs.append(copy)
                batch_targets.append((boxes, classes))
            if len(batch_imgs) >= 16:
                samples += _stem_batch(net, batch_imgs, batch_targets)
                batch_imgs, batch_targets = [], []
        if batch_imgs:
            samples += _stem_batch(net, batch_imgs, batch_targets)
        log(f"  {clip.clip_id}: {len(samples)} frames cached")
    return samples


@torch.inference_mode()
def _stem_batch(net: GarmentNet, imgs, targets) -> list[Sample]:
    s8 = net.stem(to_tensor(imgs)).half()
    return [Sample(s8[i].clone(), b, c) for i, (b, c) in enumerate(targets)]


def train_detector(data: str | Path | Sequence[str | Path], out: str | Path,
                   iterations: int = 1500, batch: int = 16, seed: int = 0, frame_step: int = 2,
                   lr: float = 2e-3, recolored: int = 1, objectness: bool = True,
                   log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train on the train splits of one or more benchmark directories (more directories made
    with different seeds mean more different garments, which is what the detector needs to
    find garments it has never seen)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    categories = list(SHOP_CATEGORIES)
    net = GarmentNet(len(categories), objectness=objectness)
    t0 = time.monotonic()
    dirs = [data] if isinstance(data, (str, Path)) else list(data)
    samples: list[Sample] = []
    for i, d in enumerate(dirs):
        log(f"caching stride-8 features of {d} (train split, every {frame_step} frames)")
        samples += collect(net, d, "train", frame_step, categories, log, recolored, seed + i)
    if not samples:
        raise ValueError(f"{', '.join(map(str, dirs))}: the train split has no frames")
    h, w = samples[0].s8.shape[-2:]
    targets = [make_targets(s.boxes, s.classes, len(categories), (h, w)) for s in samples]
    for p in net.backbone._conv_stem.parameters():
        p.requires_grad = False
    frozen = {id(p) for m in net.backbone._blocks[:5] for p in m.parameters()}
    for m in net.backbone._blocks[:5]:
        for p in m.parameters():
            p.requires_grad = False
    backbone_params = [p for p in net.backbone.parameters()
                       if p.requires_grad and id(p) not in frozen]
    head_params = [p for n, p in net.named_parameters() if not n.startswith("backbone.")]
    opt = torch.optim.AdamW([{"params": backbone_params, "lr": lr * 0.3},
                             {"params": head_params, "lr": lr}], weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[lr * 0.3, lr],
                                                total_steps=iterations, pct_start=0.1)
    log(f"training {iterations} iterations of {batch} on {len(samples)} frames")
    net.train()
    for m in net.backbone._blocks[:5]:
        m.eval()
    losses = []
    t1 = time.monotonic()
    for it in range(iterations):
        idx = rng.choice(len(samples), size=batch, replace=len(samples) < batch)
        flip = rng.random(batch) < 0.5
        x = torch.stack([samples[i].s8 for i in idx]).float()
        hm = torch.from_numpy(np.stack([targets[i][0] for i in idx]))
        reg = torch.from_numpy(np.stack([targets[i][1] for i in idx]))
        mask = torch.from_numpy(np.stack([targets[i][2] for i in idx]))
        fl = torch.from_numpy(flip)
        if fl.any():
            x[fl] = x[fl].flip(-1)
            hm[fl] = hm[fl].flip(-1)
            mask[fl] = mask[fl].flip(-1)
            r = reg[fl].flip(-1)
            # a flipped centre's offset inside its cell mirrors: ix' = w-1-ix, off' = 1-off
            r[:, 0] = torch.where(r[:, 0] != 0, 1 - r[:, 0], r[:, 0])
            reg[fl] = r
        x = x * float(rng.uniform(0.9, 1.1))  # a little photometric jitter, in feature space
        hm_logit, reg_pred = net.from_stem(x)
        l_hm = focal_loss(hm_logit[:, :len(categories)], hm)
        if objectness:  # "a garment's centre": the peak of any class
            l_hm = l_hm + focal_loss(hm_logit[:, len(categories):], hm.amax(1, keepdim=True))
        m = mask.unsqueeze(1)
        n = m.sum().clamp(min=1)
        l_off = (F.l1_loss(reg_pred[:, :2], reg[:, :2], reduction="none") * m).sum() / n
        l_wh = (F.l1_loss(reg_pred[:, 2:], reg[:, 2:], reduction="none") * m).sum() / n
        loss = l_hm + l_off + l_wh
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if it % 50 == 0 or it == iterations - 1:
            rate = (it + 1) / (time.monotonic() - t1)
            log(f"  iter {it:5d}  loss {np.mean(losses[-50:]):.3f}  (hm {l_hm.item():.3f} "
                f"off {l_off.item():.3f} wh {l_wh.item():.3f})  {rate:.2f} it/s")
    net.eval()
    version = f"garment-{time.strftime('%Y%m%d-%H%M')}-s{seed}"
    info = {"data": [str(d) for d in dirs], "iterations": iterations, "batch": batch, "seed": seed,
            "frame_step": frame_step, "frames": len(samples), "lr": lr,
            "recolored": recolored, "objectness": objectness,
            "final_loss": float(np.mean(losses[-50:])),
            "seconds": round(time.monotonic() - t0, 1)}
    save_weights(out, net, categories, INPUT_SIZE, version, info)
    log(f"saved {out} ({info['seconds']} s)")
    return {"version": version, **info, "losses": losses}


def evaluate_frames(detector, data: str | Path, split: str, step: int = 5,
                    min_visible: float = 0.5) -> dict[str, float]:
    """Quick detection recall and precision at IoU 0.5 on every ``step``-th frame."""
    from engine.train.metrics import match_frame

    tp = fn = fp = 0
    for clip in load_split(data, split):
        by_frame = boxes_by_frame(clip.truth)
        for fi, frame in iter_frames(clip.video, step):
            det = detector.detect([frame])[0]
            gt = [row for _, _, row in by_frame.get(fi, [])]
            r = match_frame(det.xyxy, np.array([g[1:5] for g in gt]).reshape(-1, 4),
                            np.array([g[5] for g in gt]), min_visible)
            tp, fn, fp = tp + r[0], fn + r[1], fp + r[2]
    return {"recall": tp / max(1, tp + fn), "precision": tp / max(1, tp + fp)}

