"""The import's own bookkeeping (from the mutation check's survivors): the batch size and its
check, the report and the copy the store keeps, the progress callback's counts, the skip log
line, values a parser refuses, and the currency given for rows that name none."""

from __future__ import annotations

import json
import sqlite3

import pytest

from engine.catalog.importer import import_catalog
from engine.catalog.store import DB_NAME, CatalogStore
from tests.engine.catalog.conftest import product, write_jpeg


def jsonl(tmp_path, rows: list) -> str:
    """A products.jsonl of ``rows`` (dicts, lists or raw text lines) beside one shared image
    ``pic.jpg``; returns its path."""
    d = tmp_path / "src"
    write_jpeg(d / "pic.jpg", 5)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    (d / "products.jsonl").write_text("\n".join(lines) + "\n")
    return str(d / "products.jsonl")


class Cancelled(Exception):
    pass


def test_the_default_batch_is_a_hundred_rows_each_committed_on_its_own(tmp_path):
    # cancelled (from the progress callback) on row 100: the first batch of 100 is kept
    src = jsonl(tmp_path, [product(i, "pic.jpg") for i in range(101)])

    def progress(read, imported):
        if read == 100:
            raise Cancelled

    with pytest.raises(Cancelled):
        import_catalog(src, tmp_path / "cat", progress=progress)
    with CatalogStore(tmp_path / "cat") as store:
        assert store.count() == (100, 100)
        assert [(i["imported"], i["skipped"]) for i in store.imports()] == [(100, 0)]


def test_a_batch_of_one_is_allowed_and_commits_every_row(tmp_path):
    src = jsonl(tmp_path, [product(i, "pic.jpg") for i in range(3)])
    calls = []
    report = import_catalog(src, tmp_path / "cat", batch=1,
                            progress=lambda r, n: calls.append((r, n)))
    assert (report.imported, report.new, report.complete) == (3, 3, True)
    assert calls == [(1, 1), (2, 2), (3, 3)]


@pytest.mark.parametrize("batch", [0, -3])
def test_a_batch_below_one_is_refused_with_its_value(tmp_path, batch):
    src = jsonl(tmp_path, [product(0, "pic.jpg")])
    with pytest.raises(ValueError) as err:
        import_catalog(src, tmp_path / "cat", batch=batch)
    assert str(err.value) == f"batch must be at least 1, got {batch}"
    assert not (tmp_path / "cat").exists()


def test_the_report_counts_every_batch_and_the_store_keeps_it(source_dir, tmp_path):
    src = str(source_dir)  # 12 products: batches of 5, 5 and 2
    report = import_catalog(src, tmp_path / "cat", batch=5)
    assert report.source == src
    assert (report.imported, report.new, report.skipped, report.complete) == (12, 12, [], True)
    assert 0 <= report.seconds < 30
    saved = sqlite3.connect(tmp_path / "cat" / DB_NAME).execute(
        "SELECT source, imported, skipped, report FROM imports").fetchall()
    assert len(saved) == 1
    assert saved[0][:3] == (src, 12, 0)
    assert json.loads(saved[0][3]) == report.to_json()
    assert report.to_json() == {"source": src, "imported": 12, "new": 12, "updated": 0,
                                "skipped": [], "seconds": round(report.seconds, 2),
                                "complete": True}
    again = import_catalog(src, tmp_path / "cat", batch=5)  # the same rows: all updates
    assert (again.imported, again.new, again.to_json()["updated"]) == (12, 0, 12)


def test_progress_gets_rows_read_and_rows_imported_so_far(tmp_path):
    rows = [product(1, "pic.jpg"), {"id": "q0002"}, product(3, "pic.jpg"),
            product(4, "pic.jpg")]
    calls = []
    report = import_catalog(jsonl(tmp_path, rows), tmp_path / "cat", batch=2,
                            progress=lambda r, n: calls.append((r, n)))
    # pending rows count as imported: (3, 2) is after the first batch of two was written
    assert calls == [(1, 1), (2, 1), (3, 2), (4, 3)]
    assert (report.imported, [s.line for s in report.skipped]) == (3, ["line 2"])


def test_a_skipped_row_is_logged_with_its_id_cut_at_64_characters(tmp_path):
    long_id = "a" * 70  # a valid id (up to 128), but the row has no title
    rows = [{k: v for k, v in product(1, "pic.jpg").items() if k != "id"},
            {k: v for k, v in product(2, "pic.jpg", id=long_id).items() if k != "title"},
            ["not", "an", "object"],
            product(3, "pic.jpg")]
    lines = []
    report = import_catalog(jsonl(tmp_path, rows), tmp_path / "cat", log=lines.append)
    assert lines == ["skipped line 1: missing id",
                     f"skipped line 2 ({'a' * 64}): missing title",
                     "skipped line 3: a product must be a JSON object, got list"]
    assert [s.__dict__ for s in report.skipped] == [
        {"line": "line 1", "id": "", "reason": "missing id"},
        {"line": "line 2", "id": "a" * 64, "reason": "missing title"},
        {"line": "line 3", "id": "", "reason": "a product must be a JSON object, got list"}]
    assert report.imported == 1


def test_a_value_the_url_parser_refuses_is_skipped_with_its_message_cut_at_80(tmp_path):
    # urlsplit's own ValueError (not a RowError): "'111...1' does not appear to be an IPv4
    # or IPv6 address", 148 characters
    bad = product(1, "pic.jpg", url="https://[" + "1" * 100 + "]/item")
    lines = []
    report = import_catalog(jsonl(tmp_path, [bad, product(2, "pic.jpg")]), tmp_path / "cat",
                            log=lines.append)
    reason = "unusable value ('" + "1" * 79 + ")"
    assert [s.__dict__ for s in report.skipped] == [
        {"line": "line 1", "id": "q0001", "reason": reason}]
    assert lines == [f"skipped line 1 (q0001): {reason}"]
    assert report.imported == 1


def test_the_currency_given_fills_only_rows_without_one(tmp_path):
    rows = [product(1, "pic.jpg", currency="USD"),
            {k: v for k, v in product(2, "pic.jpg").items() if k != "currency"},
            product(3, "pic.jpg", currency=""),
            ["not", "an", "object"]]
    report = import_catalog(jsonl(tmp_path, rows), tmp_path / "cat", currency="EUR")
    assert report.imported == 3
    assert [(s.line, s.reason) for s in report.skipped] == [
        ("line 4", "a product must be a JSON object, got list")]
    with CatalogStore(tmp_path / "cat") as store:
        assert [store.product(f"q000{i}").currency for i in (1, 2, 3)] == ["USD", "EUR", "EUR"]


def test_without_a_currency_given_rows_without_one_are_cny(tmp_path):
    rows = [{k: v for k, v in product(1, "pic.jpg").items() if k != "currency"},
            product(2, "pic.jpg", currency="USD")]
    import_catalog(jsonl(tmp_path, rows), tmp_path / "cat")
    with CatalogStore(tmp_path / "cat") as store:
        assert [store.product(f"q000{i}").currency for i in (1, 2)] == ["CNY", "USD"]
