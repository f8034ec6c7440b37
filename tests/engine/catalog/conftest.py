"""Catalogue fixtures: real JPEG shop images, real broken rows, a real local HTTP server."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest


def product(i: int, image: str, **extra) -> dict:
    row = {"id": f"q{i:04d}", "title": f"Linen Shirt {i}, Long Sleeve", "category": "shirt",
           "price": 100 + i, "currency": "CNY", "shop": "Test Shop",
           "url": f"https://shop.example.com/item/q{i:04d}", "image": image,
           "images": [image], "sales": i, "rating": 4.5, "attributes": {"n": i}}
    row.update(extra)
    return row


def _picture(seed: int, size: tuple[int, int] = (96, 120)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((size[1], size[0], 3), rng.integers(0, 255, 3), np.uint8)
    cv2.rectangle(img, (20, 20), (size[0] - 20, size[1] - 20),
                  tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
    return img


def write_jpeg(path: Path, seed: int, size: tuple[int, int] = (96, 120)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), _picture(seed, size))
    return path


@pytest.fixture
def source_dir(tmp_path):
    """A products.jsonl of 12 good products with images on disk."""
    d = tmp_path / "src"
    rows = []
    for i in range(12):
        write_jpeg(d / "images" / f"q{i:04d}.jpg", i)
        rows.append(product(i, f"images/q{i:04d}.jpg"))
    (d / "products.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return d


@pytest.fixture
def broken_source(tmp_path):
    """Good rows between every kind of broken row; returns (path, good ids, bad line numbers
    with a word their reason must contain)."""
    d = tmp_path / "broken"
    for i in range(100, 104):
        write_jpeg(d / "images" / f"q{i:04d}.jpg", i)
    (d / "images" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    (d / "images" / "truncated.jpg").write_bytes(
        (d / "images" / "q0100.jpg").read_bytes()[:200])
    (d / "images" / "text.jpg").write_text("this is not an image")
    bomb = d / "images" / "bomb.png"
    cv2.imwrite(str(bomb), np.zeros((9000, 5000), np.uint8))  # 45 MP of nothing, tiny file
    lines: list[tuple[str, str | None]] = [
        (json.dumps(product(100, "images/q0100.jpg")), None),
        ('{"id": "q0200", "title": "broken JSON", ', "JSON"),
        (json.dumps({k: v for k, v in product(201, "images/q0100.jpg").items()
                     if k != "title"}), "title"),
        (json.dumps({k: v for k, v in product(202, "images/q0100.jpg").items()
                     if k != "price"}), "price"),
        (json.dumps(product(203, "images/missing.jpg")), "does not exist"),
        (json.dumps(product(204, "images/corrupt.jpg")), "not a readable image"),
        (json.dumps(product(205, "images/truncated.jpg")), "not a readable image"),
        (json.dumps(product(206, "images/text.jpg")), "not a readable image"),
        (json.dumps(product(207, "images/bomb.png")), "too large"),
        (json.dumps(product(101, "images/q0101.jpg")), None),
        (json.dumps(product(100, "images/q0102.jpg")), "duplicate id"),
        (json.dumps(product(208, "images/q0100.jpg", price=-5)), "negative price"),
        (json.dumps(product(209, "images/q0100.jpg",
                            title='<b>Hot</b> shirt <script>alert(1)</script>')), "HTML"),
        (json.dumps(product(210, "images/q0100.jpg", url="javascript:alert(1)")), "http"),
        (json.dumps(product(211, "images/q0100.jpg", url="file:///etc/passwd")), "http"),
        (json.dumps(product(212, "file:///etc/passwd")), "not allowed"),
        (json.dumps(product(213, "images/q0100.jpg", rating=7)), "rating"),
        (json.dumps(product(214, "images/q0100.jpg", currency="yuan")), "currency"),
        ('["not", "an", "object"]', "object"),
        (json.dumps(product(215, "images/q0100.jpg", id="bad id with spaces")), "id"),
        (json.dumps(product(102, "images/q0102.jpg", title="Shirt &amp; Tie")), None),
        (json.dumps(product(216, "images/q0100.jpg", price="NaN")), "finite"),
        (json.dumps(product(103, "images/q0103.jpg")), None),
    ]
    path = d / "products.jsonl"
    path.write_text("\n".join(text for text, _ in lines) + "\n")
    good = ["q0100", "q0101", "q0102", "q0103"]
    bad = {n: word for n, (_, word) in enumerate(lines, 1) if word}
    return path, good, bad


class Api:
    """A product API on 127.0.0.1 that misbehaves on request: pages, slow answers, 500s,
    malformed JSON, oversize and wrong-type images."""

    def __init__(self, image_bytes: bytes) -> None:
        self.image = image_bytes
        self.hits: dict[str, int] = {}
        self.hang = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                api.hits[self.path] = api.hits.get(self.path, 0) + 1
                api.route(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def send(self, h, status: int, body: bytes, ctype: str) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            h.wfile.write(body)

    def page(self, n: int, first: int, count: int, nxt: str | None) -> bytes:
        items = [product(first + i, f"/img/{first + i}.jpg") for i in range(count)]
        return json.dumps({"products": items, "next": nxt}).encode()

    def route(self, h) -> None:
        path = h.path
        if path.startswith("/img/big"):
            body = self.image + b"\x00" * (16 * 1024 * 1024)
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            h.end_headers()  # no length: the limit must hold while streaming
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                h.wfile.write(body)
            return
        if path.startswith("/pic/"):  # a picture of its own for every name
            import zlib

            _ok, buf = cv2.imencode(".jpg", _picture(zlib.crc32(path.encode())))
            return self.send(h, 200, buf.tobytes(), "image/jpeg")
        if path.startswith("/img/html"):
            return self.send(h, 200, b"<html>nope</html>", "text/html")
        if path.startswith("/img/"):
            return self.send(h, 200, self.image, "image/jpeg")
        if path == "/busy":  # 429 once, then fine
            if self.hits[path] == 1:
                return self.send(h, 429, b"slow down", "text/plain")
            return self.send(h, 200, self.page(1, 710, 1, None), "application/json")
        if path == "/fake.jpg":  # says JPEG, is text
            return self.send(h, 200, b"this is not an image", "image/jpeg")
        if path == "/typed":
            return self.send(h, 200, b"hello", "Text/Plain; charset=utf-8")
        if path.startswith(("/sized/", "/stream/", "/notype/")):  # N bytes, told or not
            n = int(path.rsplit("/", 1)[1])
            h.send_response(200)
            if not path.startswith("/notype/"):
                h.send_header("Content-Type", "application/octet-stream")
            if not path.startswith("/stream/"):
                h.send_header("Content-Length", str(n))
            h.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                h.wfile.write(b"\x00" * n)
            return None
        if path == "/gzip":
            import gzip

            body = gzip.compress(self.page(1, 720, 2, None))
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Encoding", "gzip")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return None
        odd_pages = {  # product APIs whose pages break a rule: (body, type)
            "/loop": {"products": [product(800, "/img/800.jpg")], "next": "/loop"},
            "/badnext": {"products": [product(801, "/img/801.jpg")], "next": 5},
            "/ftpnext": {"products": [], "next": "ftp://files.example.com/p2"},
            "/tlsnext": {"products": [], "next": "https://127.0.0.1:1/p2"},
            "/scalar": 42,
            "/products.json": {"products": [{"id": 900, "title": "Linen Shirt",
                                             "handle": "linen-shirt",
                                             "variants": [{"price": "19.90"}],
                                             "images": [{"src": "/img/900.jpg"}]}]},
        }
        if path in odd_pages:
            return self.send(h, 200, json.dumps(odd_pages[path]).encode(), "application/json")
        if path.startswith("/hop/"):  # /hop/N: N redirects, then a page
            n = int(path.rsplit("/", 1)[1])
            if n:
                h.send_response(302)
                h.send_header("Location", f"/hop/{n - 1}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return None
            return self.send(h, 200, self.page(1, 700, 1, None), "application/json")
        if path == "/api":
            return self.send(h, 200, self.page(1, 300, 10, "/api?page=2"), "application/json")
        if path == "/api?page=2":
            return self.send(h, 200, self.page(2, 310, 10, "/api?page=3"), "application/json")
        if path == "/api?page=3":
            if self.hang.is_set():
                time.sleep(30)
            return self.send(h, 200, self.page(3, 320, 5, None), "application/json")
        if path == "/flaky":  # 500 twice, then fine
            if self.hits[path] <= 2:
                return self.send(h, 500, b"oops", "text/plain")
            return self.send(h, 200, self.page(1, 400, 3, None), "application/json")
        if path == "/down":
            return self.send(h, 503, b"down", "text/plain")
        if path == "/slow":
            time.sleep(3)
            return self.send(h, 200, self.page(1, 500, 1, None), "application/json")
        if path == "/malformed":
            return self.send(h, 200, b'{"products": [{"id": "x", ', "application/json")
        if path == "/badimages":
            items = [product(600, "/img/big.jpg"), product(601, "/img/html.jpg"),
                     product(602, "/img/ok.jpg"), product(603, "/nothing.jpg")]
            return self.send(h, 200, json.dumps(items).encode(), "application/json")
        return self.send(h, 404, b"not found", "text/plain")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api(tmp_path):
    img = write_jpeg(tmp_path / "api.jpg", 77)
    server = Api(img.read_bytes())
    yield server
    server.close()


@pytest.fixture
def untrained_matcher():
    """A real AsymNet with random weights on the CPU."""
    import torch

    from engine.asymnet.model import AsymNet, TrajectoryMatcher

    torch.manual_seed(0)
    matcher = TrajectoryMatcher(model=AsymNet(), device="cpu")
    matcher.version = "asymnet-test0"
    return matcher
