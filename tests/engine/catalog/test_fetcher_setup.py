"""The HTTP fetcher's defaults and the remote page cap (from the mutation check's survivors):
how often and how long it retries, the deadline, the User-Agent a server sees, and an API whose
next links never end."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.catalog import importer
from engine.catalog.fetch import USER_AGENT, FetchError, HttpFetcher


@pytest.fixture
def endless():
    """A server on 127.0.0.1: /page/N links to /page/N+1 forever; /ua answers with the
    User-Agent it was sent; anything else is a 503."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            seen.append(self.path)
            if self.path.startswith("/page/"):
                n = int(self.path.rsplit("/", 1)[1])
                body, status = {"products": [], "next": f"/page/{n + 1}"}, 200
            elif self.path == "/ua":
                body, status = {"ua": self.headers.get_all("User-Agent")}, 200
            else:
                body, status = {"error": "down"}, 503
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    server.seen = seen
    yield server
    server.shutdown()
    server.server_close()


def test_by_default_a_failing_server_is_tried_four_times_with_doubling_waits(endless):
    waits: list[float] = []
    fetcher = HttpFetcher(sleep=waits.append)
    with pytest.raises(FetchError) as err:
        fetcher.json(f"{endless.url}/down")
    assert str(err.value) == f"{endless.url}/down: failed after 4 tries (HTTP 503)"
    assert waits == [0.5, 1.0, 2.0]
    assert endless.seen == ["/down"] * 4


def test_the_default_deadline_for_a_whole_answer_is_two_minutes():
    assert HttpFetcher().deadline == 120.0


def test_a_server_sees_the_catalogues_user_agent_and_no_other(endless):
    assert HttpFetcher().json(f"{endless.url}/ua") == {"ua": [USER_AGENT]}


def test_an_api_whose_next_links_never_end_stops_at_the_page_cap(endless, monkeypatch):
    monkeypatch.setattr(importer, "MAX_PAGES", 3)
    rows = list(importer.open_source(f"{endless.url}/page/1", HttpFetcher()))
    assert rows == []
    assert endless.seen == ["/page/1", "/page/2", "/page/3"]


def test_negative_retries_are_refused_at_once():
    """Before, HttpFetcher(retries=-1) was made and every fetch then said "failed after 0
    tries" (found by the mutation check)."""
    with pytest.raises(ValueError, match=r"^retries must be at least 0, got -1$"):
        HttpFetcher(retries=-1)
    assert HttpFetcher(retries=0).retries == 0
