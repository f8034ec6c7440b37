"""What the store gives back, field by field (from the mutation check's survivors): a product's
every column, products by row past one chunk of 500, the import history, the fingerprint of a
catalogue whose rows are not 1..n, empty embeddings, and a write refused with its reason."""

from __future__ import annotations

import numpy as np
import pytest

from engine.catalog.store import CatalogError, CatalogStore, StoredImage
from engine.catalog.validate import ProductRow


def row(i: int, **extra) -> ProductRow:
    fields = dict(id=f"p{i}", title=f"Product {i}", category="dress", price=10.5 + i,
                  currency="EUR", url=f"https://shop.example.com/p{i}", images=[])
    fields.update(extra)
    return ProductRow(**fields)


def image(name: str) -> StoredImage:
    return StoredImage(name, f"images/{name}.jpg", 8, 8, "test")


def test_a_product_comes_back_with_every_field(tmp_path):
    with CatalogStore(tmp_path / "cat") as store:
        store.upsert_batch([(row(1, shop="Test Shop", sales=7, rating=4.5, family="fam-1",
                                 attributes={"colour": "red"}),
                             [image("a"), image("b")], "feed.jsonl")])
        p = store.product("p1")
        assert (p.id, p.title, p.category, p.price, p.currency, p.url, p.shop) == (
            "p1", "Product 1", "dress", 11.5, "EUR", "https://shop.example.com/p1", "Test Shop")
        assert (p.sales, p.rating, p.family, p.attributes) == (7, 4.5, "fam-1",
                                                               {"colour": "red"})
        assert p.images == (str(store.dir / "images/a.jpg"), str(store.dir / "images/b.jpg"))
        assert store.products_by_rows([p.row]) == {p.row: p}


def test_products_by_row_past_one_chunk(tmp_path):
    """Rows are asked for 500 at a time (SQLite's limit on parameters): all 1,002 come back."""
    with CatalogStore(tmp_path / "cat") as store:
        store.upsert_batch([(row(i), [], "feed") for i in range(1002)])
        rows = [p.row for p in store.iter_products()]
        found = store.products_by_rows(rows)
        assert sorted(found) == sorted(rows)
        assert [found[r].id for r in rows] == [f"p{i}" for i in range(1002)]


def test_the_import_history_names_each_import(tmp_path):
    with CatalogStore(tmp_path / "cat") as store:
        first = store.begin_import("a.jsonl")
        store.finish_import(first, 3, 1, {"skipped": ["line 2"]})
        store.begin_import("b.csv")
        history = store.imports()
    assert [sorted(h) for h in history] == [["finished", "imported", "skipped", "source",
                                             "started"]] * 2
    assert [(h["source"], h["imported"], h["skipped"]) for h in history] == [
        ("a.jsonl", 3, 1), ("b.csv", 0, 0)]
    assert history[0]["started"] <= history[0]["finished"] <= history[1]["started"]
    assert history[1]["finished"] is None  # still running, or killed


def test_the_fingerprint_is_count_last_row_sum_of_rows_and_last_update(tmp_path):
    """On a catalogue whose image rows are not 1..n (images replaced): each part is its own."""
    with CatalogStore(tmp_path / "cat") as store:
        store.upsert_batch([(row(1), [image("a"), image("b"), image("c")], "feed")])
        store.upsert_batch([(row(1), [image("c"), image("d")], "feed")])  # a, b gone
        rows = [r for (r,) in store.db.execute("SELECT row FROM images")]
        updated = store.db.execute("SELECT MAX(updated) FROM products").fetchone()[0]
        assert len(rows) == 2 and max(rows) == 4
        assert store.product("p1").images == (str(store.dir / "images/c.jpg"),
                                              str(store.dir / "images/d.jpg"))
        assert store.fingerprint() == f"2:4:{sum(rows)}:{updated:.6f}"


def test_a_catalogue_without_vectors_gives_empty_int64_rows(tmp_path):
    with CatalogStore(tmp_path / "cat") as store:
        store.upsert_batch([(row(1), [image("a")], "feed")])
        rows, prods, vectors = store.embeddings("m")
    assert rows.shape == (0,) and prods.shape == (0,) and vectors.shape == (0, 0)
    assert rows.dtype == prods.dtype == np.int64 and vectors.dtype == np.float32


def test_a_refused_vector_write_says_why(tmp_path):
    with CatalogStore(tmp_path / "cat") as store:
        store.upsert_batch([(row(1), [image("a")], "feed")])
        (image_row, _), = store.images_without_embedding("m")
    with CatalogStore(tmp_path / "cat", readonly=True) as store, \
            pytest.raises(CatalogError) as err:
        store.put_embeddings("m", [image_row], np.ones((1, 4), np.float32))
    assert str(err.value) == (f"cannot write the catalogue {store.path} (attempt to write a "
                              "readonly database); check that the file and its directory are "
                              "writable and the disk is not full")


def test_attributes_are_kept_in_key_order(tmp_path):
    """Sorted once when written: the same attributes always read back (and compare) the same."""
    with CatalogStore(tmp_path / "cat") as store:
        store.upsert_batch([(row(1, attributes={"size": "M", "colour": "red", "brand": "A"}),
                             [], "feed")])
        assert list(store.product("p1").attributes) == ["brand", "colour", "size"]
        (text,) = store.db.execute("SELECT attributes FROM products").fetchone()
    assert text == '{"brand": "A", "colour": "red", "size": "M"}'


def test_a_refused_batch_says_why_and_writes_nothing(tmp_path):
    with CatalogStore(tmp_path / "cat") as store:
        with pytest.raises(CatalogError) as err:
            store.upsert_batch([(row(1), [], "feed"), (row(2, price=-1.0), [], "feed")])
        assert str(err.value) == ("the catalogue refused a batch (CHECK constraint failed: "
                                  "price >= 0); nothing of it was written")
        assert store.count() == (0, 0)
    with CatalogStore(tmp_path / "cat", readonly=True) as store, \
            pytest.raises(CatalogError) as err:
        store.upsert_batch([(row(3), [], "feed")])
    assert str(err.value) == (f"cannot write the catalogue {store.path} (attempt to write a "
                              "readonly database); check that the file and its directory are "
                              "writable and the disk is not full")
