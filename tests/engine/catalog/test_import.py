"""Importing catalogues: every good row in, every bad row reported by line, the database
consistent, nothing committed lost when the import dies, updates by id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from engine.catalog.fetch import HttpFetcher
from engine.catalog.importer import SourceError, import_catalog
from engine.catalog.store import CatalogError, CatalogStore
from tests.engine.catalog.conftest import product

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def test_benchmark_catalogue_and_broken_rows(tiny_benchmark, broken_source, tmp_path):
    data, card = tiny_benchmark
    cat = tmp_path / "cat"
    first = import_catalog(str(data), cat)
    assert first.imported == first.new == card["counts"]["products"] and not first.skipped
    path, good, bad = broken_source
    report = import_catalog(str(path), cat, batch=3)
    assert report.complete
    assert report.imported == len(good)
    skipped = {int(s.line.split()[1]): s.reason for s in report.skipped}
    assert set(skipped) == set(bad), (skipped, bad)
    for line, word in bad.items():
        assert word.lower() in skipped[line].lower(), (line, skipped[line])
    with CatalogStore(cat) as store:
        assert store.check() == []
        assert store.count()[0] == card["counts"]["products"] + len(good)
        for pid in good:
            p = store.product(pid)
            assert p is not None and p.images and os.path.isfile(p.images[0])
        assert store.product("q0102").title == "Shirt & Tie"  # entities decoded, plain text
        assert store.product("q0200") is None
        assert all(p.url.startswith(("http://", "https://")) for p in store.iter_products())
        assert store.imports()[-1]["skipped"] == len(bad)


def test_reimport_updates_by_id_and_keeps_unchanged_images(source_dir, tmp_path):
    cat = tmp_path / "cat"
    import_catalog(str(source_dir / "products.jsonl"), cat)
    rows = [json.loads(x) for x in (source_dir / "products.jsonl").read_text().splitlines()]
    rows[0]["price"] = 999.5
    rows[0]["images"] = [rows[1]["image"], rows[0]["image"]]  # a second image, reordered
    rows[0]["image"] = rows[1]["image"]
    (source_dir / "v2.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:3]))
    with CatalogStore(cat) as store:
        before = store.db.execute("SELECT row FROM images WHERE product = "
                                  "(SELECT row FROM products WHERE id='q0000')").fetchone()[0]
    report = import_catalog(str(source_dir / "v2.jsonl"), cat)
    assert report.imported == 3 and report.new == 0
    with CatalogStore(cat) as store:
        assert store.count()[0] == 12
        p = store.product("q0000")
        assert p.price == 999.5 and len(p.images) == 2
        rows_now = [r for (r,) in store.db.execute(
            "SELECT row FROM images WHERE product = ? ORDER BY position", (p.row,))]
        assert rows_now[1] == before  # the unchanged image kept its row (and embeddings)
        assert store.check() == []


def test_csv_and_json_sources(source_dir, tmp_path):
    import csv

    rows = [json.loads(x) for x in (source_dir / "products.jsonl").read_text().splitlines()]
    with (source_dir / "p.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, ["id", "title", "category", "price", "currency", "url", "image",
                               "images", "shop", "sales", "rating", "attributes"])
        w.writeheader()
        for r in rows[:4]:
            w.writerow(r | {"images": "|".join(r["images"]),
                            "attributes": json.dumps(r["attributes"])})
        w.writerow(rows[4] | {"images": "", "price": "abc", "attributes": "{}"})
    report = import_catalog(str(source_dir / "p.csv"), tmp_path / "c1")
    assert report.imported == 4
    assert [(s.line, "price" in s.reason) for s in report.skipped] == [("line 6", True)]
    (source_dir / "p.json").write_text(json.dumps({"products": rows[4:8]}))
    assert import_catalog(str(source_dir / "p.json"), tmp_path / "c1").imported == 4
    with pytest.raises(SourceError, match="unknown format"):
        import_catalog(str(source_dir / "images" / "q0000.jpg"), tmp_path / "c2")
    with pytest.raises(SourceError, match="not a file"):
        import_catalog(str(tmp_path / "nowhere.jsonl"), tmp_path / "c2")


def test_killing_an_import_half_way_loses_nothing_committed(api, tmp_path):
    """The import process is killed (SIGKILL) while it waits for page 3: the two committed
    batches (pages 1 and 2) are there and consistent; a second import completes it."""
    api.hang.set()
    cat = tmp_path / "cat"
    code = ("import sys; from engine.catalog.importer import import_catalog; "
            f"import_catalog({api.url + '/api'!r}, {str(cat)!r}, batch=10)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if api.hits.get("/api?page=3"):
                break
            time.sleep(0.1)
        assert api.hits.get("/api?page=3"), "the import never reached page 3"
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    with CatalogStore(cat) as store:
        assert store.count()[0] == 20
        assert store.check() == []
    api.hang.clear()
    report = import_catalog(api.url + "/api", cat, batch=10)
    assert report.complete and report.imported == 25 and report.new == 5


def test_remote_api_pages_retries_and_limits(api, tmp_path):
    sleeps = []
    fetcher = HttpFetcher(timeout=(2, 1.0), retries=2, backoff=0.01, sleep=sleeps.append)
    cat = tmp_path / "cat"
    assert import_catalog(api.url + "/api", cat, fetcher=fetcher).imported == 25
    assert import_catalog(api.url + "/flaky", cat, fetcher=fetcher).imported == 3
    assert sleeps == [0.01, 0.02]  # two 500s, backing off
    with pytest.raises(SourceError, match="503"):
        import_catalog(api.url + "/down", cat, fetcher=fetcher)
    with pytest.raises(SourceError, match="Timeout"):
        import_catalog(api.url + "/slow", cat, fetcher=fetcher)
    with pytest.raises(SourceError, match="not JSON"):
        import_catalog(api.url + "/malformed", cat, fetcher=fetcher)
    report = import_catalog(api.url + "/badimages", cat, fetcher=fetcher)
    reasons = {s.id: s.reason for s in report.skipped}
    assert report.imported == 1
    assert "MB" in reasons["q0600"]
    assert "content type text/html" in reasons["q0601"]
    assert "404" in reasons["q0603"]
    with CatalogStore(cat) as store:
        assert store.count()[0] == 25 + 3 + 1
        assert store.check() == []


def test_unusable_databases_say_what_to_do(tmp_path, source_dir):
    bad = tmp_path / "corrupt"
    bad.mkdir()
    (bad / "catalog.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(CatalogError, match="not a usable catalogue"):
        CatalogStore(bad)
    with pytest.raises(CatalogError, match="no catalogue"):
        CatalogStore(tmp_path / "empty", readonly=True)
    cat = tmp_path / "cat"
    import_catalog(str(source_dir / "products.jsonl"), cat)
    with CatalogStore(cat) as store:
        store.set_meta("schema_version", "99")
    with pytest.raises(CatalogError, match="newer"):
        CatalogStore(cat)


def test_read_only_database_is_reported_and_untouched(tmp_path, source_dir):
    cat = tmp_path / "cat"
    import_catalog(str(source_dir / "products.jsonl"), cat)
    with CatalogStore(cat) as store:
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db = cat / "catalog.sqlite"
    before = db.read_bytes()
    # a database opened read-only (as for a file the user cannot write) refuses writes with
    # a message, whoever runs the test (root ignores file modes)
    from engine.catalog.validate import validate_row

    with CatalogStore(cat, readonly=True) as store:
        assert store.count()[0] == 12
        with pytest.raises(CatalogError, match="cannot write"):
            store.upsert_batch([(validate_row(product(900, "x.jpg")), [], "test")])
    assert db.read_bytes() == before


def test_a_disk_that_fills_during_an_import_keeps_the_catalogue_whole(tmp_path, source_dir):
    """RLIMIT_FSIZE in a child process (root obeys it, unlike file modes): an import into a
    fresh catalogue fails part way with a CatalogError that names the cause, what is left
    opens and holds only whole products, and a rerun without the limit finishes."""
    from tests.conftest import run_with_file_size_limit

    cat = tmp_path / "cat"
    r = run_with_file_size_limit(f"""
