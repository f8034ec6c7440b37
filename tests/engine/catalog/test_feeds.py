"""Shop feeds (issue 18): Google Merchant Center TSV and XML, Shopify's products.json, made
here with a few bad rows each: the good rows import with their prices, currencies, images and
categories; the bad ones are reported by line or item with a reason; the format is picked by
content whatever the file is called."""

from __future__ import annotations

import json

import pytest

from app.cli import main as cli_main
from engine.catalog.feeds import parse_money, sniff
from engine.catalog.importer import SourceError, import_catalog
from engine.catalog.store import CatalogStore
from engine.catalog.validate import RowError

TSV_HEADER = ["id", "title", "description", "link", "image_link", "additional_image_link",
              "price", "brand", "availability", "product_type", "item_group_id", "color"]


def merchant_tsv(url: str) -> tuple[str, dict[int, str]]:
    """A TSV feed: (text, {line: a word of the reason} for the bad lines)."""
    rows = [
        ["MC-1", "Silk Midi Dress", "A dress", "https://shop.example/mc-1", f"{url}/pic/1.jpg",
         f"{url}/pic/1b.jpg,{url}/pic/1c.jpg", "329.00 CNY", "Ming", "in stock",
         "Apparel & Accessories > Clothing > Dresses", "G1", "red"],
        ["MC-2", "Wool Coat", "", "https://shop.example/mc-2", f"{url}/pic/2.jpg", "",
         "1,299.50 USD", "North", "preorder", "Women > Coats & Jackets", "", ""],
        ["MC-3", "No Price Tee", "", "https://shop.example/mc-3", f"{url}/pic/3.jpg", "", "",
         "", "in stock", "T-Shirts", "", ""],  # line 4: price missing
        ["MC-4", "Bad Link", "", "javascript:alert(1)", f"{url}/pic/4.jpg", "", "10 CNY", "",
         "", "", "", ""],  # line 5: not http(s)
        ["MC-5", "Euro Skirt", "", "https://shop.example/mc-5", f"{url}/pic/5.jpg", "",
         "49,90 EUR", "", "in stock", "Skirts", "", ""],
        ["MC-6", "Missing Image", "", "https://shop.example/mc-6", f"{url}/nothing.jpg",
         "", "10 CNY", "", "", "", "", ""],  # line 7: 404
        ["MC-7", "Price Words", "", "https://shop.example/mc-7", f"{url}/pic/7.jpg", "",
         "ten yuan", "", "", "", "", ""],  # line 8: price words
    ]
    lines = ["\t".join(TSV_HEADER)] + ["\t".join(r) for r in rows]
    lines.append("\t".join(["MC-8", "Too", "Many"] + [""] * 12))  # line 9: extra fields
    return "\n".join(lines) + "\n", {4: "missing price", 5: "http", 7: "404", 8: "price",
                                     9: "fields"}


def merchant_xml(url: str) -> tuple[str, dict[int, str]]:
    items = f"""
<item><g:id>X-1</g:id><title>Linen Shirt</title><link>https://shop.example/x-1</link>
  <g:image_link>{url}/pic/11.jpg</g:image_link>
  <g:additional_image_link>{url}/pic/12.jpg</g:additional_image_link>
  <g:additional_image_link>{url}/pic/13.jpg</g:additional_image_link>
  <g:price>88.00 CNY</g:price><g:brand>Lin</g:brand><g:availability>in stock</g:availability>
  <g:google_product_category>Apparel &amp; Accessories &gt; Clothing &gt; Shirts &amp; Tops
  </g:google_product_category>
</item>
<item><g:id>X-2</g:id><g:title>No Image</g:title><g:link>https://shop.example/x-2</g:link>
  <g:price>10.00 CNY</g:price></item>
<item><g:id>X 3 bad id</g:id><g:title>Spaces In Id</g:title><g:link>https://shop.example/x</g:link>
  <g:image_link>{url}/pic/14.jpg</g:image_link><g:price>10.00 CNY</g:price></item>
<item><g:id>X-4</g:id><g:title>Jeans &lt;b&gt;bold&lt;/b&gt;</g:title>
  <g:link>https://shop.example/x-4</g:link><g:image_link>{url}/pic/15.jpg</g:image_link>
  <g:price>10.00 CNY</g:price></item>
<item><g:id>X-5</g:id><g:title>Straight Jeans</g:title><g:link>https://shop.example/x-5</g:link>
  <g:image_link>{url}/pic/16.jpg</g:image_link><g:price>199 CNY</g:price>
  <g:product_type>Men / Jeans</g:product_type></item>
"""
    text = ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            'xmlns:g="http://base.google.com/ns/1.0"><channel><title>Shop</title>'
            f"{items}</channel></rss>\n")
    return text, {2: "no image", 3: "id", 4: "HTML"}


