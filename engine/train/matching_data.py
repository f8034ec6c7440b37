"""Features for training and evaluating AsymNet: the frozen IFN backbone's SPP vectors of a
benchmark's trajectories (ground truth) and shop images, computed once and cached.

A trajectory keeps up to ``frames_per_track`` of its frames, spread evenly over it, always
including its single-frame pick (the largest box times its visible fraction: what a viewer
would pause on, chosen without looking at the product). Shop images are cached as they are and
mirrored (training flips them).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from engine.asymnet.frames import frame_quality
from engine.asymnet.ifn import (
    COLOR_DIM,
    SPP_DIM,
    SPP_LEVELS,
    SPP_STRIDES,
    ImageFeatureNetwork,
    shop_view,
)
from engine.cache import cache_dir
from engine.matching import track_crops
from engine.train.data import DataError, load_split

CACHE_FORMAT = 3  # 3: features carry the colour descriptor


@dataclass
class TrackFeatures:
    key: str  # dataset:clip:track
    product: str  # dataset:product id
    category: str
    pooled: torch.Tensor  # (T, FEATURE_DIM) half, time order
    frames: np.ndarray  # (T,) frame indices
    best: int  # row of the single-frame pick
    quality: np.ndarray | None = None  # (T, 3) per-frame cues (engine.asymnet.vfn)


@dataclass
class ProductFeatures:
    key: str
    category: str
    family: str
    pooled: torch.Tensor  # (I, FEATURE_DIM) half, one row per shop image
    flipped: torch.Tensor | None = None  # (I, FEATURE_DIM) half, mirrored images


@dataclass
class MatchingSet:
    tracks: list[TrackFeatures] = field(default_factory=list)
    products: list[ProductFeatures] = field(default_factory=list)
    # product key -> what its catalogue row says one can see (engine.train.attributes)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)

    def extend(self, other: MatchingSet) -> None:
        self.tracks += other.tracks
        self.products += other.products
        self.attributes.update(other.attributes)


def read_products(root: Path) -> list[dict]:
    path = root / "catalog" / "products.jsonl"
    if not path.is_file():
        raise DataError(f"{root} has no catalog/products.jsonl (docs/benchmark.md)")
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{n}: not JSON ({exc.msg})") from None
    return out


def _key(root: Path, split: str, frames_per_track: int, with_flips: bool, prefix: str) -> str:
    card = root / "card.json"
    h = hashlib.sha256()
    h.update(str(root.resolve()).encode())
    h.update(card.read_bytes() if card.is_file() else b"")
    h.update((root / "catalog" / "products.jsonl").read_bytes())
    h.update(json.dumps([CACHE_FORMAT, split, frames_per_track, with_flips, SPP_LEVELS,
                         SPP_STRIDES, SPP_DIM, COLOR_DIM, prefix]).encode())
    return h.hexdigest()[:16]


def extract_features(data: str | Path, split: str, ifn: ImageFeatureNetwork, *,
                     frames_per_track: int = 40, with_flips: bool = False, use_cache: bool = True,
                     prefix: str = "", log: Callable[[str], None] = lambda m: None
                     ) -> MatchingSet:
    """SPP vectors of every ground-truth trajectory of ``split`` that names a product in the
    catalogue, and of every product's shop images (the whole catalogue is the gallery)."""
    root = Path(data)
    clips = load_split(root, split)
    key = _key(root, split, frames_per_track, with_flips, prefix)
    cache = cache_dir() / "asymnet-features" / f"{key}.pt"
    payload = _load_cache(cache) if use_cache else None
    if payload is not None:
        try:
            return _attach_quality(_from_payload(payload), clips, prefix)
        except Exception:  # a stale cache is rebuilt, never trusted
            cache.unlink(missing_ok=True)
    t0 = time.monotonic()
    products = read_products(root)
    out = MatchingSet(products=_shop_features(root, products, ifn, with_flips, prefix))
    known = {p["id"] for p in products}
    log(f"  shop images: {sum(len(p.pooled) for p in out.products)} of {len(products)} products")
    for clip in clips:
        tracks = [t for t in clip.truth.tracks if t.product_id in known and len(t.boxes)]
        for t, tc in zip(tracks, track_crops(clip.video, tracks, frames_per_track),
                         strict=True):
            if tc is None:
                continue
            out.tracks.append(TrackFeatures(
                f"{prefix}{clip.clip_id}:{t.track_id}", prefix + str(t.product_id), t.category,
                ifn.pooled(tc.views).half(), t.boxes[tc.rows, 0].astype(np.int64), tc.best))
        log(f"  {clip.clip_id}: {len(tracks)} trajectories")
    log(f"features of {root}: {len(out.tracks)} trajectories, {len(out.products)} products in "
        f"{time.monotonic() - t0:.0f} s")
    if use_cache:
        _save_cache(cache, _to_payload(out))
    return _attach_quality(out, clips, prefix)


