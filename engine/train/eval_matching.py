"""``video2shop eval --task matching``: exact video-to-shop matching, as the paper measures it.

Every ground-truth trajectory of a split that names a catalogue product is a query against the
whole catalogue. A product's score is the best score over its shop images. Reported: top-1, 5,
10 and 20 exact-match accuracy (the product worn ranks within the first K), per category and
overall, for each method on the same trained IFN:

- ``single_frame``: one crop (the largest box times its visible fraction), cosine;
- ``avg_pool``: the mean of the trajectory's crop embeddings, cosine;
- ``asymnet``: the VFN and the similarity tree, against every product;
- ``asymnet_top100``: two-stage retrieval as the engine runs it: the products of the 100 images
  nearest to the trajectory's mean embedding (what FAISS proposes), re-ranked by the tree;
- ``asymnet_card``: the same, then the tree's top products ordered by the weights' colour-aware
  re-ranker (engine/asymnet/rerank.py) as the card shows them; only when the weights have one.
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

from engine.asymnet.ifn import SPP_DIM, ImageFeatureNetwork
from engine.asymnet.model import METHODS, TrajectoryMatcher
from engine.asymnet.rerank import Reranker
from engine.asymnet.rerank import features as rerank_features
from engine.categories import compatible
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
CARD = "asymnet_card"  # the same, then the re-ranker orders the tree's top products (the card)


def evaluate_features(feats: MatchingSet, matcher: TrajectoryMatcher,
                      methods: tuple[str, ...] = METHODS, n_candidates: int = 100, *,
                      levels: Sequence[int] = (), bootstrap: int = 0, seed: int = 0,
                      like_with_like: bool = True,
                      log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Ranks every trajectory against the gallery. ``levels``: smaller galleries, each the
    first N products of ``feats.products`` (the set's own, then one distractor catalogue after
    another), measured in the same pass (``report["galleries"]``; the whole gallery is the
    report's top level). ``bootstrap`` B > 0: 95% intervals of every top-K and paired intervals
    of the differences between methods, from B resamplings of the queries.
    ``like_with_like``: the same measured again as the engine matches, over the products whose
    category may be the trajectory's (engine/categories.py: upper body, lower body, full
    length), in ``report["like_with_like"]``; the top level is always the whole gallery."""
    index = {p.key: i for i, p in enumerate(feats.products)}
    gallery = embed(matcher, torch.cat([p.pooled for p in feats.products]))
    owner = np.concatenate([np.full(len(p.pooled), i) for i, p in enumerate(feats.products)])
    n_all = len(feats.products)
    sizes = sorted({int(n) for n in levels if 0 < int(n) < n_all} | {n_all})
    # the two-stage method needs avg_pool's scores; it is measured whenever avg_pool is, and
    # alone (methods naming it without asymnet) it scores only its shortlists with the tree
    two_stage = "avg_pool" in methods and ("asymnet" in methods or TWO_STAGE in methods)
    methods = tuple(m for m in methods if m != TWO_STAGE)
    card = two_stage and matcher.reranker is not None
    names = (*methods, TWO_STAGE, *([CARD] if card else [])) if two_stage else methods
    colors = (torch.cat([p.pooled[:, SPP_DIM:] for p in feats.products]).float().numpy()
              if card else None)
    ranks: dict[int, dict[str, list[int]]] = {n: {m: [] for m in names} for n in sizes}
    grouped: dict[int, dict[str, list[int]]] = {n: {m: [] for m in names} for n in sizes}
    group_of: dict[str, np.ndarray] = {}
    cats: list[str] = []
    seconds = dict.fromkeys(names, 0.0)
    t_log = time.monotonic()
    for q, t in enumerate(feats.tracks):
        right = index[t.product]
        frames = embed(matcher, t.pooled)
        cats.append(t.category)
        weights = np.zeros(len(frames))
        weights[t.best] = 1.0
        if t.category not in group_of:
            group_of[t.category] = np.array([compatible(t.category, p.category)
                                             for p in feats.products], bool)
        ok = group_of[t.category]
        ok_images = ok[owner]
        image_scores = {}
        log_odds = np.zeros(len(owner))  # the tree's, per image: the re-ranker's feature
        for m in methods:
            t0 = time.perf_counter()
            res = matcher.rank(frames, gallery, m, weights=weights, quality=t.quality)
            seconds[m] += time.perf_counter() - t0
            image_scores[m] = res.scores
            if res.log_odds is not None:
                log_odds = res.log_odds
            scores = product_scores(res.scores, owner, n_all)
            mine = np.where(ok, scores, -np.inf)
            for n in sizes:
                ranks[n][m].append(rank_of(scores[:n], right))
                grouped[n][m].append(rank_of(mine[:n], right))
        if two_stage:  # the products of the nearest images to the mean, re-ranked by the tree
            keeps = []
            for n in sizes:
                inside = owner < n
                near = np.flatnonzero(inside)[np.argsort(-image_scores["avg_pool"][inside])]
                keeps.append(np.isin(owner, owner[near[:n_candidates]]))
            if "asymnet" not in image_scores:  # the tree on the shortlists only
                t0 = time.perf_counter()
                need = np.flatnonzero(np.logical_or.reduce(keeps))
                tree = np.full(len(owner), -np.inf, np.float32)
                res = matcher.rank(frames, gallery[need], "asymnet", quality=t.quality)
                tree[need] = res.scores
                log_odds[need] = res.log_odds
                image_scores["asymnet"] = tree
                seconds[TWO_STAGE] += time.perf_counter() - t0
            for n, keep in zip(sizes, keeps, strict=True):
                for mask, out in ((keep, ranks[n]), (keep & ok_images, grouped[n])):
                    # grouped, as the engine: FAISS's shortlist, then the trajectory's kind
                    scores = np.where(mask, image_scores["asymnet"], -np.inf)
                    per_product = product_scores(scores, owner, n_all)[:n]
                    out[TWO_STAGE].append(rank_of(per_product, right))
                    if card:
                        out[CARD].append(_card_rank(matcher.reranker, out[TWO_STAGE][-1],
                                                    per_product, scores, log_odds, right,
                                                    frames, t, gallery, colors, owner))
        if time.monotonic() - t_log > 30:
            log(f"  {q + 1}/{len(feats.tracks)} queries")
            t_log = time.monotonic()
    galleries = []
    for n in sizes:
        level = _summarise(ranks[n], cats, seconds, bootstrap, seed)
        level |= {"gallery": n, "gallery_images": int((owner < n).sum())}
        galleries.append(level)
    report: dict[str, Any] = {"queries": len(feats.tracks), "query_keys":
                              [t.key for t in feats.tracks]} | galleries[-1]
    if len(galleries) > 1:
        report["galleries"] = galleries
    if like_with_like:
        same = [_summarise(grouped[n], cats, seconds, bootstrap, seed) | {"gallery": n}
                for n in sizes]
        report["like_with_like"] = same[-1] | ({"galleries": same} if len(same) > 1 else {})
    report["bootstrap"] = bootstrap
    return report