def shopify(url: str) -> tuple[dict, dict[int, str]]:
    def product(i, **kw):
        p = {"id": 7000 + i, "title": f"Cotton Hoodie {i}", "handle": f"cotton-hoodie-{i}",
             "vendor": "Brand Co", "product_type": "Hoodies & Sweatshirts",
             "options": [{"name": "Color", "values": ["Grey", "Navy"]},
                         {"name": "Size", "values": ["S", "M"]}],
             "variants": [{"id": 1, "price": "59.00"}, {"id": 2, "price": "49.00"}],
             "images": [{"src": f"{url}/pic/s{i}.jpg"}, {"src": f"{url}/pic/s{i}b.jpg"}]}
        p.update(kw)
        return p

    products = [product(1), product(2, variants=[]),  # 2: no price
                product(3, handle="../../etc"),  # 3: not a URL part
                product(4, images=[]),  # 4: no image
                product(5, variants=[{"price": "oops"}, {"price": "120"}]),
                "not a product",  # 6
                product(7, variants=5, images="x", options=3)]  # 7: not lists (a reviewer's)
    return {"products": products}, {2: "price", 3: "handle", 4: "no image", 6: "object",
                                    7: "price"}


def test_merchant_center_tsv(api, tmp_path):
    text, bad = merchant_tsv(api.url)
    src = tmp_path / "feed.txt"  # Merchant Center's own name for it
    src.write_text(text)
    assert sniff(src) == "merchant-tsv"
    report = import_catalog(str(src), tmp_path / "cat")
    assert report.imported == 3
    assert {int(s.line.split()[1]): s.reason for s in report.skipped}.keys() == bad.keys()
    for s in report.skipped:
        assert bad[int(s.line.split()[1])] in s.reason, s
    with CatalogStore(tmp_path / "cat") as store:
        dress, coat, skirt = (store.product(i) for i in ("MC-1", "MC-2", "MC-5"))
        assert (dress.price, dress.currency, dress.category) == (329.0, "CNY", "dress")
        assert len(dress.images) == 3 and dress.family == "G1" and dress.shop == "Ming"
        assert dress.attributes["availability"] == "in stock" and dress.attributes["color"] == "red"
        assert (coat.price, coat.currency, coat.category) == (1299.5, "USD", "coat")
        assert (skirt.price, skirt.currency, skirt.category) == (49.9, "EUR", "skirt")
        assert store.check() == []


def test_merchant_center_xml(api, tmp_path):
    text, bad = merchant_xml(api.url)
    src = tmp_path / "products.feed"  # no telling extension: the content says XML
    src.write_text(text)
    assert sniff(src) == "merchant-xml"
    report = import_catalog(str(src), tmp_path / "cat")
    assert report.imported == 2
    reasons = {int(s.line.split()[1]): s.reason for s in report.skipped}
    assert reasons.keys() == bad.keys()
    assert all(bad[n] in r for n, r in reasons.items()), reasons
    with CatalogStore(tmp_path / "cat") as store:
        shirt, jeans = store.product("X-1"), store.product("X-5")
        assert (shirt.title, shirt.price, shirt.category, len(shirt.images)) == \
            ("Linen Shirt", 88.0, "shirt", 3)
        assert (jeans.price, jeans.category) == (199.0, "jeans")


