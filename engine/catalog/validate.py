"""Validation of one catalogue row: what the store accepts, and for everything else a reason a
person can act on. Titles and shop names become plain text; only http(s) product URLs pass."""

from __future__ import annotations

import html
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
TAG_RE = re.compile(r"<\s*/?\s*[A-Za-z!][^>]*>")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_TEXT = 500
MAX_URL = 2048
MAX_ATTRIBUTES = 10_000  # bytes of JSON
MAX_IMAGES = 12
MAX_NUMBER = 1e12  # prices and sales beyond this are broken feeds, not shops


class RowError(ValueError):
    """A row the store will not take, with the reason."""


@dataclass
class ProductRow:
    id: str
    title: str
    category: str
    price: float
    currency: str
    url: str
    images: list[str]  # paths relative to the source, or http(s) URLs, main image first
    shop: str = ""
    sales: int = 0
    rating: float | None = None
    family: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


# Invisible characters that change how text around them is shown: bidi embeddings, overrides
# and isolates (a title that reads backwards, "Trojan Source"), marks, zero-width spaces, the
# BOM. They are removed. The zero-width joiner and non-joiner stay: emoji sequences and
# scripts such as Persian need them.
INVISIBLE = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F,
                           0x061C, 0x200B, 0x2060, 0xFEFF, 0x180E, 0x00AD])


def _check_characters(text: str, name: str) -> None:
    for c in text:
        cat = unicodedata.category(c)
        if cat == "Cc":  # C0, DEL and C1 controls
            raise RowError(f"{name} contains a control character (U+{ord(c):04X})")
        if cat == "Cs":  # a lone surrogate: JSON allows it, UTF-8 cannot store it
            raise RowError(f"{name} contains an invalid character (a lone surrogate "
                           f"U+{ord(c):04X})")


def plain_text(value: Any, name: str, *, required: bool = True) -> str:
    """Text for a label: entities decoded, whitespace collapsed, invisible bidi and zero-width
    characters removed; markup is an error rather than something to strip silently (a title
    full of tags is a broken feed)."""
    if value is None or value == "":
        if required:
            raise RowError(f"missing {name}")
        return ""
    if not isinstance(value, str):
        raise RowError(f"{name} must be text, got {type(value).__name__}")
    if len(value) > 20 * MAX_TEXT:  # before any work on it
        raise RowError(f"{name} is {len(value)} characters long (at most {MAX_TEXT})")
    text = html.unescape(value).translate(INVISIBLE)
    if TAG_RE.search(text):
        raise RowError(f"{name} contains HTML markup ({TAG_RE.search(text).group(0)[:30]}); "
                       "give plain text")
    text = " ".join(text.split())
    _check_characters(text, name)
    if required and not text:
        raise RowError(f"missing {name}")
    if len(text) > MAX_TEXT:
        raise RowError(f"{name} is {len(text)} characters long (at most {MAX_TEXT})")
    return text