from engine.catalog.importer import import_catalog
try:
    report = import_catalog({str(source_dir / "products.jsonl")!r}, {str(cat)!r})
    print("imported", report.imported)
except Exception as exc:
    print("failed:", type(exc).__name__, exc)
""", 100_000, timeout=120)
    assert r.returncode == 0, r.stderr
    # 100 KB: the schema fits, the write-ahead log outgrows it (here on the import's last
    # write, its report)
    assert r.stdout.startswith("failed: CatalogError"), r.stdout
    assert "disk is full or a file size limit was reached" in r.stdout, r.stdout
    with CatalogStore(cat) as store:
        assert store.check() == [] and store.count()[0] <= 12  # whole products only
    report = import_catalog(str(source_dir / "products.jsonl"), cat)
    with CatalogStore(cat) as store:
        assert store.count()[0] == 12 and store.check() == []
    assert report.imported == 12


def test_validation_messages():
    from engine.catalog.validate import RowError, validate_row

    ok = validate_row(product(1, "a.jpg", price="12.5", sales="3"))
    assert ok.price == 12.5 and ok.sales == 3 and ok.images == ["a.jpg"]
    for change, word in [({"url": "ftp://x.com/a"}, "http"), ({"url": "https://"}, "host"),
                         ({"images": [], "image": ""}, "no image"), ({"sales": -1}, "sales"),
                         ({"title": "a\x07b"}, "control"), ({"attributes": [1]}, "attributes")]:
        with pytest.raises(RowError, match=word):
            validate_row(product(1, "a.jpg") | change)


def test_the_same_picture_twice_and_absurd_numbers(source_dir, tmp_path):
    import shutil

    shutil.copy(source_dir / "images" / "q0000.jpg", source_dir / "images" / "copy.jpg")
    rows = [product(0, "images/q0000.jpg") | {"images": ["images/q0000.jpg", "images/copy.jpg"]},
            product(1, "images/q0001.jpg", sales=1e19),
            product(2, "images/q0001.jpg", price=10 ** 400)]
    src = source_dir / "odd.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"id": ' + "9" * 5000 + "}\n")
    cat = tmp_path / "cat"
    for _ in range(3):  # re-importing a product whose two images are the same bytes
        report = import_catalog(str(src), cat)
        assert report.imported == 1
        assert sorted(int(s.line.split()[1]) for s in report.skipped) == [2, 3, 4]
    with CatalogStore(cat) as store:
        assert len(store.product("q0000").images) == 1
        assert store.check() == []


def test_a_folder_name_with_uri_characters(source_dir, tmp_path):
    cat = tmp_path / "shop#2?x"
    import_catalog(str(source_dir / "products.jsonl"), cat)
    with CatalogStore(cat, readonly=True) as store:
        assert store.count()[0] == 12
    with pytest.raises(CatalogError, match="no catalogue"):
        CatalogStore(tmp_path / "elsewhere", create=False)
    assert not (tmp_path / "elsewhere" / "catalog.sqlite").exists()


def test_a_missing_images_folder_skips_every_row_with_the_reason_and_loses_nothing(
        source_dir, tmp_path):
    """The products file arrived without its images folder: every row is reported (the
    picture is missing), what was imported before stays, and the folder's return imports."""
    import shutil

    cat = tmp_path / "cat"
    assert import_catalog(str(source_dir / "products.jsonl"), cat).imported == 12
    moved = tmp_path / "images-elsewhere"
    shutil.move(str(source_dir / "images"), moved)
    (source_dir / "products.jsonl").write_text(
        (source_dir / "products.jsonl").read_text().replace("Linen Shirt", "Silk Shirt"))
    report = import_catalog(str(source_dir / "products.jsonl"), cat)
    assert report.imported == 0 and len(report.skipped) == 12
    assert all("image" in s.reason for s in report.skipped), report.skipped[0].reason
    with CatalogStore(cat) as store:  # the earlier import is intact
        assert store.count()[0] == 12 and store.check() == []
    shutil.move(str(moved), source_dir / "images")
    assert import_catalog(str(source_dir / "products.jsonl"), cat).imported == 12
