"""The card's last step: a colour-aware re-ranking of the similarity tree's shortlist.

Why: the tree finds the worn product's family (top-20 0.91 on unseen ground-truth
trajectories against the set's own catalogue) far more often than the member (top-1 0.49).
Of its wrong cards, two in five show a product of the same category in another colour or
pattern, which a shopper would never confuse (docs/asymnet.md, "The colour-aware re-ranker").
The tree compares 256-number embeddings in which the explicit colour descriptor is one
input among 9,142 to a layer trained on a few hundred worn products; the re-ranker compares
the descriptors themselves, on the trajectory's best frames.

For each of the tree's top ``k`` products it computes a few numbers (``FEATURES``): the
tree's log-odds, the cosine of the product's nearest shop image to the trajectory's mean, to
the mean of its best quarter of frames and to its single best frame, the Bhattacharyya
coefficient between their colour histograms and the distances between their mean and spread
in CIELAB; then each of them again, minus its best value in the shortlist. A linear score
over them (standardised) orders the shortlist; the softmax of the scores is what the card
states (the re-ranker's probability that this is the worn product, among its shortlist).

Trained listwise (softmax cross-entropy over each shortlist) on sets the AsymNet weights
never saw (``video2shop train rerank``, engine/train/rerank.py); plain numpy at run time
(about 0.5 ms for 20 products), weights in a small JSON beside the AsymNet weights, tied to
their version: features from other weights would not mean the same.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.asymnet.ifn import COLOR_BINS

FORMAT = "video2shop-rerank"
FORMAT_VERSION = 1
HIST = COLOR_BINS ** 3  # the colour descriptor: square-rooted histogram, then mean and spread
BASE_FEATURES = ("tree_logit", "cos_mean", "cos_good_mean", "cos_best_frame", "hist_all",
                 "hist_good", "d_l_mean", "d_a_mean", "d_b_mean", "d_l_spread", "d_a_spread",
                 "d_b_spread")
FEATURES = BASE_FEATURES + tuple(f"{n}_vs_best" for n in BASE_FEATURES)


class RerankError(ValueError):
    """A re-ranker file that cannot be used (says which and what to do)."""


def rerank_path(weights: str | Path) -> Path:
    """Where the re-ranker of AsymNet ``weights`` lives: beside them, ``NAME.rerank.json``."""
    p = Path(weights)
    return p.with_name(p.stem + ".rerank.json")


def good_frames(quality: np.ndarray | None, n: int) -> np.ndarray:
    """Rows of the trajectory's best quarter of frames: the tallest box times its score (the
    detector's confidence; in ground truth, the visible fraction); all rows without cues."""
    if quality is None or len(quality) != n:
        return np.arange(n)
    q = np.asarray(quality, np.float64)
    return np.argsort(-(q[:, 0] * q[:, 2]), kind="stable")[: max(1, n // 4)]


def _hist(colors: np.ndarray) -> np.ndarray:
    """The mean histogram of several square-rooted ones, square-rooted again (unit norm)."""
    h = (np.asarray(colors[:, :HIST], np.float64) ** 2).mean(0)
    return np.sqrt(h / max(float(h.sum()), 1e-12))


LOG_ODDS_BOUND = float(np.log((1 - 1e-6) / 1e-6))  # the fit's range: scores within 1e-6 of 0, 1


def features(tree_log_odds: np.ndarray, frames: np.ndarray, best: int,
             quality: np.ndarray | None, frame_colors: np.ndarray,
             product_images: list[np.ndarray], best_image: np.ndarray,
             image_vectors: np.ndarray, image_colors: np.ndarray) -> np.ndarray:
    """(K, len(FEATURES)) for a shortlist of K products.

    ``tree_log_odds`` (K,): the log-odds of each product's score from the tree (its best
    image's; ``RankResult.log_odds``), bounded to the range the re-ranker was fitted on;
    ``frames`` (T, D) and ``frame_colors`` (T, COLOR_DIM): the trajectory's embeddings and
    colour descriptors in time order, ``best`` the single-frame pick, ``quality`` (T, 3) the
    per-frame cues; ``product_images[i]``: rows of ``image_vectors`` / ``image_colors`` that
    are product i's images, ``best_image[i]`` the row of the one the tree scored highest."""
    # float64 throughout: a float32 product's last digits depend on how BLAS splits it over
    # threads, and the standardised gaps to the shortlist's best would carry them to the card
    # (`library analyze`'s one-thread workers must write what `analyze` writes)
    frames = np.asarray(frames, np.float64)
    good = good_frames(quality, len(frames))

    def unit(v: np.ndarray) -> np.ndarray:
        return v / max(float(np.linalg.norm(v)), 1e-12)

    queries = np.stack([unit(frames.mean(0)), unit(frames[good].mean(0)),
                        frames[min(max(best, 0), len(frames) - 1)]])
    colors = np.asarray(frame_colors, np.float64)
    hists = np.stack([_hist(colors), _hist(colors[good])])
    lab = colors[good, HIST:].mean(0)
    lo = np.clip(np.asarray(tree_log_odds, np.float64), -LOG_ODDS_BOUND, LOG_ODDS_BOUND)
    rows = np.zeros((len(lo), len(BASE_FEATURES)), np.float64)
    rows[:, 0] = lo
    for i, imgs in enumerate(product_images):
        rows[i, 1:4] = (np.asarray(image_vectors[imgs], np.float64) @ queries.T).max(0)
        c = np.asarray(image_colors[best_image[i]], np.float64)
        rows[i, 4:6] = hists @ c[:HIST]
        rows[i, 6:12] = np.abs(c[HIST:] - lab)
    return np.concatenate([rows, rows - rows.max(0)], 1).astype(np.float32)


@dataclass
class Reranker:
    """A linear score over standardised ``FEATURES``; ``k``: how many of the tree's products
    it re-orders. ``asymnet_version``: the weights whose tree and embeddings it was fitted
    on."""

    weights: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    k: int = 20
    asymnet_version: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, np.float64).reshape(-1)
        self.mean = np.asarray(self.mean, np.float64).reshape(-1)
        self.std = np.asarray(self.std, np.float64).reshape(-1)
        n = len(FEATURES)
        if not (len(self.weights) == len(self.mean) == len(self.std) == n):
            raise RerankError(f"a re-ranker needs {n} weights, means and spreads, got "
                              f"{len(self.weights)}, {len(self.mean)} and {len(self.std)}")
        if not np.all(np.isfinite(self.weights)) or not np.all(self.std > 0):
            raise RerankError("a re-ranker's weights must be finite and its spreads positive")
        if self.k < 2:
            raise RerankError(f"a re-ranker orders at least 2 products, got k={self.k}")

    @property
    def version(self) -> str:
        h = hashlib.sha256(np.concatenate([self.weights, self.mean, self.std]).tobytes())
        return f"rerank-{h.hexdigest()[:8]}"

    def scores(self, feats: np.ndarray) -> np.ndarray:
        """(K, F) features -> (K,) scores, higher is better."""
        return ((np.asarray(feats, np.float64) - self.mean) / self.std) @ self.weights

    def order(self, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The shortlist's new order (best first) and the softmax probability of each
        product (in that order)."""
        s = self.scores(feats)
        order = np.argsort(-s, kind="stable")
        p = np.exp(s - s.max())
        return order, (p / p.sum())[order]

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "features": list(FEATURES),
                "k": self.k, "asymnet_version": self.asymnet_version,
                "weights": self.weights.tolist(), "mean": self.mean.tolist(),
                "std": self.std.tolist(), "meta": self.meta}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return path


def load_reranker(path: str | Path) -> Reranker:
    path = Path(path)
    try:
        d = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RerankError(f"cannot read the re-ranker {path}: {exc}; retrain it with "
                          "`video2shop train rerank` or delete it") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise RerankError(f"{path} is not a re-ranker file")
    if d.get("format_version") != FORMAT_VERSION or d.get("features") != list(FEATURES):
        raise RerankError(f"{path} was written for other features (format version "
                          f"{d.get('format_version')}); retrain it with `video2shop train "
                          "rerank`")
    try:
        return Reranker(d["weights"], d["mean"], d["std"], int(d.get("k", 20)),
                        str(d.get("asymnet_version", "")), dict(d.get("meta", {})))
    except (KeyError, TypeError, ValueError) as exc:
        raise RerankError(f"{path} is not a usable re-ranker: {exc}") from None


def fit_reranker(shortlists: list[tuple[np.ndarray, int]], *, k: int = 20,
                 steps: int = 600, lr: float = 1e-2, weight_decay: float = 1e-3,
                 asymnet_version: str = "", meta: dict[str, Any] | None = None) -> Reranker:
    """Listwise fit: ``shortlists`` of (features (K, F), position of the right product or -1
    when it is not among them; those teach nothing and are skipped). Softmax cross-entropy
    of the right product over its shortlist, Adam with weight decay, from the tree's order."""
    import torch

    used = [(x[:k], y) for x, y in shortlists if 0 <= y < min(k, len(x))]
    if not used:
        raise RerankError("no shortlist holds its right product: nothing to learn from")
    width = max(len(x) for x, _ in used)
    x = np.zeros((len(used), width, len(FEATURES)), np.float64)
    valid = np.zeros((len(used), width), bool)
    for i, (f, _) in enumerate(used):
        x[i, :len(f)], valid[i, :len(f)] = f, True
    flat = x[valid]
    mean, std = flat.mean(0), flat.std(0) + 1e-6
    g = torch.Generator().manual_seed(0)
    w = torch.zeros(len(FEATURES), dtype=torch.float64)
    w[0] = 1.0  # start as the tree's order
    w += 1e-3 * torch.randn(len(FEATURES), generator=g, dtype=torch.float64)
    w.requires_grad_(True)
    xt = torch.from_numpy((x - mean) / std)
    mask = torch.from_numpy(valid)
    target = torch.tensor([y for _, y in used])
    opt = torch.optim.Adam([w], lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        opt.zero_grad()
        s = (xt @ w).masked_fill(~mask, -1e9)
        loss = torch.nn.functional.cross_entropy(s, target)
        loss.backward()
        opt.step()
    info = {"shortlists": len(used), "skipped": len(shortlists) - len(used),
            "loss": round(float(loss.detach()), 4)} | (meta or {})
    return Reranker(w.detach().numpy(), mean, std, k, asymnet_version, info)
