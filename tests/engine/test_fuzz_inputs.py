"""Hostile input found by a machine (issue 17): hypothesis writes product lists in every format
the importer reads (jsonl, csv, json, an http API's pages), annotations files and flag books,
out of valid rows, broken rows and garbage, and checks that nothing raises but the documented
errors, that every row is either imported or reported with a reason, that the catalogue stays
whole, and that the good rows among the bad are all there.

Examples per test: 2,000 (the ``ci`` profile, tests/conftest.py); ``HYPOTHESIS_PROFILE=long``
runs 20,000 (docs/reliability.md has that run's figures)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
import threading
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.annotations import AnnotationsError, load_annotations, parse_annotations
from engine.catalog.fetch import HttpFetcher
from engine.catalog.importer import SourceError, import_catalog
from engine.catalog.store import CatalogStore
from engine.catalog.validate import RowError, validate_row
from engine.export import ExportError, FlagBook
from tests.engine.catalog.conftest import write_jpeg

# --- strategies ------------------------------------------------------------------------

NASTY = ["\ud800", "\udfff", "\u202e", "\u2066", "\u200b", "\ufeff", "\x00", "\x9b", "\x07",
         "\n", "\r", "\t", "<b>", "&amp;", "&#0;", "&#xD800;", "..", "/", "\\", "|", ",", '"',
         "\u0085", "\u2028", "\U0001F469\u200d\U0001F52C", "ﬁ", "İ"]
text = st.lists(st.one_of(st.characters(), st.sampled_from(NASTY)), max_size=16).map("".join)
numbers = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True),
                    st.decimals(allow_nan=False, allow_infinity=False).map(str))
scalars = st.one_of(st.none(), st.booleans(), numbers, text)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)), max_leaves=12)

GOOD_IMAGES = ["images/ok.jpg", "images/ok.png", "./images/ok.jpg", "images/link-in.jpg"]
BAD_IMAGES = ["images/corrupt.jpg", "images/bomb.png", "images/text.jpg", "images/missing.jpg",
              "../outside.jpg", "/etc/passwd", "images/link-out.jpg", "images/", "",
              "file:///etc/passwd", "javascript:alert(1)", "http://", "images/ok.jpg\x00"]


@st.composite
def good_row(draw, i: int) -> dict:
    row = {"id": f"g{i}-" + draw(st.from_regex(r"[A-Za-z0-9_.:-]{0,12}", fullmatch=True)),
           "title": draw(st.text(st.characters(categories=("L", "N", "Zs", "P")), min_size=1,
                                 max_size=60).filter(lambda t: t.strip() and "<" not in t
                                                      and "&" not in t)),
           "category": draw(st.sampled_from(["shirt", "dress", "coat", "Skirt"])),
           "price": draw(st.one_of(st.integers(0, 10**6),
                                   st.floats(0, 1e6, allow_nan=False).map(lambda f: round(f, 2)))),
           "url": "https://shop.example.com/item/" + str(i),
           "images": draw(st.lists(st.sampled_from(GOOD_IMAGES), min_size=1, max_size=3))}
    if draw(st.booleans()):
        row["currency"] = draw(st.sampled_from(["CNY", "usd", "EUR"]))
    if draw(st.booleans()):
        row["sales"] = draw(st.integers(0, 10**6))
    if draw(st.booleans()):
        row["rating"] = draw(st.floats(0, 5))
    return row


FIELDS = ["id", "title", "category", "price", "currency", "url", "images", "image", "shop",
          "sales", "rating", "family", "attributes"]


@st.composite
def bad_row(draw, i: int) -> object:
    """A good row with fields replaced by anything, or not an object at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    row = draw(good_row(i))
    for key in draw(st.lists(st.sampled_from([*FIELDS, "extra"]), min_size=1, max_size=4)):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            row.pop(key, None)
        elif choice == 1:
            row[key] = draw(json_values)
        elif choice == 2 and key in ("images", "image"):
            row[key] = draw(st.one_of(st.sampled_from(BAD_IMAGES),
                                      st.lists(st.sampled_from(BAD_IMAGES + GOOD_IMAGES),
                                               max_size=14)))
        else:
            row[key] = draw(text)
    return row


