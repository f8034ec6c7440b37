"""Where the wrong cards come from (docs/asymnet.md, "The colour-aware re-ranker"): for every
ground-truth trajectory of a set, the tree's first product against the set's own catalogue
(like with like, as the engine matches), sorted into right, a sibling (and the attribute the
two differ in), another product of the same category (and the attributes they differ in),
another category; then the card's hits by the best frame's visible fraction and by category.

    .venv/bin/python scripts/card_errors.py [SET] [WEIGHTS]
    (default .cache/asymnet-work/q1, made by scripts/train-asymnet.sh, and the shipped weights)
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch

from engine.asymnet.ifn import ImageFeatureNetwork
from engine.asymnet.model import DEFAULT_WEIGHTS, TrajectoryMatcher
from engine.categories import compatible
from engine.train.eval_matching import embed, product_scores
from engine.train.matching_data import extract_features, read_products


def differ(a: dict, b: dict) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else ".cache/asymnet-work/q1")
    matcher = TrajectoryMatcher(sys.argv[2] if len(sys.argv) > 2 else DEFAULT_WEIGHTS,
                                device="cpu")
    feats = extract_features(data, "all", ImageFeatureNetwork())
    rows = {p["id"]: p for p in read_products(data)}
    keys = [p.key for p in feats.products]
    gallery = embed(matcher, torch.cat([p.pooled for p in feats.products]))
    owner = np.concatenate([np.full(len(p.pooled), i) for i, p in enumerate(feats.products)])
    kinds, sibling, same, by_cat, by_vis = Counter(), Counter(), Counter(), defaultdict(list), []
    for t in feats.tracks:
        ok = np.array([compatible(t.category, p.category) for p in feats.products])
        scores = product_scores(matcher.rank(embed(matcher, t.pooled), gallery, "asymnet",
                                             quality=t.quality).scores, owner, len(keys))
        truth, got = rows[t.product], rows[keys[int(np.argmax(np.where(ok, scores, -np.inf)))]]
        if got["id"] == truth["id"]:
            kind = "right"
        elif got["family"] == truth["family"]:
            kind = "sibling"
            sibling[",".join(differ(truth["attributes"], got["attributes"]))] += 1
        elif got["category"] == truth["category"]:
            kind = "same category"
            same.update(differ(truth["attributes"], got["attributes"]))
        else:
            kind = "other category"
        kinds[kind] += 1
        by_cat[truth["category"]].append(kind == "right")
        by_vis.append((float(np.asarray(t.quality)[:, 2].max()), kind == "right"))
    n = len(feats.tracks)
    print(f"{n} trajectories of {data}, {matcher.version}, the tree's card:")
    for kind, c in kinds.most_common():
        print(f"  {kind:15s} {c:4d}  {c / n:.3f}")
    print("  siblings, the attribute they differ in:", dict(sibling.most_common()))
    print("  same category, attributes that differ:", dict(same.most_common()))
    for lo, hi in ((0, 0.5), (0.5, 0.85), (0.85, 1.01)):
        hits = [r for v, r in by_vis if lo <= v < hi]
        if hits:
            print(f"  best frame {lo:.2f}-{min(hi, 1):.2f} visible: {len(hits):3d} trajectories, "
                  f"the card right for {np.mean(hits):.2f}")
    print("  by category:", {c: f"{sum(v)}/{len(v)}" for c, v in sorted(by_cat.items())})


if __name__ == "__main__":
    main()
