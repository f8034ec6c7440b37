"""Shop feeds in the formats shops already export, turned into the importer's rows:

- Google Merchant Center product feeds, tab-separated (a header line of attribute names) and
  XML (RSS 2.0 ``<item>``s or Atom ``<entry>``s with the ``g:`` namespace): ``id``, ``title``,
  ``link``, ``image_link``, ``additional_image_link``, ``price`` as "12.50 CNY", ``brand``,
  ``availability``, ``product_type`` / ``google_product_category``, ``item_group_id``;
- Shopify's ``products.json`` (``/products.json`` of a store): products with their variants
  (prices) and images.

The format is picked by content (``sniff``), the extension only breaks ties. Every row then goes
through the importer's usual validation, so a bad row is reported by its line (or item) with a
reason and the rest imports. XML is parsed with defusedxml: entity expansion ("billion laughs")
and external entities are refused.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from engine.catalog.validate import RowError
from engine.categories import category_from_taxonomy

SNIFF_BYTES = 64 * 1024
MAX_FEED_BYTES = 2 * 1024 ** 3  # an XML or JSON feed is read whole: 2 GB is a broken one
MERCHANT_HINTS = {"id", "title", "link", "image_link", "price"}
UNKNOWN = "apparel"  # a feed without a category: comparable with every garment

Row = tuple[str, Any, str]  # (line label, raw row or RowError, base for relative images)


class SourceError(RuntimeError):
    """A source that cannot be read at all, or from some point on (as opposed to a bad row in
    it)."""


def sniff(path: Path) -> str:
    """``jsonl``, ``json``, ``shopify``, ``csv``, ``merchant-tsv``, ``merchant-xml`` or
    ``binary`` (not text: an image, an archive), from the first bytes of the file."""
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a character cut at the end of the sample has at most 3 of its bytes there
        if exc.start < len(head) - 3:
            return "binary"
    if b"\x00" in head:
        return "binary"
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    suffix = path.suffix.lower()
    if text.startswith("<"):
        return "merchant-xml"
    if text.startswith(("{", "[")):
        first, _, rest = text.partition("\n")
        if suffix in (".jsonl", ".ndjson") or (rest.strip().startswith("{")
                                               and _is_json(first)):
            return "jsonl"
        if re.search(r'"variants"\s*:', text) and re.match(r'\{\s*"products"\s*:', text):
            return "shopify"
        return "json"
    first_line = text.split("\n", 1)[0]
    if "\t" in first_line:
        names = {_attribute(c) for c in first_line.rstrip("\r").split("\t")}
        if len(names & MERCHANT_HINTS) >= 3 or suffix in (".tsv", ".txt"):
            return "merchant-tsv"
    return "csv"


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _attribute(name: str) -> str:
    """'g:image_link', 'image link', 'Image_Link' -> 'image_link'."""
    name = name.strip().lower()
    if name.startswith("g:"):
        name = name[2:]
    if "}" in name:  # {http://base.google.com/ns/1.0}image_link
        name = name.rsplit("}", 1)[1]
    return re.sub(r"[\s-]+", "_", name)


MONEY_RE = re.compile(r"^\s*(?:([A-Za-z]{3})\s+)?([0-9][0-9.,\s]*?)\s*(?:([A-Za-z]{3}))?\s*$")


def parse_money(text: Any) -> tuple[float, str | None]:
    """'12.50 CNY', 'CNY 12.50', '1,234.50 USD', '12,50 EUR', '12.50' -> (12.5, 'CNY'),
    ... (12.5, None)."""
    if not isinstance(text, str) or not text.strip():
        raise RowError("missing price")
    m = MONEY_RE.match(text)
    if not m or (m.group(1) and m.group(3)):
        raise RowError(f"price {text[:40]!r} is not a number and a currency code such as "
                       "'12.50 CNY'")
    number = m.group(2).replace(" ", "")
    if "," in number and "." in number:  # the one that comes first groups thousands
        number = number.replace(",", "") if number.rfind(".") > number.rfind(",") \
            else number.replace(".", "").replace(",", ".")
    elif "," in number:
        whole, _, frac = number.rpartition(",")
        number = f"{whole.replace(',', '')}.{frac}" if len(frac) in (1, 2) \
            else number.replace(",", "")
    try:
        value = float(number)
    except ValueError:
        raise RowError(f"price {text[:40]!r} is not a number") from None
    currency = (m.group(1) or m.group(3) or "").upper() or None
    return value, currency


def _listing(value: Any) -> list[str]:
    """additional_image_link: a list (XML), or links separated by commas (TSV)."""
    if isinstance(value, list):
        out = []
        for v in value:
            out += _listing(v)
        return out
    if not isinstance(value, str):
        return []
    # links hold commas now and then: between links, a comma comes before the next scheme
    parts = re.split(r",(?=\s*https?://)", value) if "://" in value else value.split(",")
    return [p.strip() for p in parts if p.strip()]


def merchant_row(item: dict[str, Any]) -> dict[str, Any]:
    """Merchant Center attributes -> the importer's row (validated later)."""
    first = {k: (v[0] if isinstance(v, list) and v else v) for k, v in item.items()}
    row: dict[str, Any] = {"id": first.get("id"), "title": first.get("title"),
                           "url": first.get("link") or first.get("mobile_link")}
    price, currency = parse_money(first.get("price"))
    row["price"] = price
    if currency:
        row["currency"] = currency
    images = [first.get("image_link")] if first.get("image_link") else []
    images += _listing(item.get("additional_image_link"))
    row["images"] = images
    row["category"] = category_from_taxonomy(
        first.get("product_type") or first.get("google_product_category") or "") or UNKNOWN
    if first.get("brand"):
        row["shop"] = first["brand"]
    if first.get("item_group_id"):
        row["family"] = first["item_group_id"]
    attributes = {k: first[k] for k in ("brand", "availability", "color", "colour",
                                        "material", "pattern", "size", "gender", "condition",
                                        "sale_price", "gtin", "mpn")
                  if isinstance(first.get(k), str) and first[k].strip()}
    if attributes:
        row["attributes"] = attributes
    return row