def shortlist_features(per_product: np.ndarray, image_scores: np.ndarray, log_odds: np.ndarray,
                       k: int, frames: np.ndarray, t: Any, gallery: np.ndarray,
                       colors: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tree's top ``k`` products (positions, best first; those with a score) and the
    re-ranker's features of them for trajectory ``t`` (engine/asymnet/rerank.py), from cached
    features: the evaluation's ``asymnet_card`` and the re-ranker's fit share it."""
    top = np.argsort(-per_product, kind="stable")[:k]
    top = top[np.isfinite(per_product[top])]
    images = [np.flatnonzero(owner == p) for p in top]
    best = np.array([ims[np.argmax(image_scores[ims])] for ims in images], np.int64)
    return top, rerank_features(log_odds[best], frames, t.best, t.quality,
                                t.pooled[:, SPP_DIM:].float().numpy(), images, best, gallery,
                                colors)


def _card_rank(rr: Reranker, tree_rank: int, per_product: np.ndarray, image_scores: np.ndarray,
               log_odds: np.ndarray, right: int, frames: np.ndarray, t: Any,
               gallery: np.ndarray, colors: np.ndarray, owner: np.ndarray) -> int:
    """The right product's rank once the re-ranker has ordered the tree's top ``rr.k`` (a
    product beyond them keeps the tree's rank)."""
    if tree_rank > rr.k:
        return tree_rank
    top, f = shortlist_features(per_product, image_scores, log_odds, rr.k, frames, t, gallery,
                                colors, owner)
    order, _ = rr.order(f)
    return int(np.flatnonzero(top[order] == right)[0]) + 1


def _summarise(ranks: dict[str, list[int]], cats: list[str], seconds: dict[str, float],
               bootstrap: int, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {"methods": {}}
    for m, rs in ranks.items():
        r = np.array(rs)
        per_cat = {}
        for c in sorted(set(cats)):
            sel = np.array([x == c for x in cats])
            per_cat[c] = {f"top{k}": float((r[sel] <= k).mean()) for k in KS} | {
                "queries": int(sel.sum())}
        out["methods"][m] = {
            "overall": {f"top{k}": float((r <= k).mean()) if len(r) else 0.0 for k in KS},
            "per_category": per_cat,
            "curve": [float((r <= k).mean()) if len(r) else 0.0 for k in range(1, 21)],
            "median_rank": float(np.median(r)) if len(r) else 0.0,
            "ms_per_query": 1000 * seconds.get(m, 0.0) / max(1, len(r)),
            "ranks": [int(x) for x in r],
        }
    if bootstrap > 0 and cats:
        ci, paired = bootstrap_intervals({m: np.array(r) for m, r in ranks.items()},
                                         bootstrap, seed)
        for m in ranks:
            out["methods"][m]["overall"]["ci95"] = ci[m]
        out["paired"] = paired
    return out


def bootstrap_intervals(ranks: dict[str, np.ndarray], resamples: int, seed: int = 0,
                        ks: Sequence[int] = KS) -> tuple[dict, dict]:
    """Percentile 95% intervals from ``resamples`` resamplings of the queries (with
    replacement, the same resamplings for every method): per method and K, ``[lo, hi]`` of
    top-K; per pair of methods ``"a-b"`` (``a`` listed after ``b``), ``[lo, hi]`` of
    top-K(a) - top-K(b) over the same resampled queries, and its value on all queries under
    ``"difference"``. A paired interval above zero says ``a`` wins on these queries' kind,
    not just on these queries."""
    names = list(ranks)
    n = len(next(iter(ranks.values())))
    rng = np.random.default_rng(seed)
    pick = rng.integers(n, size=(resamples, n))
    hits = {m: {k: (r <= k).astype(np.float64) for k in ks} for m, r in ranks.items()}

    def interval(x: np.ndarray) -> list[float]:
        means = x[pick].mean(axis=1)
        lo, hi = np.percentile(means, [2.5, 97.5])
        return [round(float(lo), 4), round(float(hi), 4)]

    ci = {m: {f"top{k}": interval(hits[m][k]) for k in ks} for m in names}
    paired = {}
    for i, a in enumerate(names):
        for b in names[:i]:
            paired[f"{a}-{b}"] = {f"top{k}": interval(hits[a][k] - hits[b][k]) for k in ks}
            paired[f"{a}-{b}"]["difference"] = {
                f"top{k}": round(float((hits[a][k] - hits[b][k]).mean()), 4) for k in ks}
    return ci, paired


def evaluate_matching(data: str | Path, split: str, matcher: TrajectoryMatcher, *,
                      distractors: Sequence[str | Path] = (), bootstrap: int = 0,
                      methods: tuple[str, ...] = METHODS,
                      log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """``distractors``: catalogues whose products join the gallery as wrong answers (a shop
    has far more products than a drama shows); none may be the test catalogue itself, nor
    share an image with another. The report's top level is the whole gallery; ``galleries``
    holds the same queries against the set's own catalogue and against it plus the first,
    the first two, ... distractor catalogues (one pass). ``bootstrap``: see
    ``evaluate_features``."""
    root = Path(data)
    seen = {str(root): _image_digests(root) if distractors else set()}
    for d in distractors:  # the same directory shares every image, so is caught here too
        digests = _image_digests(Path(d))
        for other, theirs in seen.items():
            shared = len(digests & theirs)
            if shared:
                what = ("the evaluated catalogue" if other == str(root)
                        else f"the distractor catalogue {other}")
                raise DataError(
                    f"{d} shares {shared} shop images with {what} (the same directory, or a "
                    "set made with the same seed): its products would tie with others. Use "
                    "catalogues made with other seeds (docs/benchmark.md)"
                )
        seen[str(d)] = digests
    ifn = ImageFeatureNetwork()
    feats = extract_features(data, split, ifn, log=log)
    if not feats.tracks:
        raise DataError(f"{data} ({split}) has no trajectory that names a catalogue product")
    levels = [len(feats.products)]
    for i, d in enumerate(distractors):
        feats.products += extract_products(d, ifn, prefix=f"distractor{i}:", log=log)
        levels.append(len(feats.products))
    report = evaluate_features(feats, matcher, methods, levels=levels, bootstrap=bootstrap,
                               log=log)
    report |= {"data": str(data), "split": split, "model_version": matcher.version,
               "distractors": [str(d) for d in distractors],
               "gallery_distractors": len(feats.products) - levels[0]}
    for g in report.get("galleries", []):
        g["distractors"] = [str(d) for d in distractors[:levels.index(g["gallery"])]]
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
        lines.append(f"| {m} | " + " | ".join(_cell(r["overall"], k) for k in KS) + " |")
    if report.get("paired"):
        lines += ["", "Paired differences (95% bootstrap interval over "
                  f"{report['bootstrap']} resamplings of the queries):", "",
                  "| difference | top-1 | top-5 | top-10 | top-20 |", "|---|---|---|---|---|"]
        for pair, d in report["paired"].items():
            lines.append(f"| {pair} | " + " | ".join(
                f"{d['difference'][f'top{k}']:+.3f} [{d[f'top{k}'][0]:+.3f}, "
                f"{d[f'top{k}'][1]:+.3f}]" for k in KS) + " |")
    if len(report.get("galleries", [])) > 1:
        names = list(methods)
        lines += ["", "The same queries against growing galleries (top-1 / top-20):", "",
                  "| products | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for g in report["galleries"]:
            lines.append(f"| {g['gallery']:,} | " + " | ".join(
                f"{g['methods'][m]['overall']['top1']:.3f} / "
                f"{g['methods'][m]['overall']['top20']:.3f}" for m in names) + " |")
    same = report.get("like_with_like")
    if same:
        names = list(same["methods"])
        lines += ["", "As the engine matches, like with like (products whose category may be the "
                  "trajectory's), top-1 / top-20:", "",
                  "| products | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for g in same.get("galleries", [same]):
            lines.append(f"| {g['gallery']:,} | " + " | ".join(
                _cell(g["methods"][m]["overall"], 1) + " / "
                + _cell(g["methods"][m]["overall"], 20) for m in names) + " |")
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


def _cell(overall: dict[str, Any], k: int) -> str:
    ci = overall.get("ci95", {}).get(f"top{k}")
    value = f"{overall[f'top{k}']:.3f}"
    return f"{value} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else value


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

