"""``video2shop synth``: the synthetic VideoShop benchmark, deterministic for a seed.

Writes DIR/catalog/products.jsonl and images, DIR/clips/<clip>.mp4 and .json (ground truth),
DIR/splits.json and DIR/card.json (docs/benchmark.md). Clips render in parallel processes; each
clip, product and image draws from its own generator seeded by (seed, kind, index), so the
output does not depend on the number of workers or on the order they finish in.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.synth.catalog import make_catalog
from bench.synth.clip import Degradation, make_cast, plan_clip, render_clip
from bench.synth.garments import CATEGORIES
from bench.synth.render import render_shop_image

GENERATOR_VERSION = "1.0"
OCCLUDED_VISIBILITY = 0.6  # "40% or more occluded"


@dataclass(frozen=True)
class Preset:
    name: str
    clips: int
    products: int
    seconds: float
    width: int = 640
    height: int = 360
    fps: float = 25.0
    family_size: int = 3  # a product and its siblings
    distractors: float = 10.0  # catalogue size / products worn
    cast: tuple[int, int] = (3, 5)
    second_view: float = 0.35  # share of products with a second shop image
    degradation: Degradation = field(default_factory=Degradation)


PRESETS: dict[str, Preset] = {
    "demo": Preset(
        "demo",
        clips=1,
        products=240,
        seconds=48,
        family_size=3,
        distractors=20,
        cast=(4, 5),
        degradation=Degradation(
            defocus=(0.0, 0.5), noise=(0.5, 1.5), crf=22, occluder_rate=0.4, z_far=2.6
        ),
    ),
    "easy": Preset(
        "easy",
        clips=12,
        products=300,
        seconds=16,
        family_size=1,
        distractors=3,
        degradation=Degradation(
            defocus=(0.0, 0.5),
            noise=(0.3, 1.5),
            motion_blur=0.3,
            light_swing=0.04,
            crf=20,
            occluder_rate=0.2,
            zoom_range=(1.0, 1.3),
        ),
    ),
    "hard": Preset(
        "hard",
        clips=12,
        products=600,
        seconds=20,
        family_size=3,
        distractors=10,
        degradation=Degradation(
            defocus=(0.2, 1.8),
            noise=(2.0, 6.0),
            motion_blur=0.9,
            light_swing=0.15,
            crf=28,
            occluder_rate=0.85,
            zoom_range=(1.0, 2.0),
            shake=1.0,
        ),
    ),
}


class SynthError(ValueError):
    """Settings that cannot make a benchmark (say why and what to change)."""


def split_counts(n_clips: int) -> tuple[int, int, int]:
    """(train, val, test): about 2/3, 1/6, 1/6; a single clip is a test clip (the demo)."""
    if n_clips == 1:
        return 0, 0, 1
    if n_clips == 2:
        return 1, 0, 1
    test = max(1, round(n_clips / 6))
    val = max(1, round(n_clips / 6)) if n_clips >= 4 else 0
    return n_clips - test - val, val, test


def _choose_worn(rng: np.random.Generator, products: list[dict], n: int) -> list[dict]:
    """``n`` products to put on actors, from distinct families, with enough of each slot
    (upper, lower, full) to dress whole casts."""
    families: dict[int, list[dict]] = {}
    for p in products:
        families.setdefault(p["family"], []).append(p)
    quota = {
        "upper": int(np.ceil(n * 0.38)),
        "lower": int(np.ceil(n * 0.38)),
        "full": int(np.ceil(n * 0.24)),
    }
    worn: list[dict] = []
    leftovers: list[dict] = []
    for f in rng.permutation(sorted(families)):
        fam = families[int(f)]
        pick = fam[int(rng.integers(len(fam)))]
        slot = CATEGORIES[pick["category"]].slot
        if quota[slot] > 0 and len(worn) < n:
            worn.append(pick)
            quota[slot] -= 1
        else:
            leftovers.append(pick)
    for p in leftovers:  # slots ran short: fill up with whatever is left
        if len(worn) >= n:
            break
        worn.append(p)
    if len(worn) < n:  # fewer families than needed: take more members
        rest = [p for p in products if p not in worn]
        worn += [rest[i] for i in rng.permutation(len(rest))[: n - len(worn)]]
    return worn


def _split_pools(worn: list[dict], counts: tuple[int, int, int]) -> list[list[dict]]:
    """Disjoint pools of worn products for train, val and test clips, in proportion to their
    clips, each with its share of every slot (so that each can dress whole actors)."""
    total = sum(counts)
    pools: list[list[dict]] = [[], [], []]
    for slot in ("upper", "lower", "full"):
        items = [p for p in worn if CATEGORIES[p["category"]].slot == slot]
        exact = [len(items) * c / total for c in counts]
        sizes = [int(np.floor(e)) for e in exact]
        for i in sorted(range(3), key=lambda i: exact[i] - sizes[i], reverse=True):
            if sum(sizes) < len(items) and counts[i]:
                sizes[i] += 1
        start = 0
        for i, size in enumerate(sizes):
            pools[i] += items[start : start + size]
            start += size
    return pools


def _public(product: dict[str, Any], images: list[str]) -> dict[str, Any]:
    return {
        "id": product["id"],
        "title": product["title"],
        "category": product["category"],
        "price": product["price"],
        "currency": product["currency"],
        "shop": product["shop"],
        "url": product["url"],
        "image": images[0],
        "images": images,
        "sales": product["sales"],
        "rating": product["rating"],
        "attributes": product["attributes"],
        "family": f"f{product['family']:05d}",
    }


def _render_images(args: tuple[int, dict, int, float, str]) -> list[str]:
    idx, product, seed, second_view, out_dir = args
    rng = np.random.default_rng([seed, 2, idx])
    views = [str(rng.choice(["mannequin", "flat"]))]
    if rng.random() < second_view:
        views.append(
            "back" if rng.random() < 0.5 else ("flat" if views[0] == "mannequin" else "mannequin")
        )
    names = []
    for k, view in enumerate(views):
        img = render_shop_image(product, view, rng)
        name = f"images/{product['id']}{'' if k == 0 else f'_{k + 1}'}.jpg"
        if not cv2.imwrite(str(Path(out_dir) / name), img, [cv2.IMWRITE_JPEG_QUALITY, 90]):
            raise OSError(f"cannot write {Path(out_dir) / name}")
        names.append(name)
    return names


def _render_clip_job(args) -> tuple[str, dict]:
    clip_id, index, pool, preset, seed, out_dir = args
    rng = np.random.default_rng([seed, 1, index])
    n_cast = int(rng.integers(preset.cast[0], preset.cast[1] + 1))
    cast = make_cast(rng, pool, n_cast)
    if not cast:
        raise SynthError(f"{clip_id}: its product pool cannot dress one actor")
    plan = plan_clip(
        rng,
        clip_id,
        cast,
        preset.seconds,
        preset.width,
        preset.height,
        preset.fps,
        preset.degradation,
    )
    gt = render_clip(plan, Path(out_dir) / f"{clip_id}.mp4")
    gt["video"]["preset"] = preset.name
    return clip_id, gt


def _render_catalog(pool_, catalog: list[dict], seed: int, p: Preset, out: Path,
                    progress: bool, log: Callable[[str], None], t0: float) -> list[list[str]]:
    """Every product's shop images, rendered in the pool, in catalogue order."""
    bar = _Progress(len(catalog), "shop images", progress)
    images = []
    jobs = [(i, prod, seed, p.second_view, str(out / "catalog")) for i, prod in enumerate(catalog)]
    for names_ in pool_.imap(_render_images, jobs, 16):
        images.append(names_)
        bar()
    log(f"shop images: {sum(map(len, images))} in {time.monotonic() - t0:.1f} s")
    return images


