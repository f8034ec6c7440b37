"""The product store: one SQLite database per catalogue directory (``DIR/catalog.sqlite``),
in WAL mode, schema versioned, with the shop images copied in by content hash
(``DIR/images/ab/abcdef....jpg``) so that a catalogue does not depend on where it came from.

Tables: ``products`` (one row per product id), ``images`` (a product's images in order),
``embeddings`` (one vector per image and model version) and ``imports`` (each import's report).
Writers use one transaction per batch: an import killed half-way keeps every batch it
committed and nothing of the one it was writing.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.catalog.validate import ProductRow

SCHEMA_VERSION = 1
DB_NAME = "catalog.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS products (
    row INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    category TEXT NOT NULL,
    price REAL NOT NULL CHECK (price >= 0),
    currency TEXT NOT NULL,
    url TEXT NOT NULL,
    shop TEXT NOT NULL DEFAULT '',
    sales INTEGER NOT NULL DEFAULT 0,
    rating REAL,
    family TEXT NOT NULL DEFAULT '',
    attributes TEXT NOT NULL DEFAULT '{}',
    source TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS products_category ON products (category);
CREATE TABLE IF NOT EXISTS images (
    row INTEGER PRIMARY KEY,
    product INTEGER NOT NULL REFERENCES products (row) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    origin TEXT NOT NULL,
    UNIQUE (product, position)
);
CREATE TABLE IF NOT EXISTS embeddings (
    image INTEGER NOT NULL REFERENCES images (row) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (image, model)
);
CREATE TABLE IF NOT EXISTS imports (
    row INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    imported INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    report TEXT NOT NULL DEFAULT '{}'
);
"""


class CatalogError(RuntimeError):
    """A catalogue that cannot be opened or written, with what to do."""


@dataclass(frozen=True)
class Product:
    row: int
    id: str
    title: str
    category: str
    price: float
    currency: str
    url: str
    shop: str
    sales: int
    rating: float | None
    family: str
    attributes: dict[str, Any]
    images: tuple[str, ...]  # absolute paths, main image first


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    file: str  # relative to the catalogue directory
    width: int
    height: int
    origin: str  # where it came from (path or URL)


def _no_room(exc: sqlite3.Error) -> bool:
    """SQLite's words for a write that found no room (ENOSPC, EFBIG under RLIMIT_FSIZE)."""
    text = str(exc).lower()
    return "disk i/o error" in text or "database or disk is full" in text


