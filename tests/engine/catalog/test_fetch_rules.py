"""Where a redirect may lead, rule by rule with the whole message (engine/catalog/fetch.py),
from the mutation check's survivors; the hostile-server tests drive the same rules over a real
socket (tests/engine/catalog/test_hostile.py)."""

from __future__ import annotations

import pytest

from engine.catalog.fetch import FetchError, HttpFetcher


@pytest.mark.parametrize(("url", "location", "target"), [
    ("http://shop.example/a/b", "c", "http://shop.example/a/c"),
    ("http://shop.example/a/b", "/p.json", "http://shop.example/p.json"),
    ("http://shop.example/", "HTTPS://cdn.example/x.jpg", "HTTPS://cdn.example/x.jpg"),
    ("https://shop.example/", "https://cdn.example/x", "https://cdn.example/x"),
    ("HTTP://shop.example/", "http://other.example/", "http://other.example/"),
])
def test_a_redirect_within_the_web_is_followed(url, location, target):
    assert HttpFetcher._redirect(url, location) == target


@pytest.mark.parametrize(("url", "location", "message"), [
    ("http://s/a", "", "http://s/a: a redirect without a Location"),
    ("http://s/a", "file:///etc/passwd",
     "http://s/a: redirected to 'file:///etc/passwd', which is not an http(s) link; refused"),
    ("http://s/a", "ftp://s/" + "x" * 100,
     f"http://s/a: redirected to {('ftp://s/' + 'x' * 100)[:80]!r}, which is not an http(s) "
     "link; refused"),
    ("https://s/a", "http://s/b",
     "https://s/a: redirected from https down to plain http ('http://s/b'); refused"),
    ("HTTPS://s/a", "HTTP://s/b",
     "HTTPS://s/a: redirected from https down to plain http ('HTTP://s/b'); refused"),
])
def test_a_redirect_out_of_the_web_or_down_to_http_is_refused(url, location, message):
    with pytest.raises(FetchError) as err:
        HttpFetcher._redirect(url, location)
    assert str(err.value) == message