def _write_products(out: Path, catalog: list[dict], images: list[list[str]]) -> None:
    """products.jsonl, written whole then renamed: a killed run leaves no half catalogue."""
    path = out / "catalog" / "products.jsonl"
    tmp = path.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for prod, imgs in zip(catalog, images, strict=True):
            f.write(json.dumps(_public(prod, imgs), ensure_ascii=False) + "\n")
    tmp.replace(path)


def _catalog_card(out: Path, preset: str, seed: int, p: Preset, catalog: list[dict],
                  images: list[list[str]], t0: float, workers: int) -> dict:
    seconds_taken = time.monotonic() - t0
    card = {
        "generator_version": GENERATOR_VERSION,
        "preset": preset,
        "seed": seed,
        "catalog_only": True,
        "parameters": {"products": p.products, "family_size": p.family_size,
                       "second_view": p.second_view},
        "counts": {
            "clips": 0,
            "products": len(catalog),
            "shop_images": sum(map(len, images)),
            "families": len({q["family"] for q in catalog}),
            "categories": sorted({q["category"] for q in catalog}),
        },
        "seconds_taken": round(seconds_taken, 1),
        "products_per_minute": round(60 * len(catalog) / max(seconds_taken, 1e-9)),
        "workers": workers,
    }
    (out / "card.json").write_text(json.dumps(card, indent=1))
    return card


