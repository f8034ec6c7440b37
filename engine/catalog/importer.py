"""``video2shop catalog import``: products from a ``products.jsonl`` (the synthetic benchmark's
format, docs/benchmark.md), a CSV with the same columns, a JSON file, or an ``http(s)://``
product API, into a catalogue directory.

Every row is validated and its images are read and checked before anything is written; a bad
row is skipped with its line number and reason, and the rest imports. Rows are written in
batches, one transaction each, so an import killed half-way keeps every batch it committed.
Re-importing updates products by id.

The remote API: GET URL returns either a JSON list of products, or an object with the products
under ``products`` (or ``items``) and the next page's URL under ``next`` (absolute or relative;
null on the last page). Image references may be URLs or paths relative to the page's URL.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from engine.catalog import feeds
from engine.catalog.feeds import SourceError
from engine.catalog.fetch import CheckedImage, FetchError, HttpFetcher, read_local_image
from engine.catalog.store import CatalogStore, StoredImage
from engine.catalog.validate import ProductRow, RowError, validate_row

MAX_PAGES = 10_000


@dataclass
class Skipped:
    line: str
    id: str
    reason: str


@dataclass
class ImportReport:
    source: str
    imported: int = 0
    new: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    complete: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "imported": self.imported, "new": self.new,
                "updated": self.imported - self.new, "skipped": [s.__dict__ for s in self.skipped],
                "seconds": round(self.seconds, 2), "complete": self.complete}


# sources: (line label, raw row or an error message, base for relative image paths) --------

def _jsonl(path: Path) -> Iterator[tuple[str, Any, str]]:
    with path.open("rb") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield f"line {n}", json.loads(line.decode("utf-8")), str(path.parent)
            except UnicodeDecodeError:
                yield f"line {n}", RowError("not UTF-8 text"), str(path.parent)
            except json.JSONDecodeError as exc:
                yield f"line {n}", RowError(f"bad JSON ({exc.msg} at column {exc.colno})"), \
                    str(path.parent)
            except (ValueError, RecursionError) as exc:  # huge numbers, absurd nesting
                yield f"line {n}", RowError(f"bad JSON ({str(exc)[:80]})"), str(path.parent)


def _csv(path: Path) -> Iterator[tuple[str, Any, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError(f"{path} is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or "id" not in reader.fieldnames:
        raise SourceError(f"{path}: the first line must name the columns (id, title, "
                           "category, price, currency, url, image or images, ...)")
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            # line_num counts the lines read before the one that failed
            raise SourceError(f"{path}: after line {reader.line_num}: {exc}; the rows before "
                              "it were imported") from None
        label = f"line {reader.line_num}"
        if None in row:
            yield label, RowError("more fields than columns"), str(path.parent)
            continue
        raw: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
        if "attributes" in raw:
            try:
                raw["attributes"] = json.loads(raw["attributes"])
            except json.JSONDecodeError:
                yield label, RowError("attributes is not a JSON object"), str(path.parent)
                continue
        yield label, raw, str(path.parent)


def _json_items(path: Path, data: Any) -> Iterator[tuple[str, Any, str]]:
    items = data if isinstance(data, list) else _page_items(data)
    if items is None:
        raise SourceError(f"{path}: expected a list of products or {{\"products\": [...]}}")
    for i, raw in enumerate(items, 1):
        yield f"item {i}", raw, str(path.parent)


def _page_items(data: Any) -> list | None:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("products", "items"):
            if isinstance(data.get(key), list):
                return data[key]
    return None


def _remote(url: str, fetcher: HttpFetcher, shop_url: str | None = None
            ) -> Iterator[tuple[str, Any, str]]:
    seen = set()
    page = 0
    while url and page < MAX_PAGES:
        if url in seen:
            raise SourceError(f"the API's next link loops back to {url}")
        seen.add(url)
        page += 1
        try:
            data = fetcher.json(url)
        except FetchError as exc:
            raise SourceError(f"page {page}: {exc}") from None
        if feeds.is_shopify(data):  # a store's /products.json: one page of it
            yield from feeds.shopify_rows(data, url, shop_url)
            return
        items = _page_items(data)
        if items is None:
            raise SourceError(f"page {page} ({url}): expected a list of products or an object "
                               "with products and next")
        for i, raw in enumerate(items, 1):
            yield f"page {page} item {i}", raw, url
        nxt = data.get("next") if isinstance(data, dict) else None
        if nxt is not None and not isinstance(nxt, str):
            raise SourceError(f"page {page}: next must be a URL or null")
        url = urljoin(url, nxt) if nxt else ""
        if url and urlsplit(url).scheme not in ("http", "https"):
            raise SourceError(f"page {page}: next link {url!r} is not http(s)")


def open_source(src: str, fetcher: HttpFetcher, *, shop_url: str | None = None
                ) -> Iterator[tuple[str, Any, str]]:
    """The rows of ``src``, its format picked by content (engine/catalog/feeds.py sniff)."""
    if urlsplit(src).scheme in ("http", "https"):
        return _remote(src, fetcher, shop_url)
    path = Path(src)
    if path.is_dir() and (path / "catalog" / "products.jsonl").is_file():
        path = path / "catalog" / "products.jsonl"  # a benchmark directory
    elif path.is_dir() and (path / "products.jsonl").is_file():
        path = path / "products.jsonl"
    if not path.is_file():
        raise SourceError(f"{src} is not a file, a benchmark directory or an http(s) URL")
    try:
        kind = feeds.sniff(path)
    except OSError as exc:
        raise SourceError(f"{path} cannot be read ({exc.strerror or exc})") from None
    if kind == "binary":
        raise SourceError(f"{path}: unknown format (binary data, not a product list); give "
                          "jsonl, csv, json, a Merchant Center feed (tsv or xml) or a Shopify "
                          "products.json")
    if kind == "jsonl":
        return _jsonl(path)
    if kind == "csv":
        return _csv(path)
    if kind == "merchant-tsv":
        return feeds.merchant_tsv(path)
    if kind == "merchant-xml":
        return feeds.merchant_xml(path)
    data = feeds.read_json_feed(path)
    if kind == "shopify" or feeds.is_shopify(data):
        return feeds.shopify_rows(data, str(path.parent), shop_url)
    return _json_items(path, data)


# images ---------------------------------------------------------------------------------

def _store_image(catalog: Path, checked: CheckedImage, origin: str) -> StoredImage:
    sha = hashlib.sha256(checked.data).hexdigest()
    rel = f"images/{sha[:2]}/{sha}.{checked.ext}"
    dest = catalog / rel
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(checked.data)
        os.replace(tmp, dest)
    return StoredImage(sha, rel, checked.width, checked.height, origin)


def _inside(folder: Path, ref: str, roots: Sequence[Path] = ()) -> Path:
    """The local image ``ref`` names, which must lie inside the source's folder (or one of
    ``roots``, folders the caller allows) once every ``..`` and symlink is resolved: a feed
    cannot make the catalogue read (and copy, and show) /etc/shadow or another user's photos."""
    base = folder.resolve()
    try:
        path = (base / ref).resolve()  # an absolute ref replaces base here, and is checked
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a bad name
        raise RowError(f"image {ref[:60]!r}: {exc}") from None
    if not any(path.is_relative_to(r) for r in (base, *roots)):
        raise RowError(f"image {ref[:60]!r} is outside the source's folder {base}; put the "
                       "images beside the product list (paths may not leave it), or allow "
                       "their folder with --images-from DIR")
    return path


