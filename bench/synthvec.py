"""Vectors drawn like real catalogue embeddings, for measuring indexes at sizes no synthetic
catalogue reaches (a million products).

Uniform random vectors are the wrong test: in 256 dimensions they are all nearly orthogonal,
no index beats brute force on them, and their "nearest neighbours" mean nothing. Real
embeddings sit on a low-dimensional manifold, clustered by category and family. So we start
from real IFN embeddings of shop images (``seeds``) and make new products by moving a seed
along directions that real products differ by (differences between two real embeddings of the
same category), plus a little isotropic noise: new products are as far from their seed as real
siblings are from each other. Queries are products moved by the offsets that separate real
video crops from their shop images.
"""

from __future__ import annotations

import numpy as np


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def realistic_vectors(seeds: np.ndarray, categories: np.ndarray, n: int, *,
                      spread: float = 0.45, noise: float = 0.02, seed: int = 0,
                      chunk: int = 100_000) -> np.ndarray:
    """(n, D) float32 unit vectors: seed + spread * (a - b) for a, b real embeddings of the
    seed's category, + isotropic noise. ``spread`` scales how far from its seed a new product
    is (0.45: about as far as a real sibling, measured on the hard benchmark)."""
    seeds = _normalize(np.asarray(seeds, np.float32))
    categories = np.asarray(categories)
    rng = np.random.default_rng(seed)
    by_cat = {c: np.flatnonzero(categories == c) for c in np.unique(categories)}
    out = np.empty((n, seeds.shape[1]), np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        base = rng.integers(len(seeds), size=m)
        a = np.empty(m, np.int64)
        b = np.empty(m, np.int64)
        for c, members in by_cat.items():
            sel = np.flatnonzero(categories[base] == c)
            a[sel] = members[rng.integers(len(members), size=len(sel))]
            b[sel] = members[rng.integers(len(members), size=len(sel))]
        scale = spread * rng.uniform(0.5, 1.5, size=(m, 1)).astype(np.float32)
        x = seeds[base] + scale * (seeds[a] - seeds[b])
        x += noise * rng.standard_normal(x.shape, dtype=np.float32)
        out[start:start + m] = _normalize(x)
    return out


def realistic_queries(database: np.ndarray, offsets: np.ndarray, n: int, *, seed: int = 1
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(queries (n, D), the database row each was made from): a database vector moved by a
    real crop-to-shop offset (``offsets``: crop embedding minus its product's shop embedding)."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(len(database), size=n)
    off = np.asarray(offsets, np.float32)[rng.integers(len(offsets), size=n)]
    return _normalize(database[rows] + off).astype(np.float32), rows
