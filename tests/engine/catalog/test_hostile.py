"""Hostile input by hand (issue 17): images whose headers lie, paths that leave the source's
folder, text that hides or reverses itself, numbers that are not, and HTTP servers that
redirect elsewhere, never finish, or present a certificate nobody signed. Each gets a clear
message or is shown safely, and the good rows around it import."""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import struct
import subprocess
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.catalog.fetch import FetchError, HttpFetcher, check_image
from engine.catalog.importer import SourceError, import_catalog
from engine.catalog.store import CatalogStore
from engine.catalog.validate import RowError, validate_row
from tests.engine.catalog.conftest import product, write_jpeg


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def _jpeg_claiming(tmp_path, width: int, height: int) -> bytes:
    data = bytearray(write_jpeg(tmp_path / "small.jpg", 3).read_bytes())
    sof = data.index(b"\xff\xc0")  # baseline frame header: length, precision, height, width
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_an_image_header_claiming_50000_by_50000_is_refused_before_decoding(tmp_path):
    for data in (_png_claiming(50_000, 50_000), _jpeg_claiming(tmp_path, 50_000, 50_000)):
        t0 = time.perf_counter()
        with pytest.raises(FetchError, match="too large"):
            check_image(data, "image bomb")
        assert time.perf_counter() - t0 < 1.0  # 2.5 G pixels were never decoded
    # through an import: that row is skipped with the reason, its neighbours import
    src = tmp_path / "src"
    write_jpeg(src / "ok.jpg", 1)
    (src / "bomb.png").write_bytes(_png_claiming(50_000, 50_000))
    rows = [product(1, "ok.jpg"), product(2, "bomb.png"), product(3, "ok.jpg")]
    (src / "products.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = import_catalog(str(src / "products.jsonl"), tmp_path / "cat")
    assert report.imported == 2
    assert [(s.id, "too large" in s.reason) for s in report.skipped] == [("q0002", True)]


def test_image_paths_that_leave_the_source_folder_are_refused(tmp_path):
    src = tmp_path / "shop"
    write_jpeg(src / "images" / "inside.jpg", 1)
    outside = write_jpeg(tmp_path / "private" / "photo.jpg", 2)
    (src / "images" / "link-out.jpg").symlink_to(outside)
    (src / "images" / "link-in.jpg").symlink_to(src / "images" / "inside.jpg")
    (src / "images" / "dir-out").symlink_to(tmp_path / "private", target_is_directory=True)
    refs = {
        1: ("images/inside.jpg", None),
        2: ("../private/photo.jpg", "outside"),
        3: (str(outside), "outside"),  # absolute, elsewhere
        4: ("images/link-out.jpg", "outside"),  # a symlink that points out
        5: ("images/dir-out/photo.jpg", "outside"),  # through a linked folder
        6: ("images/../../private/photo.jpg", "outside"),
        7: ("images/link-in.jpg", None),  # a symlink that stays inside is fine
        8: (str(src / "images" / "inside.jpg"), None),  # absolute, inside
        9: ("/etc/passwd", "outside"),
    }
    rows = [product(i, ref) for i, (ref, _) in refs.items()]
    (src / "products.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cat = tmp_path / "cat"
    report = import_catalog(str(src / "products.jsonl"), cat)
    reasons = {s.id: s.reason for s in report.skipped}
    assert sorted(reasons) == sorted(f"q{i:04d}" for i, (_, w) in refs.items() if w)
    assert all("outside the source's folder" in r and "--images-from" in r
               for r in reasons.values())
    assert report.imported == 3
    # a folder the user names is allowed, and only that one
    again = import_catalog(str(src / "products.jsonl"), cat, image_roots=[tmp_path / "private"])
    assert sorted(s.id for s in again.skipped) == ["q0009"]
    with CatalogStore(cat) as store:
        assert store.check() == [] and store.count()[0] == 8


def test_invisible_and_reversing_characters_are_removed_and_huge_text_refused():
    row = validate_row(product(1, "a.jpg", title="\u202eexe.tfil\u202c Silk\u200b Jacket\ufeff",
                               shop="Shop\u2066\u2067\u2069 A\u200f"))
    assert row.title == "exe.tfil Silk Jacket" and row.shop == "Shop A"
    emoji = validate_row(product(1, "a.jpg", title="T-shirt \U0001F469\u200d\U0001F52C"))
    assert "\u200d" in emoji.title  # the joiner emoji sequences need stays
    for title, word in [("\u200b\u202e\ufeff", "missing title"),
                        ("x" * 100_000, "100000 characters"),
                        ("bad \x9b control", "control character"),
                        ("lone \ud800 surrogate", "surrogate"),
                        ("bell \x07", "control character")]:
        with pytest.raises(RowError, match=word):
            validate_row(product(1, "a.jpg", title=title))
    with pytest.raises(RowError, match="invisible"):
        validate_row(product(1, "a.jpg", url="https://shop.example/\u202eitem"))
    with pytest.raises(RowError, match="surrogate"):
        validate_row(product(1, "img\udc00.jpg"))


def test_a_card_shows_a_huge_reversed_title_safely(qtbot):
    from PySide6.QtCore import Qt

    from engine.types import Match
    from ui.product_card import ProductCard

    card = ProductCard()
    qtbot.addWidget(card)
    card.resize(360, 160)
    card.show()
    title = "\u202e<b>" + "Silk Jacket " * 9000  # 100,000 characters, as an API might send
    card.set_match(Match("p1", 0.5, title=title, price=1.0, currency="CNY"))
    shown = card.title.text()
    assert card.title.textFormat() == Qt.TextFormat.PlainText
    assert len(shown) < 400 and shown.endswith("…")


@pytest.mark.parametrize("price, word", [
    ("NaN", "finite"), ("Infinity", "finite"), ("-Infinity", "finite"), ("inf", "finite"),
    (-0.01, "negative price"), ("-5", "negative price"), ("1e400", "finite"),
    (True, "number"), ([1], "number"), ({"amount": 1}, "number")])
def test_prices_that_are_not_prices(price, word):
    with pytest.raises(RowError, match=word):
        validate_row(product(1, "a.jpg", price=price))


def test_json_literals_nan_and_infinity_and_minus_zero(tmp_path):
    src = tmp_path / "src"
    write_jpeg(src / "a.jpg", 1)
    lines = [json.dumps(product(1, "a.jpg")).replace('"price": 101', '"price": NaN'),
             json.dumps(product(2, "a.jpg")).replace('"price": 102', '"price": Infinity'),
             json.dumps(product(3, "a.jpg", price=-0.0)),
             json.dumps(product(4, "a.jpg", attributes={"x": float("nan")}))]
    (src / "p.jsonl").write_text("\n".join(lines) + "\n")
    report = import_catalog(str(src / "p.jsonl"), tmp_path / "cat")
    assert [s.id for s in report.skipped] == ["q0001", "q0002", "q0004"]
    with CatalogStore(tmp_path / "cat") as store:
        assert str(store.product("q0003").price) == "0.0"  # never "-0.00" on a card


def test_duplicate_ids_keep_the_first_and_say_where_it_was(tmp_path):
    src = tmp_path / "src"
    write_jpeg(src / "a.jpg", 1)
    rows = [product(1, "a.jpg", title="First"), product(2, "a.jpg"),
            product(1, "a.jpg", title="Second"), product(1, "a.jpg", title="Third")]
    (src / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = import_catalog(str(src / "p.jsonl"), tmp_path / "cat")
    assert report.imported == 2
    assert [s.reason for s in report.skipped] == ["duplicate id q0001 (first on line 1)"] * 2
    with CatalogStore(tmp_path / "cat") as store:
        assert store.product("q0001").title == "First"


# --- servers that misbehave ---------------------------------------------------------------

class Hostile:
    """127.0.0.1, optionally over TLS with a self-signed certificate."""

    def __init__(self, image: bytes, tls: ssl.SSLContext | None = None) -> None:
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    host.route(self)

        self.image = image
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def redirect(self, h, location: str) -> None:
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def route(self, h) -> None:
        p = h.path
        if p == "/to-file":
            return self.redirect(h, "file:///etc/passwd")
        if p == "/to-ftp":
            return self.redirect(h, "ftp://127.0.0.1/products.json")
        if p == "/to-data":
            return self.redirect(h, "data:application/json,[]")
        if p.startswith("/loop"):
            return self.redirect(h, f"/loop{len(p)}")
        if p == "/to-page":
            return self.redirect(h, "/page")
        if p == "/page":
            items = [product(1, "/img/1.jpg"), product(2, "/img/2.jpg")]
            body = json.dumps({"products": items, "next": None}).encode()
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            return h.wfile.write(body)
        if p.startswith("/img/"):
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            h.send_header("Content-Length", str(len(self.image)))
            h.end_headers()
            return h.wfile.write(self.image)
        if p == "/huge":  # says nothing of its length, then sends 30 MB
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.end_headers()
            h.wfile.write(b"[" + b" " * (30 * 1024 * 1024))
            return None
        if p == "/never-ends":  # a byte every 50 ms, forever: no read ever times out
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.end_headers()
            h.wfile.write(b"[")
            while True:
                h.wfile.write(b" ")
                h.wfile.flush()
                time.sleep(0.05)
        h.send_response(404)
        h.send_header("Content-Length", "0")
        h.end_headers()
        return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile(tmp_path):
    server = Hostile(write_jpeg(tmp_path / "img.jpg", 5).read_bytes())
    yield server
    server.close()


def fetcher(**kw) -> HttpFetcher:
    return HttpFetcher(timeout=(2, 2), retries=1, backoff=0.01, sleep=lambda s: None, **kw)


def test_redirects_only_to_http_and_not_in_circles(hostile, tmp_path):
    for path, word in [("/to-file", "file:///etc/passwd"), ("/to-ftp", "ftp:"),
                       ("/to-data", "data:"), ("/loop", "more than 5 redirects")]:
        with pytest.raises(SourceError, match=word) as err:
            import_catalog(hostile.url + path, tmp_path / "cat", fetcher=fetcher())
        assert "refused" in str(err.value) or "redirects" in str(err.value)
    report = import_catalog(hostile.url + "/to-page", tmp_path / "cat", fetcher=fetcher())
    assert report.complete and report.imported == 2  # an ordinary redirect is followed


def test_answers_over_the_cap_and_answers_that_never_end(hostile):
    t0 = time.monotonic()
    with pytest.raises(FetchError, match="more than 21 MB"):
        fetcher().json(hostile.url + "/huge")
    with pytest.raises(FetchError, match="did not end within 1 s"):
        fetcher(deadline=1.0).json(hostile.url + "/never-ends")
    assert time.monotonic() - t0 < 30


def _self_signed(tmp_path) -> ssl.SSLContext:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def test_tls_verification_stays_on(tmp_path):
    server = Hostile(b"", tls=_self_signed(tmp_path))
    try:
        f = fetcher()
        assert f.session.verify is True
        with pytest.raises(SourceError, match="TLS certificate could not be verified") as err:
            import_catalog(server.url + "/page", tmp_path / "cat", fetcher=f)
        assert "self-signed" in str(err.value) or "verify failed" in str(err.value)
        # REQUESTS_CA_BUNDLE or a user's setting cannot turn it off: the session says verify
        os.environ["CURL_CA_BUNDLE"] = ""
        try:
            with pytest.raises(SourceError, match="TLS"):
                import_catalog(server.url + "/page", tmp_path / "cat", fetcher=fetcher())
        finally:
            del os.environ["CURL_CA_BUNDLE"]
    finally:
        server.close()
