"""The product store's small rules with their whole messages (engine/catalog/store.py),
written from the mutation check's survivors (docs/testing.md)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from engine.catalog.importer import import_catalog
from engine.catalog.store import CatalogStore, _no_room
from tests.engine.catalog.conftest import product, write_jpeg


@pytest.mark.parametrize(("text", "full"), [
    ("disk I/O error", True), ("database or disk is full", True),
    ("DATABASE OR DISK IS FULL", True), ("database is locked", False),
    ("attempt to write a readonly database", False),
])
def test_a_full_disk_is_told_from_other_write_errors(text, full):
    assert _no_room(sqlite3.OperationalError(text)) is full


def test_write_errors_say_what_to_do(tmp_path):
    with CatalogStore(tmp_path / "cat") as store:
        full = store._write_error(sqlite3.OperationalError("database or disk is full"))
        other = store._write_error(sqlite3.OperationalError("attempt to write a readonly "
                                                            "database"))
    assert str(full) == (f"cannot write the catalogue {store.path} (database or disk is full): "
                         "the disk is full or a file size limit was reached; free some space "
                         "and import again (whole products already written are kept)")
    assert str(other) == (f"cannot write the catalogue {store.path} (attempt to write a "
                          "readonly database); check that the file and its directory are "
                          "writable and the disk is not full")


def test_categories_and_metadata(tmp_path):
    src = tmp_path / "src"
    rows = []
    for i, cat in enumerate(["shirt", "dress", "shirt", "coat"]):
        write_jpeg(src / "images" / f"q{i:04d}.jpg", i)
        rows.append(product(i, f"images/q{i:04d}.jpg", category=cat))
    (src / "products.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    import_catalog(str(src / "products.jsonl"), tmp_path / "cat")
    with CatalogStore(tmp_path / "cat") as store:
        assert store.categories() == {"coat": 1, "dress": 1, "shirt": 2}
        assert list(store.categories()) == ["coat", "dress", "shirt"]  # in order
        by_row = store.product_categories()
        assert sorted(by_row.values()) == ["coat", "dress", "shirt", "shirt"]
        ids = {p.id: p for p in store.iter_products()}
        assert by_row[ids["q0001"].row] == "dress"
        assert store.get_meta("nothing") is None
        store.set_meta("model", "a")
        store.set_meta("model", "b")  # replaced, not added
        store.set_meta("other", "c")
        assert store.get_meta("model") == "b" and store.get_meta("other") == "c"
    with CatalogStore(tmp_path / "cat") as again:  # kept on disk
        assert again.get_meta("model") == "b"


def test_embeddings_per_model_in_image_order(tmp_path):
    """Vectors are kept per model: another model's vectors are neither returned nor counted,
    images without one are listed by row, and a new vector for an image replaces the old."""
    import numpy as np

    src = tmp_path / "src"
    rows = []
    for i in range(3):
        write_jpeg(src / "images" / f"q{i:04d}.jpg", i)
        extra = [f"images/q{i:04d}.jpg"]
        if i == 1:
            write_jpeg(src / "images" / "q0001b.jpg", 11)
            extra.append("images/q0001b.jpg")
        rows.append(product(i, extra[0], images=extra))
    (src / "products.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    import_catalog(str(src / "products.jsonl"), tmp_path / "cat")
    with CatalogStore(tmp_path / "cat") as store:
        empty_rows, empty_prods, empty = store.embeddings("m1")
        assert empty.shape == (0, 0) and empty.dtype == np.float32
        assert empty_rows.dtype == np.int64 and len(empty_prods) == 0
        todo = store.images_without_embedding("m1")
        assert [r for r, _ in todo] == sorted(r for r, _ in todo) and len(todo) == 4
        assert all(path.startswith(str(tmp_path / "cat")) for _, path in todo)
        image_rows = [r for r, _ in todo]
        vecs = np.arange(4 * 3, dtype=np.float64).reshape(4, 3)
        store.put_embeddings("m1", image_rows[::-1], vecs[::-1])  # any order in, row order out
        store.put_embeddings("m2", image_rows[:1], np.ones((1, 3)))
        got_rows, got_prods, got = store.embeddings("m1")
        assert got_rows.tolist() == image_rows and got.dtype == np.float32
        np.testing.assert_array_equal(got, vecs.astype(np.float32))
        by_id = {p.id: p.row for p in store.iter_products()}
        assert got_prods.tolist() == [by_id["q0000"], by_id["q0001"], by_id["q0001"],
                                      by_id["q0002"]]
        assert store.embedding_count("m1") == 4 and store.embedding_count("m2") == 1
        assert store.images_without_embedding("m1") == []
        assert [r for r, _ in store.images_without_embedding("m2")] == image_rows[1:]
        store.put_embeddings("m2", image_rows[:1], np.full((1, 3), 7.0))  # replaced
        assert store.embedding_count("m2") == 1
        assert store.embeddings("m2")[2].tolist() == [[7.0, 7.0, 7.0]]
        with pytest.raises(ValueError):
            store.put_embeddings("m3", image_rows[:2], np.ones((1, 3)))  # one vector an image
        # products by row, in chunks of 500, and nothing for unknown rows
        found = store.products_by_rows([by_id["q0002"], by_id["q0000"], 999_999])
        assert sorted(p.id for p in found.values()) == ["q0000", "q0002"]
        assert found[by_id["q0002"]].images[0].endswith(".jpg")
        before = store.fingerprint()
        count, top, total, _ = before.split(":")
        assert (int(count), int(top), int(total)) == (4, max(image_rows), sum(image_rows))
    import_catalog(str(src / "products.jsonl"), tmp_path / "cat")  # the same rows again
    with CatalogStore(tmp_path / "cat") as store:
        assert store.fingerprint() != before  # updated products: a rebuild of the index
