"""Feed rules the mutation check found unread (engine/catalog/feeds.py): which attributes are
kept, ambiguous prices, quotes and short lines in a TSV, Atom links without an address,
Shopify's handles, options and shop address, an oversized JSON feed, JSON sniffed by content."""

from __future__ import annotations

import pytest

from engine.catalog.feeds import (
    MAX_FEED_BYTES,
    SourceError,
    _attribute,
    merchant_row,
    merchant_tsv,
    merchant_xml,
    parse_money,
    read_json_feed,
    shopify_rows,
    sniff,
)
from engine.catalog.validate import RowError

ITEM = {"id": "a1", "title": "Shirt", "link": "https://s.example.com/a1", "price": "12.50 CNY"}


def test_merchant_attributes_kept_are_the_documented_ones():
    keys = ("brand", "availability", "color", "colour", "material", "pattern", "size",
            "gender", "condition", "sale_price", "gtin", "mpn")
    row = merchant_row(ITEM | {k: f"v-{k}" for k in keys} | {"custom_label_0": "x"})
    assert row["attributes"] == {k: f"v-{k}" for k in keys}


def test_a_namespaced_tag_keeps_the_name_after_its_last_brace():
    assert _attribute("{urn:odd}ns}image_link") == "image_link"


@pytest.mark.parametrize("text", ["1.000,000.00 EUR", "1,234.567,89 EUR"])
def test_prices_with_marks_in_no_sensible_order_are_refused(text):
    with pytest.raises(RowError) as err:
        parse_money(text)
    assert str(err.value) == f"price {text!r} is not a number"


def test_a_comma_before_one_or_two_final_digits_is_the_decimal_mark():
    assert parse_money("1,234,56 EUR") == (1234.56, "EUR")
    assert parse_money("1,234,5 EUR") == (1234.5, "EUR")


def test_a_long_price_that_is_not_a_number_is_quoted_to_40_characters():
    text = "1.2.3.4.5.6.7.8.9.0.1.2.3.4.5.6.7.8.9.0.1.2.3 EUR"
    with pytest.raises(RowError) as err:
        parse_money(text)
    assert str(err.value) == f"price {text[:40]!r} is not a number"


def tsv(tmp_path, text: str, bom: bool = False):
    path = tmp_path / "feed.tsv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return list(merchant_tsv(path))


def test_a_tsv_with_a_bom_quotes_kept_and_short_lines(tmp_path):
    rows = tsv(tmp_path, "id\ttitle\tlink\tprice\tbrand\n"
                         'a1\t"Quoted" 5" heels\thttps://s.example.com/a1\t12.50 CNY\tAcme\n'
                         "a2\tShort\thttps://s.example.com/a2\t9 CNY\n", bom=True)
    assert [label for label, _, _ in rows] == ["line 2", "line 3"]
    first, second = rows[0][1], rows[1][1]
    assert first["id"] == "a1" and first["title"] == '"Quoted" 5" heels'
    assert first["shop"] == "Acme"
    assert second["id"] == "a2" and second["price"] == 9.0 and "shop" not in second
    assert rows[0][2] == str(tmp_path)


def test_an_atom_link_without_an_address_is_no_url(tmp_path):
    path = tmp_path / "feed.xml"
    path.write_text('<feed xmlns="http://www.w3.org/2005/Atom" '
                    'xmlns:g="http://base.google.com/ns/1.0"><entry>'
                    "<g:id>a1</g:id><title>Shirt</title><link/>"
                    "<g:price>12.50 CNY</g:price><g:image_link>images/a1.jpg</g:image_link>"
                    "</entry></feed>")
    (label, row, base), = merchant_xml(path)
    assert label == "item 1" and base == str(tmp_path)
    assert row["url"] is None and row["images"] == ["images/a1.jpg"]


def shop_product(**extra):
    p = {"id": 7, "title": "Linen Shirt", "handle": "Linen-Shirt_2",
         "variants": [{"price": "19.90"}], "images": [{"src": "https://cdn.example.com/a.jpg"}]}
    p.update(extra)
    return p


