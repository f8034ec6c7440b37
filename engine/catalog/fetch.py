"""Reading product images and remote product pages safely: size limits, content types,
timeouts, retries with backoff, and a guard against decompression bombs."""

from __future__ import annotations

import io
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from PIL import Image

MAX_IMAGE_BYTES = 15 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # 40 MP: a bigger "photo" is a decompression bomb, not a product
MAX_PAGE_BYTES = 20 * 1024 * 1024
IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
USER_AGENT = "video2shop-catalog/1"


class FetchError(RuntimeError):
    """A resource that could not be fetched or is not acceptable, with the reason."""


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
    if not path.is_file():
        raise FetchError(f"image {path} does not exist")
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise FetchError(f"image {path}: {size / 1e6:.1f} MB (at most "
                         f"{MAX_IMAGE_BYTES / 1e6:.0f} MB)")
    return check_image(path.read_bytes(), f"image {path.name}")


class HttpFetcher:
    """GET with timeouts, retries (connection errors, timeouts, 429 and 5xx) with exponential
    backoff, and a byte limit enforced while streaming."""

    def __init__(self, *, timeout: tuple[float, float] = (5.0, 20.0), retries: int = 3,
                 backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> None:
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.timeout, self.retries, self.backoff, self.sleep = timeout, retries, backoff, sleep

    def get(self, url: str, limit: int, accept: tuple[str, ...] = ()) -> tuple[bytes, str]:
        """(body, content type) or FetchError."""
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                with self.session.get(url, timeout=self.timeout, stream=True,
                                      allow_redirects=True) as r:
                    if r.status_code == 429 or r.status_code >= 500:
                        last = f"HTTP {r.status_code}"
                        continue
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
                    for chunk in r.iter_content(65536):
                        body += chunk
                        if len(body) > limit:
                            raise FetchError(f"{url}: more than {limit / 1e6:.0f} MB")
                    return bytes(body), ctype
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                last = exc.__class__.__name__
                continue
            except requests.RequestException as exc:
                raise FetchError(f"{url}: {exc.__class__.__name__}") from None
        raise FetchError(f"{url}: failed after {self.retries + 1} tries ({last})")

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