def _shop_features(root: Path, products: list[dict], ifn: ImageFeatureNetwork, with_flips: bool,
                   prefix: str) -> list[ProductFeatures]:
    views, owners = [], []
    for p in products:
        rels = p.get("images") or [p["image"]]
        for rel in rels:
            img = cv2.imread(str(root / "catalog" / rel), cv2.IMREAD_COLOR)
            if img is None:
                raise DataError(f"shop image {root / 'catalog' / rel} is missing or unreadable")
            views.append(shop_view(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)))
        owners.append(len(rels))
    pooled = ifn.pooled(views).half()
    flipped = ifn.pooled([v[:, ::-1].copy() for v in views]).half() if with_flips else None
    del views
    out, start = [], 0
    for p, n in zip(products, owners, strict=True):
        out.append(ProductFeatures(
            prefix + p["id"], p["category"], prefix + str(p.get("family", p["id"])),
            pooled[start:start + n].clone(),
            flipped[start:start + n].clone() if flipped is not None else None))
        start += n
    return out


def extract_products(data: str | Path, ifn: ImageFeatureNetwork, *, prefix: str = "",
                     use_cache: bool = True, log: Callable[[str], None] = lambda m: None
                     ) -> list[ProductFeatures]:
    """SPP vectors of a catalogue's shop images alone (``DIR/catalog/products.jsonl``; no clips
    needed): the distractors that grow an evaluation's gallery."""
    root = Path(data)
    products = read_products(root)
    # cached without the prefix: the same catalogue under another prefix reuses it
    cache = cache_dir() / "asymnet-features" / f"{_key(root, 'products', 0, False, '')}.pt"
    out = None
    payload = _load_cache(cache) if use_cache else None
    if payload is not None:
        try:
            out = [ProductFeatures(**p) for p in payload]
        except Exception:  # a stale cache is rebuilt, never trusted
            cache.unlink(missing_ok=True)
    if out is None:
        t0 = time.monotonic()
        out = _shop_features(root, products, ifn, False, "")
        log(f"features of {root}: {len(out)} products in {time.monotonic() - t0:.0f} s")
        if use_cache:
            _save_cache(cache, [p.__dict__ for p in out])
    for p in out:
        p.key, p.family = prefix + p.key, prefix + p.family
    return out


def _load_cache(cache: Path) -> Any:
    """A cached payload, or None: missing, or unreadable (then deleted, to be rebuilt)."""
    if not cache.is_file():
        return None
    try:
        return torch.load(cache, weights_only=False)
    except Exception:  # a truncated cache is rebuilt, never trusted
        cache.unlink(missing_ok=True)
        return None


def _save_cache(cache: Path, payload: Any) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(cache)  # atomic: a crash never leaves half a cache


def _attach_quality(out: MatchingSet, clips, prefix: str) -> MatchingSet:
    """Per-frame quality cues of every cached trajectory, from its ground truth boxes."""
    tracks = {}
    for clip in clips:
        height = float(clip.truth.video.get("height", 0) or 0)
        for t in clip.truth.tracks:
            tracks[f"{prefix}{clip.clip_id}:{t.track_id}"] = (t, height)
    for tf in out.tracks:
        t, height = tracks[tf.key]
        rows = np.searchsorted(t.frames, tf.frames)
        if not np.array_equal(t.frames[rows], tf.frames):
            raise DataError(f"cached frames of {tf.key} are not in its ground truth")
        tf.quality = frame_quality(t.boxes[rows], height or float(t.boxes[:, 4].max()))
    return out


def _to_payload(s: MatchingSet) -> dict:
    tracks = [{k: v for k, v in t.__dict__.items() if k != "quality"} for t in s.tracks]
    return {"tracks": tracks, "products": [p.__dict__ for p in s.products]}


def _from_payload(payload: dict) -> MatchingSet:
    return MatchingSet([TrackFeatures(**t) for t in payload["tracks"]],
                       [ProductFeatures(**p) for p in payload["products"]])