@st.composite
def product_lists(draw) -> list[tuple[object, bool]]:
    """(row, known good) pairs, the good ones with ids of their own."""
    n = draw(st.integers(0, 8))
    out = []
    for i in range(n):
        if draw(st.booleans()):
            out.append((draw(good_row(i)), True))
        else:
            out.append((draw(bad_row(i)), False))
    if out and draw(st.integers(0, 5)) == 0:  # a duplicate of an earlier row
        out.append((draw(st.sampled_from([r for r, _ in out])), False))
    return out


# --- the source folder and the checks ------------------------------------------------------

@pytest.fixture(scope="module")
def src():
    d = Path(tempfile.mkdtemp(prefix="v2s-fuzz-"))
    shop = d / "shop"
    write_jpeg(shop / "images" / "ok.jpg", 1)
    import cv2

    cv2.imwrite(str(shop / "images" / "ok.png"), np.full((40, 32, 3), 90, np.uint8))
    (shop / "images" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    (shop / "images" / "text.jpg").write_text("not an image")
    cv2.imwrite(str(shop / "images" / "bomb.png"), np.zeros((9000, 5000), np.uint8))
    write_jpeg(d / "outside.jpg", 2)
    (shop / "images" / "link-out.jpg").symlink_to(d / "outside.jpg")
    (shop / "images" / "link-in.jpg").symlink_to(shop / "images" / "ok.jpg")
    yield shop
    shutil.rmtree(d, ignore_errors=True)


def _import_and_check(source: str, candidates: list[list[tuple[object, bool]]] | None,
                      catalog: Path, extra: int = 0, **kw) -> None:
    """Runs the import; only SourceError may escape, and the catalogue is whole either way.
    ``candidates``: the rows the source may turn out to hold (an API's pages: one page, or
    both): every row of one of them (plus ``extra`` garbage lines) is imported or skipped
    with a reason, and every known-good row with an id of its own is in the store, as given.
    None: the source's rows cannot be known (garbage that may parse), only wholeness counts."""
    try:
        report = import_catalog(source, catalog, **kw)
    except SourceError as exc:
        assert str(exc)
        return
    finally:
        if (catalog / "catalog.sqlite").exists():
            with CatalogStore(catalog, readonly=True) as store:
                assert store.check() == []
    assert report.complete and all(s.reason for s in report.skipped)
    if candidates is None:
        return
    seen = report.imported + len(report.skipped)
    rows = next((c for c in candidates if len(c) + extra == seen), None)
    assert rows is not None, (seen, [len(c) for c in candidates], report.to_json())
    ids = [r.get("id") if isinstance(r, dict) else None for r, _ in rows]
    with CatalogStore(catalog, readonly=True) as store:
        for row, good in rows:
            if good and ids.count(row["id"]) == 1:
                p = store.product(row["id"])
                assert p is not None, (row, report.to_json())
                assert p.title == validate_row(row).title and p.price == validate_row(row).price


def _fresh(base: Path) -> Path:
    cat = base / "cat"
    shutil.rmtree(cat, ignore_errors=True)
    return cat


def _dump(row: object, rng_ascii: bool) -> str:
    try:
        return json.dumps(row, ensure_ascii=rng_ascii)
    except (ValueError, TypeError):  # lone surrogates cannot be written unescaped
        return json.dumps(row, ensure_ascii=True)


@given(rows=product_lists(), ascii_=st.booleans(),
       garbage=st.lists(st.binary(max_size=40), max_size=2))
def test_jsonl(src, rows, ascii_, garbage):
    lines = [_dump(r, ascii_).encode("utf-8", "surrogatepass") for r, _ in rows]
    lines += [g.replace(b"\n", b" ") for g in garbage if g.strip()]
    path = src / "fuzz.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    emitted = len(rows) + sum(1 for g in garbage if g.replace(b"\n", b" ").strip())
    _import_and_check(str(path), [rows], _fresh(src.parent), emitted - len(rows))


@given(rows=product_lists(), extra_columns=st.lists(text, max_size=2))
def test_csv(src, rows, extra_columns):
    dict_rows = [r for r, _ in rows]
    columns = list(dict.fromkeys(["id", *FIELDS, *extra_columns]))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    for r in dict_rows:
        r = r if isinstance(r, dict) else {"id": r}
        values = []
        for c in columns:
            v = r.get(c, "")
            if isinstance(v, list) and c == "images":
                v = "|".join(str(x) for x in v)
            elif isinstance(v, dict | list):
                v = json.dumps(v)
            values.append("" if v is None else str(v))
        w.writerow(values)
    path = src / "fuzz.csv"
    path.write_bytes(buf.getvalue().encode("utf-8", "surrogatepass"))
    # CSV says everything as text: a known-good row reads back as the same product
    as_csv = [(r if isinstance(r, dict) else {"id": r}, good) for r, good in rows]
    _import_and_check(str(path), [as_csv], _fresh(src.parent))


@given(rows=product_lists(), wrapped=st.booleans())
def test_json(src, rows, wrapped):
    items = [r for r, _ in rows]
    data = {"products": items} if wrapped else items
    path = src / "fuzz.json"
    path.write_text(_dump(data, True))
    _import_and_check(str(path), [rows], _fresh(src.parent))


# --- the http API ------------------------------------------------------------------------

class Pages:
    def __init__(self, shop: Path) -> None:
        self.pages: dict[str, bytes] = {}
        self.image = (shop / "images" / "ok.jpg").read_bytes()
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                body = pages.pages.get(self.path)
                ctype = "application/json"
                if self.path in ("/images/ok.jpg", "/images/ok.png", "/images/link-in.jpg"):
                    body, ctype = pages.image, "image/jpeg"
                with suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(200 if body is not None else 404)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body or b"")))
                    self.end_headers()
                    self.wfile.write(body or b"")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def pages(src):
    p = Pages(src)
    yield p
    p.server.shutdown()
    p.server.server_close()


