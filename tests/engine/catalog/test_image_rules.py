"""Which shop images are taken, with whole messages (engine/catalog/fetch.py's check_image and
the importer's _load_images), from the mutation check's survivors: empty files, other formats,
the byte, pixel and decompression-bomb limits at their edges, images too small to match, https
images, and where an image is stored and said to come from."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from engine.catalog.fetch import (
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    FetchError,
    HttpFetcher,
    check_image,
)
from engine.catalog.importer import _load_images
from engine.catalog.validate import ProductRow, RowError
from tests.engine.catalog.conftest import write_jpeg


def encoded(size: tuple[int, int], fmt: str = "PNG", mode: str = "1") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, fmt)
    return buf.getvalue()


def refused(data: bytes) -> str:
    with pytest.raises(FetchError) as err:
        check_image(data, "x")
    return str(err.value)


def test_empty_other_formats_and_small_images_are_refused():
    assert refused(b"") == "x: empty file"
    assert refused(encoded((32, 32), "GIF", "L")) == ("x: GIF images are not accepted (JPEG, "
                                                     "PNG, WebP)")
    assert refused(encoded((15, 40))) == "x: 15x40 pixels is too small to match"
    assert refused(encoded((40, 15))) == "x: 40x15 pixels is too small to match"
    assert (check_image(encoded((16, 16)), "x").width, check_image(encoded((16, 16)), "x").ext
            ) == (16, "png")


def test_the_byte_limit_holds_past_it_and_not_at_it():
    assert refused(b"\x00" * 15_750_000) == "x: 15.8 MB (at most 16 MB)"
    assert refused(b"\x00" * MAX_IMAGE_BYTES).startswith(
        "x: not a readable image (UnidentifiedImageError: cannot identify image file ")


def test_the_pixel_limit_and_the_decompression_bomb():
    assert MAX_IMAGE_PIXELS == 40_000_000
    ok = check_image(encoded((8000, 5000)), "x")  # exactly the limit: taken
    assert (ok.width, ok.height) == (8000, 5000)
    assert refused(encoded((8001, 5000))) == ("x: 8001x5000 pixels is too large (at most "
                                              "40 MP)")
    # past PIL's own bomb limit, Image.open warns before anything is decoded: refused as such
    assert refused(encoded((10000, 9000))) == "x: image too large to decode safely"


def row(*images: str) -> ProductRow:
    return ProductRow("p1", "One", "shirt", 1.0, "CNY", "https://s.example.com/1", list(images))


def offline() -> HttpFetcher:
    return HttpFetcher(timeout=(1, 1), retries=0, sleep=lambda s: None)


def test_https_images_and_images_of_an_https_source_are_fetched(tmp_path):
    for base, ref, url in (
            (str(tmp_path), "https://127.0.0.1:1/a.jpg", "https://127.0.0.1:1/a.jpg"),
            ("https://127.0.0.1:1/api/", "b.jpg", "https://127.0.0.1:1/api/b.jpg")):
        with pytest.raises(RowError) as err:
            _load_images(row(ref), base, tmp_path / "cat", offline())
        assert str(err.value).startswith(f"{url}: failed after 1 tries (")


def test_a_local_image_is_stored_by_its_hash_and_says_where_it_came_from(tmp_path):
    path = write_jpeg(tmp_path / "src" / "a.jpg", 3)
    (stored,) = _load_images(row("a.jpg", "./a.jpg"), str(tmp_path / "src"), tmp_path / "cat",
                             offline())  # the same picture twice: once
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert stored.sha256 == sha
    assert stored.file == f"images/{sha[:2]}/{sha}.jpg"
    assert (tmp_path / "cat" / stored.file).read_bytes() == path.read_bytes()
    assert stored.origin == str(path.resolve())
