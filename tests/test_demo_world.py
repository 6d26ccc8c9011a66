"""The demo news world and the benchmark world, over real HTTP on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import gzip
import json
import re
import socket
import threading
import time
import unicodedata
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

import feedparser
import lxml.html
import pytest
import yaml

import flows.demo_world.world as world_module
from flows.demo_world import GeneratedWorld, NewsWorld

SITES = world_module.SITES_DIR

try:
    from parsers.normalize import normalize_for_matching as normalise
except ImportError:  # pragma: no cover - a tiny local stand-in with the same rules
    _FOLD = str.maketrans({"ی": "ي", "ک": "ك", "ى": "ي", "أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه"})

    def normalise(text: str) -> str:
        text = unicodedata.normalize("NFKC", text)
        text = re.sub("[\u064b-\u065f\u0670\u0640\u200b-\u200f]", "", text).translate(_FOLD)
        text = "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in text)
        return " ".join(text.casefold().split())


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 10.0):
    """(status, headers, body) for a GET; HTTP errors are answers too."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    original = world_module.ALWEFAQ_MAIN
    if not original.exists():  # the page is written by someone else: placeholder for this run only
        placeholder = tmp_path_factory.mktemp("alwefaq") / "news-127845.html"
        placeholder.write_text(
            '<!DOCTYPE html><html lang="ar"><head><meta charset="utf-8"><title>placeholder</title></head>'
            "<body><h1>placeholder</h1><p>placeholder</p></body></html>",
            encoding="utf-8",
        )
        world_module.ALWEFAQ_MAIN = placeholder
    try:
        with NewsWorld(faults=True, slow_seconds=1.0) as w:
            yield w
    finally:
        world_module.ALWEFAQ_MAIN = original


def test_sources_shape_and_yaml(world, tmp_path):
    sources = world.sources()
    assert [s["name"] for s in sources] == world.sites
    assert {"alwefaq", "youm7", "khabaronline", "lbcgroup", "wakalat-digest", "faulty"} <= set(world.sites)
    ports = set()
    for s in sources:
        required = {"name", "homepage", "language", "timezone", "feeds", "allow_private_addresses"}
        assert required <= set(s) <= required | {"aliases"}
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", s["homepage"])
        assert s["feeds"] == [s["homepage"] + "rss.xml"]
        assert s["allow_private_addresses"] is True
        ports.add(urlsplit(s["homepage"]).port)
    assert len(ports) == len(sources)  # each site its own origin
    by_name = {s["name"]: s for s in sources}
    assert (by_name["alwefaq"]["language"], by_name["alwefaq"]["timezone"]) == ("ar", "Asia/Tehran")
    assert by_name["alwefaq"]["aliases"] == ["الوفاق"]
    assert (by_name["khabaronline"]["language"], by_name["khabaronline"]["timezone"]) == ("fa", "Asia/Tehran")
    assert by_name["youm7"]["timezone"] == "Africa/Cairo"
    path = tmp_path / "sources.yaml"
    world.write_sources_yaml(path)
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == {"sources": sources}


def test_every_feed_parses_and_lists_live_html_articles(world):
    for source in world.sources():
        if source["name"] == "faulty":
            continue
        status, headers, body = get(source["feeds"][0])
        assert status == 200 and "xml" in headers["Content-Type"]
        feed = feedparser.parse(body)
        assert not feed.bozo, (source["name"], feed.bozo_exception)
        links = [e.link for e in feed.entries]
        assert links and links == world.article_urls(source["name"])
        for entry in feed.entries:
            assert entry.title and entry.published_parsed and entry.id == entry.link
            assert entry.link.startswith(source["homepage"])
            status, headers, page = get(entry.link)
            assert status == 200, entry.link
            assert headers["Content-Type"] == "text/html; charset=utf-8"
            page.decode("utf-8")  # really UTF-8
        # the homepage links the articles and announces the feed
        status, _, home = get(source["homepage"])
        doc = lxml.html.fromstring(home.decode("utf-8"))
        assert doc.xpath('//link[@rel="alternate"][@type="application/rss+xml"]/@href') == source["feeds"]
        assert set(doc.xpath("//a/@href")) >= set(links)


