"""The one seam where akhbar talks HTTP: fetching pages, feeds, sitemaps and robots.txt with httpx.

Politeness (all per run, all in this process):
- robots.txt of every origin is read first (cached in the warehouse with an expiry, see
  `flows/robots.py`); a disallowed URL is never requested (reason `robots`), crawl-delay is kept;
  so is every redirect target: a target on another origin is fetched under that origin's
  robots.txt, pacing and per-host limit, as if it had been asked for;
- at most `per_host_concurrency` requests in flight per host (default 2, overridable per source),
  starts at least `min_delay` (or the crawl-delay) apart, and at most `global_concurrency` in all;
  one small httpx client per origin (one big pooled client degrades badly, see DESIGN.md);
- transient failures (408, 429, 5xx, connection errors) are retried `max_retries` times with
  exponential backoff and jitter; a `Retry-After` on 429/503 pauses the whole host that long (a
  longer one than `max_retry_after` gives up); a host with `host_failure_limit` failed attempts in
  a row is paused for the rest of the run (reason `host_paused`);
- every request carries the User-Agent of the settings (names akhbar and a contact URL).

Robustness: connect/read timeouts per request and a total timeout per request (redirects
included; it starts again when a redirect leads to another origin); redirects followed by hand
(at most `max_redirects`, a loop is detected); only http and https; every hop's host is
resolved and refused if not public (private, loopback, link-local, reserved...) unless the
source allows it (`allow_private_addresses`: True allows loopback and private networks but never
link-local such as the cloud metadata address 169.254.169.254; a list allows exactly those
networks), and the connection is made to one of the addresses checked (`_PinnedBackend`), so a
DNS answer that changes after the check (rebinding) cannot reach a refused address. Bodies are
decoded here (gzip/deflate), counting decoded bytes: more than `max_body_bytes` is refused while
streaming, a decoded/transferred ratio above `max_compression_ratio` is a decompression bomb.
Content types other than HTML (pages) or XML (feeds, sitemaps) are refused, and the first bytes
are sniffed (a PDF served as text/html is refused).
Feeds and sitemaps are asked with If-None-Match / If-Modified-Since when their validators are known;
a 304 comes back as an ok `Fetched` with `status == 304` and no body.

Every outcome is written to the raw archive (`flows/archive.py`) when one is given, and indexed
as a `FetchRecord` in `FetchState.log`.

A failure never raises: it comes back as a `Fetched` with `reason` set. Reasons:
- refused by policy (`POLICY_REASONS`): robots, private_address, invalid_url, not_html,
  not_a_feed, too_large, decompression_bomb;
- failed: http_<status>, timeout, connect_error, too_many_redirects, redirect_loop, host_paused,
  error.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import ipaddress
import random
import socket
import ssl
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from flows.archive import Archive
from flows.robots import RobotsCache, Rules, origin_of
from flows.settings import Settings
from warehouse import FetchRecord

__all__ = ["FetchRequest", "Fetched", "FetchState", "POLICY_REASONS", "fetch_all", "address_allowed"]

HTML_TYPES = ("text/html", "application/xhtml+xml")
XML_TYPES = ("xml", "rss", "atom", "text/plain", "text/html")
GZIP_TYPES = ("application/gzip", "application/x-gzip", "application/octet-stream")
PAGE_KINDS = ("page", "homepage", "listing")

#: Reasons that mean "refused by policy" rather than "failed".
POLICY_REASONS = frozenset(
    {"robots", "private_address", "invalid_url", "not_html", "not_a_feed", "too_large", "decompression_bomb"}
)
_TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524}
_BOMB_FLOOR = 1_000_000  # ratios are judged once this many decoded bytes have come
_STEP = 1 << 20  # most bytes one decoding step may produce
_SNIFF = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"RIFF", "audio/video (RIFF)"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"\x1f\x8b", "application/gzip"),
)


@dataclass(frozen=True)
class FetchRequest:
    url: str
    source: str
    kind: str = "page"  # page | feed | sitemap | homepage | listing | robots
    allow_private_addresses: bool | tuple[str, ...] = False
    etag: str | None = None  # validators for a conditional request (feeds, sitemaps)
    last_modified: str | None = None
    per_host_concurrency: int | None = None  # politeness overrides of the source
    min_delay: float | None = None


@dataclass(frozen=True)
class Fetched:
    """The outcome of one request: a body, a 304, or a reason it failed or was refused."""

    request: FetchRequest
    final_url: str
    status: int | None
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime
    elapsed: float
    reason: str | None = None
    detail: str | None = None
    attempts: int = 1
    sha256: str | None = None
    warc_file: str | None = None
    warc_offset: int | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None

    @property
    def not_modified(self) -> bool:
        return self.ok and self.status == 304

    @property
    def refused(self) -> bool:
        """Skipped by policy (robots, address, type, size), not failed."""
        return self.reason in POLICY_REASONS

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def charset(self) -> str | None:
        for part in self.content_type.split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'")
        return None


@dataclass
class FetchState:
    """What the fetches of one run share across stages (plain data, no event-loop objects):
    robots.txt rules, hosts paused for the run, the archive and the index of what was fetched."""

    settings: Settings
    robots: RobotsCache | None = None
    archive: Archive | None = None
    paused: dict[str, str] = field(default_factory=dict)  # origin -> why
    log: list[FetchRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.robots is None:
            self.robots = RobotsCache(self.settings.robots_ttl)


class _Moved(Exception):
    """A redirect to another origin: the request goes on there, under that origin's robots.txt,
    pacing and limits (raised out of the first origin's slots, caught by `_Session.fetch`)."""

    def __init__(self, target: str, seen: set[str], hops: int) -> None:
        super().__init__(target)
        self.target, self.seen, self.hops = target, seen, hops


class _Failure(Exception):
    def __init__(self, reason: str, detail: str, status: int | None = None, final_url: str | None = None,
                 headers: dict[str, str] | None = None, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.reason, self.detail, self.status = reason, detail, status
        self.final_url, self.headers, self.retry_after = final_url, headers or {}, retry_after
        self.attempts = 1

    @property
    def transient(self) -> bool:
        if self.reason in ("connect_error",):
            return True
        return self.status in _TRANSIENT_STATUS and self.reason.startswith("http_")


# -- addresses ------------------------------------------------------------------------------

_LOOPBACK_AND_PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "::1/128", "fc00::/7")
)


