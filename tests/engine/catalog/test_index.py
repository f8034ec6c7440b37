"""The FAISS index with its sidecar, and two-stage retrieval over a real imported catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.catalog.importer import import_catalog
from engine.catalog.index import IndexStale, VectorIndex, choose_kind
from engine.catalog.retrieval import Catalog
from engine.catalog.store import CatalogError, CatalogStore
from engine.matching import Matcher


def clustered(n: int, dim: int = 64, clusters: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    x = centres[rng.integers(clusters, size=n)] + 0.3 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf", "ivf_sq8"])
def test_every_kind_finds_the_exact_neighbours(kind, tmp_path):
    x = clustered(4000)
    ids = np.arange(4000, dtype=np.int64) * 3 + 7  # store rows, not positions
    index = VectorIndex.build(x, ids, model_version="m1", fingerprint="f1", kind=kind)
    q = clustered(50, seed=1)
    _, got = index.search(q, 10)
    exact = ids[np.argsort(-(q @ x.T), axis=1)[:, :10]]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, exact, strict=True)])
    assert recall >= (1.0 if kind == "flat" else 0.9)
    index.save(tmp_path)
    again = VectorIndex.load(tmp_path, model_version="m1", fingerprint="f1")
    assert again.sidecar.kind == kind
    np.testing.assert_array_equal(again.search(q, 10)[1], got)


def test_sidecar_mismatches_mean_rebuild(tmp_path):
    x = clustered(100)
    with pytest.raises(IndexStale, match="no index yet"):
        VectorIndex.load(tmp_path, model_version="m1", fingerprint="f1")
    VectorIndex.build(x, np.arange(100), model_version="m1", fingerprint="f1").save(tmp_path)
    side = json.loads((tmp_path / "index.json").read_text())
    assert side | {"built": 0, "build_seconds": 0} == {
        "kind": "flat", "metric": "inner_product", "dim": 64, "model_version": "m1",
        "count": 100, "fingerprint": "f1", "params": {}, "built": 0, "build_seconds": 0,
        "sidecar_version": 1}
    with pytest.raises(IndexStale, match="built with m1"):
        VectorIndex.load(tmp_path, model_version="m2", fingerprint="f1")
    with pytest.raises(IndexStale, match="catalogue changed"):
        VectorIndex.load(tmp_path, model_version="m1", fingerprint="f2")
    (tmp_path / "index.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexStale, match="unreadable"):
        VectorIndex.load(tmp_path, model_version="m1", fingerprint="f1")
    (tmp_path / "index.json").write_text("{")
    with pytest.raises(IndexStale, match="sidecar"):
        VectorIndex.load(tmp_path, model_version="m1", fingerprint="f1")


def test_kind_follows_size():
    assert choose_kind(1000) == "flat"
    assert choose_kind(2_000_000) == "ivf_sq8"



def test_catalog_embeds_indexes_and_finds_a_products_own_image(source_dir, tmp_path,
                                                               untrained_matcher):
    cat_dir = tmp_path / "cat"
    import_catalog(str(source_dir / "products.jsonl"), cat_dir)
    messages = []
    cat = Catalog.open(cat_dir, untrained_matcher, log=messages.append, n_candidates=5)
    try:
        assert cat.index.sidecar.kind == "flat" and cat.index.sidecar.count == 12
        assert any("embedding 12" in m for m in messages)
        for pid in ("q0003", "q0007"):
            img = cv2.cvtColor(cv2.imread(str(source_dir / "images" / f"{pid}.jpg")),
                               cv2.COLOR_BGR2RGB)
            hits = Matcher(cat).search_image(img, k=3)
            assert hits[0].product.id == pid and hits[0].score == pytest.approx(1, abs=1e-4)
            assert len(hits) == 3 and hits[0].score >= hits[1].score >= hits[2].score
        frames = cat.vectors[[2, 2, 3, 2, 2]]  # a "trajectory" that looks like images 2 and 3
        matches = Matcher(cat).rank(frames, k=4)
        assert len(matches) == 4
        assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
        assert matches[0].clip_weights is not None
        np.testing.assert_allclose(matches[0].clip_weights.sum(), 1, rtol=1e-5)
    finally:
        cat.close()
    # reopening: nothing to embed, the saved index is used
    messages.clear()
    cat = Catalog.open(cat_dir, untrained_matcher, log=messages.append)
    cat.close()
    assert messages == []
    # another model: re-embedded and rebuilt, with a message saying why
    untrained_matcher.version = "asymnet-test1"
    cat = Catalog.open(cat_dir, untrained_matcher, log=messages.append)
    cat.close()
    assert any("built with asymnet-test0" in m for m in messages)
    with CatalogStore(cat_dir) as store:
        assert store.check() == []


def test_opening_a_catalogue_reports_and_rebuilds_as_it_says(source_dir, tmp_path,
                                                               untrained_matcher):
    """Catalog.open's rules one at a time (from the mutation check's survivors): the progress
    of embedding, its log lines, the index kind asked for, the shortlist size checked, and a
    missing shop image named with what to do."""
    import shutil

    cat_dir = tmp_path / "cat"
    import_catalog(str(source_dir / "products.jsonl"), cat_dir)
    messages: list[str] = []
    steps: list[tuple[int, int]] = []
    cat = Catalog.open(cat_dir, untrained_matcher, log=messages.append,
                       progress=lambda done, total: steps.append((done, total)))
    cat.close()
    assert steps == [(12, 12)]  # one batch of EMBED_BATCH
    assert messages[0] == "embedding 12 shop images with asymnet-test0"
    assert messages[-1].startswith("built a flat index of 12 images in ")
    messages.clear()
    cat = Catalog.open(cat_dir, untrained_matcher, log=messages.append, kind="ivf")
    assert cat.index.sidecar.kind == "ivf"
    cat.close()
    assert messages[0] == "index kind flat was asked to be ivf: rebuilding"
    with pytest.raises(ValueError) as err:
        Catalog.open(cat_dir, untrained_matcher, n_candidates=0)
    assert str(err.value) == "n_candidates must be at least 1, got 0"
    broken = tmp_path / "broken"
    shutil.copytree(cat_dir, broken)
    with CatalogStore(broken) as store:
        store.db.execute("DELETE FROM embeddings")
        store.db.commit()
        (_, path), *_ = store.images_without_embedding("asymnet-test0")
    Path(path).unlink()
    with pytest.raises(CatalogError) as err:
        Catalog.open(broken, untrained_matcher)
    assert str(err.value) == (f"shop image {path} is missing or unreadable; re-import the "
                              "catalogue to repair it")


def test_each_kind_is_built_with_its_parameters_and_searched_with_them(tmp_path):
    """The defaults each index kind is built with, saved in its sidecar and set again on load
    (from the mutation check's survivors: a parameter nobody read back could change freely)."""
    import faiss

    from engine.catalog.index import build_faiss

    x = clustered(900)
    ids = np.arange(900, dtype=np.int64)
    index, kind, params = build_faiss(x, ids, "hnsw")
    hnsw = faiss.downcast_index(index.index)
    assert (kind, params) == ("hnsw", {"M": 32, "ef_construction": 64, "ef_search": 96})
    assert hnsw.hnsw.efSearch == 96 and hnsw.hnsw.efConstruction == 64
    assert index.ntotal == 900 and index.metric_type == faiss.METRIC_INNER_PRODUCT
    index, kind, params = build_faiss(x, ids, "ivf")
    assert params == {"nlist": 120, "nprobe": 32}  # 4 sqrt(900)
    ivf = faiss.extract_index_ivf(index)
    assert (ivf.nlist, ivf.nprobe) == (120, 32)
    assert isinstance(faiss.downcast_index(index), faiss.IndexIVFFlat)
    index, kind, params = build_faiss(x[:10], ids[:10], "ivf_sq8", {"nprobe": 4})
    assert params == {"nlist": 10, "nprobe": 4}  # never more cells than vectors
    assert faiss.extract_index_ivf(index).nprobe == 4
    assert build_faiss(x, ids)[1] == "flat"  # chosen by size
    with pytest.raises(ValueError) as err:
        build_faiss(x, ids, "lsh")
    assert str(err.value) == "unknown index kind 'lsh'; choose one of flat, hnsw, ivf, ivf_sq8"
    # the search parameters come back from the sidecar, not from FAISS's defaults
    for kind, params in (("hnsw", {"ef_search": 40}), ("ivf", {"nprobe": 7})):
        d = tmp_path / kind
        d.mkdir()
        VectorIndex.build(x, ids, model_version="m", fingerprint="f", kind=kind,
                          params=params).save(d)
        got = VectorIndex.load(d, model_version="m", fingerprint="f")
        if kind == "hnsw":
            assert faiss.downcast_index(got.index.index).hnsw.efSearch == 40
        else:
            assert faiss.extract_index_ivf(got.index).nprobe == 7
    with pytest.raises(CatalogError) as err:
        VectorIndex.build(x[:0], ids[:0], model_version="m", fingerprint="f")
    assert str(err.value) == "the catalogue has no embedded images to index"


def test_loading_an_index_that_does_not_fit_says_why(tmp_path):
    x = clustered(50)
    VectorIndex.build(x, np.arange(50), model_version="m1", fingerprint="f1").save(tmp_path)
    with pytest.raises(IndexStale) as err:
        VectorIndex.load(tmp_path, model_version="m2", fingerprint="f1")
    assert str(err.value) == ("the index was built with m1, the model is now m2: re-embedding "
                              "and rebuilding")
    with pytest.raises(IndexStale) as err:
        VectorIndex.load(tmp_path, model_version="m1", fingerprint="f1", dim=32)
    assert str(err.value) == "the index has dimension 64, the model 32: rebuilding"
    assert VectorIndex.load(tmp_path, model_version="m1", fingerprint="f1", dim=64)
    index = VectorIndex.load(tmp_path, model_version="m1", fingerprint="f1")
    with pytest.raises(ValueError) as err:
        index.search(np.zeros((1, 8), np.float32), 3)
    assert str(err.value) == "queries have dimension 8, the index 64"
    scores, got = index.search(x[0], 100)  # one query; k is capped at what the index holds
    assert got.shape == (1, 50) and got[0, 0] == 0 and scores[0, 0] == pytest.approx(1, abs=1e-5)
    side = json.loads((tmp_path / "index.json").read_text())
    (tmp_path / "index.json").write_text(json.dumps(side | {"sidecar_version": 0}))
    with pytest.raises(IndexStale) as err:
        VectorIndex.load(tmp_path, model_version="m1", fingerprint="f1")
    assert str(err.value) == "index sidecar version 0: rebuilding"
    (tmp_path / "index.json").write_text(json.dumps(side | {"count": 49}))
    with pytest.raises(IndexStale) as err:
        VectorIndex.load(tmp_path, model_version="m1", fingerprint="f1")
    assert str(err.value) == f"{tmp_path / 'index.faiss'} does not match its sidecar: rebuilding"
    (tmp_path / "index.faiss").unlink()
    with pytest.raises(IndexStale) as err:
        VectorIndex.load(tmp_path, model_version="m1", fingerprint="f1")
    assert str(err.value) == f"{tmp_path} has no index yet: building it"


@pytest.fixture
def mixed_catalog(tmp_path, untrained_matcher):
    """Six products of three garment groups, the second with two images."""
    from tests.engine.catalog.conftest import product, write_jpeg

    src = tmp_path / "mixed"
    rows = []
    for i, cat in enumerate(["shirt", "dress", "trousers", "shirt", "dress", "coat"]):
        images = [f"images/m{i}.jpg"]
        write_jpeg(src / images[0], 40 + i)
        if i == 1:
            images.append("images/m1b.jpg")
            write_jpeg(src / images[1], 90)
        rows.append(product(i, images[0], images=images, category=cat))
    (src / "products.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    import_catalog(str(src / "products.jsonl"), tmp_path / "mixed-cat")
    cat = Catalog.open(tmp_path / "mixed-cat", untrained_matcher, n_candidates=3)
    yield cat
    cat.close()


def test_like_with_like_keeps_the_garments_group(mixed_catalog):
    cat = mixed_catalog
    every = np.arange(len(cat.vectors))
    cats = cat.store.product_categories()

    def kept(category):
        return sorted({cats[int(p)] for p in cat.image_products[cat.like_with_like(every,
                                                                                   category)]})

    assert kept("dress") == ["coat", "dress"]  # a coat may be worn long
    assert kept("upper-body") == ["coat", "shirt"]
    assert kept("lower-body") == ["trousers"]
    assert kept("") == ["coat", "dress", "shirt", "trousers"]  # no category: all
    assert kept("cape") == ["coat", "dress", "shirt", "trousers"]  # not in the table: all
    shirts = np.flatnonzero(np.isin(cat.image_products,
                                    [r for r, c in cats.items() if c == "shirt"]))
    assert cat.like_with_like(shirts, "trousers").tolist() == shirts.tolist()  # none fit: all
    assert cat.like_with_like(every[:0], "dress").tolist() == []


def test_search_and_candidates_rank_products_by_their_best_image(mixed_catalog):
    cat = mixed_catalog
    two = int(np.flatnonzero(np.bincount(cat.image_products) == 2)[0])  # the two-image product
    second = np.flatnonzero(cat.image_products == two)[1]
    hits = cat.search_embedding(cat.vectors[second], k=3)
    assert len(hits) == 3 and hits[0].product.row == two
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)  # its best image, not its first
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.product.row for h in hits}) == 3  # a product once
    assert len(cat.search_embedding(cat.vectors[0], k=50)) == 6  # every product, no more
    pos = cat.candidates(cat.vectors[second][None])
    # the 3 nearest images' products, with every image of each
    assert set(cat.image_products[pos]) >= {two}
    assert all(set(np.flatnonzero(cat.image_products == p)) <= set(pos)
               for p in cat.image_products[pos])
    ranked = cat.rank_products(np.array([0.2, 0.9, 0.5]), np.array([0, 1, 2]), k=2)
    prods = cat.image_products[[0, 1, 2]]
    assert [r[0] for r in ranked] == sorted({int(p) for p in prods},
                                            key=lambda p: -max(s for s, q in zip(
                                                [0.2, 0.9, 0.5], prods, strict=True)
                                                if q == p))[:2]
    assert ranked[0][1] == pytest.approx(0.9) and ranked[0][2] == 1
