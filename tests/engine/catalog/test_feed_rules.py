"""The shop feeds' rules one at a time, each with its whole message (engine/catalog/feeds.py):
what a row error says is what a shop owner reads in the import report, so a changed word is a
regression. Written from the mutation check's survivors (docs/testing.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.catalog.feeds import (
    SourceError,
    _attribute,
    _listing,
    _shopify_row,
    is_shopify,
    merchant_row,
    merchant_tsv,
    merchant_xml,
    parse_money,
    read_json_feed,
    shopify_rows,
    sniff,
)
from engine.catalog.validate import RowError


@pytest.mark.parametrize(("text", "value", "currency"), [
    ("12.50 CNY", 12.5, "CNY"), ("CNY 12.50", 12.5, "CNY"), ("12.50", 12.5, None),
    ("1,234.50 USD", 1234.5, "USD"), ("1.234,50 EUR", 1234.5, "EUR"), ("12,50 eur", 12.5, "EUR"),
    ("12,5 EUR", 12.5, "EUR"), ("1,234 JPY", 1234.0, "JPY"), ("1 234.5 SEK", 1234.5, "SEK"),
    ("  7  ", 7.0, None),
])
def test_prices_with_their_currencies(text, value, currency):
    assert parse_money(text) == (value, currency)


@pytest.mark.parametrize(("text", "message"), [
    (None, "missing price"),
    ("   ", "missing price"),
    (12.5, "missing price"),  # a feed's price is text; a number is not what feeds hold
    ("CNY 12 USD", "price 'CNY 12 USD' is not a number and a currency code such as '12.50 CNY'"),
    ("twelve", "price 'twelve' is not a number and a currency code such as '12.50 CNY'"),
    ("1.2.3 CNY", "price '1.2.3 CNY' is not a number"),
    ("9" * 50 + "x", f"price {('9' * 40)!r} is not a number and a currency code such as "
                     "'12.50 CNY'"),
])
def test_prices_that_are_refused_say_why(text, message):
    with pytest.raises(RowError) as err:
        parse_money(text)
    assert str(err.value) == message


def test_attribute_names_as_feeds_write_them():
    assert _attribute(" G:Image_Link ") == "image_link"
    assert _attribute("{http://base.google.com/ns/1.0}item_group_id") == "item_group_id"
    assert _attribute("additional image-link") == "additional_image_link"


def test_additional_images_from_lists_and_commas():
    assert _listing("https://a/x,1.jpg, https://b/y.jpg") == ["https://a/x,1.jpg",
                                                              "https://b/y.jpg"]
    assert _listing("a.jpg, b.jpg ,,") == ["a.jpg", "b.jpg"]
    assert _listing(["a.jpg", ["b.jpg, c.jpg"], 3]) == ["a.jpg", "b.jpg", "c.jpg"]
    assert _listing(None) == []


def test_a_merchant_row_becomes_an_importer_row():
    row = merchant_row({"id": ["d1"], "title": "Dress", "mobile_link": "https://s/d1",
                        "price": "99.00 CNY", "image_link": "https://s/d1.jpg",
                        "additional_image_link": ["https://s/d1b.jpg"],
                        "google_product_category": "Apparel > Dresses", "brand": "Ming",
                        "item_group_id": "G1", "color": "red", "size": " ", "gtin": "123"})
    assert row == {"id": "d1", "title": "Dress", "url": "https://s/d1", "price": 99.0,
                   "currency": "CNY", "images": ["https://s/d1.jpg", "https://s/d1b.jpg"],
                   "category": "dress", "shop": "Ming", "family": "G1",
                   "attributes": {"brand": "Ming", "color": "red", "gtin": "123"}}
    bare = merchant_row({"id": "x", "price": "5"})
    assert bare == {"id": "x", "title": None, "url": None, "price": 5.0, "images": [],
                    "category": "apparel"}


def test_merchant_tsv_rows_and_their_labels(tmp_path):
    src = tmp_path / "feed.tsv"
    src.write_text("id\ttitle\tprice\tlink\n"
                   "a\tA\t10 USD\thttps://s/a\n"
                   "\t \t\t\n"  # blank: skipped, but counted in the line numbers
                   "b\tB\t10\thttps://s/b\textra\n"
                   "c\tC\tfree\thttps://s/c\n", encoding="utf-8")
    rows = list(merchant_tsv(src))
    assert [label for label, _, _ in rows] == ["line 2", "line 4", "line 5"]
    assert rows[0][1]["price"] == 10.0 and rows[0][1]["currency"] == "USD"
    assert rows[0][2] == str(tmp_path)
    assert str(rows[1][1]) == "5 fields for 4 columns"
    assert str(rows[2][1]) == ("price 'free' is not a number and a currency code such as "
                               "'12.50 CNY'")
    empty = tmp_path / "empty.tsv"
    empty.write_text("", encoding="utf-8")
    assert list(merchant_tsv(empty)) == []
    latin = tmp_path / "latin.tsv"
    latin.write_bytes("id\ttitle\nx\tcaf\xe9\n".encode("latin-1"))
    with pytest.raises(SourceError) as err:
        list(merchant_tsv(latin))
    assert str(err.value) == f"{latin} is not UTF-8 text"


RSS = """<?xml version="1.0"?>
<rss xmlns:g="http://base.google.com/ns/1.0"><channel>
<item><g:id>a</g:id><title>A</title><link>https://s/a</link><g:price>10 USD</g:price>
<g:additional_image_link>https://s/a1.jpg</g:additional_image_link>
<g:additional_image_link>https://s/a2.jpg</g:additional_image_link></item>
<item><g:id>b</g:id><title>B</title><link>https://s/b</link></item>
</channel></rss>"""


def test_merchant_xml_items_and_their_labels(tmp_path):
    src = tmp_path / "feed.xml"
    src.write_text(RSS, encoding="utf-8")
    rows = list(merchant_xml(src))
    assert [label for label, _, _ in rows] == ["item 1", "item 2"]
    assert rows[0][1]["images"] == ["https://s/a1.jpg", "https://s/a2.jpg"]
    assert str(rows[1][1]) == "missing price"
    atom = tmp_path / "atom.xml"
    atom.write_text('<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>e</id>'
                    '<link href="https://s/e"/><price>3 EUR</price></entry></feed>',
                    encoding="utf-8")
    (row,) = list(merchant_xml(atom))
    assert row[0] == "item 1" and row[1]["url"] == "https://s/e"
    broken = tmp_path / "broken.xml"
    broken.write_text(RSS.replace("</channel></rss>", "<item><g:id>c</g:id>"), encoding="utf-8")
    got = []
    with pytest.raises(SourceError) as err:
        got.extend(merchant_xml(broken))
    assert len(got) == 2  # the items before the fault were read
    assert str(err.value).startswith(f"{broken}: not well-formed XML (")
    assert str(err.value).endswith("); the items before it were read")
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss>&a;</rss>',
                    encoding="utf-8")
    with pytest.raises(SourceError) as err:
        list(merchant_xml(bomb))
    assert str(err.value) == (f"{bomb}: refused XML (EntitiesForbidden: entities and DTDs are "
                              "not read)")


def shopify_product(**over):
    p = {"id": 7, "title": "Hoodie", "handle": "cotton-hoodie", "vendor": "Brand",
         "product_type": "Hoodies", "variants": [{"price": "39.00"}, {"price": "35.5"},
                                                 {"price": "n/a"}, "junk"],
         "images": [{"src": " https://cdn/1.jpg "}, {"src": ""}, "junk"],
         "options": [{"name": "Color", "values": ["Red", "Blue"]},
                     {"name": "Size", "values": ["S"]}, {"name": "Fit", "values": ["x"]},
                     "junk"]}
    p.update(over)
    return p


def test_a_shopify_product_becomes_an_importer_row():
    row = _shopify_row(shopify_product(), "https://brand.example/")
    assert row == {"id": "7", "title": "Hoodie", "price": 35.5,
                   "url": "https://brand.example/products/cotton-hoodie",
                   "images": ["https://cdn/1.jpg"], "category": "hoodie",
                   "family": "cotton-hoodie", "shop": "Brand",
                   "attributes": {"variants": 3, "color": ["Red", "Blue"], "size": ["S"]}}
    assert _shopify_row(shopify_product(id="s-1"), "https://b")["id"] == "s-1"
    assert _shopify_row(shopify_product(id=True), "https://b")["id"] is True  # not "True"
    assert "shop" not in _shopify_row(shopify_product(vendor="  "), "https://b")
    assert _shopify_row(shopify_product(product_type=None), "https://b")["category"] == "apparel"


@pytest.mark.parametrize(("product", "origin", "message"), [
    ("a string", "https://b", "a product must be an object, got str"),
    (shopify_product(variants=[{"price": "x"}]), "https://b", "no variant with a price"),
    (shopify_product(variants=5), "https://b", "no variant with a price"),
    (shopify_product(handle="../etc"), "https://b",
     "handle '../etc' is missing or not a URL part"),
    (shopify_product(handle=None), "https://b", "handle 'None' is missing or not a URL part"),
    (shopify_product(), None, "no product URL: products.json has handles, not links; give the "
                              "store's address with --shop-url https://STORE"),
])
def test_shopify_products_that_are_refused_say_why(product, origin, message):
    with pytest.raises(RowError) as err:
        _shopify_row(product, origin)
    assert str(err.value) == message


def test_shopify_rows_take_the_origin_from_a_store_url():
    data = {"products": [shopify_product(), 3]}
    rows = list(shopify_rows(data, "https://shop.example/products.json", None))
    assert [label for label, _, _ in rows] == ["product 1", "product 2"]
    assert rows[0][1]["url"] == "https://shop.example/products/cotton-hoodie"
    assert str(rows[1][1]) == "a product must be an object, got int"
    local = list(shopify_rows(data, "/tmp/feeds", "https://given.example"))
    assert local[0][1]["url"] == "https://given.example/products/cotton-hoodie"
    first = next(iter(shopify_rows(data, "/tmp/feeds", None)))
    assert str(first[1]).startswith("no product URL")
    with pytest.raises(SourceError) as err:
        list(shopify_rows({"items": []}, "/tmp", None))
    assert str(err.value) == 'expected Shopify\'s {"products": [...]}'
    assert is_shopify(data) and not is_shopify({"products": [{"handle": "x"}]})
    assert not is_shopify([shopify_product()])


def test_json_feeds_that_cannot_be_read_say_why(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope", encoding="utf-8")
    with pytest.raises(SourceError) as err:
        read_json_feed(bad)
    assert str(err.value) == (f"{bad} is not JSON (Expecting property name enclosed in double "
                              "quotes: line 1 column 2 (char 1))")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(SourceError) as err:
        read_json_feed(deep)
    assert str(err.value) == f"{deep}: JSON nested too deeply"
    good = tmp_path / "good.json"
    good.write_text("\ufeff" + json.dumps({"products": []}), encoding="utf-8")
    assert read_json_feed(good) == {"products": []}


@pytest.mark.parametrize(("name", "content", "kind"), [
    ("a.jsonl", '{"id": 1}\n', "jsonl"),
    ("a.json", '{"id": 1}\n{"id": 2}\n', "jsonl"),
    ("a.json", '[{"id": 1}]', "json"),
    ("p.json", '{"products": [{"variants": [], "handle": "h"}]}', "shopify"),
    ("p.json", '{"items": [{"variants": []}]}', "json"),
    ("f.xml", "\ufeff  <rss/>", "merchant-xml"),
    ("f.txt", "id\ttitle\n", "merchant-tsv"),
    ("f.dat", "id\ttitle\tprice\tlink\n", "merchant-tsv"),
    ("f.dat", "a\tb\n", "csv"),
    ("f.csv", "id,title\n", "csv"),
])
def test_sniffing_the_format_from_the_first_bytes(tmp_path, name, content, kind):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert sniff(path) == kind


def test_binary_files_are_sniffed_as_binary(tmp_path):
    png = tmp_path / "x.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert sniff(png) == "binary"
    nul = tmp_path / "y.csv"
    nul.write_bytes(b"id,title\x00\n")
    assert sniff(nul) == "binary"
    cut = tmp_path / "z.csv"  # a multi-byte character cut at the end of the sample is text
    cut.write_bytes(("id,title\n" + "é" * 40_000).encode("utf-8")[:65_535])
    assert Path(cut).stat().st_size == 65_535
    assert sniff(cut) == "csv"


@pytest.mark.parametrize(("taxonomy", "category"), [
    ("Apparel & Accessories > Clothing > Dresses", "dress"),
    ("Hoodies", "hoodie"),  # -ies that is not -y: "hoody" is no category (found by this test)
    ("Women / Coats & Jackets", "coat"),
    ("Tank Tops", "top"),
    ("Blouses", "shirt"),
    ("Men | Trousers", "trousers"),
    ("Sweatshirts", "hoodie"),
    ("Accessories > Scarves", "scarves"),
    ("", ""),
])
def test_categories_from_shop_taxonomies(taxonomy, category):
    from engine.categories import category_from_taxonomy

    assert category_from_taxonomy(taxonomy) == category
