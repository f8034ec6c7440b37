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
