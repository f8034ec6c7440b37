"""Stage 1 of retrieval, rule by rule (from the mutation check's survivors): the shortlist's size
and depth, products with many images, a catalogue of one product, ties, ids the catalogue does
not hold, float64 queries, and how ``Catalog.open`` finds its model and its index."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.asymnet.model import AsymNet, model_version, save_asymnet
from engine.catalog.importer import import_catalog
from engine.catalog.index import VectorIndex
from engine.catalog.retrieval import Catalog, index_fingerprint, load_or_build_index
from engine.catalog.store import CatalogStore, StoredImage
from engine.catalog.validate import ProductRow
from tests.engine.catalog.conftest import product, write_jpeg

DIM = 16


def fan(angles: list[float], seed: int = 0) -> np.ndarray:
    """Unit vectors at the given angles from e0, each in its own direction away from it: the
    score of each against e0 is exactly cos(angle)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((len(angles), DIM), np.float32)
    for i, a in enumerate(angles):
        u = rng.normal(size=DIM - 1)
        out[i, 0] = np.cos(a)
        out[i, 1:] = np.sin(a) * u / np.linalg.norm(u)
    return out


def stored_catalog(directory, matcher, images_per_product: list[int], *,
                   extra_ids: int = 0, n_candidates: int = 100):
    """A catalogue written through the store (no image files are read: its vectors are given):
    product p's images all score cos(0.1 + 0.1 p) against e0. With ``extra_ids``, the index
    also holds that many vectors under rows the catalogue does not have, nearest of all."""
    store = CatalogStore(directory)
    batch = []
    for p, n in enumerate(images_per_product):
        row = ProductRow(id=f"p{p}", title=f"Product {p}", category="shirt", price=10.0 + p,
                         currency="CNY", url=f"https://shop.example.com/p{p}", images=[])
        images = [StoredImage(f"{p:04d}{i:04d}", f"images/{p}-{i}.jpg", 8, 8, "test")
                  for i in range(n)]
        batch.append((row, images, "test"))
    store.upsert_batch(batch)
    rows = [r for r, _ in store.images_without_embedding(matcher.version)]
    angles = [0.1 + 0.1 * p for p, n in enumerate(images_per_product) for _ in range(n)]
    store.put_embeddings(matcher.version, rows, fan(angles))
    if extra_ids:
        r, _, v = store.embeddings(matcher.version)
        far = 10 ** 6 + np.arange(extra_ids)
        index = VectorIndex.build(np.vstack([v, fan([0.0] * extra_ids, seed=1)]),
                                  np.concatenate([r, far]), model_version=matcher.version,
                                  fingerprint="f")
    else:
        index = load_or_build_index(store, matcher.version)
    return Catalog(store, matcher, index, n_candidates)


def e0() -> np.ndarray:
    q = np.zeros(DIM, np.float32)
    q[0] = 1
    return q


def test_the_shortlist_is_100_products_by_default_and_may_be_1(tmp_path, untrained_matcher):
    """docs (retrieval.py): ``n_candidates`` nearest, default 100."""
    cat = stored_catalog(tmp_path / "c", untrained_matcher, [2, 1, 1])
    try:
        assert Catalog(cat.store, untrained_matcher, cat.index).n_candidates == 100
        one = Catalog(cat.store, untrained_matcher, cat.index, n_candidates=1)
        pos = one.candidates(e0()[None])
        assert cat.image_products[pos].tolist() == [cat.image_products[0]] * 2  # both images
    finally:
        cat.close()


def test_a_catalogue_of_one_product_with_one_image_answers_it(tmp_path, untrained_matcher):
    cat = stored_catalog(tmp_path / "c", untrained_matcher, [1])
    try:
        hits = cat.search_embedding(cat.vectors[0], k=10)
        assert [h.product.id for h in hits] == ["p0"]
        assert hits[0].score == pytest.approx(1.0, abs=1e-6)
        assert cat.candidates(cat.vectors[:1]).tolist() == [0]
    finally:
        cat.close()


@pytest.mark.parametrize(("per_product", "k"), [(4, 5), (8, 2)])
def test_search_looks_deep_enough_for_products_with_several_images(tmp_path, untrained_matcher,
                                                                    per_product, k):
    """FAISS is asked for max(4 k, k + 10) images: k products come back when every product has
    up to four images (k >= 4), or when the first k products hold up to k + 10 images."""
    cat = stored_catalog(tmp_path / "c", untrained_matcher, [per_product] * 8)
    try:
        hits = cat.search_embedding(e0(), k=k)
        assert [h.product.id for h in hits] == [f"p{p}" for p in range(k)]
        np.testing.assert_allclose([h.score for h in hits],
                                   np.cos(0.1 + 0.1 * np.arange(k)), rtol=1e-5)
    finally:
        cat.close()


def test_a_float64_or_list_embedding_scores_as_its_float32_copy(tmp_path, untrained_matcher):
    cat = stored_catalog(tmp_path / "c", untrained_matcher, [1, 2, 1, 3])
    try:
        q = fan([0.35], seed=5)[0]
        want = [(h.product.id, h.score) for h in cat.search_embedding(q, k=3)]
        assert len(want) == 3
        for other in (q.astype(np.float64), q.tolist()):
            got = [(h.product.id, h.score) for h in cat.search_embedding(other, k=3)]
            assert got == want  # the very same floats
    finally:
        cat.close()


