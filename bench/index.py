"""Measuring an index the way the engine uses it: one query at a time, against exact search."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bench.player import rss_mb
from engine.catalog.index import build_faiss


def exact_neighbours(database: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    flat = faiss.IndexFlatIP(database.shape[1])
    flat.add(database)
    _, ids = flat.search(queries, k)  # batched: the fast way to get ground truth
    return ids


def measure_index(database: np.ndarray, queries: np.ndarray, truth: np.ndarray, *,
                  kind: str | None = None, params: dict[str, Any] | None = None,
                  k: int = 10, backend: str = "faiss") -> dict[str, Any]:
    """Build time, index bytes, single-query latency p50/p95 (ms) and recall@k against
    ``truth`` (exact neighbours' ids). ``backend``: ``faiss`` (its memory is its index's
    bytes), or ``milvus`` (Milvus Lite in a temporary directory, engine/catalog/milvus.py; its
    bytes are the database on disk, its memory what this process grew by: ``rss_growth_mb``;
    a process's growth undercounts FAISS, whose index reuses what the bench freed before)."""
    if backend == "milvus":
        return _measure_milvus(database, queries, truth, kind=kind, k=k)
    t0 = time.perf_counter()
    index, kind, params = build_faiss(database, np.arange(len(database), dtype=np.int64), kind,
                                      params)
    build_s = time.perf_counter() - t0
    nbytes = int(faiss.serialize_index(index).nbytes)
    return _queries(index, queries, truth, k) | {
        "kind": kind, "params": params, "build_s": round(build_s, 2),
        "index_mb": round(nbytes / 2**20, 1)}


def _measure_milvus(database: np.ndarray, queries: np.ndarray, truth: np.ndarray, *,
                    kind: str | None, k: int) -> dict[str, Any]:
    from engine.catalog.milvus import MilvusIndex

    with tempfile.TemporaryDirectory(prefix="v2s-milvus-bench-") as d:
        uri, collection = MilvusIndex.location(d, None)
        # Milvus Lite 3 serves from threads of this process: its memory is what this
        # process grows by while the collection is loaded (the modules imported before)
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401

        _release_freed()  # what earlier work freed must not come back out of the window
        rss0 = rss_mb()
        t0 = time.perf_counter()
        index = MilvusIndex.build(database, np.arange(len(database), dtype=np.int64),
                                  model_version="bench", fingerprint="bench", uri=uri,
                                  collection=collection, kind=kind)
        build_s = time.perf_counter() - t0
        try:
            out = _queries(index, queries, truth, k)
            grown = round(rss_mb() - rss0, 1)
        finally:
            index.close()
        nbytes = sum(f.stat().st_size for f in Path(d).rglob("*") if f.is_file())
    return out | {"kind": index.sidecar.kind, "params": index.sidecar.params,
                  "build_s": round(build_s, 2), "index_mb": round(nbytes / 2**20, 1),
                  "rss_growth_mb": grown, "backend": "milvus-lite"}


def _release_freed() -> None:
    """Collects garbage and hands freed heap pages back to the system (glibc's malloc_trim),
    so that a later measure of growth is not lowered by memory freed before it began."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _queries(index, queries: np.ndarray, truth: np.ndarray, k: int) -> dict[str, Any]:
    index.search(queries[:5], k)
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        _, ids = index.search(q.reshape(1, -1), k)
        times.append(1000 * (time.perf_counter() - t))
        found.append(ids[0])
    recall = float(np.mean([len(set(f.tolist()) & set(t.tolist())) / k
                            for f, t in zip(found, truth, strict=True)]))
    return {"query_ms_p50": round(float(np.percentile(times, 50)), 3),
            "query_ms_p95": round(float(np.percentile(times, 95)), 3),
            f"recall_at_{k}": round(recall, 4)}
