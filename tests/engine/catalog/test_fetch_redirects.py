"""Redirect chains and retries over a real local socket (engine/catalog/fetch.py), from the
mutation check's survivors: at most MAX_REDIRECTS redirects, tries counted as they are said."""

from __future__ import annotations

import pytest

from engine.catalog.fetch import MAX_REDIRECTS, FetchError, HttpFetcher


def fetcher(**kw) -> HttpFetcher:
    return HttpFetcher(timeout=(2, 2), retries=1, backoff=0.01, sleep=lambda s: None, **kw)


def test_up_to_max_redirects_are_followed_and_no_more(api):
    assert MAX_REDIRECTS == 5
    data = fetcher().json(f"{api.url}/hop/{MAX_REDIRECTS}")
    assert [p["id"] for p in data["products"]] == ["q0700"]
    assert api.hits["/hop/0"] == 1
    with pytest.raises(FetchError) as err:
        fetcher().json(f"{api.url}/hop/{MAX_REDIRECTS + 1}")
    assert str(err.value) == f"{api.url}/hop/0: more than 5 redirects"
    assert api.hits["/hop/0"] == 1  # the sixth redirect was not followed


def test_a_server_that_stays_down_is_tried_retries_plus_one_times(api):
    waits: list[float] = []
    with pytest.raises(FetchError) as err:
        HttpFetcher(timeout=(2, 2), retries=2, backoff=0.01, sleep=waits.append).json(
            f"{api.url}/down")
    assert str(err.value) == f"{api.url}/down: failed after 3 tries (HTTP 503)"
    assert api.hits["/down"] == 3 and waits == [0.01, 0.02]


def test_a_redirect_down_to_http_names_its_target_to_80_characters():
    target = "http://s/" + "x" * 100
    with pytest.raises(FetchError) as err:
        HttpFetcher._redirect("https://s/a", target)
    assert str(err.value) == (f"https://s/a: redirected from https down to plain http "
                              f"({target[:80]!r}); refused")


def test_answers_are_read_within_their_limits_and_types(api):
    """Over one server: 429 is asked again, the content type is its bare lowercase name (and a
    missing one is named), a declared or streamed body is refused only past its limit, and a
    gzip answer comes back decoded."""
    f = fetcher()
    assert [p["id"] for p in f.json(f"{api.url}/busy")["products"]] == ["q0710"]
    assert api.hits["/busy"] == 2
    assert f.get(f"{api.url}/typed", 100) == (b"hello", "text/plain")
    url = f"{api.url}/notype/20"
    with pytest.raises(FetchError) as err:
        f.get(url, 100, accept=("image/",))
    assert str(err.value) == f"{url}: content type missing, expected image/"
    url = f"{api.url}/typed"
    with pytest.raises(FetchError) as err:
        f.get(url, 100, accept=("image/", "video/"))
    assert str(err.value) == f"{url}: content type text/plain, expected image/ or video/"
    assert f.get(f"{api.url}/sized/1000", 1000)[0] == b"\x00" * 1000  # exactly the limit
    assert f.get(f"{api.url}/stream/1000", 1000)[0] == b"\x00" * 1000
    url = f"{api.url}/sized/2350000"
    with pytest.raises(FetchError) as err:
        f.get(url, 1_500_000)
    assert str(err.value) == f"{url}: 2.4 MB is over the limit of 2 MB"  # told, not read
    url = f"{api.url}/stream/1500001"
    with pytest.raises(FetchError) as err:
        f.get(url, 1_500_000)
    assert str(err.value) == f"{url}: more than 2 MB"
    assert [p["id"] for p in f.json(f"{api.url}/gzip")["products"]] == ["q0720", "q0721"]
    url = f"{api.url}/fake.jpg"
    with pytest.raises(FetchError) as err:
        f.image(url)
    assert str(err.value).startswith(f"image {url}: not a readable image (")
    with pytest.raises(FetchError) as err:
        f.get("http:///nohost", 100)
    assert str(err.value) == "http:///nohost: InvalidURL"


@pytest.fixture
def self_signed_server(tmp_path):
    """An https server on 127.0.0.1 whose certificate nobody vouches for."""
    import shutil
    import ssl
    import subprocess
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    if shutil.which("openssl") is None:
        pytest.skip("openssl is missing")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_an_unverifiable_certificate_is_refused_with_the_reason(self_signed_server):
    import re

    url = f"{self_signed_server}/feed.json"
    with pytest.raises(FetchError) as err:
        fetcher().get(url, 100)
    message = str(err.value)
    # the reason is SSL's own words, out of requests' wrappers, its brackets balanced
    assert re.fullmatch(
        re.escape(f"{url}: the server's TLS certificate could not be verified (") +
        r"\[SSL: CERTIFICATE_VERIFY_FAILED\] certificate "
        r"verify failed: self[- ]signed certificate \(_ssl\.c:\d+\)" +
        re.escape("); fix the server's certificate (verification stays on)"), message)


def test_a_tls_reason_without_ssls_code_keeps_the_wrappers_words():
    from engine.catalog.fetch import _tls_reason

    wrapped = ("HTTPSConnectionPool(host='x', port=443): Max retries exceeded "
               "(Caused by SSLError(SSLCertVerificationError(1, '[SSL: HOSTNAME_MISMATCH] "
               "hostname mismatch (_ssl.c:1000)')))")
    assert _tls_reason(wrapped) == "[SSL: HOSTNAME_MISMATCH] hostname mismatch (_ssl.c:1000)"
    assert _tls_reason("Caused by SSLError('bad handshake')") == "bad handshake"
    assert _tls_reason("x" * 300) == "x" * 160
