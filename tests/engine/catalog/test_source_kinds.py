"""Which reader a local file gets (from the mutation check's survivors): a file the sniffer
cannot read, Shopify's products.json told by its content wherever its keys fall, and its image
paths taken relative to the file."""

from __future__ import annotations

import json

import pytest

from engine.catalog.feeds import SourceError
from engine.catalog.fetch import HttpFetcher
from engine.catalog.importer import import_catalog, open_source
from engine.catalog.store import CatalogStore
from tests.engine.catalog.conftest import write_jpeg

SHOP = "https://shop.example.com"


def shopify_product(**extra) -> dict:
    p = {"id": 900, "title": "Linen Shirt", "handle": "linen-shirt",
         "variants": [{"price": "19.90"}, {"price": "17.50"}], "images": [{"src": "pic.jpg"}]}
    p.update(extra)
    return p


def test_a_file_that_cannot_be_read_is_named_with_the_systems_reason():
    with pytest.raises(SourceError) as err:
        open_source("/proc/self/mem", HttpFetcher())  # a file whose first read fails (EIO)
    assert str(err.value) == "/proc/self/mem cannot be read (Input/output error)"


def test_shopify_json_whose_products_key_is_not_first_is_still_shopify(tmp_path):
    write_jpeg(tmp_path / "pic.jpg", 3)
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"shop": "Test Shop", "products": [shopify_product()]}))
    report = import_catalog(str(path), tmp_path / "cat", shop_url=SHOP)
    assert (report.imported, report.skipped) == (1, [])
    with CatalogStore(tmp_path / "cat") as store:
        p = store.product("900")
        assert (p.title, p.price, p.url, p.family) == (
            "Linen Shirt", 17.5, f"{SHOP}/products/linen-shirt", "linen-shirt")
        assert len(p.images) == 1


def test_a_file_that_looks_like_shopify_is_read_as_shopify_even_when_a_product_is_not(
        tmp_path):
    # the sniffer sees {"products": and "variants"; the one product has no handle
    path = tmp_path / "products.json"
    product = {k: v for k, v in shopify_product().items() if k != "handle"}
    path.write_text(json.dumps({"products": [product]}))
    rows = list(open_source(str(path), HttpFetcher(), shop_url=SHOP))
    assert [(label, str(raw)) for label, raw, _ in rows] == [
        ("product 1", "handle 'None' is missing or not a URL part")]
    assert rows[0][2] == str(tmp_path)
