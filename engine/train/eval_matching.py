"""``video2shop eval --task matching``: exact video-to-shop matching, as the paper measures it.

Every ground-truth trajectory of a split that names a catalogue product is a query against the
whole catalogue. A product's score is the best score over its shop images. Reported: top-1, 5,
10 and 20 exact-match accuracy (the product worn ranks within the first K), per category and
overall, for each method on the same trained IFN:

- ``single_frame``: one crop (the largest box times its visible fraction), cosine;
- ``avg_pool``: the mean of the trajectory's crop embeddings, cosine;
- ``asymnet``: the VFN and the similarity tree, against every product;
- ``asymnet_top100``: two-stage retrieval as the engine runs it: the products of the 100 images
  nearest to the trajectory's mean embedding (what FAISS proposes), re-ranked by the tree.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.asymnet.ifn import ImageFeatureNetwork
from engine.asymnet.model import METHODS, TrajectoryMatcher
from engine.train.data import DataError
from engine.train.matching_data import (
    MatchingSet,
    extract_features,
    extract_products,
    read_products,
)

KS = (1, 5, 10, 20)


@torch.no_grad()
def embed(matcher: TrajectoryMatcher, pooled: torch.Tensor) -> np.ndarray:
    dev = next(matcher.model.parameters()).device
    return matcher.model.head(pooled.float().to(dev)).cpu().numpy()


def product_scores(image_scores: np.ndarray, owner: np.ndarray, n_products: int) -> np.ndarray:
    """Best image score per product."""
    out = np.full(n_products, -np.inf, np.float32)
    np.maximum.at(out, owner, image_scores.astype(np.float32))
    return out


def rank_of(scores: np.ndarray, right: int) -> int:
    """1-based rank of ``right``; ties count against it (a constant scorer gets no credit)."""
    return int((scores >= scores[right]).sum())


TWO_STAGE = "asymnet_top100"  # FAISS-style first stage (100 nearest images), then the tree


def evaluate_features(feats: MatchingSet, matcher: TrajectoryMatcher,
                      methods: tuple[str, ...] = METHODS, n_candidates: int = 100
                      ) -> dict[str, Any]:
    index = {p.key: i for i, p in enumerate(feats.products)}
    gallery = embed(matcher, torch.cat([p.pooled for p in feats.products]))
    owner = np.concatenate([np.full(len(p.pooled), i) for i, p in enumerate(feats.products)])
    two_stage = "asymnet" in methods and "avg_pool" in methods
    names = (*methods, TWO_STAGE) if two_stage else methods
    ranks: dict[str, list[int]] = {m: [] for m in names}
    cats: list[str] = []
    seconds = dict.fromkeys(methods, 0.0)
    for t in feats.tracks:
        right = index[t.product]
        frames = embed(matcher, t.pooled)
        cats.append(t.category)
        weights = np.zeros(len(frames))
        weights[t.best] = 1.0
        image_scores = {}
        for m in methods:
            t0 = time.perf_counter()
            res = matcher.rank(frames, gallery, m, weights=weights, quality=t.quality)
            seconds[m] += time.perf_counter() - t0
            image_scores[m] = res.scores
            ranks[m].append(rank_of(product_scores(res.scores, owner, len(feats.products)),
                                    right))
        if two_stage:  # the products of the nearest images to the mean, re-ranked by the tree
            near = np.argsort(-image_scores["avg_pool"])[:n_candidates]
            keep = np.isin(owner, owner[near])
            scores = np.where(keep, image_scores["asymnet"], -np.inf)
            ranks[TWO_STAGE].append(rank_of(product_scores(scores, owner, len(feats.products)),
                                            right))
    report: dict[str, Any] = {"methods": {}, "queries": len(feats.tracks),
                              "gallery": len(feats.products), "gallery_images": len(gallery)}
    seconds.setdefault(TWO_STAGE, 0.0)
    for m in names:
        r = np.array(ranks[m])
        per_cat = {}
        for c in sorted(set(cats)):
            sel = np.array([x == c for x in cats])
            per_cat[c] = {f"top{k}": float((r[sel] <= k).mean()) for k in KS} | {
                "queries": int(sel.sum())}
        report["methods"][m] = {
            "overall": {f"top{k}": float((r <= k).mean()) if len(r) else 0.0 for k in KS},
            "per_category": per_cat,
            "curve": [float((r <= k).mean()) if len(r) else 0.0 for k in range(1, 21)],
            "median_rank": float(np.median(r)) if len(r) else 0.0,
            "ms_per_query": 1000 * seconds[m] / max(1, len(r)),
        }
    return report


def evaluate_matching(data: str | Path, split: str, matcher: TrajectoryMatcher, *,
                      distractors: Sequence[str | Path] = (),
                      log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """``distractors``: catalogues whose products join the gallery as wrong answers (a shop
    has far more products than a drama shows); none may be the test catalogue itself."""
    root = Path(data)
    ours = _image_digests(root) if distractors else set()
    for d in distractors:  # the same directory shares every image, so is caught here too
        shared = len(ours & _image_digests(Path(d)))
        if shared:
            raise DataError(
                f"{d} shares {shared} shop images with the evaluated catalogue (the same "
                "directory, or a set made with the same seed): as distractors its products "
                "would tie with the right answers. Use a catalogue made with another seed "
                "(docs/benchmark.md)"
            )
    ifn = ImageFeatureNetwork()
    feats = extract_features(data, split, ifn, log=log)
    n_own = len(feats.products)
    for i, d in enumerate(distractors):
        feats.products += extract_products(d, ifn, prefix=f"distractor{i}:", log=log)
    report = evaluate_features(feats, matcher)
    report |= {"data": str(data), "split": split, "model_version": matcher.version,
               "distractors": [str(d) for d in distractors],
               "gallery_distractors": len(feats.products) - n_own}
    return report


def _image_digests(root: Path) -> set[str]:
    """Hashes of a catalogue's shop image files: two catalogues that share an image would
    share a product (the synthetic catalogue is drawn one product after another, so a set made
    with the same seed and more products starts with the same products)."""
    out = set()
    for p in read_products(root):
        for rel in p.get("images") or [p["image"]]:
            path = root / "catalog" / rel
            if path.is_file():
                out.add(hashlib.sha1(path.read_bytes(), usedforsecurity=False).hexdigest())
    return out


def markdown_table(report: dict[str, Any]) -> str:
    """Overall top-K, then top-20 per category (the paper's Table layout: methods in rows,
    categories in columns)."""
    methods = report["methods"]
    lines = [f"Exact matching on {report.get('data', '')} ({report.get('split', '')}): "
             f"{report['queries']} trajectories against {report['gallery']} products"
             + (f" ({report['gallery_distractors']} of them distractors from "
                f"{', '.join(report['distractors'])})" if report.get("gallery_distractors")
                else ""), "",
             "| method | top-1 | top-5 | top-10 | top-20 |", "|---|---|---|---|---|"]
    for m, r in methods.items():
        o = r["overall"]
        lines.append(f"| {m} | " + " | ".join(f"{o[f'top{k}']:.3f}" for k in KS) + " |")
    cats = sorted({c for r in methods.values() for c in r["per_category"]})
    if cats:
        lines += ["", "Top-20 per category (queries in brackets):", "",
                  "| method | " + " | ".join(
                      f"{c} ({next(iter(methods.values()))['per_category'][c]['queries']})"
                      for c in cats) + " |",
                  "|---|" + "---|" * len(cats)]
        for m, r in methods.items():
            lines.append(f"| {m} | " + " | ".join(
                f"{r['per_category'][c]['top20']:.2f}" for c in cats) + " |")
    return "\n".join(lines)


def plot_curve(report: dict[str, Any], path: str | Path) -> None:
    """Accuracy against K (1..20) per method, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for m, r in report["methods"].items():
        ax.plot(range(1, 21), r["curve"], marker="o", markersize=3, label=m,
                linestyle="--" if m == TWO_STAGE else "-")
    ax.set_xlabel("K")
    ax.set_ylabel("top-K exact-match accuracy")
    ax.set_xticks([1, 5, 10, 15, 20])
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.set_title(f"{report['queries']} trajectories vs {report['gallery']} products")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(report: dict[str, Any], out: str | Path) -> Path:
    out = Path(out)
    out.write_text(json.dumps(report, indent=1) + "\n")
    png = out.with_suffix(".png")
    plot_curve(report, png)
    return png

