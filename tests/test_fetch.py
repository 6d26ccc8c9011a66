"""The fetcher over real HTTP on 127.0.0.1: politeness, limits, redirects, refusals."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flows.fetch import FetchRequest, fetch_all
from flows.settings import Settings


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.user_agents: list[str] = []


def _server(state: _State) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            with state.lock:
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
                state.user_agents.append(self.headers.get("User-Agent", ""))
            try:
                self._answer()
            finally:
                with state.lock:
                    state.in_flight -= 1

        def _answer(self) -> None:
            path = self.path
            if path.startswith("/page"):
                time.sleep(0.05)
                self._send(200, "text/html; charset=utf-8", b"<html><body><p>hi</p></body></html>")
            elif path == "/redirect":
                self.send_response(301)
                self.send_header("Location", "/page-final")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/loop":
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/big":
                self._send(200, "text/html", b"<p>" + b"x" * 5000 + b"</p>")
            elif path == "/image":
                self._send(200, "image/png", b"\x89PNG....")
            else:
                self._send(404, "text/html", b"not here")

        def _send(self, status: int, ctype: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


@pytest.fixture
def site() -> Iterator[tuple[str, _State]]:
    state = _State()
    server = _server(state)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()
    server.server_close()


def fetch(urls: list[str], allow_private: bool = True, **settings) -> list:
    requests = [FetchRequest(u, "test", "page", allow_private) for u in urls]
    return asyncio.run(fetch_all(requests, Settings(**settings)))


def test_at_most_two_requests_are_in_flight_per_host(site):
    base, state = site
    results = fetch([f"{base}/page-{i}" for i in range(12)])
    assert all(r.ok for r in results)
    assert state.max_in_flight == 2


def test_the_per_host_limit_is_a_setting(site):
    base, state = site
    fetch([f"{base}/page-{i}" for i in range(12)], per_host_concurrency=4)
    assert state.max_in_flight == 4


def test_every_request_names_akhbar_in_its_user_agent(site):
    base, state = site
    fetch([f"{base}/page-1"])
    assert state.user_agents and all(ua.startswith("akhbar/") for ua in state.user_agents)


def test_redirects_are_followed_and_the_final_url_kept(site):
    base, _ = site
    (result,) = fetch([f"{base}/redirect"])
    assert result.ok and result.final_url == f"{base}/page-final"


def test_a_redirect_loop_fails_with_its_reason(site):
    base, _ = site
    (result,) = fetch([f"{base}/loop"], max_redirects=3)
    assert result.reason == "redirect_loop"  # detected at once, not after max_redirects hops


def test_http_errors_fail_with_the_status(site):
    base, _ = site
    (result,) = fetch([f"{base}/nothing"])
    assert (result.reason, result.status) == ("http_404", 404)


def test_a_page_that_is_not_html_is_refused(site):
    base, _ = site
    (result,) = fetch([f"{base}/image"])
    assert result.reason == "not_html" and "image/png" in result.detail


def test_a_body_over_the_size_limit_is_refused(site):
    base, _ = site
    (result,) = fetch([f"{base}/big"], max_body_bytes=1000)
    assert result.reason == "too_large" and result.body == b""


def test_loopback_is_refused_unless_the_source_allows_private_addresses(site):
    base, state = site
    (result,) = fetch([f"{base}/page-1"], allow_private=False)
    assert result.reason == "private_address"
    assert state.user_agents == []  # refused before any byte was sent


def test_a_refused_connection_is_a_connect_error():
    (result,) = fetch(["http://127.0.0.1:9/"], max_retries=0)
    assert result.reason == "connect_error"


def test_only_http_and_https_are_fetched():
    (result,) = fetch(["ftp://127.0.0.1/file"])
    assert result.reason == "invalid_url"