def merchant_tsv(path: Path) -> Iterator[Row]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError(f"{path} is not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    try:
        header = [_attribute(c) for c in next(reader)]
    except StopIteration:
        return
    base = str(path.parent)
    line = 1
    for cells in reader:
        line += 1
        if not any(c.strip() for c in cells):
            continue
        label = f"line {line}"
        if len(cells) > len(header):
            yield label, RowError(f"{len(cells)} fields for {len(header)} columns"), base
            continue
        item = {k: v for k, v in zip(header, cells, strict=False) if v.strip()}
        try:
            yield label, merchant_row(item), base
        except RowError as exc:
            yield label, RowError(str(exc)), base


def merchant_xml(path: Path) -> Iterator[Row]:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    base = str(path.parent)
    n = 0
    try:
        for _event, elem in iterparse(str(path), events=("end",)):
            tag = _attribute(elem.tag)
            if tag not in ("item", "entry"):
                continue
            n += 1
            item: dict[str, Any] = {}
            for child in elem:
                key = _attribute(child.tag)
                value = (child.text or "").strip()
                if key == "link" and not value:  # Atom: <link href="..."/>
                    value = child.get("href", "").strip()
                if value:
                    item.setdefault(key, []).append(value)
            label = f"item {n}"
            try:
                yield label, merchant_row(item), base
            except RowError as exc:
                yield label, RowError(str(exc)), base
            elem.clear()
    except DefusedXmlException as exc:
        raise SourceError(f"{path}: refused XML ({exc.__class__.__name__}: entities and DTDs "
                        "are not read)") from None
    except SyntaxError as exc:  # ParseError
        raise SourceError(f"{path}: not well-formed XML ({exc}); the items before it were "
                        "read") from None


def shopify_rows(data: Any, base: str, shop_url: str | None) -> Iterator[Row]:
    """Shopify's products.json: one row per product; its price is the lowest variant price;
    its images in Shopify's order; its URL ``shop_url/products/HANDLE``."""
    products = data.get("products") if isinstance(data, dict) else None
    if not isinstance(products, list):
        raise SourceError("expected Shopify's {\"products\": [...]}")
    origin = shop_url
    if origin is None and urlsplit(base).scheme in ("http", "https"):
        parts = urlsplit(base)
        origin = f"{parts.scheme}://{parts.netloc}"
    for i, p in enumerate(products, 1):
        label = f"product {i}"
        try:
            yield label, _shopify_row(p, origin), base
        except RowError as exc:
            yield label, RowError(str(exc)), base


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _shopify_row(p: Any, origin: str | None) -> dict[str, Any]:
    if not isinstance(p, dict):
        raise RowError(f"a product must be an object, got {type(p).__name__}")
    variants = [v for v in _list(p.get("variants")) if isinstance(v, dict)]
    prices = []
    for v in variants:
        try:
            prices.append(float(str(v.get("price", "")).strip()))
        except ValueError:
            continue
    if not prices:
        raise RowError("no variant with a price")
    handle = p.get("handle")
    if not isinstance(handle, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", handle):
        raise RowError(f"handle {str(handle)[:40]!r} is missing or not a URL part")
    if origin is None:
        raise RowError("no product URL: products.json has handles, not links; give the "
                       "store's address with --shop-url https://STORE")
    images = []
    for im in _list(p.get("images")):
        src = im.get("src") if isinstance(im, dict) else None
        if isinstance(src, str) and src.strip():
            images.append(src.strip())
    pid = p.get("id")
    row: dict[str, Any] = {
        "id": str(pid) if isinstance(pid, int) and not isinstance(pid, bool) else pid,
        "title": p.get("title"), "price": min(prices),
        "url": f"{origin.rstrip('/')}/products/{handle}", "images": images,
        "category": category_from_taxonomy(p.get("product_type") or "") or UNKNOWN,
        "family": handle}
    if isinstance(p.get("vendor"), str) and p["vendor"].strip():
        row["shop"] = p["vendor"]
    options = {str(o.get("name")): o.get("values") for o in _list(p.get("options"))
               if isinstance(o, dict) and isinstance(o.get("values"), list)}
    attributes: dict[str, Any] = {"variants": len(variants)}
    for name in ("Color", "Colour", "Size", "Material"):
        if name in options:
            attributes[name.lower()] = [str(v)[:40] for v in options[name][:20]]
    row["attributes"] = attributes
    return row


def is_shopify(data: Any) -> bool:
    products = data.get("products") if isinstance(data, dict) else None
    return isinstance(products, list) and any(
        isinstance(p, dict) and "variants" in p and "handle" in p for p in products[:20])


def read_json_feed(path: Path) -> Any:
    size = path.stat().st_size
    if size > MAX_FEED_BYTES:
        raise SourceError(f"{path} is {size / 1e9:.1f} GB (at most {MAX_FEED_BYTES / 1e9:.0f})")
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path} is not JSON ({exc})") from None
    except RecursionError:
        raise SourceError(f"{path}: JSON nested too deeply") from None