def test_shopify_handles_options_and_the_shop_address():
    options = [{"name": "Colour", "values": ["r" * 50] + [f"c{i}" for i in range(24)]},
               {"name": "Material", "values": ["linen"]}]
    (_, row, _), = shopify_rows({"products": [shop_product(options=options)]}, "x",
                                "https://example.com/store-X/")
    assert row["url"] == "https://example.com/store-X/products/Linen-Shirt_2"
    assert row["attributes"]["colour"] == ["r" * 40] + [f"c{i}" for i in range(19)]
    assert row["attributes"]["material"] == ["linen"]
    bad = "-" + "h" * 50
    (_, err, _), = shopify_rows({"products": [shop_product(handle=bad)]}, "x",
                                "https://example.com")
    assert str(err) == f"handle {bad[:40]!r} is missing or not a URL part"
    with pytest.raises(SourceError) as exc:
        list(shopify_rows([shop_product()], "x", "https://example.com"))
    assert str(exc.value) == "expected Shopify's {\"products\": [...]}"


def test_a_json_feed_over_the_limit_is_refused_unread(tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as f:
        f.truncate(2_350_000_000)  # sparse: nothing is written
    assert path.stat().st_size > MAX_FEED_BYTES
    with pytest.raises(SourceError) as err:
        read_json_feed(path)
    assert str(err.value) == f"{path} is 2.4 GB (at most 2)"


def test_a_pretty_printed_json_list_is_json_not_json_lines(tmp_path):
    path = tmp_path / "feed.json"
    path.write_text('[\n  {"id": "a1"},\n  {"id": "a2"}\n]\n')
    assert sniff(path) == "json"


def sniffed(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return sniff(path)


def test_a_character_cut_by_the_sniffed_sample_is_still_text(tmp_path):
    """The sample ends inside a two-byte character: text, not binary."""
    line = b'{"id": "a1", "title": "caf\xc3\xa9"}\n'
    head = b'{"id": "a0"}\n' + b"x" * (64 * 1024 - 14 - 1) + b"\n"
    assert len(head) == 64 * 1024 - 1  # the sample's last byte is the first half of the e
    assert sniffed(tmp_path, "feed.jsonl", head + b'\xc3\xa9"\n' + line) == "jsonl"


def test_a_bad_byte_before_the_last_three_of_the_sample_is_binary(tmp_path):
    """A character has at most 4 bytes, so a cut one leaves at most 3 at the sample's end: an
    invalid byte 4 from the end is not a cut character (found by the mutation check)."""
    body = b'{"id": "a0"}\n' + b"x" * (64 * 1024 - 13 - 4)
    assert sniffed(tmp_path, "feed.jsonl", body + b"\xff" + b"xyz" + b"more") == "binary"
    assert sniffed(tmp_path, "cut.jsonl", body + b"x" + b"\xf0\x9f\x98" + b"\x80\n") == \
        "jsonl"  # a 4-byte emoji cut after 3 bytes


def test_sniffing_by_suffix_and_by_header(tmp_path):
    assert sniffed(tmp_path, "one.ndjson", b'{"id": "a1"}\n') == "jsonl"
    assert sniffed(tmp_path, "three.csv", b"id\ttitle\tprice\na1\tShirt\t1 CNY\n") \
        == "merchant-tsv"  # three of the Merchant Center names
    assert sniffed(tmp_path, "two.tsv", b"sku\tname\na1\tShirt\n") == "merchant-tsv"
    assert sniffed(tmp_path, "two.csv", b"sku\tname\na1\tShirt\n") == "csv"
    # only the first line's tabs count
    assert sniffed(tmp_path, "list.txt", b"id,title\na1,\"Shirt\twith a tab\"\n") == "csv"


def test_only_the_first_64_kib_are_sniffed_and_tabs_separate_the_names(tmp_path):
    head = b'{"id": "a1"}\n' * 6000  # 78,000 bytes of JSON lines
    assert sniffed(tmp_path, "late-nul.jsonl", head + b"\x00\n") == "jsonl"
    bad = bytearray(b"x" * (64 * 1024))
    bad[-5] = 0xFF  # not UTF-8, and too far from the end to be a cut character
    assert sniffed(tmp_path, "bad.csv", bytes(bad)) == "binary"
    # names with spaces are names: two words do not make two Merchant Center attributes
    assert sniffed(tmp_path, "spaced.csv",
                   b"id\tproduct title\tproduct link\tsale price\na1\tA\tB\tC\n") == "csv"