def test_real_page_served_at_its_original_path(world):
    meta = json.loads(next((SITES / "youm7").glob("*.json")).read_text(encoding="utf-8"))
    raw = gzip.decompress(next((SITES / "youm7").glob("*.html.gz")).read_bytes())
    base = world.sources()[world.sites.index("youm7")]["homepage"].rstrip("/")
    path = urlsplit(meta["url"]).path
    encoded = quote(path)
    assert "%D9%88" in encoded  # really percent-encoded, as a browser sends it
    assert world.article_urls("youm7") == [base + encoded]
    status, headers, body = get(base + encoded)
    assert status == 200 and body == raw
    # the feed carries the truth's title and date
    entry = feedparser.parse(get(base + "/rss.xml")[2]).entries[0]
    assert entry.title == meta["title"]
    assert entry.published == "Mon, 24 Aug 2020 09:23:00 +0200"
    # the same path sent as raw UTF-8 bytes (no percent-encoding) is matched too
    port = urlsplit(base).port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET " + path.encode("utf-8") + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200")
    # gzip when asked for, and conditional GET
    status, headers, body = get(base + encoded, {"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == raw
    status, _, _ = get(base + encoded, {"If-None-Match": headers["ETag"]})
    assert status == 304
    # unknown paths are 404
    assert get(base + "/story/nothing-here")[0] == 404


def test_other_real_pages_match_their_files(world):
    for site in ("khabaronline", "lbcgroup"):
        raw = gzip.decompress(next((SITES / site).glob("*.html.gz")).read_bytes())
        (url,) = world.article_urls(site)
        assert get(url)[2] == raw
        assert (SITES / site / "PROVENANCE.md").exists()


def _blocks(page: bytes, container_xpath: str) -> list[str]:
    doc = lxml.html.fromstring(page.decode("utf-8"))
    (container,) = doc.xpath(container_xpath)
    texts = [" ".join(el.text_content().split()) for el in container.xpath("./p[not(@class)] | ./h3")]
    return [t for t in texts if t]


def test_second_outlet_copy_differs_raw_but_equals_normalised(world):
    seed_file = world_module.SEED_FILE
    seed_like = world_module.seed_body_blocks(seed_file.read_text(encoding="utf-8"))
    copy_url = next(u for u in world.article_urls("wakalat-digest") if "shanghai" in u)
    copy_page = get(copy_url)[2]
    assert b"SYNTHETIC" in copy_page
    blocks = _blocks(copy_page, '//div[@class="wd-text"]')
    copy_text = " ".join(blocks)
    assert blocks[0].startswith("وفی بیانهم") and blocks[-1].endswith("کازاخستان.")
    assert "ي" not in copy_text and "ك" not in copy_text and "ـ" in copy_text and "," in copy_text
    assert "\u00a0" not in copy_text
    assert "الوفاق" not in copy_page.decode("utf-8")

    # against the Al-Wefaq page served by the world (whatever its markup): raw differs,
    # normalised copy body is exactly a run of the normalised Al-Wefaq page text
    wefaq_url = [u for u in world.article_urls("alwefaq") if u.endswith("/news/127845")][0]
    wefaq_page = get(wefaq_url)[2]
    wefaq_text = " ".join(lxml.html.fromstring(wefaq_page.decode("utf-8")).xpath("//body")[0].text_content().split())
    assert "وفي بيانهم الختامي" in wefaq_text
    start = wefaq_text.index("وفي بيانهم الختامي")
    end = wefaq_text.index("مع كازاخستان.") + len("مع كازاخستان.")
    wefaq_body = wefaq_text[start:end]
    assert copy_text != wefaq_body
    assert normalise(copy_text) == normalise(wefaq_body)
    assert normalise(copy_text) == normalise(" ".join(seed_like))


def test_second_outlet_file_is_what_the_generator_makes():
    seed = world_module.SEED_FILE
    text = seed.read_text(encoding="utf-8")
    on_disk = (SITES / "wakalat-digest" / "shanghai-defence-ministers.html").read_text(encoding="utf-8")
    assert world_module.build_wakalat_copy(text) == on_disk
    copy_blocks = _blocks(on_disk.encode("utf-8"), '//div[@class="wd-text"]')
    seed_blocks = world_module.seed_body_blocks(text)
    assert len(copy_blocks) == len(seed_blocks)
    for copy, orig in zip(copy_blocks, seed_blocks):
        assert normalise(copy) == normalise(orig)


def test_faults(world, capfd):
    base = world.sources()[world.sites.index("faulty")]["homepage"].rstrip("/")
    urls = world.article_urls("faulty")
    assert {urlsplit(u).path for u in urls} == {"/article/weather", "/missing", "/slow", "/report.pdf"}
    assert get(base + "/article/weather")[0] == 200
    assert get(base + "/missing")[0] == 404
    status, headers, body = get(base + "/report.pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf" and body.startswith(b"%PDF")

    # a client that asks for /slow and hangs up at once must not upset the server
    port = urlsplit(base).port
    quitter = socket.create_connection(("127.0.0.1", port))
    quitter.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    quitter.close()

    result: dict[str, float] = {}

    def slow() -> None:
        t0 = time.monotonic()
        result["status"] = get(base + "/slow")[0]
        result["elapsed"] = time.monotonic() - t0

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    assert get(base + "/article/weather")[0] == 200  # not blocked by the slow answer
    assert time.monotonic() - t0 < 0.5
    t.join(5)
    assert result["status"] == 200 and result["elapsed"] >= 1.0
    time.sleep(0.1)
    assert get(base + "/")[0] == 200  # still serving
    assert "Traceback" not in capfd.readouterr().err


def test_no_request_logging(world, capfd):
    get(world.sources()[0]["homepage"])
    get(world.sources()[0]["homepage"] + "nothing")
    assert capfd.readouterr().err == ""


def test_generated_world_distinct_pages_with_latency(tmp_path):
    with GeneratedWorld(n_articles=24, n_hosts=3, latency_ms=60, seed=7) as gw:
        sources = gw.sources()
        assert len(sources) == 3 and len({s["homepage"] for s in sources}) == 3
        gw.write_sources_yaml(tmp_path / "bench.yaml")
        assert yaml.safe_load((tmp_path / "bench.yaml").read_text(encoding="utf-8"))["sources"] == sources
        urls = []
        for s in sources:
            feed = feedparser.parse(get(s["feeds"][0])[2])
            assert not feed.bozo and len(feed.entries) == 8
            urls += [e.link for e in feed.entries]
        assert len(set(urls)) == 24
        bodies = set()
        for url in urls[:6] + urls[-3:]:
            t0 = time.monotonic()
            status, headers, page = get(url)
            assert time.monotonic() - t0 >= 0.06
            assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
            doc = lxml.html.fromstring(page.decode("utf-8"))
            ld = json.loads(doc.xpath('//script[@type="application/ld+json"]')[0].text)
            assert ld["headline"] == doc.xpath("//h1")[0].text_content()
            assert ld["datePublished"]
            body = " ".join(p.text_content() for p in doc.xpath('//div[@class="wd-text"]/p[not(@class)]'))
            assert 2500 <= len(body.encode("utf-8")) <= 5000
            assert b"SYNTHETIC" in page
            bodies.add(normalise(body))
        assert len(bodies) == 9
        # an article asked for on the wrong host is a 404
        wrong = sources[1]["homepage"].rstrip("/") + urlsplit(urls[0]).path
        assert get(wrong)[0] == 404
    # same seed, same pages
    with GeneratedWorld(n_articles=4, n_hosts=1, latency_ms=0, seed=7) as a, GeneratedWorld(
        n_articles=4, n_hosts=1, latency_ms=0, seed=7
    ) as b:
        pa = get(a.article_urls("gen-00")[0])[2].decode("utf-8")
        pb = get(b.article_urls("gen-00")[0])[2].decode("utf-8")
        strip = lambda s: re.sub(r"http://127\.0\.0\.1:\d+", "", s)  # noqa: E731
        assert strip(pa) == strip(pb)