class _Progress:
    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self.total, self.done, self.label, self.enabled = total, 0, label, enabled
        self.t0 = time.monotonic()

    def __call__(self, n: int = 1) -> None:
        self.done += n
        if self.enabled:
            frac = self.done / max(1, self.total)
            bar = "#" * int(frac * 30)
            rate = self.done / max(1e-6, time.monotonic() - self.t0)
            sys.stderr.write(
                f"\r{self.label:<14} [{bar:<30}] {self.done}/{self.total} ({rate:.1f}/s)"
            )
            if self.done >= self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def generate(
    out: str | Path,
    preset: str = "hard",
    seed: int = 0,
    *,
    clips: int | None = None,
    products: int | None = None,
    seconds: float | None = None,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    catalog_only: bool = False,
) -> dict:
    """Writes the benchmark to ``out`` and returns its card. ``catalog_only``: the shop
    catalogue alone (products, shop images, families of siblings), no clips: a shop-sized
    gallery of distractors. Its products are those a full set of the same seed starts with."""
    if preset not in PRESETS:
        raise SynthError(f"unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
    p = PRESETS[preset]
    p = replace(
        p,
        clips=clips or p.clips,
        products=products or p.products,
        seconds=seconds or p.seconds,
        width=width or p.width,
        height=height or p.height,
        fps=fps or p.fps,
    )
    if p.clips < 1 or p.products < 3 or p.seconds < 4:
        raise SynthError("need at least 1 clip, 3 products and 4 seconds a clip")
    if p.width < 160 or p.height < 90 or p.width % 2 or p.height % 2:
        raise SynthError("width and height must be even and at least 160x90 (H.264 in MP4)")
    if p.fps <= 0 or p.fps > 120:
        raise SynthError("fps must be in (0, 120]")
    out = Path(out)
    progress = sys.stderr.isatty() if progress is None else progress
    log = log or (lambda m: None)
    t0 = time.monotonic()
    (out / "catalog" / "images").mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng([seed, 0])
    catalog = make_catalog(rng, p.products, p.family_size)
    workers = workers or min(os.cpu_count() or 1, 8)
    # spawn, not fork: a process that already runs threads (the player's engine, Qt, VLC,
    # OpenMP pools) can hand a forked worker a lock that nobody will ever release
    ctx = multiprocessing.get_context("spawn")
    if catalog_only:
        with ctx.Pool(workers) as pool_:
            images = _render_catalog(pool_, catalog, seed, p, out, progress, log, t0)
        _write_products(out, catalog, images)
        return _catalog_card(out, preset, seed, p, catalog, images, t0, workers)
    (out / "clips").mkdir(parents=True, exist_ok=True)
    counts = split_counts(p.clips)
    n_worn = max(int(round(p.products / p.distractors)), 10 * sum(1 for c in counts if c))
    n_worn = min(n_worn, p.products)
    worn = _choose_worn(rng, catalog, n_worn)
    pools = _split_pools(worn, counts)
    names = [f"{preset}{i + 1:03d}" for i in range(p.clips)]
    split_of = ["train"] * counts[0] + ["val"] * counts[1] + ["test"] * counts[2]
    order = rng.permutation(p.clips)
    splits: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    jobs = []
    for i, clip_index in enumerate(order):
        split = split_of[i]
        splits[split].append(names[clip_index])
        pool = pools[("train", "val", "test").index(split)]
        jobs.append((names[clip_index], int(clip_index), pool, p, seed, str(out / "clips")))
    for v in splits.values():
        v.sort()
    jobs.sort(key=lambda j: j[1])

    with ctx.Pool(workers) as pool_:
        images = _render_catalog(pool_, catalog, seed, p, out, progress, log, t0)
        t1 = time.monotonic()
        bar = _Progress(len(jobs), "clips", progress)
        results = {}
        for clip_id, gt in pool_.imap_unordered(_render_clip_job, jobs):
            results[clip_id] = gt
            bar()
        log(f"clips: {len(jobs)} in {time.monotonic() - t1:.1f} s")

    _write_products(out, catalog, images)
    for clip_id, gt in sorted(results.items()):
        (out / "clips" / f"{clip_id}.json").write_text(json.dumps(gt, separators=(",", ":")))
    (out / "splits.json").write_text(json.dumps(splits, indent=1))

    trajectories = [t for gt in results.values() for t in gt["tracks"]]
    occluded = [t for t in trajectories if min(b[5] for b in t["boxes"]) <= OCCLUDED_VISIBILITY]
    worn_ids = {t["product_id"] for t in trajectories}

    def scale_range(t: dict) -> float:
        heights = [b[4] - b[2] for b in t["boxes"] if b[5] > 0.5]
        return max(heights) / max(min(heights), 1e-6) if heights else 1.0

    scaled = [t for t in trajectories if scale_range(t) >= 2.0]
    frames = sum(gt["video"]["frame_count"] for gt in results.values())
    seconds_taken = time.monotonic() - t0
    video_seconds = frames / p.fps
    card = {
        "generator_version": GENERATOR_VERSION,
        "preset": preset,
        "seed": seed,
        "parameters": {k: v for k, v in asdict(p).items() if k != "name"},
        "counts": {
            "clips": p.clips,
            "splits": {k: len(v) for k, v in splits.items()},
            "frames": frames,
            "video_seconds": round(video_seconds, 2),
            "shots": sum(len(gt["video"]["shots"]) for gt in results.values()),
            "products": len(catalog),
            "shop_images": sum(map(len, images)),
            "families": len({q["family"] for q in catalog}),
            "products_worn": len(worn_ids),
            "categories": sorted({q["category"] for q in catalog}),
            "trajectories": len(trajectories),
            "boxes": sum(len(t["boxes"]) for t in trajectories),
            "occluded_trajectories": len(occluded),
            "occluded_fraction": round(len(occluded) / max(1, len(trajectories)), 3),
            # box height changes 2x or more within the trajectory (boxes half visible or more)
            "scale_change_2x_fraction": round(len(scaled) / max(1, len(trajectories)), 3),
        },
        "seconds_taken": round(seconds_taken, 1),
        "seconds_per_video_second": round(seconds_taken / max(video_seconds, 1e-9), 3),
        "workers": workers,
    }
    (out / "card.json").write_text(json.dumps(card, indent=1))
    return card