def _load_images(row: ProductRow, base: str, catalog: Path, fetcher: HttpFetcher,
                 roots: Sequence[Path] = ()) -> list[StoredImage]:
    out = []
    remote_base = urlsplit(base).scheme in ("http", "https")
    for ref in row.images:
        is_url = urlsplit(ref).scheme in ("http", "https")
        try:
            if is_url or remote_base:
                url = ref if is_url else urljoin(base, ref)
                checked = fetcher.image(url)
                origin = url
            else:
                path = _inside(Path(base), ref, roots)
                checked = read_local_image(path)
                origin = str(path)
        except FetchError as exc:
            raise RowError(str(exc)) from None
        stored = _store_image(catalog, checked, origin)
        if all(o.sha256 != stored.sha256 for o in out):  # the same picture twice: once
            out.append(stored)
    return out


# the import -----------------------------------------------------------------------------

def import_catalog(src: str, catalog: str | Path, *, batch: int = 100,
                   fetcher: HttpFetcher | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   log: Callable[[str], None] = lambda m: None,
                   image_roots: Sequence[str | Path] = (), shop_url: str | None = None,
                   currency: str | None = None) -> ImportReport:
    """Imports ``src`` into the catalogue at ``catalog``; returns the report (also kept in the
    store's ``imports`` table). ``progress(rows_read, rows_imported)`` after each row. Local
    images must lie in the source's folder or in one of ``image_roots``. ``shop_url``: the
    store's address, for Shopify's products.json (which has handles, not links);
    ``currency``: for rows that name none (Shopify's), instead of CNY."""
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    fetcher = fetcher or HttpFetcher()
    catalog = Path(catalog)
    roots = [Path(r).resolve() for r in image_roots]
    t0 = time.monotonic()
    report = ImportReport(src)
    rows = open_source(src, fetcher, shop_url=shop_url)  # a bad source fails before any write
    with CatalogStore(catalog) as store:
        import_row = store.begin_import(src)
        first_seen: dict[str, str] = {}
        pending: list[tuple[ProductRow, list[StoredImage], str]] = []

        def flush() -> None:
            if pending:
                report.new += store.upsert_batch(pending)
                report.imported += len(pending)
                pending.clear()

        read = 0
        try:
            for label, raw, base in rows:
                read += 1
                pid = str(raw.get("id", "")) if isinstance(raw, dict) else ""
                try:
                    if isinstance(raw, RowError):
                        raise raw
                    if currency and isinstance(raw, dict) and not raw.get("currency"):
                        raw = {**raw, "currency": currency}
                    try:
                        row = validate_row(raw)
                    except (ValueError, OverflowError, TypeError) as exc:
                        if isinstance(exc, RowError):
                            raise
                        raise RowError(f"unusable value ({str(exc)[:80]})") from None
                    if row.id in first_seen:
                        raise RowError(f"duplicate id {row.id} (first on {first_seen[row.id]})")
                    images = _load_images(row, base, catalog, fetcher, roots)
                except RowError as exc:
                    report.skipped.append(Skipped(label, pid[:64], str(exc)))
                    log(f"skipped {label}{f' ({pid[:64]})' if pid else ''}: {exc}")
                else:
                    first_seen[row.id] = label
                    pending.append((row, images, src))
                    if len(pending) >= batch:
                        flush()
                if progress:
                    progress(read, report.imported + len(pending))
            flush()
            report.complete = True
        except SourceError:
            flush()  # keep every good row read before the source failed
            raise
        finally:
            report.seconds = time.monotonic() - t0
            store.finish_import(import_row, report.imported, len(report.skipped),
                                report.to_json())
    return report
