"""Every rule of the row validator, with the whole message a shop owner reads in the import
report (a word of it is not enough: the mutation check, docs/testing.md, changes words), and
every value that passes as it is stored."""

from __future__ import annotations

import pytest

from engine.catalog.validate import (
    MAX_ATTRIBUTES,
    MAX_IMAGES,
    MAX_TEXT,
    MAX_URL,
    RowError,
    image_ref,
    plain_text,
    validate_row,
    web_url,
)
from tests.engine.catalog.conftest import product

GOOD = product(1, "a.jpg")


def without(key: str) -> dict:
    return {k: v for k, v in GOOD.items() if k != key}


REFUSED = [
    ([1, 2], "a product must be a JSON object, got list"),
    (without("id"), "missing id"),
    (GOOD | {"id": "  "}, "missing id"),
    (GOOD | {"id": True}, "missing id"),
    (GOOD | {"id": "a b"}, "id 'a b' has characters other than letters, digits, _ . : -"),
    (GOOD | {"id": "_x"}, "id '_x' has characters other than letters, digits, _ . : -"),
    (GOOD | {"id": "x" * 129}, f"id {'x' * 40!r} has characters other than letters, digits, "
                               "_ . : -"),
    (without("title"), "missing title"),
    (GOOD | {"title": " \u200b "}, "missing title"),
    (GOOD | {"title": 5}, "title must be text, got int"),
    (GOOD | {"title": "a <b>bold</b> title"},
     "title contains HTML markup (<b>); give plain text"),
    (GOOD | {"title": "a &lt;i&gt; title"}, "title contains HTML markup (<i>); give plain text"),
    (GOOD | {"title": "bell\x07"}, "title contains a control character (U+0007)"),
    (GOOD | {"title": "x\ud800"}, "title contains an invalid character (a lone surrogate "
                                  "U+D800)"),
    (GOOD | {"title": "x" * (MAX_TEXT + 1)}, f"title is {MAX_TEXT + 1} characters long "
                                             f"(at most {MAX_TEXT})"),
    (GOOD | {"title": "x" * (20 * MAX_TEXT + 1)}, f"title is {20 * MAX_TEXT + 1} characters "
                                                  f"long (at most {MAX_TEXT})"),
    (without("category"), "missing category"),
    (without("price"), "missing price"),
    (GOOD | {"price": ""}, "missing price"),
    (GOOD | {"price": -0.5}, "negative price -0.5"),
    (GOOD | {"price": True}, "price must be a number, got True"),
    (GOOD | {"price": "12 yuan"}, "price must be a number, got '12 yuan'"),
    (GOOD | {"price": "nan"}, "price must be a finite number, got 'nan'"),
    (GOOD | {"price": [1]}, "price must be a finite number, got '[1]'"),
    (GOOD | {"price": 10**400}, "price is out of range"),
    (GOOD | {"price": 2e12}, "price 2e+12 is out of range (at most 1e+12)"),
    (GOOD | {"currency": "yuan"}, "currency 'YUAN' is not an ISO 4217 code such as CNY"),
    (GOOD | {"currency": "C1Y"}, "currency 'C1Y' is not an ISO 4217 code such as CNY"),
    (without("url"), "missing url"),
    (GOOD | {"url": "javascript:alert(1)"},
     "url 'javascript:alert(1)' is not http(s) (javascript:); only web links are allowed"),
    (GOOD | {"url": "shop.example.com/x"},
     "url 'shop.example.com/x' is not http(s) (no scheme:); only web links are allowed"),
    (GOOD | {"url": "https:///path"}, "url 'https:///path' has no host"),
    (GOOD | {"url": "https://a.example/x y"},
     "url contains spaces, control or invisible characters"),
    (GOOD | {"url": "https://a.example/" + "x" * MAX_URL},
     f"url is {MAX_URL + 18} characters long (at most {MAX_URL})"),
    (without("image") | {"images": []}, "no image: give image or images"),
    (without("image") | {"images": "|  |"}, "no image: give image or images"),
    (without("image") | {"images": {"a": 1}}, "no image: give image or images"),
    (GOOD | {"images": [f"{i}.jpg" for i in range(MAX_IMAGES + 1)]},
     f"{MAX_IMAGES + 1} images (at most {MAX_IMAGES})"),
    (GOOD | {"images": ["a.jpg", 3]}, "an image entry is empty or not text"),
    (GOOD | {"images": ["ftp://x/a.jpg"]},
     "image 'ftp://x/a.jpg': ftp: is not allowed; give a path or an http(s) URL"),
    (GOOD | {"images": ["a\x00.jpg"]}, "image path contains a NUL byte"),
    (GOOD | {"images": ["a" * (MAX_URL + 1)]},
     f"image path is {MAX_URL + 1} characters long (at most {MAX_URL})"),
    (GOOD | {"images": ["a\x1b.jpg"]}, "image path contains a control character (U+001B)"),
    (GOOD | {"images": ["http://a.example/\x7f.jpg"]},
     "image URL contains spaces, control or invisible characters"),
    (GOOD | {"sales": -1}, "sales must be a whole number of at least 0, got -1"),
    (GOOD | {"sales": 2.5}, "sales must be a whole number of at least 0, got 2.5"),
    (GOOD | {"rating": 5.5}, "rating 5.5 is outside 0..5"),
    (GOOD | {"rating": -1}, "rating -1 is outside 0..5"),
    (GOOD | {"attributes": [1]}, "attributes must be an object"),
    (GOOD | {"attributes": {"w": float("nan")}},
     "attributes hold values JSON cannot store (NaN, infinity or too deep)"),
    (GOOD | {"attributes": {"k": "x" * MAX_ATTRIBUTES}},
     f"attributes are {MAX_ATTRIBUTES + 9} bytes of JSON (at most {MAX_ATTRIBUTES})"),
    (GOOD | {"shop": "<i>x</i>"}, "shop contains HTML markup (<i>); give plain text"),
    (GOOD | {"family": 7}, "family must be text, got int"),
]