def address_allowed(address: str, allow: bool | tuple[str, ...] = False) -> bool:
    """May we connect to this IP address? Public unicast always; with `allow=True` loopback and
    private networks too (never link-local, multicast or unspecified); with a tuple of networks,
    exactly those in addition to public addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_global and not ip.is_multicast:
        return True
    if allow is True:
        return any(ip in net for net in _LOOPBACK_AND_PRIVATE if net.version == ip.version)
    if allow:
        return any(ip in ipaddress.ip_network(n, strict=False) for n in allow
                   if ipaddress.ip_network(n, strict=False).version == ip.version)
    return False


async def _resolve(host: str, port: int) -> list[str]:
    """The addresses of `host` (an IP literal is its own), in the resolver's order."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


async def _check_address(host: str, port: int, allow: bool | tuple[str, ...]) -> None:
    """Resolve `host` and refuse it if any address is not allowed (before any byte is sent).
    The connection itself is made by `_PinnedBackend`, which checks the addresses it connects
    to again, so a DNS answer that changes in between (rebinding) is refused there."""
    try:
        addresses = await _resolve(host, port)
    except OSError as exc:
        raise _Failure("connect_error", f"cannot resolve {host}: {exc}") from None
    for address in addresses:
        if not address_allowed(address, allow):
            raise _Failure("private_address", f"{host} resolves to non-public address {address}")


