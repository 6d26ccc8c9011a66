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


class _Handler(BaseHTTPRequestHandler):
    """A quiet handler with helpers to answer a page or a redirect."""

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, status: int, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _server(state: _State) -> ThreadingHTTPServer:
    class Handler(_Handler):
        def do_GET(self) -> None:  # noqa: N802
            with state.lock:
                state.user_agents.append(self.headers.get("User-Agent", ""))
            self._answer()

        def _work(self) -> None:
            # counted while the request is worked on, and no longer once the answer is sent: the
            # client may start its next request the moment it has read this answer, before this
            # thread could count the request as done
            with state.lock:
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            time.sleep(0.05)
            with state.lock:
                state.in_flight -= 1

        def _answer(self) -> None:
            path = self.path
            if path.startswith("/page"):
                self._work()
                self._send(200, "text/html; charset=utf-8", b"<html><body><p>hi</p></body></html>")
            elif path == "/redirect":
                self._redirect(301, "/page-final")
            elif path == "/loop":
                self._redirect(302, "/loop")
            elif path == "/big":
                self._send(200, "text/html", b"<p>" + b"x" * 5000 + b"</p>")
            elif path == "/image":
                self._send(200, "image/png", b"\x89PNG....")
            else:
                self._send(404, "text/html", b"not here")

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


# -- redirect targets obey their own robots.txt ----------------------------------------------

def _robots_site(disallow: str, redirects: dict[str, str], hits: list[str]) -> ThreadingHTTPServer:
    """A site whose robots.txt disallows `disallow`, answering `redirects` (path -> Location)
    with a 302 and any other path with a page; every path asked is appended to `hits`."""

    class Handler(_Handler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            if self.path == "/robots.txt":
                self._send(200, "text/plain", f"User-agent: *\nDisallow: {disallow}\n".encode())
            elif self.path in redirects:
                self._redirect(302, redirects[self.path])
            else:
                self._send(200, "text/html", b"<html><body><p>page</p></body></html>")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


@pytest.fixture
def two_sites() -> Iterator[dict]:
    """Two origins (two ports): `a` redirects to `b`, whose robots.txt disallows /secret."""
    a_hits: list[str] = []
    b_hits: list[str] = []
    b_redirects: dict[str, str] = {}
    b = _robots_site("/secret", b_redirects, b_hits)
    b_url = f"http://127.0.0.1:{b.server_address[1]}"
    a = _robots_site("/private", {"/to-secret": f"{b_url}/secret", "/to-open": f"{b_url}/open",
                                  "/to-private": "/private", "/ping": f"{b_url}/pong"}, a_hits)
    a_url = f"http://127.0.0.1:{a.server_address[1]}"
    b_redirects["/pong"] = f"{a_url}/ping"
    yield {"a": a_url, "b": b_url, "a_hits": a_hits, "b_hits": b_hits}
    for server in (a, b):
        server.shutdown()
        server.server_close()


def test_a_redirect_to_another_origin_obeys_that_origins_robots_txt(two_sites):
    (result,) = fetch([f"{two_sites['a']}/to-secret"])
    assert result.reason == "robots" and result.final_url == f"{two_sites['b']}/secret"
    assert "disallowed by robots.txt" in result.detail
    assert two_sites["b_hits"] == ["/robots.txt"]  # its rules were read; the page was never asked


def test_a_redirect_to_an_allowed_page_of_another_origin_is_followed(two_sites):
    (result,) = fetch([f"{two_sites['a']}/to-open"])
    assert result.ok and result.final_url == f"{two_sites['b']}/open"
    assert two_sites["b_hits"] == ["/robots.txt", "/open"]


def test_a_redirect_within_the_site_to_a_disallowed_path_is_not_followed(two_sites):
    (result,) = fetch([f"{two_sites['a']}/to-private"])
    assert result.reason == "robots" and result.final_url == f"{two_sites['a']}/private"
    assert "/private" not in two_sites["a_hits"]


def test_a_redirect_loop_across_two_origins_is_detected(two_sites):
    (result,) = fetch([f"{two_sites['a']}/ping"])
    assert result.reason == "redirect_loop"
    assert two_sites["a_hits"].count("/ping") == 1 and two_sites["b_hits"].count("/pong") == 1


# -- the address connected to is the address checked ------------------------------------------

def test_a_name_that_resolves_to_loopback_only_when_connecting_is_refused(site, monkeypatch):
    # DNS rebinding: the name looked public when it was checked, and resolves to 127.0.0.1 when
    # the connection is made; the connection is refused, and the server never sees a request
    import flows.fetch

    async def looked_public(host: str, port: int, allow) -> None:
        return None

    monkeypatch.setattr(flows.fetch, "_check_address", looked_public)
    base, state = site
    (result,) = fetch([base.replace("127.0.0.1", "localhost") + "/page-1"], allow_private=False)
    assert result.reason == "private_address" and "localhost resolves to non-public address" in result.detail
    assert state.user_agents == []


def test_a_name_is_connected_to_by_its_allowed_address(site):
    base, state = site
    (result,) = fetch([base.replace("127.0.0.1", "localhost") + "/page-1"], allow_private=True)
    assert result.ok and state.user_agents