def test_ids_the_catalogue_does_not_hold_are_never_proposed(tmp_path, untrained_matcher):
    """An index handed to Catalog with rows the store lacks (nearest of all here): they are
    left out, and the catalogue's own products still come back."""
    cat = stored_catalog(tmp_path / "c", untrained_matcher, [1, 1, 1], extra_ids=2,
                         n_candidates=3)
    try:
        pos = cat.candidates(e0()[None])
        assert sorted(cat.image_products[pos].tolist()) == [cat.image_products[0]]
        assert [h.product.id for h in cat.search_embedding(e0(), k=3)] == ["p0", "p1", "p2"]
    finally:
        cat.close()


def test_rank_products_keeps_the_first_of_equal_images_and_needs_a_score_each(
        tmp_path, untrained_matcher):
    cat = stored_catalog(tmp_path / "c", untrained_matcher, [2, 1])
    try:
        # positions 0 and 1 are the first product's two images, with equal scores
        ranked = cat.rank_products(np.array([0.5, 0.5, 0.7]), np.array([0, 1, 2]), k=2)
        assert ranked == [(int(cat.image_products[2]), 0.7, 2),
                          (int(cat.image_products[0]), 0.5, 0)]
        with pytest.raises(ValueError):
            cat.rank_products(np.array([0.5, 0.4]), np.array([0]), k=2)
    finally:
        cat.close()


def test_the_index_belongs_to_every_vector_of_the_model(tmp_path, untrained_matcher):
    """The index's fingerprint names the store, the model and how many vectors of it there are:
    an index built before every image had a vector is rebuilt once they all have one, and a
    catalogue that changed is re-indexed."""
    version = untrained_matcher.version
    cat = stored_catalog(tmp_path / "c", untrained_matcher, [2, 2])
    store = cat.store
    try:
        assert index_fingerprint(store, version) == f"{store.fingerprint()}:{version}:4"
        rows, _, vectors = store.embeddings(version)
        store.db.execute("DELETE FROM embeddings WHERE image = ?", (int(rows[-1]),))
        store.db.commit()
        messages: list[str] = []
        assert load_or_build_index(store, version, log=messages.append).sidecar.count == 3
        assert messages[0] == "the catalogue changed since the index was built: rebuilding"
        store.put_embeddings(version, [int(rows[-1])], vectors[-1:])
        messages.clear()
        assert load_or_build_index(store, version, log=messages.append).sidecar.count == 4
        assert messages[0] == "the catalogue changed since the index was built: rebuilding"
        messages.clear()
        assert load_or_build_index(store, version, log=messages.append).sidecar.count == 4
        assert messages == []  # unchanged: the saved index is used
    finally:
        cat.close()


def test_reopening_a_catalogue_that_grew_rebuilds_its_index(source_dir, tmp_path,
                                                             untrained_matcher):
    cat_dir = tmp_path / "cat"
    rows = [json.loads(line) for line in
            (source_dir / "products.jsonl").read_text().splitlines()]
    (source_dir / "first.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:8]))
    import_catalog(str(source_dir / "first.jsonl"), cat_dir)
    Catalog.open(cat_dir, untrained_matcher).close()
    import_catalog(str(source_dir / "products.jsonl"), cat_dir)
    messages: list[str] = []
    cat = Catalog.open(cat_dir, untrained_matcher, log=messages.append)
    try:
        assert cat.index.sidecar.count == 12 and len(cat.vectors) == 12
        assert "the catalogue changed since the index was built: rebuilding" in messages
        assert cat.n_candidates == 100
    finally:
        cat.close()


def test_opening_a_source_imports_it_with_its_image_roots_and_says_so(tmp_path,
                                                                       untrained_matcher):
    """A products.jsonl whose images live in another folder, allowed by ``image_roots``."""
    pictures = tmp_path / "pictures"
    src = tmp_path / "feed"
    src.mkdir()
    rows = [product(i, str(write_jpeg(pictures / f"p{i}.jpg", 60 + i))) for i in range(3)]
    (src / "products.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    messages: list[str] = []
    cat = Catalog.open(src / "products.jsonl", untrained_matcher, log=messages.append,
                       image_roots=[pictures])
    try:
        assert len(cat.vectors) == 3
        assert messages[0] == (f"importing the catalogue {src / 'products.jsonl'} into "
                               f"{cat.store.dir}")
    finally:
        cat.close()


def test_open_loads_the_weights_it_is_given_on_the_device_asked(tmp_path):
    """Without a matcher: the AsymNet of ``weights`` on ``device`` (default auto)."""
    from engine.backbone import pick_device

    src, cat_dir = tmp_path / "src", tmp_path / "cat"
    rows = [product(i, str(write_jpeg(src / f"p{i}.jpg", i))) for i in range(2)]
    (src / "products.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    import_catalog(str(src / "products.jsonl"), cat_dir)
    torch.manual_seed(0)
    weights = tmp_path / "w.pt"
    save_asymnet(AsymNet(), weights)
    cat = Catalog.open(cat_dir, weights=weights)
    try:
        assert cat.matcher.version == model_version(weights)
        assert cat.matcher.device == pick_device("auto")
        assert cat.index.sidecar.model_version == model_version(weights)
        assert len(cat.vectors) == 2
    finally:
        cat.close()
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError) as err:
            Catalog.open(cat_dir, weights=weights, device="cuda")
        assert str(err.value) == ("CUDA was asked for but torch sees no GPU; use --device cpu "
                                  "or auto")
