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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from engine.catalog.retrieval import Catalog
from engine.geometry import iou_matrix
from engine.matching import match_tracks
from engine.pipeline import run_analysis
from engine.train.data import load_split
from engine.types import Track


def best_cover(truth: Track, detected: list[Track], min_iou: float = 0.5) -> Track | None:
    """The detected track with the most frames at IoU >= min_iou with ``truth``."""
    rows = {int(r[0]): r[1:5] for r in truth.boxes}
    best, best_n = None, 0
    for d in detected:
        frames = [int(f) for f in d.boxes[:, 0] if int(f) in rows]
        if not frames:
            continue
        mine = d.boxes[np.isin(d.boxes[:, 0], frames)]
        gt = np.array([rows[int(f)] for f in mine[:, 0]])
        ious = np.diag(iou_matrix(gt, mine[:, 1:5]))
        n = int((ious >= min_iou).sum())
        if n > best_n:
            best, best_n = d, n
    return best


def evaluate_end2end(data: str | Path, split: str, detector, matcher, *, k: int = 20,
                     stride: int = 3, log: Callable[[str], None] = lambda m: None
                     ) -> dict[str, Any]:
    root = Path(data)
    clips = load_split(root, split)
    catalog = Catalog.open(root, matcher, log=log)
    per_clip = {}
    gt_hits = e2e_hits = covered = total = 0
    t0 = time.monotonic()
    try:
        for clip in clips:
            truth = copy.deepcopy(clip.truth)
            truth.tracks = [t for t in truth.tracks if t.product_id]
            match_tracks(clip.video, truth, catalog, k=k)
            pred = run_analysis(clip.video, detector, stride=stride)
            match_tracks(clip.video, pred, catalog, k=k)
            c_gt = c_e2e = c_cov = 0
            for t in truth.tracks:
                c_gt += t.product_id in {m.product_id for m in t.matches}
                d = best_cover(t, pred.tracks)
                if d is not None:
                    c_cov += 1
                    c_e2e += t.product_id in {m.product_id for m in d.matches}
            n = len(truth.tracks)
            per_clip[clip.clip_id] = {"garments": n, "covered": c_cov,
                                      f"gt_top{k}": c_gt / max(1, n),
                                      f"end2end_top{k}": c_e2e / max(1, n)}
            gt_hits, e2e_hits, covered, total = (gt_hits + c_gt, e2e_hits + c_e2e,
                                                 covered + c_cov, total + n)
            log(f"  {clip.clip_id}: {n} garments, ground truth {c_gt}, end to end {c_e2e}")
    finally:
        catalog.close()
    gt = gt_hits / max(1, total)
    e2e = e2e_hits / max(1, total)
    return {"data": str(data), "split": split, "k": k, "garments": total,
            "covered_by_a_track": covered / max(1, total),
            f"gt_top{k}": gt, f"end2end_top{k}": e2e,
            "ratio": e2e / gt if gt else 0.0, "seconds": round(time.monotonic() - t0, 1),
            "model_version": matcher.version, "per_clip": per_clip}


def markdown_table(report: dict[str, Any]) -> str:
    k = report["k"]
    return "\n".join([
        f"End to end on {report['data']} ({report['split']}): {report['garments']} garments, "
        f"top-{k} against the whole catalogue", "",
        f"| trajectories | worn product in top-{k} |", "|---|---|",
        f"| ground truth | {report[f'gt_top{k}']:.3f} |",
        f"| detected and tracked | {report[f'end2end_top{k}']:.3f} |",
        f"| ratio | {report['ratio']:.3f} |", "",
        f"Garments covered by a detected track (IoU 0.5): {report['covered_by_a_track']:.3f}"])