def test_shopify_products_json(api, tmp_path):
    data, bad = shopify(api.url)
    src = tmp_path / "export.json"
    src.write_text(json.dumps(data))
    assert sniff(src) == "shopify"
    without = import_catalog(str(src), tmp_path / "nourl")
    assert without.imported == 0 and all("--shop-url" in s.reason for s in without.skipped
                                          if int(s.line.split()[1]) not in bad)
    report = import_catalog(str(src), tmp_path / "cat", shop_url="https://brand.example",
                            currency="USD")
    assert report.imported == 2
    reasons = {int(s.line.split()[1]): s.reason for s in report.skipped}
    assert reasons.keys() == bad.keys() and all(bad[n] in r for n, r in reasons.items()), reasons
    with CatalogStore(tmp_path / "cat") as store:
        p = store.product("7001")
        assert (p.price, p.currency, p.category, p.shop) == (49.0, "USD", "hoodie", "Brand Co")
        assert p.url == "https://brand.example/products/cotton-hoodie-1"
        assert p.attributes["color"] == ["Grey", "Navy"] and len(p.images) == 2
        assert store.product("7005").price == 120.0  # the variant with a price


def test_the_command_line_imports_feeds_and_reports_bad_rows(api, tmp_path, capsys):
    data, _ = shopify(api.url)
    src = tmp_path / "products.json"
    src.write_text(json.dumps(data))
    report = tmp_path / "report.json"
    code = cli_main(["catalog", "import", str(src), "--catalog", str(tmp_path / "cat"),
                     "--shop-url", "https://brand.example", "--no-index",
                     "--report", str(report)])
    assert code == 0
    saved = json.loads(report.read_text())
    assert saved["imported"] == 2 and len(saved["skipped"]) == 5
    assert "skipped product 3: handle" in capsys.readouterr().out


def test_a_shopify_store_url_is_read_as_such(api, tmp_path):
    data, _ = shopify(api.url)
    api_route = api.route

    def route(h):
        if h.path == "/products.json":
            return api.send(h, 200, json.dumps(data).encode(), "application/json")
        return api_route(h)

    api.route = route
    report = import_catalog(api.url + "/products.json", tmp_path / "cat")
    assert report.imported == 2  # the product URLs come from the store's own address
    with CatalogStore(tmp_path / "cat") as store:
        assert store.product("7001").url == f"{api.url}/products/cotton-hoodie-1"


def test_money_and_sniffing(tmp_path):
    assert parse_money("12.50 CNY") == (12.5, "CNY")
    assert parse_money("CNY 12.50") == (12.5, "CNY")
    assert parse_money("1,234.50 usd") == (1234.5, "USD")
    assert parse_money("1.234,50 EUR") == (1234.5, "EUR")
    assert parse_money("12,5 EUR") == (12.5, "EUR")
    assert parse_money("1,000 JPY") == (1000.0, "JPY")
    assert parse_money("15") == (15.0, None)
    for bad in ("", "USD", "12.50 CNY USD", "twelve", "USD 1 EUR"):
        with pytest.raises(RowError):
            parse_money(bad)
    for name, text, kind in [
            ("a.csv", "id,title\n1,x\n", "csv"),
            ("a.tsv", "id\ttitle\tprice\n", "merchant-tsv"),
            ("a.json", '[{"id": 1}]', "json"),
            ("a.json", '{"id": 1}\n{"id": 2}\n', "jsonl"),
            ("a.data", '\ufeff<?xml version="1.0"?><rss/>', "merchant-xml")]:
        (tmp_path / name).write_text(text)
        assert sniff(tmp_path / name) == kind, (name, text)


def test_xml_bombs_and_broken_xml_are_refused(tmp_path):
    bomb = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><rss><channel><item>'
            '<g:id xmlns:g="http://base.google.com/ns/1.0">&b;</g:id></item></channel></rss>')
    (tmp_path / "bomb.xml").write_text(bomb)
    with pytest.raises(SourceError, match="refused XML"):
        import_catalog(str(tmp_path / "bomb.xml"), tmp_path / "cat")
    (tmp_path / "broken.xml").write_text("<?xml version='1.0'?><rss><channel><item>")
    with pytest.raises(SourceError, match="not well-formed"):
        import_catalog(str(tmp_path / "broken.xml"), tmp_path / "cat")
