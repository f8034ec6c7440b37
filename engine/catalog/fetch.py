"""Reading product images and remote product pages safely: size limits, content types,
timeouts, retries with backoff, and a guard against decompression bombs."""

from __future__ import annotations

import io
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from PIL import Image

MAX_IMAGE_BYTES = 15 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # 40 MP: a bigger "photo" is a decompression bomb, not a product
MAX_PAGE_BYTES = 20 * 1024 * 1024
IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
USER_AGENT = "video2shop-catalog/1"


class FetchError(RuntimeError):
    """A resource that could not be fetched or is not acceptable, with the reason."""


def _tls_reason(text: str) -> str:
    """SSL's own words out of requests' nested wrappers: "[SSL: CODE] what (_ssl.c:N)"."""
    found = re.search(r"\[SSL[^\]]*\][^'\"]*", text)
    return (found.group(0) if found else text.split("SSLError(")[-1].strip(")'\""))[-160:]


class _Retry(Exception):
    """An answer worth asking for again (429, 5xx)."""


@dataclass
class CheckedImage:
    data: bytes
    ext: str
    width: int
    height: int


def check_image(data: bytes, where: str) -> CheckedImage:
    """Accepts JPEG, PNG and WebP that decode completely and are at most MAX_IMAGE_PIXELS."""
    if len(data) > MAX_IMAGE_BYTES:
        raise FetchError(f"{where}: {len(data) / 1e6:.1f} MB (at most "
                         f"{MAX_IMAGE_BYTES / 1e6:.0f} MB)")
    if not data:
        raise FetchError(f"{where}: empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                fmt, (w, h) = im.format, im.size
                if fmt not in IMAGE_FORMATS:
                    raise FetchError(f"{where}: {fmt} images are not accepted (JPEG, PNG, WebP)")
                if w * h > MAX_IMAGE_PIXELS:
                    raise FetchError(f"{where}: {w}x{h} pixels is too large (at most "
                                     f"{MAX_IMAGE_PIXELS / 1e6:.0f} MP)")
                if w < 16 or h < 16:
                    raise FetchError(f"{where}: {w}x{h} pixels is too small to match")
                im.load()  # decodes everything: truncated or corrupt files fail here
    except FetchError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FetchError(f"{where}: image too large to decode safely") from None
    except Exception as exc:  # PIL raises many kinds for corrupt data
        raise FetchError(f"{where}: not a readable image ({exc.__class__.__name__}: "
                         f"{str(exc)[:80]})") from None
    return CheckedImage(data, IMAGE_FORMATS[fmt], w, h)


def read_local_image(path: Path) -> CheckedImage:
    shown = str(path) if len(str(path)) <= 160 else str(path)[:157] + "..."
    try:
        if not path.is_file():
            raise FetchError(f"image {shown} does not exist")
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise FetchError(f"image {shown}: {size / 1e6:.1f} MB (at most "
                             f"{MAX_IMAGE_BYTES / 1e6:.0f} MB)")
        data = path.read_bytes()
    except OSError as exc:  # a name too long, a folder we may not read, an I/O error
        raise FetchError(f"image {shown} cannot be read ({exc.strerror or exc})") from None
    return check_image(data, f"image {path.name[:80]}")


MAX_REDIRECTS = 5


class HttpFetcher:
    """GET with timeouts, retries (connection errors, timeouts, 429 and 5xx) with exponential
    backoff, a byte limit enforced while streaming, a deadline for the whole answer (a server
    that drips bytes forever), redirects followed by hand (only to http(s), never from https
    down to http) and TLS certificates always verified."""

    def __init__(self, *, timeout: tuple[float, float] = (5.0, 20.0), retries: int = 3,
                 backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep,
                 deadline: float = 120.0) -> None:
        if retries < 0:
            raise ValueError(f"retries must be at least 0, got {retries}")
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.verify = True  # never off: a shop feed over TLS is checked or refused
        self.timeout, self.retries, self.backoff, self.sleep = timeout, retries, backoff, sleep
        self.deadline = deadline

    def get(self, url: str, limit: int, accept: tuple[str, ...] = ()) -> tuple[bytes, str]:
        """(body, content type) or FetchError."""
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return self._get_once(url, limit, accept)
            except _Retry as exc:
                last = str(exc)
            except requests.exceptions.SSLError as exc:
                reason = _tls_reason(str(exc.args[0] if exc.args else exc))
                raise FetchError(f"{url}: the server's TLS certificate could not be verified "
                                 f"({reason}); fix the server's certificate (verification "
                                 "stays on)") from None
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                last = exc.__class__.__name__
            except requests.RequestException as exc:
                raise FetchError(f"{url}: {exc.__class__.__name__}") from None
        raise FetchError(f"{url}: failed after {self.retries + 1} tries ({last})")

    def _get_once(self, url: str, limit: int, accept: tuple[str, ...]) -> tuple[bytes, str]:
        start = time.monotonic()
        for _ in range(MAX_REDIRECTS + 1):
            with self.session.get(url, timeout=self.timeout, stream=True,
                                  allow_redirects=False) as r:
                if r.is_redirect:
                    url = self._redirect(url, r.headers.get("Location", ""))
                    continue
                if r.status_code == 429 or r.status_code >= 500:
                    raise _Retry(f"HTTP {r.status_code}")
                if r.status_code != 200:
                    raise FetchError(f"{url}: HTTP {r.status_code}")
                ctype = r.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if accept and not ctype.startswith(accept):
                    raise FetchError(f"{url}: content type {ctype or 'missing'}, expected "
                                     f"{' or '.join(accept)}")
                declared = r.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise FetchError(f"{url}: {int(declared) / 1e6:.1f} MB is over the "
                                     f"limit of {limit / 1e6:.0f} MB")
                body = bytearray()
                while True:  # read1: whatever arrived, so that the deadline is seen
                    chunk = r.raw.read1(65536, decode_content=True)
                    if not chunk:
                        break
                    body += chunk
                    if len(body) > limit:
                        raise FetchError(f"{url}: more than {limit / 1e6:.0f} MB")
                    if time.monotonic() - start > self.deadline:
                        raise FetchError(f"{url}: the answer did not end within "
                                         f"{self.deadline:.0f} s ({len(body)} bytes so far)")
                return bytes(body), ctype
        raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")

    @staticmethod
    def _redirect(url: str, location: str) -> str:
        if not location:
            raise FetchError(f"{url}: a redirect without a Location")
        target = urljoin(url, location)
        scheme = urlsplit(target).scheme.lower()
        if scheme not in ("http", "https"):
            raise FetchError(f"{url}: redirected to {target[:80]!r}, which is not an http(s) "
                             "link; refused")
        if urlsplit(url).scheme.lower() == "https" and scheme == "http":
            raise FetchError(f"{url}: redirected from https down to plain http "
                             f"({target[:80]!r}); refused")
        return target

    def image(self, url: str) -> CheckedImage:
        data, _ = self.get(url, MAX_IMAGE_BYTES, accept=("image/",))
        return check_image(data, f"image {url}")

    def json(self, url: str):
        import json

        data, _ = self.get(url, MAX_PAGE_BYTES)
        try:
            return json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise FetchError(f"{url}: the response is not JSON ({exc})") from None
