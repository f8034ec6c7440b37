"""A product API read page by page over a real local socket (engine/catalog/importer.py's
``_remote``), from the mutation check's survivors: rows labelled by page and item, each page's
own address as the base, and every broken page named with its number."""

from __future__ import annotations

import pytest

from engine.catalog.fetch import HttpFetcher
from engine.catalog.importer import SourceError, _remote


def fetcher() -> HttpFetcher:
    return HttpFetcher(timeout=(2, 2), retries=1, backoff=0.01, sleep=lambda s: None)


def test_pages_are_numbered_from_one_and_items_within_each(api):
    rows = list(_remote(f"{api.url}/api", fetcher()))
    assert [label for label, _, _ in rows] == (
        [f"page 1 item {i}" for i in range(1, 11)] + [f"page 2 item {i}" for i in range(1, 11)]
        + [f"page 3 item {i}" for i in range(1, 6)])
    assert [raw["id"] for _, raw, _ in rows] == [f"q{i:04d}" for i in range(300, 325)]
    assert {base for _, _, base in rows[10:20]} == {f"{api.url}/api?page=2"}


BROKEN = [
    ("/loop", "the API's next link loops back to {url}/loop"),
    ("/badnext", "page 1: next must be a URL or null"),
    ("/ftpnext", "page 1: next link 'ftp://files.example.com/p2' is not http(s)"),
    ("/scalar", "page 1 ({url}/scalar): expected a list of products or an object with "
                "products and next"),
]


def test_a_broken_page_is_named(api):
    for path, message in BROKEN:  # one server for all (its shutdown takes half a second)
        with pytest.raises(SourceError) as err:
            list(_remote(api.url + path, fetcher()))
        assert str(err.value) == message.format(url=api.url)


def test_an_https_next_link_is_followed(api):
    """https is a web link like http: the next page is asked for (here it cannot be reached)."""
    with pytest.raises(SourceError) as err:
        list(_remote(f"{api.url}/tlsnext", fetcher()))
    assert str(err.value).startswith("page 2: https://127.0.0.1:1/p2: failed after 2 tries (")


def test_a_shopify_store_page_takes_the_shop_address_given(api):
    (label, raw, base), = _remote(f"{api.url}/products.json", fetcher(),
                                  "https://store.example.com")
    assert (label, base) == ("product 1", f"{api.url}/products.json")
    assert raw["url"] == "https://store.example.com/products/linen-shirt"
    (_, raw, _), = _remote(f"{api.url}/products.json", fetcher())
    assert raw["url"] == f"{api.url}/products/linen-shirt"  # the API's own address