@pytest.mark.parametrize(("raw", "message"), REFUSED,
                         ids=[m[:40] for _, m in REFUSED])
def test_a_refused_row_says_exactly_why(raw, message):
    with pytest.raises(RowError) as err:
        validate_row(raw)
    assert str(err.value) == message


def test_a_good_row_is_stored_as_given_and_normalised():
    row = validate_row(GOOD | {"title": "  Linen &amp;  Silk\u200e Shirt ", "category": "Shirt",
                               "currency": " usd ", "price": "12.345", "sales": "3",
                               "rating": "4.5", "family": "f1", "images": ["b.jpg", "a.jpg"],
                               "url": " https://shop.example.com/q0001 "})
    assert row.id == "q0001" and row.title == "Linen & Silk Shirt" and row.category == "shirt"
    assert row.currency == "USD" and row.price == 12.35 and row.sales == 3
    assert isinstance(row.sales, int) and row.rating == 4.5 and row.family == "f1"
    assert row.images == ["a.jpg", "b.jpg"]  # the main image first, then the others
    assert row.url == "https://shop.example.com/q0001" and row.shop == "Test Shop"
    assert row.attributes == {"n": 1}


@pytest.mark.parametrize(("change", "field", "value"), [
    ({"id": 42}, "id", "42"),  # a number id from a CSV or an API
    ({"id": " a:b-c.d_e "}, "id", "a:b-c.d_e"),
    ({"id": "x" * 128}, "id", "x" * 128),
    ({"currency": None}, "currency", "CNY"),  # the default
    ({"currency": ""}, "currency", "CNY"),
    ({"price": 0}, "price", 0.0),
    ({"price": -0.0}, "price", 0.0),
    ({"price": 1e12}, "price", 1e12),
    ({"sales": None}, "sales", 0),
    ({"sales": ""}, "sales", 0),
    ({"rating": None}, "rating", None),
    ({"rating": ""}, "rating", None),
    ({"rating": 0}, "rating", 0.0),
    ({"rating": 5}, "rating", 5.0),
    ({"attributes": None}, "attributes", {}),
    ({"shop": None}, "shop", ""),
    ({"title": "x" * MAX_TEXT}, "title", "x" * MAX_TEXT),
    ({"title": "Ærø  Jacke\u00ad"}, "title", "Ærø Jacke"),  # a soft hyphen is invisible
])
def test_values_at_the_edges_pass_as_stored(change, field, value):
    got = getattr(validate_row(GOOD | change), field)
    assert got == value and type(got) is type(value)
    if field == "price":
        assert str(got) != "-0.0"


def test_images_from_csv_json_and_the_main_image_merge_without_duplicates():
    csv_like = validate_row(without("image") | {"images": "a.jpg| b.jpg |a.jpg"})
    assert csv_like.images == ["a.jpg", "b.jpg"]
    only_main = validate_row(without("images") | {"image": "m.jpg"})
    assert only_main.images == ["m.jpg"]
    main_first = validate_row(GOOD | {"image": "m.jpg", "images": ["a.jpg"]})
    assert main_first.images == ["m.jpg", "a.jpg"]
    web = validate_row(GOOD | {"images": ["https://cdn.example/a.jpg"]})
    assert web.images == ["a.jpg", "https://cdn.example/a.jpg"]
    drive = image_ref("C:/shop/a.jpg")  # a Windows drive, not a scheme
    assert drive == "C:/shop/a.jpg" and image_ref("  x.jpg ") == "x.jpg"
    full = validate_row(GOOD | {"images": [f"{i}.jpg" for i in range(MAX_IMAGES)],
                                "image": "0.jpg"})
    assert len(full.images) == MAX_IMAGES


def test_the_text_helpers_alone():
    assert plain_text(None, "shop", required=False) == ""
    assert plain_text("", "shop", required=False) == ""
    assert plain_text(" \t", "shop", required=False) == ""
    assert plain_text("a\n\tb", "title") == "a b"
    assert plain_text("1 < 2 and 3 > 2", "title") == "1 < 2 and 3 > 2"  # not markup
    assert plain_text("emoji \U0001F469\u200d\U0001F52C", "title").endswith("\u200d\U0001F52C")
    with pytest.raises(RowError, match=r"^missing shop$"):
        plain_text(None, "shop")
    assert web_url("HTTPS://A.example/x") == "HTTPS://A.example/x"
    assert web_url("http://a.example") == "http://a.example"
    with pytest.raises(RowError, match=r"^missing link$"):
        web_url(None, "link")
    with pytest.raises(RowError, match=r"^link contains spaces"):
        web_url("https://a.example/\u200bx", "link")