NEXT = st.one_of(st.none(), st.sampled_from(["/p2", "/p1", "p2", "file:///etc/passwd",
                                             "ftp://x/p", "//other.invalid/p", "/missing"]),
                 json_values)


@given(first=product_lists(), second=product_lists(), next1=NEXT, raw=st.one_of(
    st.none(), st.binary(max_size=60)))
def test_http_api(src, pages, first, second, next1, raw):
    pages.pages = {
        "/p1": raw if raw is not None else _dump(
            {"products": [r for r, _ in first], "next": next1}, True).encode(),
        "/p2": _dump({"items": [r for r, _ in second], "next": None}, True).encode(),
    }
    fetcher = HttpFetcher(timeout=(2, 2), retries=0, sleep=lambda s: None)
    # garbage may parse as anything; a next link may end, follow to page 2, or fail
    candidates = None if raw is not None else [first, first + second]
    _import_and_check(pages.url + "/p1", candidates, _fresh(src.parent), fetcher=fetcher)


# --- annotations and flags ------------------------------------------------------------------

VALID_ANN = {"video": {"fps": 25.0, "frame_count": 250, "width": 640, "height": 360},
             "tracks": [{"track_id": 1, "category": "dress", "product_id": "p1",
                         "boxes": [[0, 1, 2, 30, 40, 0.9], [2, 3, 4, 33, 44, 0.8]],
                         "matches": [{"product_id": "p1", "score": 0.93}]}]}
VALID_FLAGS = {"video": "v.mp4", "fingerprint": "abc",
               "flags": [{"frame": 3, "track_id": 1, "kind": "box", "note": "off by one",
                          "product_id": None, "created": "2026-12-01T10:00:00+00:00"}]}


@st.composite
def mutated(draw, base: dict) -> object:
    """``base`` with a few of its values (at any depth) replaced by anything."""
    doc = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        node, key = doc, None
        path = []
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            key = draw(st.sampled_from(list(node) if isinstance(node, dict)
                                       else list(range(len(node)))))
            path.append((node, key))
            node = node[key]
        if not path:
            return draw(json_values)
        parent, key = path[-1]
        if draw(st.integers(0, 4)) == 0 and isinstance(parent, dict):
            del parent[key]
        else:
            parent[key] = draw(json_values)
    return doc


@given(raw=st.one_of(json_values, mutated(VALID_ANN)))
def test_annotations_loader(raw):
    try:
        ann = parse_annotations(raw)
    except AnnotationsError as exc:
        assert str(exc)
        return
    index = ann.index()
    for t in ann.tracks:
        assert np.isfinite(t.boxes).all()
        if len(t.boxes):
            assert len(index.detections_at(int(t.boxes[0, 0]))) >= 1
        else:  # a track without boxes (the long run found one): it has no frames
            assert t.first_frame == -1 == t.last_frame


