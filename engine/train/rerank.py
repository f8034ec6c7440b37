"""Fitting and measuring the colour-aware re-ranker (engine/asymnet/rerank.py).

``shortlists`` turns the ground-truth trajectories of a benchmark set into what the re-ranker
sees at run time: the tree's top ``k`` products of the set's own catalogue among those whose
category may be the garment's (as the engine matches), their features, and where the right
product is among them. The sets must be ones the AsymNet weights were not trained on: on
its training trajectories the tree is right far more often than on new ones, and a
re-ranker fitted there would learn to trust it too much.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.asymnet.ifn import SPP_DIM, ImageFeatureNetwork
from engine.asymnet.model import TrajectoryMatcher
from engine.asymnet.rerank import Reranker, fit_reranker
from engine.categories import compatible
from engine.train.eval_matching import embed, product_scores, shortlist_features
from engine.train.matching_data import MatchingSet, extract_features


def shortlists(feats: MatchingSet, matcher: TrajectoryMatcher, k: int = 20,
               log: Callable[[str], None] = lambda m: None
               ) -> list[tuple[np.ndarray, int, np.ndarray]]:
    """For every trajectory: (features (K, F), position of its product in the tree's top K or
    -1, the tree's top K as product positions in ``feats.products``)."""
    if not feats.products:
        return []
    pooled = torch.cat([p.pooled for p in feats.products])
    vectors = embed(matcher, pooled)
    colors = pooled[:, SPP_DIM:].float().numpy()
    owner = np.concatenate([np.full(len(p.pooled), i) for i, p in enumerate(feats.products)])
    index = {p.key: i for i, p in enumerate(feats.products)}
    groups: dict[str, np.ndarray] = {}
    out = []
    for n, t in enumerate(feats.tracks):
        if t.category not in groups:
            groups[t.category] = np.array([compatible(t.category, p.category)
                                           for p in feats.products], bool)[owner]
        ok = groups[t.category]
        frames = embed(matcher, t.pooled)
        res = matcher.rank(frames, vectors[ok], "asymnet", quality=t.quality)
        image_scores = np.full(len(owner), -np.inf)
        image_scores[ok] = res.scores
        log_odds = np.zeros(len(owner))
        log_odds[ok] = res.log_odds
        top, f = shortlist_features(product_scores(image_scores, owner, len(feats.products)),
                                    image_scores, log_odds, k, frames, t, vectors, colors,
                                    owner)
        right = np.flatnonzero(top == index.get(t.product, -1))
        out.append((f, int(right[0]) if len(right) else -1, top))
        if (n + 1) % 100 == 0:
            log(f"  {n + 1}/{len(feats.tracks)} trajectories")
    return out


def detected_shortlists(data: str | Path, matcher: TrajectoryMatcher, detector, *,
                        k: int = 20, stride: int = 3,
                        log: Callable[[str], None] = lambda m: None
                        ) -> list[tuple[np.ndarray, int]]:
    """What the re-ranker sees at run time: every clip of ``data`` detected and tracked as
    `analyze` does, each ground-truth garment's best-covering detected track (as `eval --task
    end2end` pairs them) matched through the engine against the set's own catalogue; its
    shortlist's features, and where the garment's product is in it (-1: not in it)."""
    from engine.analysis import run_analysis
    from engine.catalog.retrieval import Catalog
    from engine.matching import Matcher, track_crops
    from engine.train.data import load_split
    from engine.train.eval_end2end import best_cover

    root = Path(data)
    catalog = Catalog.open(root, matcher, log=log)
    out: list[tuple[np.ndarray, int]] = []
    try:
        matching = Matcher(catalog)
        for clip in load_split(root, "all"):
            pred = run_analysis(clip.video, detector, stride=stride)
            pairs = [(d, t.product_id) for t in clip.truth.tracks if t.product_id
                     for d in [best_cover(t, pred.tracks)] if d is not None]
            height = float(pred.video.get("height") or 0)
            crops = track_crops(clip.video, [d for d, _ in pairs])
            for (d, product_id), c in zip(pairs, crops, strict=True):
                if c is None:
                    continue
                rows, f = matching.tree_shortlist(d, c, k=k, height=height)
                right = catalog.store.product(product_id)
                row = right.row if right is not None else -1
                if len(rows):
                    out.append((f, rows.index(row) if row in rows else -1))
            log(f"  {clip.clip_id}: {len(pairs)} garments covered by a detected track")
    finally:
        catalog.close()
    return out


def train_reranker(data: Sequence[str | Path], matcher: TrajectoryMatcher, *, k: int = 20,
                   detector=None, stride: int = 3,
                   log: Callable[[str], None] = lambda m: None) -> Reranker:
    """Fits the re-ranker on the ground-truth trajectories of ``data`` (every split; sets the
    weights never saw), each against its own catalogue; with ``detector``, on the detected
    trajectories that cover their garments as well (``detected_shortlists``)."""
    ifn = ImageFeatureNetwork()
    lists: list[tuple[np.ndarray, int]] = []
    for d in data:
        log(f"features of {d}")
        feats = extract_features(d, "all", ifn, log=log)
        log(f"the tree's shortlists of {len(feats.tracks)} trajectories in {d}")
        lists += [(f, y) for f, y, _ in shortlists(feats, matcher, k, log)]
        if detector is not None:
            log(f"detected trajectories of {d}")
            lists += detected_shortlists(d, matcher, detector, k=k, stride=stride, log=log)
    right = [y for _, y in lists]
    tree_top1 = float(np.mean([y == 0 for y in right])) if right else 0.0
    rr = fit_reranker(lists, k=k, asymnet_version=matcher.version,
                      meta={"data": [str(d) for d in data], "trajectories": len(lists),
                            "detector": getattr(detector, "name", None),
                            "tree_top1": round(tree_top1, 4)})
    log(f"fitted on {rr.meta['shortlists']} shortlists (loss {rr.meta['loss']}); the tree's "
        f"card was right for {tree_top1:.3f} of {len(lists)} trajectories")
    return rr


def measure(data: str | Path, matcher: TrajectoryMatcher, reranker: Reranker, *,
            resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Top-1 of the tree and of the re-ranked shortlist on the ground-truth trajectories of
    ``data`` against its own catalogue, with the paired 95% interval of the difference."""
    feats = extract_features(data, "all", ImageFeatureNetwork())
    lists = shortlists(feats, matcher, reranker.k)
    tree = np.array([y == 0 for _, y, _ in lists], float)
    mine = np.array([y >= 0 and reranker.order(f)[0][0] == y for f, y, _ in lists], float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(lists), (resamples, len(lists)))
    diff = (mine[idx] - tree[idx]).mean(1)
    return {"data": str(data), "trajectories": len(lists), "tree_top1": float(tree.mean()),
            "reranked_top1": float(mine.mean()),
            "paired_ci95": [float(np.percentile(diff, 2.5)), float(np.percentile(diff, 97.5))],
            "in_shortlist": float(np.mean([y >= 0 for _, y, _ in lists]))}
