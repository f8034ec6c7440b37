"""How a source is opened and what an import reports (engine/catalog/importer.py), from the
mutation check's survivors: a folder holding products.jsonl, an empty folder, binary data, a
Shopify store's address passed through, and the report's fields."""

from __future__ import annotations

import json

import pytest

from engine.catalog.fetch import HttpFetcher
from engine.catalog.importer import SourceError, import_catalog, open_source
from tests.engine.catalog.conftest import product, write_jpeg


def fetcher() -> HttpFetcher:
    return HttpFetcher(timeout=(2, 2), retries=0, sleep=lambda s: None)


def test_a_folder_with_products_jsonl_is_read_and_an_empty_one_is_refused(tmp_path):
    (tmp_path / "feed").mkdir()
    (tmp_path / "feed" / "products.jsonl").write_text(json.dumps(product(1, "a.jpg")) + "\n")
    ((label, raw, base),) = open_source(str(tmp_path / "feed"), fetcher())
    assert (label, raw["id"], base) == ("line 1", "q0001", str(tmp_path / "feed"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError) as err:
        open_source(str(tmp_path / "empty"), fetcher())
    assert str(err.value) == (f"{tmp_path / 'empty'} is not a file, a benchmark directory or "
                              "an http(s) URL")


def test_binary_data_is_refused_with_the_formats_taken(tmp_path):
    path = tmp_path / "photo.jsonl"
    path.write_bytes(write_jpeg(tmp_path / "photo.jpg", 1).read_bytes())
    with pytest.raises(SourceError) as err:
        open_source(str(path), fetcher())
    assert str(err.value) == (f"{path}: unknown format (binary data, not a product list); give "
                              "jsonl, csv, json, a Merchant Center feed (tsv or xml) or a "
                              "Shopify products.json")


def test_a_shopify_store_address_reaches_the_rows(api):
    ((_, raw, _),) = open_source(f"{api.url}/products.json", fetcher(),
                                 shop_url="https://store.example.com")
    assert raw["url"] == "https://store.example.com/products/linen-shirt"


def test_the_report_counts_new_and_updated_products(source_dir, tmp_path):
    first = import_catalog(str(source_dir / "products.jsonl"), tmp_path / "cat").to_json()
    assert (first["imported"], first["new"], first["updated"]) == (12, 12, 0)
    report = import_catalog(str(source_dir / "products.jsonl"), tmp_path / "cat").to_json()
    assert set(report) == {"source", "imported", "new", "updated", "skipped", "seconds",
                           "complete"}
    assert (report["source"], report["imported"], report["new"], report["updated"],
            report["skipped"], report["complete"]) == (
        str(source_dir / "products.jsonl"), 12, 0, 12, [], True)
    assert isinstance(report["seconds"], float) and report["seconds"] == round(
        report["seconds"], 2)