_REFUSED = "refused to connect: "


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving names itself: every address of the host must be
    allowed (`address_allowed`), and the connection goes to one of exactly those addresses. So
    the address checked is the address connected to, whatever the DNS answers in between."""

    def __init__(self, allow: bool | tuple[str, ...]) -> None:
        self._allow = allow
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable | None = None) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await _resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        refused = [a for a in addresses if not address_allowed(a, self._allow)]
        if refused:
            raise httpcore.ConnectError(f"{_REFUSED}{host} resolves to non-public address {refused[0]}")
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        # IPv4 first: one address at a time replaces anyio's Happy Eyeballs, and a host whose
        # IPv6 route is silently dropped would otherwise cost the connect timeout every time
        for address in sorted(addresses, key=lambda a: ":" in a):
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _pinned_transport(allow: bool | tuple[str, ...], connections: int,
                      ssl_context: ssl.SSLContext) -> httpx.AsyncHTTPTransport:
    """httpx's transport over a connection pool that connects through `_PinnedBackend`. httpx
    takes no network backend, so its pool is replaced by one made with the same settings (TLS
    verified against the host name, as httpcore does whatever address it connected to).
    `ssl_context`: one for all clients of a run (loading the CA bundle costs milliseconds)."""
    transport = httpx.AsyncHTTPTransport(verify=ssl_context)
    transport._pool = httpcore.AsyncConnectionPool(  # noqa: SLF001 - see the docstring
        ssl_context=ssl_context, max_connections=connections, max_keepalive_connections=connections,
        keepalive_expiry=5.0, network_backend=_PinnedBackend(allow))
    return transport


# -- bodies ---------------------------------------------------------------------------------

class _Decoder:
    """Content-Encoding decoding with a cap on what it may produce per call."""

    def __init__(self, encoding: str) -> None:
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj()
        else:
            raise _Failure("error", f"unsupported Content-Encoding {encoding!r}")
        self._deflate_raw_tried = encoding != "deflate"

    def feed(self, data: bytes, limit: int) -> bytes:
        if self._z is None:
            return data
        try:
            return self._z.decompress(data, limit + 1)
        except zlib.error:
            if not self._deflate_raw_tried:  # "deflate" without the zlib header, as some servers send it
                self._deflate_raw_tried = True
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                return self._z.decompress(data, limit + 1)
            raise

    @property
    def pending(self) -> bytes:
        return self._z.unconsumed_tail if self._z is not None else b""


def _acceptable_type(kind: str, ctype: str) -> bool:
    ctype = ctype.split(";", 1)[0].strip().lower()
    if not ctype or kind == "robots":
        return True  # no header: the sniffing and the parser judge the bytes
    if kind in PAGE_KINDS:
        return ctype in HTML_TYPES
    if kind == "sitemap":
        return any(t in ctype for t in XML_TYPES) or ctype in GZIP_TYPES
    return any(t in ctype for t in XML_TYPES)


def _sniff(kind: str, head: bytes) -> str | None:
    """What binary type the first bytes betray, if any (for sitemaps, gzip is fine)."""
    head = head.lstrip()[:16]
    for magic, name in _SNIFF:
        if head.startswith(magic):
            if kind == "sitemap" and magic == b"\x1f\x8b":
                return None
            return name
    return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


# -- hosts ----------------------------------------------------------------------------------

@dataclass
class _Host:
    origin: str
    slots: asyncio.Semaphore
    delay: float
    next_start: float = 0.0
    failures: int = 0  # consecutive failed attempts


class _Session:
    """The event-loop side of one `fetch_all`: clients, semaphores, locks."""

    def __init__(self, state: FetchState) -> None:
        self.state = state
        s = state.settings
        self.settings = s
        self.global_slots = asyncio.Semaphore(s.global_concurrency)
        self.hosts: dict[str, _Host] = {}
        self.clients: dict[tuple[str, bool | tuple[str, ...]], httpx.AsyncClient] = {}
        self.ssl_context = httpx.create_ssl_context()
        self.robots_locks: dict[str, asyncio.Lock] = {}
        self.headers = {"User-Agent": s.agent, "Accept-Language": "*", "Accept-Encoding": "gzip, deflate"}

    def host(self, origin: str, req: FetchRequest) -> _Host:
        host = self.hosts.get(origin)
        if host is None:
            n = req.per_host_concurrency or self.settings.per_host_concurrency
            delay = self.settings.min_delay if req.min_delay is None else req.min_delay
            host = self.hosts[origin] = _Host(origin, asyncio.Semaphore(n), delay)
        return host

    def client(self, origin: str, allow: bool | tuple[str, ...]) -> httpx.AsyncClient:
        """The client of `origin` for requests with the address policy `allow`."""
        client = self.clients.get((origin, allow))
        if client is None:
            s = self.settings
            n = max(s.per_host_concurrency, 2)
            client = self.clients[(origin, allow)] = httpx.AsyncClient(
                headers=self.headers,
                timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
                transport=_pinned_transport(allow, n + 2, self.ssl_context),
                follow_redirects=False,
            )
        return client

    async def close(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients.values()), return_exceptions=True)

    # -- one request ----------------------------------------------------------------------
    async def fetch(self, req: FetchRequest) -> Fetched:
        started = time.monotonic()
        fetched_at = datetime.now(timezone.utc)
        try:
            parts = urlsplit(req.url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise _Failure("invalid_url", f"not an http(s) URL: {req.url}")
            url, seen, hops = req.url, {req.url}, 0
            while True:
                origin = origin_of(url)
                if req.kind != "robots":
                    rules = await self.rules(origin, req)
                    if not rules.allowed(url):
                        why = "robots.txt unreachable" if rules.unreachable else "disallowed by robots.txt"
                        raise _Failure("robots", why if url == req.url else f"redirect target {url}: {why}",
                                       final_url=url)
                try:
                    result = await self._with_retries(origin, req, started, fetched_at, url, seen, hops)
                    break
                except _Moved as moved:
                    url, seen, hops = moved.target, moved.seen, moved.hops
        except _Failure as exc:
            result = Fetched(req, exc.final_url or req.url, exc.status, exc.headers, b"", fetched_at,
                             time.monotonic() - started, exc.reason, exc.detail[:500], exc.attempts)
        except Exception as exc:  # a fetch must never take the run down
            result = Fetched(req, req.url, None, {}, b"", fetched_at, time.monotonic() - started, "error",
                             f"{type(exc).__name__}: {exc}"[:500])
        return self._record(result)

    async def rules(self, origin: str, req: FetchRequest) -> Rules:
        robots = self.state.robots
        assert robots is not None
        rules = robots.get(origin)
        if rules is None:
            lock = self.robots_locks.setdefault(origin, asyncio.Lock())
            async with lock:
                rules = robots.get(origin)
                if rules is None:
                    got = await self.fetch(FetchRequest(origin + "/robots.txt", req.source, "robots",
                                                        req.allow_private_addresses,
                                                        per_host_concurrency=req.per_host_concurrency,
                                                        min_delay=req.min_delay))
                    if got.reason in ("private_address", "invalid_url", "connect_error", "timeout", "host_paused",
                                      "error"):
                        # no answer at all: the host, not its rules, is the problem (not cached)
                        raise _Failure(got.reason, f"robots.txt: {got.detail or got.reason}")
                    status = got.status if got.reason is None or got.reason.startswith("http_") else None
                    if got.reason in ("not_html", "too_large"):
                        status = 404  # unusable rules: treat as none
                    body = got.body.decode("utf-8", errors="replace") if got.ok else ""
                    rules = robots.put(origin, status, body)
        host = self.host(origin, req)
        host.delay = max(host.delay, rules.crawl_delay())
        return rules

    async def _with_retries(self, origin: str, req: FetchRequest, started: float, fetched_at: datetime,
                            url: str, seen: set[str], hops: int) -> Fetched:
        """Fetch `url` (the request's URL, or where a redirect from another origin led after
        `hops` redirects through `seen`) on `origin`, retrying transient failures."""
        s = self.settings
        host = self.host(origin, req)
        attempt = 0
        while True:
            attempt += 1
            if origin in self.state.paused:
                raise _Failure("host_paused", f"host paused for this run: {self.state.paused[origin]}")
            try:
                async with host.slots:
                    await self._pace(host)
                    async with self.global_slots:
                        result = await self._attempt(req, started, fetched_at, url, set(seen), hops)
                host.failures = 0
                return replace(result, attempts=attempt)
            except _Failure as exc:
                if not exc.transient and exc.reason != "timeout":
                    raise
                host.failures += 1
                if host.failures >= s.host_failure_limit:
                    self.state.paused[origin] = f"{host.failures} failed attempts in a row, last {exc.reason}"
                exc.attempts = attempt
                if not exc.transient or attempt > s.max_retries or origin in self.state.paused:
                    exc.detail = f"{exc.detail} (after {attempt} attempt{'s' if attempt > 1 else ''})"
                    raise
                if exc.retry_after is not None:
                    if exc.retry_after > s.max_retry_after:
                        exc.detail = f"{exc.detail}; Retry-After {exc.retry_after:g} s is too long"
                        raise
                    host.next_start = max(host.next_start, time.monotonic() + exc.retry_after)
                else:
                    delay = s.retry_backoff * (2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
                    await asyncio.sleep(delay)

    async def _pace(self, host: _Host) -> None:
        while True:
            now = time.monotonic()
            wait = host.next_start - now
            if wait <= 0:
                host.next_start = now + host.delay
                return
            await asyncio.sleep(wait)

    async def _attempt(self, req: FetchRequest, started: float, fetched_at: datetime, url: str, seen: set[str],
                       hops: int) -> Fetched:
        s = self.settings
        origin = origin_of(url)
        try:
            async with asyncio.timeout(s.total_timeout):
                for hop in range(hops, s.max_redirects + 2):
                    parts = urlsplit(url)
                    if parts.scheme not in ("http", "https") or not parts.hostname:
                        raise _Failure("invalid_url", f"redirected to a non-http(s) URL: {url}", final_url=url)
                    port = parts.port or (443 if parts.scheme == "https" else 80)
                    await _check_address(parts.hostname, port, req.allow_private_addresses)
                    headers = {}
                    if hop == 0 and req.etag:
                        headers["If-None-Match"] = req.etag
                    if hop == 0 and req.last_modified:
                        headers["If-Modified-Since"] = req.last_modified
                    client = self.client(origin_of(url), req.allow_private_addresses)
                    async with client.stream("GET", url, headers=headers) as resp:
                        status = resp.status_code
                        if status in (301, 302, 303, 307, 308) and resp.headers.get("location"):
                            target = urljoin(url, resp.headers["location"].strip())
                            self._archive_hop(req, url, resp, fetched_at)
                            if target in seen:
                                raise _Failure("redirect_loop", f"redirect loop back to {target}", status, url)
                            if hop >= s.max_redirects:
                                raise _Failure("too_many_redirects", f"more than {s.max_redirects} redirects",
                                               status, url)
                            seen.add(target)
                            if req.kind != "robots":  # robots.txt itself follows redirects (RFC 9309)
                                if origin_of(target) != origin:
                                    raise _Moved(target, seen, hop + 1)
                                rules = self.state.robots.get(origin) if self.state.robots else None
                                if rules is not None and not rules.allowed(target):
                                    raise _Failure("robots", f"redirect target {target}: disallowed by robots.txt",
                                                   status, target)
                            url = target
                            continue
                        return await self._read(req, resp, url, started, fetched_at)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise _Failure("timeout", f"{type(exc).__name__}: no complete answer in time", final_url=url) from None
        except httpx.HTTPError as exc:
            if str(exc).startswith(_REFUSED):  # `_PinnedBackend`: the name now resolves to a refused address
                raise _Failure("private_address", str(exc)[len(_REFUSED):], final_url=url) from None
            raise _Failure("connect_error", f"{type(exc).__name__}: {exc}", final_url=url) from None
        raise _Failure("too_many_redirects", f"more than {s.max_redirects} redirects", final_url=url)

    async def _read(self, req: FetchRequest, resp: httpx.Response, url: str, started: float,
                    fetched_at: datetime) -> Fetched:
        s = self.settings
        status = resp.status_code
        headers = {k.lower(): v for k, v in resp.headers.items()}
        if status == 304:
            return Fetched(req, url, status, headers, b"", fetched_at, time.monotonic() - started)
        if status >= 400 or status < 200:
            retry = _retry_after(resp.headers.get("retry-after")) if status in (429, 503) else None
            raise _Failure(f"http_{status}", f"HTTP {status} {resp.reason_phrase}", status, url, headers, retry)
        ctype = resp.headers.get("content-type", "")
        refusal = "not_html" if req.kind in PAGE_KINDS else "not_a_feed"
        if not _acceptable_type(req.kind, ctype):
            raise _Failure(refusal, f"content type {ctype!r}", status, url, headers)
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > s.max_body_bytes and not resp.headers.get("content-encoding"):
            raise _Failure("too_large", f"declared {declared} bytes", status, url, headers)
        decoder = _Decoder(resp.headers.get("content-encoding", ""))
        chunks: list[bytes] = []
        size = raw = 0
        limit = s.max_body_bytes
        async for chunk in resp.aiter_raw():
            raw += len(chunk)
            data = chunk
            while data:
                out = decoder.feed(data, min(limit - size, _STEP))  # never more than _STEP at once
                size += len(out)
                used = max(1, raw - len(decoder.pending))  # compressed bytes consumed so far
                if size > _BOMB_FLOOR and size > s.max_compression_ratio * used:
                    raise _Failure("decompression_bomb", f"{size} bytes decoded from {raw}: ratio over "
                                   f"{s.max_compression_ratio:g}", status, url, headers)
                if size > limit:
                    raise _Failure("too_large", f"more than {limit} bytes (decoded)", status, url, headers)
                if out:
                    if not chunks:
                        kind = _sniff(req.kind, out)
                        if kind and req.kind != "robots":
                            raise _Failure(refusal, f"content type {ctype!r} but the bytes are {kind}",
                                           status, url, headers)
                    chunks.append(out)
                data = decoder.pending
        body = b"".join(chunks)
        return Fetched(req, url, status, headers, body, fetched_at, time.monotonic() - started,
                       sha256=hashlib.sha256(body).hexdigest())

    # -- the archive and the index ----------------------------------------------------------
    def _archive_hop(self, req: FetchRequest, url: str, resp: httpx.Response, fetched_at: datetime) -> None:
        archive = self.state.archive
        if archive is None:
            return
        file, offset = archive.write_response(url, resp.status_code, resp.reason_phrase,
                                              list(resp.headers.items()), b"", fetched_at)
        self.state.log.append(FetchRecord(req.source, url, req.kind, fetched_at, url, resp.status_code, None,
                                          resp.headers.get("content-type"), 0, None, file, offset, "redirect"))

    def _record(self, result: Fetched) -> Fetched:
        archive = self.state.archive
        req = result.request
        file = offset = None
        if archive is not None and result.reason != "host_paused":
            if result.ok and result.status != 304:
                file, offset = archive.write_response(
                    req.url, result.status or 200, "", list(result.headers.items()), result.body,
                    result.fetched_at, result.final_url)
            else:
                file, offset = archive.write_failure(req.url, result.reason or "not_modified", result.detail,
                                                     result.status, result.fetched_at, result.final_url)
            result = replace(result, warc_file=file, warc_offset=offset)
        self.state.log.append(FetchRecord(
            req.source, req.url, req.kind, result.fetched_at, result.final_url, result.status, result.elapsed,
            result.headers.get("content-type"), len(result.body) if result.ok else None, result.sha256,
            file, offset, result.reason))
        return result


async def fetch_all(requests: Iterable[FetchRequest], settings: Settings, state: FetchState | None = None) -> list[Fetched]:
    """Fetch everything concurrently (politely per host); results in request order.

    `state` carries robots rules, paused hosts, the archive and the fetch log across calls of
    one run; without it a fresh one (no archive) is used."""
    session = _Session(state or FetchState(settings))
    try:
        return list(await asyncio.gather(*(session.fetch(r) for r in requests)))
    finally:
        await session.close()
