"""A fault-injecting HTTP server for the fetcher tests (stdlib ThreadingHTTPServer on 127.0.0.1).

Every request is logged (path, start, end, requests in flight when it started), so the tests
can check politeness from the server's side: in-flight per host, delays between starts, paths
never requested. Routes (see `FaultyServer._route`):

    /robots.txt             Disallow: /private/ (and a Crawl-delay when given one)
    /a/<n>                  a real-looking Arabic article (synthetic, from the benchmark world)
    /changing               an article whose body changes when `server.version` is bumped
    /slow-headers           headers only after `stall` seconds
    /stall                  headers and part of the body, then silence for `stall` seconds
    /reset                  the connection is reset (RST) before any answer
    /429                    429 with Retry-After: 1 the first time, then the article
    /503-burst              503 twice, then the article
    /500                    500 forever
    /loop-a, /loop-b        a redirect loop
    /to-metadata            302 to http://169.254.169.254/latest/meta-data/
    /to-private             302 to http://10.0.0.1/admin
    /huge                   a 50 MB page, streamed without Content-Length
    /gzip-bomb              Content-Encoding: gzip of 200 MB of zeros (~200 KB on the wire)
    /pdf                    a PDF served as text/html
    /cp1256                 an Arabic page in windows-1256 whose header says utf-8
    /feed.xml               RSS listing articles (and /private/secret, which robots forbids)
    /broken-feed.xml        RSS with broken XML
    /bomb-feed.xml          RSS with a billion-laughs entity bomb
    /faults                 a listing page linking to every fault above (see FAULTS)
    /sitemap-index.xml      a sitemap index listing itself and /news-sitemap.xml.gz
    /news-sitemap.xml.gz    a gzip Google News sitemap with lastmod of /changing
    /home                   a homepage announcing /feed.xml with <link rel="alternate">
    /section                a listing page linking to articles and elsewhere
    /private/...            must never be requested
"""

from __future__ import annotations

import gzip
import select
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from flows.demo_world.generated import GeneratedWorld

_WORLD = GeneratedWorld(n_articles=40, n_hosts=1)