class CatalogStore:
    def __init__(self, directory: str | Path, *, readonly: bool = False,
                 create: bool = True) -> None:
        """``create=False``: the catalogue must exist already (searching never makes an empty
        one)."""
        self.dir = Path(directory)
        self.path = self.dir / DB_NAME
        self.readonly = readonly
        if (readonly or not create) and not self.path.is_file():
            raise CatalogError(f"{self.dir} has no catalogue ({DB_NAME}); import one with "
                               f"`video2shop catalog import SRC --catalog {self.dir}`")
        if not readonly:
            try:
                self.dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CatalogError(f"cannot create the catalogue directory {self.dir}: "
                                   f"{exc.strerror}") from None
        try:
            if readonly:  # as a URI, escaped: '#' or '?' in a folder name stay in the path
                self.db = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True,
                                          check_same_thread=False)
            else:
                self.db = sqlite3.connect(self.path, check_same_thread=False)
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"cannot open {self.path} ({exc})") from None
        try:
            self.db.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except sqlite3.OperationalError as exc:
            self.db.close()
            if _no_room(exc):  # the file is fine: the disk (or a size limit) is not
                raise self._write_error(exc) from None
            raise CatalogError(f"{self.path} is not a usable catalogue database ({exc}); "
                               "move it aside and import the catalogue again") from None
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise CatalogError(f"{self.path} is not a usable catalogue database ({exc}); "
                               "move it aside and import the catalogue again") from None
        except CatalogError:
            self.db.close()
            raise

    # schema ------------------------------------------------------------------------------
    def _migrate(self) -> None:
        tables = {r[0] for r in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" in tables:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise CatalogError(f"{self.path} has schema version {version}, newer than this "
                                   f"build's {SCHEMA_VERSION}: update video2shop")
            if version == SCHEMA_VERSION:
                return
        if self.readonly:
            raise CatalogError(f"{self.path} is not a catalogue of this version")
        with self.db:
            self.db.executescript(SCHEMA)
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                            (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> CatalogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # writing -----------------------------------------------------------------------------
    def _write_error(self, exc: sqlite3.Error) -> CatalogError:
        if _no_room(exc):
            return CatalogError(f"cannot write the catalogue {self.path} ({exc}): the disk is "
                                "full or a file size limit was reached; free some space and "
                                "import again (whole products already written are kept)")
        return CatalogError(f"cannot write the catalogue {self.path} ({exc}); check that the "
                            "file and its directory are writable and the disk is not full")

    def upsert_batch(self, rows: Iterable[tuple[ProductRow, list[StoredImage], str]]) -> int:
        """Inserts or updates products with their images in one transaction; returns how many
        were new. A product's images are replaced by the given list; embeddings of images
        whose content did not change are kept."""
        try:
            return self._upsert_batch(rows)
        except sqlite3.OperationalError as exc:
            raise self._write_error(exc) from None
        except sqlite3.IntegrityError as exc:  # a bug, but never a traceback for a user
            raise CatalogError(f"the catalogue refused a batch ({exc}); nothing of it was "
                               "written") from None

    def _upsert_batch(self, rows: Iterable[tuple[ProductRow, list[StoredImage], str]]) -> int:
        new = 0
        now = time.time()
        with self.db:
            for p, images, source in rows:
                cur = self.db.execute("SELECT row FROM products WHERE id = ?", (p.id,))
                found = cur.fetchone()
                values = (p.title, p.category, p.price, p.currency, p.url, p.shop, p.sales,
                          p.rating, p.family, json.dumps(p.attributes, sort_keys=True), source,
                          now)
                if found:
                    prow = found[0]
                    self.db.execute(
                        "UPDATE products SET title=?, category=?, price=?, currency=?, url=?, "
                        "shop=?, sales=?, rating=?, family=?, attributes=?, source=?, updated=? "
                        "WHERE row=?", (*values, prow))
                else:
                    prow = self.db.execute(
                        "INSERT INTO products (title, category, price, currency, url, shop, "
                        "sales, rating, family, attributes, source, updated, id) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", (*values, p.id)).lastrowid
                    new += 1
                old = {r[0]: r[1] for r in self.db.execute(
                    "SELECT sha256, row FROM images WHERE product = ?", (prow,))}
                keep = {im.sha256 for im in images}
                for sha, irow in old.items():
                    if sha not in keep:
                        self.db.execute("DELETE FROM images WHERE row = ?", (irow,))
                # positions move: park them out of the way of the UNIQUE constraint first
                self.db.execute("UPDATE images SET position = -1 - position WHERE product = ?",
                                (prow,))
                for pos, im in enumerate(images):
                    if im.sha256 in old:
                        self.db.execute("UPDATE images SET position = ?, origin = ? WHERE row = ?",
                                        (pos, im.origin, old[im.sha256]))
                    else:
                        self.db.execute(
                            "INSERT INTO images (product, position, file, sha256, width, "
                            "height, origin) VALUES (?,?,?,?,?,?,?)",
                            (prow, pos, im.file, im.sha256, im.width, im.height, im.origin))
        return new

    def begin_import(self, source: str) -> int:
        try:
            with self.db:
                return self.db.execute("INSERT INTO imports (source, started) VALUES (?, ?)",
                                       (source, time.time())).lastrowid
        except sqlite3.OperationalError as exc:
            raise self._write_error(exc) from None

    def finish_import(self, import_row: int, imported: int, skipped: int,
                      report: dict[str, Any]) -> None:
        try:
            with self.db:
                self.db.execute("UPDATE imports SET finished=?, imported=?, skipped=?, "
                                "report=? WHERE row=?", (time.time(), imported, skipped,
                                                         json.dumps(report), import_row))
        except sqlite3.OperationalError as exc:
            raise self._write_error(exc) from None

    def put_embeddings(self, model: str, image_rows: list[int], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        try:
            with self.db:
                self.db.executemany(
                    "INSERT OR REPLACE INTO embeddings (image, model, vector) VALUES (?,?,?)",
                    [(int(r), model, v.tobytes())
                     for r, v in zip(image_rows, vectors, strict=True)])
        except sqlite3.OperationalError as exc:
            raise self._write_error(exc) from None

    # reading -----------------------------------------------------------------------------
    def count(self) -> tuple[int, int]:
        """(products, images)."""
        p = self.db.execute("SELECT COUNT(*) FROM products").fetchone()[0]
        i = self.db.execute("SELECT COUNT(*) FROM images").fetchone()[0]
        return p, i

    def categories(self) -> dict[str, int]:
        return dict(self.db.execute(
            "SELECT category, COUNT(*) FROM products GROUP BY category ORDER BY category"))

    def product_categories(self) -> dict[int, str]:
        """{product row: category} of every product."""
        return dict(self.db.execute("SELECT row, category FROM products"))

    def fingerprint(self) -> str:
        """Changes whenever products or images change (for the index's sidecar)."""
        row = self.db.execute(
            "SELECT COUNT(*), COALESCE(MAX(row), 0), COALESCE(SUM(row), 0) FROM images"
        ).fetchone()
        upd = self.db.execute("SELECT COALESCE(MAX(updated), 0) FROM products").fetchone()[0]
        return f"{row[0]}:{row[1]}:{row[2]}:{upd:.6f}"

    def _product(self, r: tuple) -> Product:
        images = tuple(str(self.dir / f) for (f,) in self.db.execute(
            "SELECT file FROM images WHERE product = ? ORDER BY position", (r[0],)))
        return Product(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                       json.loads(r[11]), images)

    _COLUMNS = ("row, id, title, category, price, currency, url, shop, sales, rating, family, "
                "attributes")

    def product(self, product_id: str) -> Product | None:
        r = self.db.execute(f"SELECT {self._COLUMNS} FROM products WHERE id = ?",
                            (product_id,)).fetchone()
        return self._product(r) if r else None

    def products_by_rows(self, rows: Iterable[int]) -> dict[int, Product]:
        rows = [int(r) for r in rows]
        out = {}
        for i in range(0, len(rows), 500):
            chunk = rows[i:i + 500]
            q = ",".join("?" * len(chunk))
            for r in self.db.execute(f"SELECT {self._COLUMNS} FROM products WHERE row IN ({q})",
                                     chunk):
                out[r[0]] = self._product(r)
        return out

    def iter_products(self) -> Iterator[Product]:
        for r in self.db.execute(f"SELECT {self._COLUMNS} FROM products ORDER BY row"):
            yield self._product(r)

    def images_without_embedding(self, model: str) -> list[tuple[int, str]]:
        """(image row, absolute path) of images that have no vector from ``model``."""
        return [(r, str(self.dir / f)) for r, f in self.db.execute(
            "SELECT i.row, i.file FROM images i LEFT JOIN embeddings e "
            "ON e.image = i.row AND e.model = ? WHERE e.image IS NULL ORDER BY i.row", (model,))]

    def embedding_count(self, model: str) -> int:
        return self.db.execute("SELECT COUNT(*) FROM embeddings WHERE model = ?",
                               (model,)).fetchone()[0]

    def embeddings(self, model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(image rows, product rows, vectors (N, D) float32) of every image with a vector."""
        rows, prods, vecs = [], [], []
        for irow, prow, blob in self.db.execute(
                "SELECT i.row, i.product, e.vector FROM images i JOIN embeddings e "
                "ON e.image = i.row AND e.model = ? ORDER BY i.row", (model,)):
            rows.append(irow)
            prods.append(prow)
            vecs.append(np.frombuffer(blob, np.float32))
        if not vecs:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        return np.array(rows, np.int64), np.array(prods, np.int64), np.stack(vecs)

    def check(self) -> list[str]:
        """Integrity problems (empty when consistent): SQLite's own check, foreign keys,
        products without images, image files that are missing."""
        problems = [r[0] for r in self.db.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"foreign key: {r}" for r in self.db.execute("PRAGMA foreign_key_check")]
        problems += [f"product {r[0]} has no image" for r in self.db.execute(
            "SELECT id FROM products p WHERE NOT EXISTS "
            "(SELECT 1 FROM images i WHERE i.product = p.row)")]
        problems += [f"image file {f} is missing" for (f,) in self.db.execute(
            "SELECT file FROM images") if not (self.dir / f).is_file()]
        return problems

    def imports(self) -> list[dict[str, Any]]:
        return [{"source": s, "started": a, "finished": b, "imported": i, "skipped": k}
                for s, a, b, i, k in self.db.execute(
                    "SELECT source, started, finished, imported, skipped FROM imports "
                    "ORDER BY row")]

    def get_meta(self, key: str) -> str | None:
        r = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return r[0] if r else None

    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
