"""``video2shop eval --task end2end``: the whole engine against the same model given perfect
trajectories.

For each clip of a split: the garment detector and tracker make trajectories, every one is
matched against the split's whole catalogue (FAISS proposes, AsymNet re-ranks), and each
ground-truth garment is credited when the detected trajectory that covers it best (most
frames at IoU 0.5 or more) has the worn product in its top K. The same model is then given the
ground-truth trajectories themselves. The ratio says how much detection and tracking cost.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.analysis import run_analysis
from engine.cache import cache_dir
from engine.catalog.retrieval import Catalog
from engine.geometry import paired_iou
from engine.matching import Matcher
from engine.train.data import load_split
from engine.train.matching_data import read_products
from engine.types import Track


def frame_ious(truth: Track, track: Track) -> np.ndarray:
    """The IoU of ``track``'s box with ``truth``'s on each frame both have (empty: none)."""
    rows = {int(r[0]): r[1:5] for r in truth.boxes}
    frames = [int(f) for f in track.boxes[:, 0] if int(f) in rows]
    if not frames:
        return np.zeros(0)
    mine = track.boxes[np.isin(track.boxes[:, 0], frames)]
    gt = np.array([rows[int(f)] for f in mine[:, 0]])
    return paired_iou(gt, mine[:, 1:5])


def best_cover(truth: Track, detected: list[Track], min_iou: float = 0.5) -> Track | None:
    """The detected track with the most frames at IoU >= min_iou with ``truth``."""
    best, best_n = None, 0
    for d in detected:
        n = int((frame_ious(truth, d) >= min_iou).sum())
        if n > best_n:
            best, best_n = d, n
    return best


def merged_catalog(data: str | Path, distractors: Sequence[str | Path]) -> Path:
    """One products.jsonl holding the set's own catalogue and the products of ``distractors``
    (ids prefixed ``d0-``, ``d1-``, ... so that no id is shared; images by absolute path), in
    the cache. Rewritten only when its content changes, so that its import is reused."""
    lines = []
    for i, d in enumerate([data, *distractors]):
        root = Path(d).resolve()
        for p in read_products(root):
            q = dict(p)
            if i:
                q["id"], q["family"] = f"d{i - 1}-{p['id']}", f"d{i - 1}-{p.get('family', '')}"
            q["images"] = [str(root / "catalog" / rel) for rel in p.get("images") or [p["image"]]]
            q["image"] = q["images"][0]
            lines.append(json.dumps(q, ensure_ascii=False))
    text = "\n".join(lines) + "\n"
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = cache_dir() / "end2end" / digest / "products.jsonl"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return path


def evaluate_end2end(data: str | Path, split: str, detector, matcher, *, k: int = 20,
                     stride: int = 3, distractors: Sequence[str | Path] = (),
                     log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Top-1 is the product the card shows; top-``k`` is in the card's next matches.
    ``distractors``: catalogues whose products join the set's own as wrong answers; then the
    report is for the grown gallery and ``own_catalog`` holds the same trajectories against
    the set's own (each clip is detected and tracked once)."""
    root = Path(data)
    clips = load_split(root, split)
    sources = [root] + ([merged_catalog(root, distractors)] if distractors else [])
    catalogs = []
    try:
        for source in sources:
            # the merged list names the images of every catalogue by absolute path
            roots = [Path(d).resolve() / "catalog" for d in [root, *distractors]]
            catalogs.append(Catalog.open(source, matcher, log=log, image_roots=roots))
        results = [_Tally(k) for _ in catalogs]
        t0 = time.monotonic()
        for clip in clips:
            pred = run_analysis(clip.video, detector, stride=stride)
            for catalog, tally in zip(catalogs, results, strict=True):
                tally.add(clip, pred, catalog)
            log(f"  {clip.clip_id}: " + "; ".join(r.line(clip.clip_id) for r in results))
        seconds = round(time.monotonic() - t0, 1)
        reports = [r.report() | {"gallery": _products(c), "seconds": seconds}
                   for r, c in zip(results, catalogs, strict=True)]
    finally:
        for c in catalogs:
            c.close()
    out = {"data": str(data), "split": split, "k": k, **reports[-1],
           "distractors": [str(d) for d in distractors], "model_version": matcher.version}
    if distractors:
        out["own_catalog"] = reports[0]
    return out