def _bomb(size: int = 200_000_000) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * 1_000_000
    return b"".join(z.compress(block) for _ in range(size // len(block))) + z.flush()


_BOMB = _bomb()
_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
_CP1256_TEXT = (
    "<!DOCTYPE html><html lang='ar' dir='rtl'><head><title>مرفأ بيروت يستعيد نشاطه</title></head><body>"
    "<article><h1>مرفأ بيروت يستعيد نشاطه بعد سنوات من التوقف</h1>"
    + "".join(f"<p>قال مدير المرفأ إن حركة السفن ارتفعت بنسبة كبيرة خلال الأشهر الماضية، وإن الخطة الجديدة "
              f"تشمل توسيع الأرصفة وتحديث الرافعات وتحسين الخدمات للمصدرين والمستوردين في المرحلة {i}.</p>"
              for i in range(1, 7))
    + "</article></body></html>"
)


#: Linked from the listing page /faults: (path, expected outcome in a run's summary, reason)
FAULTS = {
    "/slow-headers": ("failed", "timeout"),
    "/stall": ("failed", "timeout"),
    "/reset": ("failed", "connect_error"),
    "/500": ("failed", "http_500"),
    "/loop-a": ("failed", "redirect_loop"),
    "/to-metadata": ("skipped", "private_address"),
    "/to-private": ("skipped", "private_address"),
    "/huge": ("skipped", "too_large"),
    "/gzip-bomb": ("skipped", "decompression_bomb"),
    "/pdf": ("skipped", "not_html"),
    "/private/listed": ("skipped", "robots"),
    "/429": ("new", None),
    "/503-burst": ("new", None),
    "/cp1256": ("new", None),
}
FAULT_PATHS = list(FAULTS)


@dataclass
class Hit:
    path: str
    start: float
    end: float
    in_flight: int
    user_agent: str


class FaultyServer:
    def __init__(self, crawl_delay: float | None = None, stall: float = 2.0, latency: float = 0.0) -> None:
        self.crawl_delay = crawl_delay
        self.stall = stall
        self.latency = latency
        self.version = 1
        self.lock = threading.Lock()
        self.hits: list[Hit] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.counts: Counter = Counter()
        self.not_modified = 0
        self.bytes_sent: Counter = Counter()
        self._server = self._make()
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> "FaultyServer":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def paths(self) -> list[str]:
        with self.lock:
            return [h.path for h in self.hits]

    def hits_for(self, path: str, n: int, timeout: float = 2.0) -> list[Hit]:
        """The first `n` logged requests of `path`. A request is logged when its handler has
        finished, which can be a moment after the client already has the answer: wait for it."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [h for h in self.hits if h.path == path]
            if len(found) >= n or time.monotonic() >= deadline:
                return found[:n]
            time.sleep(0.01)

    def article_html(self, i: int) -> bytes:
        return _WORLD.page(i, self.base).body

    # -- the server ---------------------------------------------------------------------------
    def _make(self) -> ThreadingHTTPServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                start = time.monotonic()
                with outer.lock:
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                    outer.counts[self.path] += 1
                    n = outer.counts[self.path]
                    flight = outer.in_flight
                self.in_flight = True  # until the answer goes out (`_done`) or the handler ends
                try:
                    if outer.latency:
                        time.sleep(outer.latency)
                    outer._route(self, self.path, n)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                finally:
                    outer._done(self)
                    with outer.lock:
                        outer.hits.append(Hit(self.path, start, time.monotonic(), flight,
                                              self.headers.get("User-Agent", "")))

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.handle_error = lambda request, client_address: None  # resets and cut-offs are the point
        return server

    @staticmethod
    def _wait_or_gone(h: BaseHTTPRequestHandler, seconds: float) -> None:
        """Stall for `seconds`, but stop as soon as the client hangs up (so that the log's end
        times say when the client let go, as a real server would see it)."""
        ready, _, _ = select.select([h.connection], [], [], seconds)
        if ready and h.connection.recv(1, socket.MSG_PEEK) == b"":
            raise ConnectionResetError("client gone")

    def concurrency(self, tolerance: float = 0.01) -> int:
        """The most requests that overlapped in time, from the log (ends moved `tolerance` s earlier:
        the server notices a hang-up a moment after the client)."""
        with self.lock:
            events = [(h.start, 1) for h in self.hits] + [(max(h.start, h.end - tolerance), -1) for h in self.hits]
        best = cur = 0
        for _, d in sorted(events, key=lambda e: (e[0], e[1])):
            cur += d
            best = max(best, cur)
        return best

    def _done(self, h: BaseHTTPRequestHandler) -> None:
        """The request no longer counts as in flight. Called just before a whole answer is
        written: the client may start its next request the moment it has read it, on another
        connection, before this handler's thread could count this one done."""
        with self.lock:
            if getattr(h, "in_flight", False):
                h.in_flight = False
                self.in_flight -= 1

    def _send(self, h: BaseHTTPRequestHandler, status: int, ctype: str, body: bytes,
              headers: dict[str, str] | None = None) -> None:
        self._done(h)
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)
        with self.lock:
            self.bytes_sent[h.path] += len(body)

    def _redirect(self, h: BaseHTTPRequestHandler, location: str) -> None:
        self._send(h, 302, "text/html", b"", {"Location": location})

    def _route(self, h: BaseHTTPRequestHandler, path: str, n: int) -> None:  # noqa: C901 - a table of faults
        html = "text/html; charset=utf-8"
        if path == "/robots.txt":
            rules = "User-agent: *\nDisallow: /private/\n"
            if self.crawl_delay:
                rules += f"Crawl-delay: {self.crawl_delay}\n"
            self._send(h, 200, "text/plain", rules.encode())
        elif path.startswith("/a/"):
            self._send(h, 200, html, self.article_html(int(path[3:])))
        elif path == "/changing":
            body = self.article_html(31).decode()
            if self.version > 1:  # the same story, corrected after publication
                body = body.replace("<p>", "<p>تصحيح: عدّلت هذه الفقرة بعد النشر لتوضيح الأرقام الواردة فيها.</p>\n    <p>", 1)
            self._send(h, 200, html, body.encode())
        elif path == "/faults":
            links = "".join(f"<a href='{p}'>{p}</a>" for p in FAULT_PATHS)
            self._send(h, 200, html, f"<html><body>{links}</body></html>".encode())
        elif path == "/slow-headers":
            self._wait_or_gone(h, self.stall)
            self._send(h, 200, html, self.article_html(1))
        elif path == "/stall":
            body = self.article_html(2)
            h.send_response(200)
            h.send_header("Content-Type", html)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body[:500])
            h.wfile.flush()
            self._wait_or_gone(h, self.stall)
            h.close_connection = True
        elif path == "/reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.close_connection = True
            h.connection.close()
        elif path == "/429":
            if n == 1:
                self._send(h, 429, "text/plain", b"slow down", {"Retry-After": "1"})
            else:
                self._send(h, 200, html, self.article_html(3))
        elif path == "/503-burst":
            if n <= 2:
                self._send(h, 503, "text/plain", b"busy")
            else:
                self._send(h, 200, html, self.article_html(4))
        elif path == "/500":
            self._send(h, 500, "text/plain", b"broken")
        elif path == "/loop-a":
            self._redirect(h, "/loop-b")
        elif path == "/loop-b":
            self._redirect(h, "/loop-a")
        elif path == "/to-metadata":
            self._redirect(h, "http://169.254.169.254/latest/meta-data/")
        elif path == "/to-private":
            self._redirect(h, "http://10.0.0.1/admin")
        elif path == "/huge":
            h.send_response(200)
            h.send_header("Content-Type", html)
            h.send_header("Connection", "close")
            h.end_headers()
            chunk = b"<p>" + b"x" * 65_530 + b"</p>"
            h.close_connection = True
            for _ in range(50_000_000 // len(chunk)):
                h.wfile.write(chunk)
                with self.lock:
                    self.bytes_sent[path] += len(chunk)
        elif path == "/gzip-bomb":
            self._send(h, 200, html, _BOMB, {"Content-Encoding": "gzip"})
        elif path == "/pdf":
            self._send(h, 200, "text/html", _PDF)
        elif path == "/cp1256":
            self._send(h, 200, "text/html; charset=utf-8", _CP1256_TEXT.encode("cp1256"))
        elif path == "/feed.xml":
            items = "".join(f"<item><title>t{i}</title><link>{self.base}/a/{i}</link></item>" for i in range(5, 8))
            items += f"<item><title>secret</title><link>{self.base}/private/secret</link></item>"
            body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{items}</channel></rss>'
            etag = '"feed-v1"'
            if h.headers.get("If-None-Match") == etag:
                with self.lock:
                    self.not_modified += 1
                h.send_response(304)
                h.send_header("ETag", etag)
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            self._send(h, 200, "application/rss+xml", body.encode(), {"ETag": etag})
        elif path == "/broken-feed.xml":
            body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>b & b</title>'
                    f"<item><title>ok</title><link>{self.base}/a/8</link></item><item><title>cut")
            self._send(h, 200, "application/rss+xml", body.encode())
        elif path == "/bomb-feed.xml":
            lol = '<!ENTITY lol "lol">' + "".join(
                f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
            body = (f'<?xml version="1.0"?><!DOCTYPE rss [{lol}]><rss version="2.0"><channel><title>&lol9;</title>'
                    f"<item><title>&lol9;</title><link>{self.base}/a/9</link></item></channel></rss>")
            self._send(h, 200, "application/rss+xml", body.encode())
        elif path == "/sitemap-index.xml":
            body = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    f"<sitemap><loc>{self.base}/sitemap-index.xml</loc></sitemap>"
                    f"<sitemap><loc>{self.base}/news-sitemap.xml.gz</loc></sitemap></sitemapindex>")
            self._send(h, 200, "application/xml", body.encode())
        elif path == "/news-sitemap.xml.gz":
            lastmod = "2020-01-01T00:00:00Z" if self.version == 1 else "2099-01-01T00:00:00Z"
            body = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                    'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
                    f"<url><loc>{self.base}/changing</loc><lastmod>{lastmod}</lastmod>"
                    "<news:news><news:publication><news:name>T</news:name><news:language>ar</news:language>"
                    "</news:publication><news:publication_date>2024-04-27T08:00:00+03:00</news:publication_date>"
                    "<news:title>خبر يتغير</news:title></news:news></url>"
                    f"<url><loc>{self.base}/a/10</loc></url></urlset>")
            self._send(h, 200, "application/x-gzip", gzip.compress(body.encode()))
        elif path == "/home":
            body = (f'<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml">'
                    f"</head><body><a href='/a/11'>x</a></body></html>")
            self._send(h, 200, html, body.encode())
        elif path == "/section":
            links = "".join(f"<a href='/a/{i}'>story {i}</a>" for i in (12, 13))
            body = f"<html><body>{links}<a href='/about'>about</a><a href='http://example.com/a/1'>x</a></body></html>"
            self._send(h, 200, html, body.encode())
        else:
            self._send(h, 404, "text/plain", b"not here")
