"""The catalogue's index on Milvus Lite (engine/catalog/milvus.py): a real embedded Milvus in a
temporary directory, compared with FAISS on the same vectors and the same catalogue."""

from __future__ import annotations

import importlib.util
import json
import sys

import cv2
import numpy as np
import pytest

from engine.catalog.importer import import_catalog
from engine.catalog.index import IndexStale, VectorIndex
from engine.catalog.milvus import (
    BACKEND_FILE,
    LITE_FILE,
    MilvusIndex,
    collection_name,
    parse_backend,
    read_backend,
)
from engine.catalog.retrieval import Catalog
from engine.catalog.store import CatalogError
from engine.matching import Matcher

needs_milvus = pytest.mark.skipif(importlib.util.find_spec("pymilvus") is None,
                                  reason="the scale extra (pip install '.[scale]') is not here")


def test_without_the_scale_extra_milvus_is_refused_with_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pymilvus", None)  # as if it were not installed
    with pytest.raises(CatalogError, match=r"pip install '.\[scale\]'.*or use --index faiss"):
        MilvusIndex.load(uri=str(tmp_path / LITE_FILE), collection="images",
                         model_version="m1", fingerprint="f1")


def clustered(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim))
    x = centres[rng.integers(40, size=n)] + 0.3 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@needs_milvus
def test_milvus_lite_answers_as_exact_faiss_does_and_refuses_what_does_not_fit(tmp_path):
    x = clustered(3000)
    ids = np.arange(3000, dtype=np.int64) * 3 + 7  # store rows, not positions
    q = clustered(25, seed=1)
    uri, collection = MilvusIndex.location(tmp_path, None)
    assert (uri, collection) == (str(tmp_path / LITE_FILE), "images")
    built = MilvusIndex.build(x, ids, model_version="m1", fingerprint="f1", uri=uri,
                              collection=collection)
    exact_scores, exact_ids = VectorIndex.build(x, ids, model_version="m1",
                                                fingerprint="f1").search(q, 10)
    scores, found = built.search(q, 10)
    assert built.sidecar.kind == "flat" and built.sidecar.count == 3000
    np.testing.assert_array_equal(found, exact_ids)
    np.testing.assert_allclose(scores, exact_scores, atol=1e-5)
    # more asked than there are: FAISS's shape, the rest -1
    few = MilvusIndex.build(x[:4], ids[:4], model_version="m1", fingerprint="f1", uri=uri,
                            collection="few")
    _, i = few.search(q[:2], 10)
    assert i.shape == (2, 4) and set(i[0]) == set(ids[:4].tolist())
    few.close()
    built.close()
    # reopened from the file: the same answers, its description read back
    again = MilvusIndex.load(uri=uri, collection=collection, model_version="m1",
                             fingerprint="f1", dim=64)
    np.testing.assert_array_equal(again.search(q, 10)[1], exact_ids)
    assert again.sidecar.build_seconds >= 0 and again.sidecar.metric == "inner_product"
    with pytest.raises(ValueError, match="dimension 32, the index 64"):
        again.search(q[:, :32], 5)
    again.close()
    for kw, why in ((dict(model_version="m2", fingerprint="f1"), "built with m1"),
                    (dict(model_version="m1", fingerprint="f2"), "catalogue changed"),
                    (dict(model_version="m1", fingerprint="f1", dim=128), "dimension 64")):
        with pytest.raises(IndexStale, match=why):
            MilvusIndex.load(uri=uri, collection=collection, **kw).close()
    with pytest.raises(IndexStale, match="no index elsewhere yet"):
        MilvusIndex.load(uri=uri, collection="elsewhere", model_version="m1", fingerprint="f1")
    with pytest.raises(CatalogError, match="no embedded images"):
        MilvusIndex.build(x[:0], ids[:0], model_version="m1", fingerprint="f1", uri=uri,
                          collection="empty")


@needs_milvus
def test_an_ivf_index_on_milvus_finds_most_exact_neighbours(tmp_path):
    x = clustered(6000)
    ids = np.arange(6000, dtype=np.int64)
    q = clustered(50, seed=2)
    uri, collection = MilvusIndex.location(tmp_path, None)
    ivf = MilvusIndex.build(x, ids, model_version="m1", fingerprint="f1", uri=uri,
                            collection=collection, kind="ivf_sq8")
    assert ivf.sidecar.params == {"nlist": int(4 * np.sqrt(6000)), "nprobe": 32}
    _, exact = VectorIndex.build(x, ids, model_version="m1", fingerprint="f1").search(q, 10)
    _, found = ivf.search(q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)])
    assert recall >= 0.9, recall
    ivf.close()
    with pytest.raises(ValueError, match="unknown index kind"):
        MilvusIndex.build(x, ids, model_version="m1", fingerprint="f1", uri=uri,
                          collection="x", kind="annoy")


