"""The demo "news world": a few small news sites served on 127.0.0.1, each on its own port.

`NewsWorld` is what `akhbar demo`, the end-to-end tests and the examples ingest:

- ``alwefaq``: an Al-Wefaq-like Iranian Arabic daily; its main article is the founding example
  (``sites/alwefaq/news-127845.html`` served at ``/news/127845``) plus two short SYNTHETIC stories.
- ``youm7``, ``khabaronline``, ``lbcgroup``: one REAL page each, copied from the extraction
  development set (``../shared/eval/arabic-dev``, provenance kept beside each copy), served at
  the page's original path.
- ``wakalat-digest``: a SYNTHETIC second outlet with its own template, carrying the same agency
  story as the Al-Wefaq article in its own spelling habits (Persian ی/ک, tatweel, Latin commas,
  stray spaces), so exact-duplicate detection on normalised text must tie the two together.
- ``faulty`` (only with ``faults=True``): one good page, a 404, a slow page and a PDF.

Every site answers ``/`` (homepage linking its articles and its feed), ``/rss.xml`` (RSS 2.0
built with the live base URL) and ``/robots.txt`` (allow all). Stdlib only.

    with NewsWorld() as world:
        world.write_sources_yaml("sources.yaml")
        ...                                   # ingest
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import html
import json
import logging
import random
import re
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

__all__ = ["NewsWorld", "Site", "Resource", "FeedItem", "SITES_DIR", "build_wakalat_copy"]

log = logging.getLogger("akhbar.demo_world")

SITES_DIR = Path(__file__).resolve().parent / "sites"

#: Placeholder in synthetic page files, replaced by the site's live base URL (no trailing slash).
BASE_URL_TOKEN = "{{BASE_URL}}"

HTML_TYPE = "text/html; charset=utf-8"

#: The founding example page (written by hand from the Al-Wefaq article); served at /news/127845.
ALWEFAQ_MAIN = SITES_DIR / "alwefaq" / "news-127845.html"

# Connection errors that only mean "the client went away": never worth a traceback.
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


# --------------------------------------------------------------------------------------------
# Sites and what they serve
# --------------------------------------------------------------------------------------------


@dataclass
class Resource:
    """One answer: status, content type and body (``gz`` = the same body gzipped, if at hand)."""

    body: bytes
    content_type: str = HTML_TYPE
    status: int = 200
    delay: float = 0.0  # seconds to wait before sending headers (the slow page)
    gz: bytes | None = None
    last_modified: datetime | None = None
    etag: str | None = None

    def __post_init__(self) -> None:
        if self.etag is None and self.status == 200:
            self.etag = '"' + hashlib.sha1(self.body).hexdigest()[:20] + '"'


@dataclass
class FeedItem:
    """An article the site's feed lists. ``path`` is the decoded path (may hold Arabic)."""

    path: str
    title: str
    published: datetime
    summary: str = ""


