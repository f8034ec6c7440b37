"""Measuring an index the way the engine uses it: one query at a time, against exact search."""

from __future__ import annotations

import time
from typing import Any

import faiss
import numpy as np

from engine.catalog.index import build_faiss


def exact_neighbours(database: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    flat = faiss.IndexFlatIP(database.shape[1])
    flat.add(database)
    _, ids = flat.search(queries, k)  # batched: the fast way to get ground truth
    return ids


def measure_index(database: np.ndarray, queries: np.ndarray, truth: np.ndarray, *,
                  kind: str | None = None, params: dict[str, Any] | None = None,
                  k: int = 10) -> dict[str, Any]:
    """Build time, index bytes, single-query latency p50/p95 (ms) and recall@k against
    ``truth`` (exact neighbours' ids)."""
    t0 = time.perf_counter()
    index, kind, params = build_faiss(database, np.arange(len(database), dtype=np.int64), kind,
                                      params)
    build_s = time.perf_counter() - t0
    nbytes = int(faiss.serialize_index(index).nbytes)
    index.search(queries[:5], k)
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        _, ids = index.search(q.reshape(1, -1), k)
        times.append(1000 * (time.perf_counter() - t))
        found.append(ids[0])
    recall = float(np.mean([len(set(f.tolist()) & set(t.tolist())) / k
                            for f, t in zip(found, truth, strict=True)]))
    return {"kind": kind, "params": params, "build_s": round(build_s, 2),
            "index_mb": round(nbytes / 2**20, 1),
            "query_ms_p50": round(float(np.percentile(times, 50)), 3),
            "query_ms_p95": round(float(np.percentile(times, 95)), 3),
            f"recall_at_{k}": round(recall, 4)}