def test_the_backend_is_the_catalogues_choice(tmp_path, monkeypatch):
    monkeypatch.delenv("MILVUS_URI", raising=False)
    assert parse_backend(None) == ("faiss", None) == parse_backend("faiss")
    assert parse_backend("milvus") == ("milvus", None)
    assert parse_backend("milvus:http://db:19530") == ("milvus", "http://db:19530")
    monkeypatch.setenv("MILVUS_URI", "http://cluster:19530")
    assert parse_backend("milvus") == ("milvus", "http://cluster:19530")
    for bad in ("milvus:", "elastic", "Milvus"):
        with pytest.raises(CatalogError, match="unknown index"):
            parse_backend(bad)
    assert read_backend(tmp_path) == "faiss"
    (tmp_path / BACKEND_FILE).write_text("{not json")
    with pytest.raises(CatalogError, match="unreadable: delete it"):
        read_backend(tmp_path)
    # a shared server holds one collection per catalogue, named by the directory
    assert collection_name(tmp_path / "a") != collection_name(tmp_path / "b")
    assert collection_name(tmp_path / "a") == collection_name(tmp_path / "x" / ".." / "a")


@needs_milvus
def test_a_catalogue_on_milvus_matches_as_on_faiss_and_keeps_its_choice(
        source_dir, tmp_path, untrained_matcher, monkeypatch):
    monkeypatch.delenv("MILVUS_URI", raising=False)
    cat_dir = tmp_path / "cat"
    import_catalog(str(source_dir / "products.jsonl"), cat_dir)
    on_faiss = Catalog.open(cat_dir, untrained_matcher, n_candidates=5)
    img = cv2.cvtColor(cv2.imread(str(source_dir / "images" / "q0005.jpg")), cv2.COLOR_BGR2RGB)
    frames = on_faiss.vectors[[2, 2, 3, 2, 2]]
    want_search = [(m.product.id, round(m.score, 4)) for m in
                   Matcher(on_faiss).search_image(img, k=4)]
    want_rank = [(m.product.id, round(m.score, 4)) for m in Matcher(on_faiss).rank(frames, k=4)]
    on_faiss.close()
    messages = []
    cat = Catalog.open(cat_dir, untrained_matcher, n_candidates=5, index="milvus",
                       log=messages.append)
    try:
        assert isinstance(cat.index, MilvusIndex) and (cat_dir / LITE_FILE).exists()
        assert any("built a Milvus flat index of 12 images" in m for m in messages)
        assert [(m.product.id, round(m.score, 4)) for m in
                Matcher(cat).search_image(img, k=4)] == want_search
        assert [(m.product.id, round(m.score, 4)) for m in
                Matcher(cat).rank(frames, k=4)] == want_rank
    finally:
        cat.close()
    assert json.loads((cat_dir / BACKEND_FILE).read_text()) == {"backend": "milvus", "uri": None}
    # opened again without a word (the player, analyze): Milvus, nothing rebuilt
    messages.clear()
    cat = Catalog.open(cat_dir, untrained_matcher, log=messages.append)
    assert isinstance(cat.index, MilvusIndex) and messages == []
    cat.close()
    # another model: rebuilt on Milvus too, saying why
    untrained_matcher.version = "asymnet-test1"
    cat = Catalog.open(cat_dir, untrained_matcher, log=messages.append)
    cat.close()
    assert any("built with asymnet-test0" in m for m in messages)
    # and back to FAISS when asked
    cat = Catalog.open(cat_dir, untrained_matcher, index="faiss")
    assert isinstance(cat.index, VectorIndex) and read_backend(cat_dir) == "faiss"
    cat.close()


@needs_milvus
def test_an_unreachable_milvus_server_is_a_clear_error(source_dir, tmp_path, untrained_matcher):
    cat_dir = tmp_path / "cat"
    import_catalog(str(source_dir / "products.jsonl"), cat_dir)
    # a port nothing listens on: refused at once
    with pytest.raises(CatalogError, match=r"Milvus at http://127\.0\.0\.1:9"):
        Catalog.open(cat_dir, untrained_matcher, index="milvus:http://127.0.0.1:9")
    assert read_backend(cat_dir) == "faiss"  # the choice is kept only once it works