class Site:
    """One origin: a name, its metadata, its routes and its feed items.

    Subclasses may override `resolve` (pages made on the fly) and `feed_items`.
    """

    def __init__(
        self,
        name: str,
        *,
        title: str,
        language: str,
        timezone: str,
        description: str = "",
        latency: float = 0.0,
        aliases: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.aliases = aliases
        self.title = title
        self.language = language
        self.timezone = timezone
        self.description = description or title
        self.latency = latency
        self.routes: dict[str, Resource] = {}
        self.items: list[FeedItem] = []
        self.base_url = ""  # "http://127.0.0.1:PORT", set when the server is bound
        self._generated: dict[str, Resource] = {}
        self._lock = threading.Lock()

    # -- building ---------------------------------------------------------------------------

    def add(self, path: str, resource: Resource, item: FeedItem | None = None) -> None:
        self.routes[path] = resource
        if item is not None:
            self.items.append(item)

    # -- serving ----------------------------------------------------------------------------

    def feed_items(self) -> list[FeedItem]:
        return sorted(self.items, key=lambda it: it.published, reverse=True)

    def url(self, path: str) -> str:
        """The live URL of a decoded path, percent-encoded as a browser sends it."""
        return self.base_url + quote(path, safe="/-._~!$&'()*+,;=:@")

    def resolve(self, path: str) -> Resource | None:
        """The resource at a decoded path, or None (404)."""
        resource = self.routes.get(path)
        if resource is not None:
            return resource
        if path in ("/", "/rss.xml", "/robots.txt"):
            with self._lock:
                if path not in self._generated:
                    self._generated[path] = self._make_generated(path)
                return self._generated[path]
        return None

    def _make_generated(self, path: str) -> Resource:
        if path == "/":
            return Resource(self.homepage_html().encode("utf-8"))
        if path == "/rss.xml":
            return Resource(self.rss_xml().encode("utf-8"), "application/rss+xml; charset=utf-8")
        return Resource(b"User-agent: *\nAllow: /\n", "text/plain; charset=utf-8")

    def homepage_html(self) -> str:
        esc = html.escape
        items = "\n".join(
            f'    <li><a href="{esc(self.url(it.path))}">{esc(it.title)}</a> '
            f'<time datetime="{it.published.isoformat()}">{it.published.date().isoformat()}</time></li>'
            for it in self.feed_items()
        )
        direction = "rtl" if self.language in ("ar", "fa", "ur", "he") else "ltr"
        return f"""<!DOCTYPE html>
<html lang="{self.language}" dir="{direction}">
<head>
<meta charset="utf-8">
<title>{esc(self.title)}</title>
<meta name="description" content="{esc(self.description)}">
<link rel="alternate" type="application/rss+xml" title="{esc(self.title)}" href="{esc(self.base_url)}/rss.xml">
</head>
<body>
<!-- akhbar demo world: homepage of the local test site "{esc(self.name)}" -->
<header><h1><a href="{esc(self.base_url)}/">{esc(self.title)}</a></h1></header>
<main>
  <h2>آخر الأخبار</h2>
  <ul class="latest">
{items}
  </ul>
</main>
<footer><a href="{esc(self.base_url)}/rss.xml">RSS</a></footer>
</body>
</html>
"""

    def rss_xml(self) -> str:
        esc = html.escape
        parts = []
        for it in self.feed_items():
            link = esc(self.url(it.path))
            parts.append(
                "    <item>\n"
                f"      <title>{esc(it.title)}</title>\n"
                f"      <link>{link}</link>\n"
                f"      <description>{esc(it.summary)}</description>\n"
                f"      <pubDate>{email.utils.format_datetime(it.published)}</pubDate>\n"
                f'      <guid isPermaLink="true">{link}</guid>\n'
                "    </item>"
            )
        items = "\n".join(parts)
        feed = self.feed_items()
        last = feed[0].published if feed else None
        last_build = f"    <lastBuildDate>{email.utils.format_datetime(last)}</lastBuildDate>\n" if last else ""
        return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
  <channel>
    <title>{esc(self.title)}</title>
    <link>{esc(self.base_url)}/</link>
    <description>{esc(self.description)}</description>
    <language>{esc(self.language)}</language>
{last_build}{items}
  </channel>
</rss>
"""

    def source(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "homepage": self.base_url + "/",
            "language": self.language,
            "timezone": self.timezone,
            "feeds": [self.base_url + "/rss.xml"],
            "allow_private_addresses": True,
            **({"aliases": list(self.aliases)} if self.aliases else {}),
        }


# --------------------------------------------------------------------------------------------
# HTTP server: one ThreadingHTTPServer per site
# --------------------------------------------------------------------------------------------


def _decode_request_path(raw: str) -> str:
    """Request target → decoded path. Accepts percent-encoded and raw UTF-8 (latin-1-read) forms."""
    path = urlsplit(raw).path or "/"
    try:
        path = path.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return unquote(path, encoding="utf-8", errors="replace")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real sites do; every answer has a length
    # Headers and body leave in two writes: with Nagle's algorithm on, the body waits for the
    # client's delayed ACK of the headers (~40 ms on Linux) and every answer took latency + 40 ms.
    disable_nagle_algorithm = True
    server_version = "akhbar-demo/1.0"
    sys_version = ""
    timeout = 15  # idle keep-alive connections are dropped after this many seconds

    server: "_SiteServer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # no per-request line on stderr

    def parse_request(self) -> bool:
        # A raw (not percent-encoded) UTF-8 path would be split on bytes such as 0x85 or 0xA0,
        # which are whitespace in latin-1: percent-encode non-ASCII bytes first.
        self.raw_requestline = re.sub(
            rb"[\x80-\xff]", lambda m: b"%%%02X" % m.group()[0], self.raw_requestline
        )
        return super().parse_request()

    def do_GET(self) -> None:  # noqa: N802
        self._answer(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(head=True)

    def _answer(self, *, head: bool) -> None:
        try:
            site = self.server.site
            if site.latency and self.server.stopping.wait(site.latency):
                self.close_connection = True
                return
            path = _decode_request_path(self.path)
            resource = site.resolve(path)
            if resource is None:
                resource = Resource(_NOT_FOUND, status=404)
            if resource.delay and self.server.stopping.wait(resource.delay):
                self.close_connection = True
                return
            self._send(resource, head=head)
        except _CLIENT_GONE:
            self.close_connection = True

    def _send(self, resource: Resource, *, head: bool) -> None:
        if (
            resource.status == 200
            and resource.etag
            and resource.etag in (self.headers.get("If-None-Match") or "")
        ):
            self.send_response(304)
            self.send_header("ETag", resource.etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = resource.body
        encoding = None
        if resource.gz is not None and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body, encoding = resource.gz, "gzip"
        self.send_response(resource.status)
        self.send_header("Content-Type", resource.content_type)
        self.send_header("Content-Length", str(len(body)))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        if resource.gz is not None:
            self.send_header("Vary", "Accept-Encoding")
        if resource.etag:
            self.send_header("ETag", resource.etag)
        if resource.last_modified is not None:
            self.send_header(
                "Last-Modified", email.utils.format_datetime(resource.last_modified.astimezone(UTC), usegmt=True)
            )
        self.end_headers()
        if not head:
            self.wfile.write(body)


_NOT_FOUND = (
    b'<!DOCTYPE html>\n<html lang="ar"><head><meta charset="utf-8"><title>404</title></head>'
    b"<body><h1>404</h1><p>\xd8\xa7\xd9\x84\xd8\xb5\xd9\x81\xd8\xad\xd8\xa9 \xd8\xba\xd9\x8a\xd8\xb1 "
    b"\xd9\x85\xd9\x88\xd8\xac\xd9\x88\xd8\xaf\xd8\xa9</p></body></html>\n"
)


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, site: Site) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.site = site
        self.stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        site.base_url = f"http://127.0.0.1:{self.server_address[1]}"

    # track open connections so that stop() can cut idle keep-alive ones
    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, _CLIENT_GONE) or self.stopping.is_set():
            return
        log.debug("demo site %s: error while answering %s", self.site.name, client_address, exc_info=True)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"demo-site-{self.site.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()


class _World:
    """Shared machinery: start one server per site, hand out sources, stop them all."""

    def __init__(self) -> None:
        self._sites: list[Site] = []
        self._servers: list[_SiteServer] = []

    def _build_sites(self) -> list[Site]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._servers:
            return
        self._sites = self._build_sites()
        try:
            for site in self._sites:
                server = _SiteServer(site)
                self._servers.append(server)
                server.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        servers, self._servers = self._servers, []
        for server in servers:
            server.stopping.set()
        for server in servers:
            server.stop()

    @property
    def sites(self) -> list[str]:
        return [s.name for s in self._sites]

    def site(self, name: str) -> Site:
        for s in self._sites:
            if s.name == name:
                return s
        raise KeyError(name)

    def sources(self) -> list[dict[str, Any]]:
        if not self._servers:
            raise RuntimeError("the world is not running: use it as a context manager")
        return [s.source() for s in self._sites]

    def write_sources_yaml(self, path: str | Path) -> None:
        import yaml

        Path(path).write_text(
            yaml.safe_dump({"sources": self.sources()}, allow_unicode=True, sort_keys=False),
            encoding="utf-8",
        )

    def article_urls(self, site: str) -> list[str]:
        """The article URLs the site's feed lists (percent-encoded, newest first)."""
        s = self.site(site)
        return [s.url(it.path) for it in s.feed_items()]


# --------------------------------------------------------------------------------------------
# The demo world's sites
# --------------------------------------------------------------------------------------------

SEED_TITLE = "وزراء الدفاع بمنظمة شنغهاي يدينون العدوان على القنصلية"
SEED_LEAD = (
    "أدان وزراء دفاع الدول الأعضاء في منظمة شنغهاي للتعاون، في اجتماعهم الـ21 في العاصمة "
    "الكازاخستانية أستانا، الهجوم الإسرائيلي على القنصلية الإيرانية في دمشق قبل فترة."
)


def _dt(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def _page_resource(site: Site, file: Path, published: datetime | None = None) -> Resource:
    data = file.read_bytes()
    if file.suffix == ".gz":
        return Resource(gzip.decompress(data), gz=data, last_modified=published)
    if BASE_URL_TOKEN.encode() in data:
        data = data.replace(BASE_URL_TOKEN.encode(), site.base_url.encode())
    return Resource(data, last_modified=published)


@dataclass
class _PageSpec:
    path: str
    file: Path
    title: str
    published: datetime
    summary: str = ""


class _StaticSite(Site):
    """A site whose pages are files; resources are read when the server has its port."""

    def __init__(self, name: str, pages: list[_PageSpec], **kw: Any) -> None:
        super().__init__(name, **kw)
        self.pages = pages
        self._loaded = False
        for p in pages:
            self.items.append(FeedItem(p.path, p.title, p.published, p.summary))

    def resolve(self, path: str) -> Resource | None:
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    for p in self.pages:
                        self.routes[p.path] = _page_resource(self, p.file, p.published)
                    self._loaded = True
        return super().resolve(path)


def _real_site(name: str, directory: str, *, title: str, timezone: str) -> _StaticSite:
    """A site made of the real page(s) in ``sites/<directory>`` served at their original paths."""
    pages = []
    language = "ar"
    for meta_file in sorted((SITES_DIR / directory).glob("*.json")):
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        language = meta.get("language", language)
        page_file = meta_file.with_suffix(".html.gz")
        path = unquote(urlsplit(meta["url"]).path)
        pages.append(
            _PageSpec(path, page_file, meta["title"], _dt(meta["published"]["iso"]), meta.get("lead_or_subtitle") or "")
        )
    return _StaticSite(name, pages, title=title, language=language, timezone=timezone)


def _alwefaq_site() -> _StaticSite:
    d = SITES_DIR / "alwefaq"
    main = ALWEFAQ_MAIN
    if not main.exists():
        raise FileNotFoundError(f"the Al-Wefaq demo article is missing: {main}")
    pages = [
        _PageSpec("/news/127845", main, SEED_TITLE, _alwefaq_date(main), SEED_LEAD),
    ]
    for extra in sorted(d.glob("news-*.html")):
        if extra.name == "news-127845.html":
            continue
        meta = _page_meta(extra)
        pages.append(_PageSpec("/news/" + extra.stem.split("-", 1)[1], extra, meta["title"], meta["published"], meta["summary"]))
    return _StaticSite(
        "alwefaq",
        pages,
        title="الوفاق",
        aliases=("الوفاق",),
        description="صحيفة الوفاق (موقع تجريبي محلي لـ akhbar)",
        language="ar",
        timezone="Asia/Tehran",
    )


def _alwefaq_date(main: Path) -> datetime:
    """The main article's date: its JSON-LD/meta date if it states one, else 09:00 Tehran that day."""
    text = main.read_text(encoding="utf-8", errors="replace")
    m = re.search(r'"datePublished"\s*:\s*"([^"]+)"', text) or re.search(
        r'article:published_time"\s+content="([^"]+)"', text
    )
    if m:
        try:
            value = datetime.fromisoformat(m.group(1).replace("Z", "+00:00"))
            if value.tzinfo is not None:
                return value
        except ValueError:
            pass
    return _dt("2024-04-27T09:00:00+03:30")


def _page_meta(file: Path) -> dict[str, Any]:
    """Title, date and summary of a synthetic page, read from its JSON-LD (our own files only)."""
    text = file.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/ld\+json">(.*?)</script>', text, re.S)
    data = json.loads(m.group(1)) if m else {}
    if isinstance(data, list):
        data = data[0]
    title = data.get("headline") or re.search(r"<h1[^>]*>(.*?)</h1>", text, re.S).group(1).strip()
    return {
        "title": html.unescape(title),
        "published": _dt(data["datePublished"]),
        "summary": data.get("description", ""),
    }


def _wakalat_site() -> _StaticSite:
    d = SITES_DIR / "wakalat-digest"
    pages = []
    for file in sorted(d.glob("*.html")):
        meta = _page_meta(file)
        path = "/a/" + meta["published"].date().isoformat() + "/" + file.stem
        pages.append(_PageSpec(path, file, meta["title"], meta["published"], meta["summary"]))
    return _StaticSite(
        "wakalat-digest",
        pages,
        title="وكالات دايجست",
        description="موجز أخبار الوكالات (موقع تجريبي محلي لـ akhbar)",
        language="ar",
        timezone="Asia/Beirut",
    )


_PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


def _faulty_site(slow_seconds: float) -> Site:
    site = _StaticSite(
        "faulty",
        [
            _PageSpec(
                "/article/weather",
                SITES_DIR / "faulty" / "weather.html",
                "نشرة الطقس: أجواء ربيعية معتدلة مع فرص لأمطار خفيفة",
                _dt("2024-04-27T08:00:00+00:00"),
            )
        ],
        title="موقع الأعطال",
        description="موقع تجريبي فيه صفحات معطوبة عمداً (404، بطء، PDF)",
        language="ar",
        timezone="UTC",
    )
    slow_page = (SITES_DIR / "faulty" / "slow.html").read_bytes()
    site.routes["/slow"] = Resource(slow_page, delay=slow_seconds)
    site.routes["/report.pdf"] = Resource(_PDF_BYTES, "application/pdf")
    site.items += [
        FeedItem("/missing", "صفحة محذوفة", _dt("2024-04-27T07:00:00+00:00")),
        FeedItem("/slow", "صفحة بطيئة: تقرير مطوّل عن حركة الموانئ", _dt("2024-04-27T06:00:00+00:00")),
        FeedItem("/report.pdf", "التقرير السنوي (PDF)", _dt("2024-04-27T05:00:00+00:00")),
    ]
    return site


class NewsWorld(_World):
    """Context manager: starts one HTTP server per site on 127.0.0.1 (random ports), stops them on exit.

    ``faults=True`` adds the ``faulty`` site (404, slow page after ``slow_seconds``, a PDF).
    """

    def __init__(self, *, faults: bool = False, slow_seconds: float = 5.0) -> None:
        super().__init__()
        self.faults = faults
        self.slow_seconds = slow_seconds

    def _build_sites(self) -> list[Site]:
        sites: list[Site] = [
            _alwefaq_site(),
            _real_site("youm7", "youm7", title="اليوم السابع", timezone="Africa/Cairo"),
            _real_site("khabaronline", "khabaronline", title="خبرآنلاین", timezone="Asia/Tehran"),
            _real_site("lbcgroup", "lbcgroup", title="LBCI", timezone="Asia/Beirut"),
            _wakalat_site(),
        ]
        if self.faults:
            sites.append(_faulty_site(self.slow_seconds))
        return sites

    def __enter__(self) -> "NewsWorld":
        self.start()
        return self


# --------------------------------------------------------------------------------------------
# The second outlet's copy of the agency story (`python -m flows.demo_world.world regenerate`)
# --------------------------------------------------------------------------------------------

SEED_FILE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "seed" / "alwefaq-2024-04-27.txt"

# letters that join to the following letter: a tatweel may follow them
_DUAL_JOINING = set("بتثجحخسشصضطظعغفقكلمنهيیکپچگئ")


def seed_body_blocks(seed_text: str) -> list[str]:
    """The body blocks of the seed article: from «وفي بيانهم الختامي» to «مع كازاخستان.»."""
    lines = [ln.strip() for ln in seed_text.splitlines()]
    start = next(i for i, ln in enumerate(lines) if ln.startswith("وفي بيانهم الختامي"))
    end = next(i for i, ln in enumerate(lines) if ln.endswith("مع كازاخستان."))
    return [ln for ln in lines[start : end + 1] if ln.strip("\u00a0 \t")]


def respell(text: str, rng: random.Random, *, tatweel: int = 1, commas: float = 0.5, spaces: float = 0.06) -> str:
    """The second outlet's spelling habits; only characters that normalisation removes change.

    ي→ی and ك→ک everywhere; tatweel inside ``tatweel`` words; some «،» → «,»; some doubled
    spaces and a space before some punctuation.
    """
    text = text.replace("ي", "ی").replace("ك", "ک")
    words = text.split(" ")
    candidates = [
        i
        for i, w in enumerate(words)
        if len(w) >= 5 and any(w[j] in _DUAL_JOINING and "\u0621" <= w[j + 1] <= "\u06ff" for j in range(1, len(w) - 2))
    ]
    for i in rng.sample(candidates, min(tatweel, len(candidates))):
        w = words[i]
        slots = [j for j in range(1, len(w) - 2) if w[j] in _DUAL_JOINING and "\u0621" <= w[j + 1] <= "\u06ff"]
        j = rng.choice(slots)
        words[i] = w[: j + 1] + "ـ" * rng.choice((1, 2)) + w[j + 1 :]
    out = []
    for k, w in enumerate(words):
        if "،" in w and rng.random() < commas:
            w = w.replace("،", ",")
        if w and w[-1] in ".:؛،," and rng.random() < spaces * 2:
            w = w[:-1] + " " + w[-1]
        out.append(w)
        if k < len(words) - 1:
            out.append("  " if rng.random() < spaces else " ")
    return "".join(out)


WAKALAT_HEADLINE = "وزراء دفاع «شنغهاي» يدينون الهجوم الإسرائيلي على القنصلية الإيرانية في دمشق"


def build_wakalat_copy(seed_text: str) -> str:
    """The HTML of wakalat-digest's copy of the agency story (deterministic)."""
    rng = random.Random(20240427)
    blocks = seed_body_blocks(seed_text)
    body = []
    for block in blocks:
        if block.startswith("*"):
            body.append(f'    <h3 class="wd-inter">{html.escape(respell(block.lstrip("* "), rng, tatweel=0, spaces=0))}</h3>')
        else:
            body.append(f"    <p>{html.escape(respell(block, rng))}</p>")
    headline = respell(WAKALAT_HEADLINE, rng, tatweel=0, spaces=0)
    description = respell(
        "وزراء دفاع الدول الأعضاء في منظمة شنغهاي للتعاون يدينون في ختام اجتماعهم في أستانا الهجوم على القنصلية الإيرانية في دمشق.",
        rng,
        tatweel=0,
        spaces=0,
    )
    return _wakalat_page(
        slug="shanghai-defence-ministers",
        headline=headline,
        description=description,
        section="دولي",
        published="2024-04-27T13:10:00+03:00",
        visible_date="السبت 27 نيسان 2024 - 13:10",
        body="\n".join(body),
        credit="(وكالات)",
        comment="SYNTHETIC: akhbar demo world. Agency story also carried by Al-Wefaq (news/127845), "
        "re-spelled by this invented outlet (Persian ی/ک, tatweel, Latin commas, extra spaces) "
        "without adding or dropping a word. Generated by flows/demo_world/world.py (build_wakalat_copy).",
        related=[("beirut-heritage-festival", "مهرجان للتراث الشعبي في بيروت يجمع حرفيين من خمس دول", "2024-04-26")],
    )


def _wakalat_page(
    *,
    slug: str,
    headline: str,
    description: str,
    section: str,
    published: str,
    visible_date: str,
    body: str,
    credit: str,
    comment: str,
    related: list[tuple[str, str, str]],
) -> str:
    """The wakalat-digest template (also the template of the benchmark world's pages)."""
    esc = html.escape
    day = published[:10]
    url = f"{BASE_URL_TOKEN}/a/{day}/{slug}"
    jsonld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": headline,
            "description": description,
            "datePublished": published,
            "dateModified": published,
            "inLanguage": "ar",
            "articleSection": section,
            "mainEntityOfPage": {"@type": "WebPage", "@id": url},
            "author": {"@type": "Organization", "name": "وكالات"},
            "publisher": {"@type": "Organization", "name": "وكالات دايجست"},
        },
        ensure_ascii=False,
        indent=1,
    )
    rel = "\n".join(
        f'      <li><a href="{BASE_URL_TOKEN}/a/{d}/{s}">{esc(t)}</a> <span class="wd-when">{d}</span></li>'
        for s, t, d in related
    )
    return f"""<!DOCTYPE html>
<html lang="ar" dir="rtl">
<head>
<meta charset="utf-8">
<!-- {comment} -->
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(headline)} | وكالات دايجست</title>
<meta name="description" content="{esc(description)}">
<link rel="canonical" href="{url}">
<meta property="og:type" content="article">
<meta property="og:title" content="{esc(headline)}">
<meta property="og:url" content="{url}">
<meta property="og:site_name" content="وكالات دايجست">
<link rel="alternate" type="application/rss+xml" title="وكالات دايجست" href="{BASE_URL_TOKEN}/rss.xml">
<script type="application/ld+json">{jsonld}</script>
</head>
<body class="wd">
<header class="wd-top">
  <a class="wd-logo" href="{BASE_URL_TOKEN}/">وكالات دايجست</a>
  <nav class="wd-nav"><a href="{BASE_URL_TOKEN}/">الرئيسية</a> <a href="{BASE_URL_TOKEN}/">دولي</a> <a href="{BASE_URL_TOKEN}/">اقتصاد</a> <a href="{BASE_URL_TOKEN}/">ثقافة</a></nav>
</header>
<main class="wd-main">
  <article class="wd-story">
    <div class="wd-meta"><span class="wd-section">{esc(section)}</span> · <time datetime="{published}">{esc(visible_date)}</time></div>
    <h1 class="wd-headline">{esc(headline)}</h1>
    <div class="wd-text">
{body}
    <p class="wd-source">{esc(credit)}</p>
    </div>
  </article>
  <aside class="wd-more">
    <h2>اقرأ أيضاً</h2>
    <ul>
{rel}
    </ul>
  </aside>
</main>
<footer class="wd-foot">© 2024 وكالات دايجست · موقع تجريبي لا ينشر أخباراً حقيقية</footer>
</body>
</html>
"""


def _write_wakalat_pages() -> None:
    d = SITES_DIR / "wakalat-digest"
    d.mkdir(parents=True, exist_ok=True)
    copy = build_wakalat_copy(SEED_FILE.read_text(encoding="utf-8"))
    (d / "shanghai-defence-ministers.html").write_text(copy, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """``python -m flows.demo_world.world [serve [--faults]] | regenerate``."""
    import sys
    import time

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["regenerate"]:  # rewrite the second outlet's copy from the seed text
        _write_wakalat_pages()
        print("wrote", SITES_DIR / "wakalat-digest" / "shanghai-defence-ministers.html")
        return
    with NewsWorld(faults="--faults" in args) as world:
        for source in world.sources():
            print(f"{source['name']:16} {source['homepage']}")
        print("serving; Ctrl-C to stop")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