def _products(catalog: Catalog) -> int:
    return len(set(catalog.image_products.tolist())) if len(catalog.image_products) else 0


class _Tally:
    """Hits of one catalogue over the clips: the card (top-1) and its next matches (top-k),
    for ground-truth trajectories and for the detected one that covers each garment best."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.hits = {"gt_top1": 0, "end2end_top1": 0, f"gt_top{k}": 0, f"end2end_top{k}": 0}
        self.covered = self.total = 0
        self.per_clip: dict[str, dict[str, Any]] = {}

    def add(self, clip, pred, catalog: Catalog) -> None:
        k = self.k
        truth = copy.deepcopy(clip.truth)
        truth.tracks = [t for t in truth.tracks if t.product_id]
        detected = copy.deepcopy(pred)
        Matcher(catalog).match_video(clip.video, truth, k=k)
        Matcher(catalog).match_video(clip.video, detected, k=k)
        mine = dict.fromkeys(self.hits, 0)
        c_cov = 0
        for t in truth.tracks:
            mine[f"gt_top{k}"] += t.product_id in {m.product_id for m in t.matches}
            mine["gt_top1"] += bool(t.matches) and t.matches[0].product_id == t.product_id
            d = best_cover(t, detected.tracks)
            if d is not None:
                c_cov += 1
                mine[f"end2end_top{k}"] += t.product_id in {m.product_id for m in d.matches}
                mine["end2end_top1"] += (bool(d.matches)
                                         and d.matches[0].product_id == t.product_id)
        n = len(truth.tracks)
        self.per_clip[clip.clip_id] = {"garments": n, "covered": c_cov} | {
            name: v / max(1, n) for name, v in mine.items()}
        for name, v in mine.items():
            self.hits[name] += v
        self.covered, self.total = self.covered + c_cov, self.total + n

    def line(self, clip_id: str) -> str:
        c = self.per_clip[clip_id]
        return (f"{c['garments']} garments, the card right {c['gt_top1']:.2f} (ground truth) / "
                f"{c['end2end_top1']:.2f} (detected), top {self.k} {c[f'gt_top{self.k}']:.2f} / "
                f"{c[f'end2end_top{self.k}']:.2f}")

    def report(self) -> dict[str, Any]:
        k = self.k
        rates = {name: v / max(1, self.total) for name, v in self.hits.items()}
        gt = rates[f"gt_top{k}"]
        return {"garments": self.total, "covered_by_a_track": self.covered / max(1, self.total),
                **rates, "ratio": rates[f"end2end_top{k}"] / gt if gt else 0.0,
                "per_clip": self.per_clip}


def markdown_table(report: dict[str, Any]) -> str:
    k = report["k"]
    gallery = f"{report['gallery']:,} products" if report.get("gallery") else "its catalogue"
    return "\n".join([
        f"End to end on {report['data']} ({report['split']}): {report['garments']} garments "
        f"against the whole catalogue ({gallery})", "",
        f"| trajectories | the card's product (top-1) | worn product in top-{k} |",
        "|---|---|---|",
        f"| ground truth | {report.get('gt_top1', 0):.3f} | {report[f'gt_top{k}']:.3f} |",
        f"| detected and tracked | {report.get('end2end_top1', 0):.3f} | "
        f"{report[f'end2end_top{k}']:.3f} |",
        f"| ratio | | {report['ratio']:.3f} |", "",
        f"Garments covered by a detected track (IoU 0.5): {report['covered_by_a_track']:.3f}"]
        + ([f"With the set's own catalogue ({own['gallery']:,} products): the card right "
            f"{own['gt_top1']:.3f} (ground truth) / {own['end2end_top1']:.3f} (detected), top-{k} "
            f"{own[f'gt_top{k}']:.3f} / {own[f'end2end_top{k}']:.3f}"]
           if (own := report.get("own_catalog")) else []))
