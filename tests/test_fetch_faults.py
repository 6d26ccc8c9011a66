"""The fetcher against real faults on a real server (tests/faulty_server.py): every fault ends
in the expected outcome, memory stays bounded, and the server's log shows politeness kept."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Iterator

import pytest

from flows.archive import read_record
from flows.config import Source
from flows.discovery import discover
from flows.fetch import FetchRequest, FetchState, address_allowed, fetch_all
from flows.archive import Archive
from flows.settings import Settings
from parsers import extract
from parsers.text import decode_html
from faulty_server import FaultyServer

LOOPBACK = ("127.0.0.1/32",)  # the test host only: 10.x and 169.254.x stay refused


def _settings(tmp_path, **kw) -> Settings:
    base = dict(database=str(tmp_path / "w.duckdb"), read_timeout=0.5, connect_timeout=0.5, total_timeout=3.0,
                retry_backoff=0.05, max_retries=3, max_body_bytes=2_000_000, host_failure_limit=20)
    base.update(kw)
    return Settings(**base)


@pytest.fixture(scope="module")
def server() -> Iterator[FaultyServer]:
    with FaultyServer(stall=2.0) as s:
        yield s


def fetch(server: FaultyServer, paths: list[str], tmp_path, state: FetchState | None = None, kind: str = "page",
          **kw) -> list:
    settings = _settings(tmp_path, **kw)
    state = state or FetchState(settings, archive=Archive(tmp_path / "data"))
    reqs = [FetchRequest(server.url(p), "faulty", kind, LOOPBACK) for p in paths]
    try:
        return asyncio.run(fetch_all(reqs, settings, state))
    finally:
        state.archive.close()


def one(server, path, tmp_path, **kw):
    (result,) = fetch(server, [path], tmp_path, **kw)
    return result


def test_slow_headers_time_out(server, tmp_path):
    r = one(server, "/slow-headers", tmp_path)
    assert r.reason == "timeout" and r.elapsed < 1.5


def test_a_body_that_stalls_midway_times_out(server, tmp_path):
    r = one(server, "/stall", tmp_path)
    assert r.reason == "timeout" and r.body == b""


def test_a_connection_reset_is_retried_then_fails(server, tmp_path):
    r = one(server, "/reset", tmp_path, max_retries=2)
    assert r.reason == "connect_error" and r.attempts == 3


def test_429_waits_for_retry_after_then_succeeds(server, tmp_path):
    t0 = time.monotonic()
    r = one(server, "/429", tmp_path)
    assert r.ok and r.status == 200 and r.attempts == 2
    assert time.monotonic() - t0 >= 0.95
    first, second = server.hits_for("/429", 2)
    assert second.start - first.end >= 0.95  # Retry-After: 1 kept, seen from the server


def test_503_bursts_are_retried_with_backoff(server, tmp_path):
    r = one(server, "/503-burst", tmp_path)
    assert r.ok and r.attempts == 3


def test_500_forever_fails_after_the_retries(server, tmp_path):
    before = server.counts["/500"]
    r = one(server, "/500", tmp_path, max_retries=2)
    assert (r.reason, r.status) == ("http_500", 500) and server.counts["/500"] - before == 3


def test_a_host_that_keeps_failing_is_paused_for_the_run(tmp_path):
    with FaultyServer() as s:
        settings = _settings(tmp_path, host_failure_limit=3, max_retries=5)
        state = FetchState(settings)
        first = asyncio.run(fetch_all([FetchRequest(s.url("/500"), "faulty", "page", LOOPBACK)], settings, state))
        assert first[0].reason == "http_500" and first[0].attempts == 3  # paused before the retries ran out
        later = asyncio.run(fetch_all([FetchRequest(s.url(f"/a/{i}"), "faulty", "page", LOOPBACK) for i in range(3)],
                                      settings, state))
        assert {r.reason for r in later} == {"host_paused"}
        assert s.counts["/500"] == 3 and not [p for p in s.paths() if p.startswith("/a/")]


def test_a_redirect_loop_is_detected(server, tmp_path):
    assert one(server, "/loop-a", tmp_path).reason == "redirect_loop"


@pytest.mark.parametrize("path, target", [("/to-metadata", "169.254.169.254"), ("/to-private", "10.0.0.1")])
def test_redirects_to_non_public_addresses_are_refused_without_connecting(server, tmp_path, path, target):
    t0 = time.monotonic()
    r = one(server, path, tmp_path)
    assert r.reason == "private_address" and target in r.detail
    assert time.monotonic() - t0 < 0.5  # refused by the check, not by a connect timeout


def test_allow_private_true_never_allows_link_local():
    assert address_allowed("127.0.0.1", True) and address_allowed("10.0.0.1", True)
    assert not address_allowed("169.254.169.254", True)
    assert not address_allowed("10.0.0.1", LOOPBACK) and address_allowed("127.0.0.1", LOOPBACK)
    assert not address_allowed("127.0.0.1") and address_allowed("8.8.8.8")


def test_a_50_mb_page_is_cut_off_while_streaming_in_bounded_memory(server, tmp_path):
    tracemalloc.start()
    try:
        r = one(server, "/huge", tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.reason == "too_large" and r.body == b""
    assert peak < 12_000_000  # the limit is 2 MB; 50 MB were on offer


def test_a_gzip_bomb_is_refused_in_bounded_memory(server, tmp_path):
    tracemalloc.start()
    try:
        r = one(server, "/gzip-bomb", tmp_path, max_body_bytes=10_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.reason == "decompression_bomb"
    assert peak < 20_000_000  # 200 MB inflated would not fit


def test_a_pdf_served_as_html_is_refused_by_sniffing(server, tmp_path):
    r = one(server, "/pdf", tmp_path)
    assert r.reason == "not_html" and "application/pdf" in r.detail and r.refused


def test_a_windows_1256_page_labelled_utf8_decodes_right(server, tmp_path):
    r = one(server, "/cp1256", tmp_path)
    assert r.ok and r.charset == "utf-8"
    text = decode_html(r.body, r.charset)
    assert "مرفأ بيروت يستعيد نشاطه" in text
    article = extract(text, r.final_url)
    assert article.title.startswith("مرفأ بيروت")


def test_robots_disallowed_paths_are_never_requested(server, tmp_path):
    r = one(server, "/private/secret", tmp_path)
    assert r.reason == "robots" and r.refused
    assert not [p for p in server.paths() if p.startswith("/private/")]


def test_crawl_delay_spaces_the_requests(tmp_path):
    with FaultyServer(crawl_delay=0.25) as s:
        results = fetch(s, [f"/a/{i}" for i in range(5)], tmp_path)
        assert all(r.ok for r in results)
        starts = sorted(h.start for h in s.hits if h.path.startswith("/a/"))
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        assert min(gaps) >= 0.24, gaps
        assert s.paths()[0] == "/robots.txt" and s.counts["/robots.txt"] == 1


def test_per_host_concurrency_and_min_delay_hold_under_load(tmp_path):
    with FaultyServer(latency=0.05) as s:
        results = fetch(s, [f"/a/{i % 40}" for i in range(40)], tmp_path, min_delay=0.01)
        assert all(r.ok for r in results)
        assert s.max_in_flight <= 2 and s.concurrency() <= 2
        starts = sorted(h.start for h in s.hits if h.path.startswith("/a/"))
        assert min(b - a for a, b in zip(starts, starts[1:])) >= 0.009
        assert all(h.user_agent.startswith("akhbar/") and "+https://" in h.user_agent for h in s.hits)


def test_every_outcome_is_archived_and_readable(server, tmp_path):
    settings = _settings(tmp_path)
    state = FetchState(settings, archive=Archive(tmp_path / "data"))
    good, bad = fetch(server, ["/a/1", "/pdf"], tmp_path, state=state)
    assert good.warc_file and bad.warc_file
    record = read_record(tmp_path / "data", good.warc_file, good.warc_offset)
    assert record.status == 200 and record.body == good.body and record.url == good.final_url
    meta = read_record(tmp_path / "data", bad.warc_file, bad.warc_offset)
    assert b'"reason": "not_html"' in meta.body
    logged = {(r.url.rsplit("/", 1)[-1], r.error) for r in state.log}
    assert ("1", None) in logged and ("pdf", "not_html") in logged and ("robots.txt", None) in logged
    assert all(r.sha256 for r in state.log if r.error is None and r.kind == "page")


# -- discovery -----------------------------------------------------------------------------

def _source(server: FaultyServer, **kw) -> Source:
    return Source(name="faulty", homepage=server.url("/home"), language="ar", timezone="Asia/Beirut",
                  allow_private_addresses=LOOPBACK, **kw)


def test_broken_and_bomb_feeds_fail_with_reasons_good_feeds_are_read(server, tmp_path):
    source = _source(server, feeds=[server.url(p) for p in ("/feed.xml", "/broken-feed.xml", "/bomb-feed.xml")])
    t0 = time.monotonic()
    found = discover([source], _settings(tmp_path))
    assert time.monotonic() - t0 < 3
    urls = found.urls["faulty"]
    assert server.url("/a/5") in urls and server.url("/a/8") in urls  # the broken feed still yields its item
    failures = {(f.url.rsplit("/", 1)[-1], f.reason) for f in found.failures}
    assert ("bomb-feed.xml", "not_a_feed") in failures
    assert server.url("/a/9") not in urls


def test_a_sitemap_index_pointing_at_itself_is_read_once(server, tmp_path):
    before = server.counts["/sitemap-index.xml"]
    found = discover([_source(server, sitemaps=[server.url("/sitemap-index.xml")])], _settings(tmp_path))
    assert server.counts["/sitemap-index.xml"] - before == 1
    assert found.urls["faulty"] == [server.url("/changing"), server.url("/a/10")]
    assert found.changed["faulty"][server.url("/changing")].year == 2020


def test_autodiscovery_and_listing_pages(server, tmp_path):
    source = _source(server, autodiscover_feeds=True,
                     listing_pages=[{"url": server.url("/section"), "link_pattern": r"/a/\d+$"}])
    found = discover([source], _settings(tmp_path))
    urls = found.urls["faulty"]
    assert server.url("/a/12") in urls and server.url("/a/13") in urls  # from the listing page
    assert server.url("/a/5") in urls  # from the feed the homepage announces
    assert not any("/about" in u or "example.com" in u for u in urls)
