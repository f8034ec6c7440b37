"""Opening a catalogue store (from the mutation check's survivors): read-only opens, use from
another thread, the messages for a folder or database that cannot be used, a full disk at
creation, schema versions, the import log, and the integrity check's report."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.catalog.store import DB_NAME, SCHEMA_VERSION, CatalogError, CatalogStore
from tests.conftest import run_with_file_size_limit

ADVICE = "move it aside and import the catalogue again"


def new_catalog(path):
    """An empty catalogue of this version at ``path`` (a folder)."""
    CatalogStore(path).close()
    return path


def old_database(path, *statements: str):
    """A folder with a catalog.sqlite made by ``statements`` (an older or foreign layout)."""
    path.mkdir()
    db = sqlite3.connect(path / DB_NAME)
    for s in statements:
        db.execute(s)
    db.commit()
    db.close()
    return path


@pytest.mark.parametrize("name", ["cat", "shop #1?x"])
def test_a_readonly_store_reads_and_never_writes(tmp_path, name):
    cat = new_catalog(tmp_path / name)
    with CatalogStore(cat) as store:
        store.set_meta("shop", "linen")
    with CatalogStore(cat, readonly=True) as store:
        assert store.readonly is True
        assert store.get_meta("shop") == "linen"
        assert store.count() == (0, 0)
        with pytest.raises(sqlite3.OperationalError, match="readonly database"):
            store.set_meta("shop", "wool")
    with CatalogStore(cat) as store:
        assert store.readonly is False
        assert store.get_meta("shop") == "linen"


@pytest.mark.parametrize("readonly", [False, True])
def test_a_store_opened_in_one_thread_serves_another(tmp_path, readonly):
    cat = new_catalog(tmp_path / "cat")
    with CatalogStore(cat, readonly=readonly) as store, ThreadPoolExecutor(1) as pool:
        assert pool.submit(store.count).result() == (0, 0)
        assert pool.submit(store.get_meta, "schema_version").result() == str(SCHEMA_VERSION)


def test_a_folder_that_cannot_be_made_is_named_with_the_reason(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    cat = tmp_path / "file" / "cat"
    with pytest.raises(CatalogError) as err:
        CatalogStore(cat)
    assert str(err.value) == f"cannot create the catalogue directory {cat}: Not a directory"


def test_a_database_path_that_cannot_be_opened_is_named_with_sqlites_words(tmp_path):
    (tmp_path / "cat" / DB_NAME).mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(CatalogError) as err:
        CatalogStore(tmp_path / "cat")
    assert str(err.value) == (f"cannot open {tmp_path / 'cat' / DB_NAME} "
                              "(unable to open database file)")


def test_a_file_that_is_no_database_is_refused_with_what_to_do(tmp_path):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / DB_NAME).write_bytes(b"this is not SQLite at all" * 100)
    with pytest.raises(CatalogError) as err:
        CatalogStore(tmp_path / "cat")
    assert str(err.value) == (f"{tmp_path / 'cat' / DB_NAME} is not a usable catalogue "
                              f"database (file is not a database); {ADVICE}")


def test_a_database_whose_meta_table_is_foreign_is_refused_with_what_to_do(tmp_path):
    cat = old_database(tmp_path / "cat", "CREATE TABLE meta (x TEXT)")  # no key, no value
    with pytest.raises(CatalogError) as err:
        CatalogStore(cat)
    assert str(err.value) == (f"{cat / DB_NAME} is not a usable catalogue database "
                              f"(no such column: value); {ADVICE}")


def test_a_full_disk_while_creating_a_catalogue_says_so(tmp_path):
    """RLIMIT_FSIZE in a child process (root obeys it): the schema's first write fails."""
    cat = tmp_path / "cat"
    r = run_with_file_size_limit(f"""
from engine.catalog.store import CatalogStore
try:
    CatalogStore({str(cat)!r})
    print("opened")
except Exception as exc:
    print(type(exc).__name__, exc)
""", 1000, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (f"CatalogError cannot write the catalogue {cat / DB_NAME} (disk I/O "
                        "error): the disk is full or a file size limit was reached; free some "
                        "space and import again (whole products already written are kept)\n")


def test_a_meta_table_without_a_version_is_version_0_and_is_migrated(tmp_path):
    cat = old_database(tmp_path / "cat",
                       "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    with CatalogStore(cat) as store:
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert store.count() == (0, 0)
        assert store.imports() == []


def test_an_older_catalogue_opened_readonly_is_refused(tmp_path):
    cat = old_database(tmp_path / "cat",
                       "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
                       "INSERT INTO meta VALUES ('schema_version', '0')")
    with pytest.raises(CatalogError) as err:
        CatalogStore(cat, readonly=True)
    assert str(err.value) == f"{cat / DB_NAME} is not a catalogue of this version"
    with CatalogStore(cat) as store:  # a writer migrates it
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION)


def test_the_import_log_keeps_each_imports_counts_and_report(tmp_path):
    cat = new_catalog(tmp_path / "cat")
    report = {"source": "a.jsonl", "imported": 3, "skipped": [{"line": "line 2"}]}
    with CatalogStore(cat) as store:
        first = store.begin_import("a.jsonl")
        assert store.begin_import("b.jsonl") == first + 1
        store.finish_import(first, 3, 1, report)
        log = store.imports()
    assert [(i["source"], i["imported"], i["skipped"]) for i in log] == [
        ("a.jsonl", 3, 1), ("b.jsonl", 0, 0)]
    assert log[0]["started"] <= log[0]["finished"] and log[1]["finished"] is None
    saved = sqlite3.connect(cat / DB_NAME).execute(
        "SELECT report FROM imports ORDER BY row").fetchall()
    assert [json.loads(r) for (r,) in saved] == [report, {}]


@pytest.mark.parametrize("write", ["begin", "finish"])
def test_an_import_log_that_cannot_be_written_names_sqlites_reason(tmp_path, write):
    """Starting an import and finishing one both write the log; another connection dropped
    its table under the open store."""
    cat = new_catalog(tmp_path / "cat")
    with CatalogStore(cat) as store:
        row = store.begin_import("a.jsonl") if write == "finish" else None
        other = sqlite3.connect(cat / DB_NAME)
        other.execute("DROP TABLE imports")
        other.commit()
        other.close()
        with pytest.raises(CatalogError) as err:
            if write == "begin":
                store.begin_import("a.jsonl")
            else:
                store.finish_import(row, 1, 0, {})
    assert str(err.value) == (f"cannot write the catalogue {cat / DB_NAME} (no such table: "
                              "imports); check that the file and its directory are writable "
                              "and the disk is not full")


def test_check_reports_sqlites_own_findings_then_foreign_keys_then_missing_parts(tmp_path):
    cat = new_catalog(tmp_path / "cat")
    db = sqlite3.connect(cat / DB_NAME)
    with db:
        for i in range(2):
            db.execute("INSERT INTO products (id, title, category, price, currency, url, "
                       "updated) VALUES (?, 't', ?, 1, 'CNY', 'https://x.example', 0)",
                       (f"p{i}", f"c{i}"))
        db.execute("INSERT INTO images (product, position, file, sha256, width, height, "
                   "origin) VALUES (99, 0, 'images/f.jpg', 's', 1, 1, 'o')")  # no product 99
    # the category index now claims to index titles: SQLite's check finds rows missing from it
    db.execute("PRAGMA writable_schema = ON")
    with db:
        db.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX products_category ON "
                   "products (title)' WHERE name = 'products_category'")
    db.close()
    own = [r[0] for r in sqlite3.connect(cat / DB_NAME).execute("PRAGMA integrity_check")]
    assert own == ["row 1 missing from index products_category",
                   "row 2 missing from index products_category"]
    with CatalogStore(cat) as store:
        assert store.check() == [*own, "foreign key: ('images', 1, 'products', 0)",
                                 "product p0 has no image", "product p1 has no image",
                                 "image file images/f.jpg is missing"]


def test_an_import_log_from_before_reports_were_kept_names_the_missing_column(tmp_path):
    cat = new_catalog(tmp_path / "cat")
    db = sqlite3.connect(cat / DB_NAME)
    db.executescript("DROP TABLE imports; CREATE TABLE imports (row INTEGER PRIMARY KEY, "
                     "source TEXT, started REAL, finished REAL, imported INTEGER, "
                     "skipped INTEGER);")
    db.close()
    with CatalogStore(cat) as store:
        row = store.begin_import("a.jsonl")
        with pytest.raises(CatalogError) as err:
            store.finish_import(row, 1, 0, {})
    assert str(err.value) == (f"cannot write the catalogue {cat / DB_NAME} (no such column: "
                              "report); check that the file and its directory are writable "
                              "and the disk is not full")
