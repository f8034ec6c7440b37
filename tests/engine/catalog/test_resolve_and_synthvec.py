"""Catalogue sources imported once into the cache; index-benchmark vectors that look like
embeddings, not noise."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.synthvec import realistic_queries, realistic_vectors
from engine.catalog.resolve import resolve_catalog
from engine.catalog.store import CatalogError, CatalogStore


def test_a_source_is_imported_once_and_again_when_it_changes(source_dir, tmp_path):
    logs = []
    first = resolve_catalog(source_dir, cache=tmp_path / "cache", log=logs.append)
    assert (first / "catalog.sqlite").is_file() and len(logs) == 1
    assert resolve_catalog(source_dir, cache=tmp_path / "cache", log=logs.append) == first
    assert len(logs) == 1  # reused
    src = source_dir / "products.jsonl"
    rows = src.read_text().splitlines()
    src.write_text("\n".join(rows[:5]) + "\n" + json.dumps({"id": "bad"}) + "\n")
    assert resolve_catalog(source_dir, cache=tmp_path / "cache", log=logs.append) == first
    assert any("skipped" in m for m in logs)
    assert resolve_catalog(first) == first  # a catalogue directory is used as it is
    with CatalogStore(first) as store:
        assert store.count()[0] == 12  # re-import updates; it never deletes
    with pytest.raises(CatalogError, match="neither"):
        resolve_catalog(tmp_path / "nothing-here")


def test_realistic_vectors_are_clustered_like_their_seeds():
    rng = np.random.default_rng(0)
    seeds = rng.normal(size=(60, 32)).astype(np.float32)
    seeds /= np.linalg.norm(seeds, axis=1, keepdims=True)
    cats = np.repeat(np.arange(6), 10)
    x = realistic_vectors(seeds, cats, 5000, seed=1)
    assert x.shape == (5000, 32) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1, rtol=1e-5)
    # every vector is much closer to some seed than random unit vectors are
    nearest = (x @ seeds.T).max(axis=1)
    noise = rng.normal(size=(5000, 32)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    assert np.median(nearest) > np.median((noise @ seeds.T).max(axis=1)) + 0.2
    offsets = 0.05 * rng.normal(size=(20, 32)).astype(np.float32)
    q, rows = realistic_queries(x, offsets, 100)
    assert q.shape == (100, 32)
    assert np.mean(np.argmax(q @ x.T, axis=1) == rows) > 0.2  # a query is near its product


def test_where_a_catalogue_is_resolved_from_each_kind_of_source(source_dir, tmp_path):
    """The rules one at a time, each with its message (from the mutation check's survivors):
    a benchmark directory's catalog/products.jsonl, a folder's products.jsonl, a file by its
    suffix; the cache key is the source's resolved path; the stamp is its size and mtime."""
    import hashlib
    import shutil

    from engine.catalog.resolve import STAMP

    cache = tmp_path / "cache"
    bench = tmp_path / "bench"
    (bench / "catalog").mkdir(parents=True)
    shutil.copy(source_dir / "products.jsonl", bench / "catalog" / "products.jsonl")
    shutil.copytree(source_dir / "images", bench / "catalog" / "images")
    logs: list[str] = []
    got = resolve_catalog(bench, cache=cache, log=logs.append)
    src = (bench / "catalog" / "products.jsonl").resolve()
    assert got == cache / "catalogs" / hashlib.sha256(str(src).encode()).hexdigest()[:16]
    assert logs == [f"importing the catalogue {bench / 'catalog' / 'products.jsonl'} into {got}"]
    stamp = json.loads((got / STAMP).read_text())
    assert stamp == {"source": str(src), "size": src.stat().st_size,
                     "mtime": src.stat().st_mtime}
    # a file given by itself, by suffix; any case
    as_file = tmp_path / "feed.JSONL"
    shutil.copy(source_dir / "products.jsonl", as_file)
    shutil.copytree(source_dir / "images", tmp_path / "images")
    assert resolve_catalog(as_file, cache=cache) != got
    # a damaged stamp means import again, not an exception
    (got / STAMP).write_bytes(b"\xff\xfe not json")
    logs.clear()
    assert resolve_catalog(bench, cache=cache, log=logs.append) == got
    assert len(logs) == 1 and logs[0].startswith("importing the catalogue")
    # a file of another kind is no source
    other = tmp_path / "notes.txt"
    other.write_text("id,title\n")
    with pytest.raises(CatalogError) as err:
        resolve_catalog(other, cache=cache)
    assert str(err.value) == (f"{other} is neither a catalogue directory (catalog.sqlite) nor a "
                              "products.jsonl, a CSV or a benchmark directory")


def test_skipped_rows_are_logged_with_the_first_reason(source_dir, tmp_path):
    src = source_dir / "products.jsonl"
    src.write_text(src.read_text() + json.dumps({"id": "bad"}) + "\n")
    logs: list[str] = []
    resolve_catalog(source_dir, cache=tmp_path / "cache", log=logs.append)
    assert len(logs) == 2
    assert logs[1] == "1 catalogue rows skipped, first: line 13: missing title"