@given(data=st.one_of(st.binary(max_size=200), json_values.map(
    lambda v: _dump(v, False).encode("utf-8", "surrogatepass")),
    mutated(VALID_ANN).map(lambda v: _dump(v, True).encode())))
def test_annotations_file(src, data):
    path = src.parent / "fuzz-annotations.json"
    path.write_bytes(data)
    try:
        load_annotations(path)
    except AnnotationsError as exc:
        assert str(path) in str(exc)


@given(data=st.one_of(st.binary(max_size=200), mutated(VALID_FLAGS).map(
    lambda v: _dump(v, False).encode("utf-8", "surrogatepass"))))
def test_flags_loader(src, data):
    path = src.parent / "fuzz-flags.json"
    path.write_bytes(data)
    try:
        book = FlagBook.load(path)
    except ExportError as exc:
        assert str(path) in str(exc)
        return
    again = src.parent / "fuzz-flags-again.json"
    book.save(again)  # what loads saves, and loads back the same
    assert FlagBook.load(again).to_json() == book.to_json()


def test_validate_row_raises_only_row_errors():
    """The importer catches ValueError, OverflowError and TypeError from validation; a quick
    direct check that RowError is what a person sees for the usual suspects."""
    with pytest.raises(RowError):
        validate_row({"id": "x", "title": "t", "category": "c", "price": 10**400})


# --- shop feeds (issue 18): fewer examples, the same rule --------------------------------

MERCHANT = ["id", "title", "link", "image_link", "additional_image_link", "price", "brand",
            "availability", "product_type", "google_product_category", "item_group_id"]
merchant_values = st.one_of(text, st.sampled_from(
    ["MC-1", "12.50 CNY", "1,234.50 USD", "12,5 EUR", "CNY", "https://shop.example/a",
     "images/ok.jpg", "images/ok.jpg,images/ok.png", "../outside.jpg", "Dresses",
     "Apparel & Accessories > Clothing > Skirts", "in stock"]))
merchant_items = st.lists(st.dictionaries(st.sampled_from(MERCHANT), merchant_values,
                                          max_size=len(MERCHANT)), max_size=6)


@settings(max_examples=500)
@given(items=merchant_items)
def test_merchant_tsv(src, items):
    lines = ["\t".join(MERCHANT)] + ["\t".join(i.get(k, "") for k in MERCHANT) for i in items]
    path = src / "fuzz-feed.txt"
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass"))
    _import_and_check(str(path), None, _fresh(src.parent))


@settings(max_examples=500)
@given(items=merchant_items, raw=st.booleans())
def test_merchant_xml(src, items, raw):
    from xml.sax.saxutils import escape

    def value(v: str) -> str:
        return v if raw else escape(v)

    body = "".join("<item>" + "".join(f"<g:{k}>{value(v)}</g:{k}>" for k, v in i.items())
                   + "</item>" for i in items)
    doc = ('<?xml version="1.0"?><rss xmlns:g="http://base.google.com/ns/1.0"><channel>'
           f"{body}</channel></rss>")
    path = src / "fuzz-feed.xml"
    path.write_bytes(doc.encode("utf-8", "surrogatepass"))
    _import_and_check(str(path), None, _fresh(src.parent))


SHOPIFY = {"id": 1, "title": "Hoodie", "handle": "hoodie", "product_type": "Hoodies",
           "vendor": "V", "variants": [{"price": "10.00"}], "images": [{"src": "images/ok.jpg"}],
           "options": [{"name": "Color", "values": ["Red"]}]}


@settings(max_examples=500)
@given(products=st.lists(st.one_of(mutated(SHOPIFY), st.just(SHOPIFY)), max_size=5),
       shop_url=st.one_of(st.none(), st.just("https://store.example"), text))
def test_shopify(src, products, shop_url):
    path = src / "fuzz-products.json"
    path.write_text(_dump({"products": products}, True))
    _import_and_check(str(path), None, _fresh(src.parent), shop_url=shop_url)
