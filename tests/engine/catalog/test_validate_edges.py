"""Validation at its edges, with whole messages (engine/catalog/validate.py), from the mutation
check's survivors: lengths exactly at their limits, long values quoted to their cut, two-letter
schemes, lone surrogates in links."""

from __future__ import annotations

import pytest

from engine.catalog.validate import (
    MAX_TEXT,
    MAX_URL,
    RowError,
    _number,
    image_ref,
    plain_text,
    web_url,
)


def refused(fn, *args) -> str:
    with pytest.raises(RowError) as err:
        fn(*args)
    return str(err.value)


def test_links_at_and_past_their_length_limit():
    url = "https://s.example.com/" + "p" * (MAX_URL - 22)
    assert len(url) == MAX_URL and web_url(url) == url
    assert refused(web_url, url + "p") == f"url is {MAX_URL + 1} characters long (at most 2048)"
    path = "i" * MAX_URL
    assert image_ref(path) == path
    assert refused(image_ref, path + "i") == (f"image path is {MAX_URL + 1} characters long "
                                              "(at most 2048)")


def test_long_links_are_quoted_to_60_characters():
    ftp = "ftp://files.example.com/" + "f" * 80
    assert refused(web_url, ftp) == (f"url {ftp[:60]!r} is not http(s) (ftp:); only web links "
                                     "are allowed")
    hostless = "http:///" + "h" * 80
    assert refused(web_url, hostless) == f"url {hostless[:60]!r} has no host"
    odd = "ab:" + "x" * 80 + ".jpg"
    assert refused(image_ref, odd) == (f"image {odd[:60]!r}: ab: is not allowed; give a path "
                                       "or an http(s) URL")
    assert image_ref("C:shirt.jpg") == "C:shirt.jpg"  # one letter: a Windows drive


def test_a_lone_surrogate_in_a_link_is_refused():
    assert refused(web_url, "https://s.example.com/\ud800") == (
        "url contains spaces, control or invisible characters")


def test_text_is_refused_unread_past_twenty_times_its_limit():
    assert MAX_TEXT == 500
    at = "a " * (10 * MAX_TEXT)  # 10,000 characters: read, collapsed, then judged
    assert refused(plain_text, at, "title") == "title is 9999 characters long (at most 500)"
    past = "a  " * 3334  # 10,002 characters: refused before any work on it
    assert refused(plain_text, past, "title") == "title is 10002 characters long (at most 500)"


def test_long_values_in_messages_are_cut():
    tag = '<span class="' + "c" * 40 + '">'
    assert refused(plain_text, f"A {tag}shirt", "title") == (
        f"title contains HTML markup ({tag[:30]}); give plain text")
    value = list(range(30))
    assert refused(_number, value, "price") == (f"price must be a finite number, got "
                                                f"{str(value)[:40]!r}")


def test_a_row_names_the_field_that_is_not_a_number_and_its_limits():
    from engine.catalog.validate import MAX_ATTRIBUTES, validate_row
    from tests.engine.catalog.conftest import product

    good = product(1, "a.jpg")
    assert refused(validate_row, good | {"sales": "many"}) == "sales must be a number, got 'many'"
    assert refused(validate_row, good | {"rating": "good"}) == ("rating must be a number, got "
                                                                "'good'")
    assert refused(validate_row, good | {"currency": "renminbi yuan"}) == (
        "currency 'RENMINBI Y' is not an ISO 4217 code such as CNY")
    at = {"note": "n" * (MAX_ATTRIBUTES - 12)}  # {"note": "..."} of exactly the limit
    assert validate_row(good | {"attributes": at}).attributes == at
    assert refused(validate_row, good | {"attributes": {"note": at["note"] + "n"}}) == (
        f"attributes are {MAX_ATTRIBUTES + 1} bytes of JSON (at most {MAX_ATTRIBUTES})")