def web_url(value: Any, name: str = "url") -> str:
    """An absolute http or https URL with a host; nothing else opens in a browser."""
    if not isinstance(value, str) or not value.strip():
        raise RowError(f"missing {name}")
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        scheme = parts.scheme or "no scheme"
        raise RowError(f"{name} {url[:60]!r} is not http(s) ({scheme}:); only web links are "
                       "allowed")
    if not parts.hostname:
        raise RowError(f"{name} {url[:60]!r} has no host")
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cs", "Cf") for c in url):
        raise RowError(f"{name} contains spaces, control or invisible characters")
    if len(url) > MAX_URL:
        raise RowError(f"{name} is {len(url)} characters long (at most {MAX_URL})")
    return url


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise RowError(f"{name} must be a number, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise RowError(f"{name} must be a number, got {value!r}") from None
    try:
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise RowError(f"{name} must be a finite number, got {str(value)[:40]!r}")
        number = float(value)
    except OverflowError:
        raise RowError(f"{name} is out of range") from None
    if abs(number) > MAX_NUMBER:
        raise RowError(f"{name} {number:.3g} is out of range (at most {MAX_NUMBER:.0e})")
    return number


def image_ref(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RowError("an image entry is empty or not text")
    ref = value.strip()
    scheme = urlsplit(ref).scheme.lower()
    if scheme in ("http", "https"):
        return web_url(ref, "image URL")
    if scheme and len(scheme) > 1:  # "C:" on Windows is a drive, not a scheme
        raise RowError(f"image {ref[:60]!r}: {scheme}: is not allowed; give a path or an "
                       "http(s) URL")
    if "\x00" in ref:
        raise RowError("image path contains a NUL byte")
    if len(ref) > MAX_URL:
        raise RowError(f"image path is {len(ref)} characters long (at most {MAX_URL})")
    _check_characters(ref, "image path")
    return ref


def validate_row(raw: Any) -> ProductRow:
    """A raw row (a dict from JSON, CSV or an API) -> ``ProductRow`` or ``RowError``."""
    if not isinstance(raw, dict):
        raise RowError(f"a product must be a JSON object, got {type(raw).__name__}")
    pid = raw.get("id")
    if isinstance(pid, int) and not isinstance(pid, bool):
        pid = str(pid)
    if not isinstance(pid, str) or not pid.strip():
        raise RowError("missing id")
    pid = pid.strip()
    if not ID_RE.match(pid):
        raise RowError(f"id {pid[:40]!r} has characters other than letters, digits, _ . : -")
    title = plain_text(raw.get("title"), "title")
    category = plain_text(raw.get("category"), "category").lower()
    price = _number(raw.get("price"), "price") if raw.get("price") not in (None, "") else None
    if price is None:
        raise RowError("missing price")
    if price < 0:
        raise RowError(f"negative price {price:g}")
    currency = str(raw.get("currency") or "CNY").strip().upper()
    if not CURRENCY_RE.match(currency):
        raise RowError(f"currency {currency[:10]!r} is not an ISO 4217 code such as CNY")
    url = web_url(raw.get("url"))
    images = raw.get("images")
    if isinstance(images, str):  # CSV: separated by |
        images = [s for s in images.split("|") if s.strip()]
    if not images:
        images = [raw["image"]] if raw.get("image") else []
    if not isinstance(images, list) or not images:
        raise RowError("no image: give image or images")
    if len(images) > MAX_IMAGES:
        raise RowError(f"{len(images)} images (at most {MAX_IMAGES})")
    main = raw.get("image")
    refs = [image_ref(v) for v in images]
    if main:  # the main image first, wherever "images" lists it
        refs.insert(0, image_ref(main))
    sales = raw.get("sales")
    sales = 0 if sales in (None, "") else _number(sales, "sales")
    if sales < 0 or sales != int(sales):
        raise RowError(f"sales must be a whole number of at least 0, got {sales:g}")
    rating = raw.get("rating")
    rating = None if rating in (None, "") else _number(rating, "rating")
    if rating is not None and not 0 <= rating <= 5:
        raise RowError(f"rating {rating:g} is outside 0..5")
    attributes = raw.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise RowError("attributes must be an object")
    try:
        size = len(json.dumps(attributes, allow_nan=False))
    except (ValueError, TypeError, RecursionError):
        raise RowError("attributes hold values JSON cannot store (NaN, infinity or too "
                       "deep)") from None
    if size > MAX_ATTRIBUTES:
        raise RowError(f"attributes are {size} bytes of JSON (at most {MAX_ATTRIBUTES})")
    return ProductRow(
        id=pid, title=title, category=category, price=round(price, 2) + 0.0, currency=currency,
        url=url, images=list(dict.fromkeys(refs)),
        shop=plain_text(raw.get("shop"), "shop", required=False), sales=int(sales),
        rating=rating, family=plain_text(raw.get("family"), "family", required=False),
        attributes=attributes)
