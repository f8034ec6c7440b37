"""Local sources, rule by rule with whole messages (from the mutation check's survivors): local
shop images (long names, the size limit, unreadable names), images outside the source's
folder, JSON lines a parser refuses, which files are sources, a cached import whose stamp is
gone, and the store's integrity check."""

from __future__ import annotations

import json
import sqlite3

import pytest

from engine.catalog.fetch import MAX_IMAGE_BYTES, FetchError, read_local_image
from engine.catalog.importer import _inside, _jsonl
from engine.catalog.resolve import STAMP, resolve_catalog
from engine.catalog.store import DB_NAME, CatalogStore, StoredImage
from engine.catalog.validate import ProductRow, RowError
from tests.engine.catalog.conftest import product, write_jpeg


def named(tmp_path, length: int):
    """A path of exactly ``length`` characters in tmp_path (not created)."""
    stem = str(tmp_path / "i")
    return tmp_path / ("i" + "x" * (length - len(stem) - 4) + ".jpg")


def failure(path) -> str:
    with pytest.raises(FetchError) as err:
        read_local_image(path)
    return str(err.value)


def test_a_local_image_is_named_whole_up_to_160_characters(tmp_path):
    for n in (160, 161, 200):
        path = named(tmp_path, n)
        assert len(str(path)) == n
        shown = str(path) if n <= 160 else str(path)[:157] + "..."
        assert failure(path) == f"image {shown} does not exist"


def test_a_local_image_over_the_size_limit_is_refused_unread(tmp_path):
    path = tmp_path / "big.jpg"
    with path.open("wb") as f:
        f.truncate(15_750_000)  # sparse
    assert failure(path) == f"image {path}: 15.8 MB (at most 16 MB)"
    with path.open("wb") as f:
        f.truncate(MAX_IMAGE_BYTES)  # exactly the limit: read, then judged as an image
    assert failure(path).startswith("image big.jpg: not a readable image (")


def test_an_unreadable_local_image_says_why_and_a_bad_one_is_named_briefly(tmp_path):
    path = tmp_path / ("n" * 300 + ".jpg")
    assert failure(path) == f"image {str(path)[:157]}... cannot be read (File name too long)"
    text = tmp_path / ("t" * 100 + ".jpg")
    text.write_text("this is not an image")
    message = failure(text)
    assert message.startswith(f"image {text.name[:80]}: not a readable image (")


def test_images_outside_the_source_folder_are_refused_by_name(tmp_path):
    ref = "../" + "o" * 70 + ".jpg"
    with pytest.raises(RowError) as err:
        _inside(tmp_path, ref)
    assert str(err.value) == (
        f"image {ref[:60]!r} is outside the source's folder {tmp_path.resolve()}; put the "
        "images beside the product list (paths may not leave it), or allow their folder with "
        "--images-from DIR")
    bad = "n" * 70 + "\x00.jpg"
    with pytest.raises(RowError) as err:
        _inside(tmp_path, bad)
    assert str(err.value) == f"image {bad[:60]!r}: embedded null byte"


def test_a_json_line_the_parser_refuses_is_quoted_to_80_characters(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"price": ' + "1" * 5000 + "}\n")
    (label, err, base), = _jsonl(path)
    assert label == "line 1" and base == str(tmp_path) and isinstance(err, RowError)
    assert str(err) == ("bad JSON (Exceeds the limit (4300 digits) for integer string "
                        "conversion: value has 5000 di)")


@pytest.mark.parametrize("name", ["feed.ndjson", "feed.CSV", "feed.json"])
def test_every_source_file_kind_is_imported_once(tmp_path, name):
    src = tmp_path / "src"
    write_jpeg(src / "a.jpg", 1)
    rows = [product(1, "a.jpg")]
    if name.lower().endswith(".csv"):
        text = "id,title,category,price,currency,url,image\n" + ",".join(
            str(rows[0][k]) for k in ("id", "title", "category", "price", "currency", "url",
                                      "image")).replace("Linen Shirt 1, Long Sleeve",
                                                        '"Linen Shirt 1, Long Sleeve"') + "\n"
    elif name.endswith(".json"):
        text = json.dumps(rows)
    else:
        text = json.dumps(rows[0]) + "\n"
    (src / name).write_text(text)
    messages: list[str] = []
    target = resolve_catalog(src / name, cache=tmp_path / "cache", log=messages.append)
    with CatalogStore(target) as store:
        assert [p.id for p in store.iter_products()] == ["q0001"]
    assert messages == [f"importing the catalogue {src / name} into {target}"]
    messages.clear()
    assert resolve_catalog(src / name, cache=tmp_path / "cache", log=messages.append) == target
    assert messages == []  # the cached import is reused
    (target / STAMP).unlink()  # an import killed before its stamp: imported again
    assert (target / DB_NAME).is_file()
    assert resolve_catalog(src / name, cache=tmp_path / "cache", log=messages.append) == target
    assert messages == [f"importing the catalogue {src / name} into {target}"]


def test_the_integrity_check_lists_every_kind_of_problem(tmp_path):
    with CatalogStore(tmp_path / "cat") as store:
        store.upsert_batch([
            (ProductRow("p1", "One", "shirt", 1.0, "CNY", "https://s.example.com/1", []), [],
             "feed"),
            (ProductRow("p2", "Two", "shirt", 2.0, "CNY", "https://s.example.com/2", []),
             [StoredImage("s2", "images/two.jpg", 8, 8, "feed")], "feed")])
        assert store.count() == (2, 1)
    db = sqlite3.connect(tmp_path / "cat" / DB_NAME)  # foreign keys off: a broken row
    db.execute("INSERT INTO images (row, product, position, file, sha256, width, height, "
               "origin) VALUES (9, 999, 0, 'images/orphan.jpg', 's9', 8, 8, 'feed')")
    db.commit()
    db.close()
    with CatalogStore(tmp_path / "cat") as store:
        assert store.count() == (2, 2)
        assert store.check() == ["foreign key: ('images', 9, 'products', 0)",
                                 "product p1 has no image",
                                 "image file images/two.jpg is missing",
                                 "image file images/orphan.jpg is missing"]

