"""The one seam where akhbar talks HTTP: fetching pages and feeds with httpx.

Every request goes out with a User-Agent that names akhbar, connect/read/total timeouts, at most
`max_redirects` redirects and at most `per_host_concurrency` requests in flight per host (one small
client per host: one big pooled client degrades badly, see DESIGN.md). A response larger than
`max_body_bytes` is cut off while streaming and refused. Addresses that are not public (private,
loopback, link-local, reserved...) are refused, on every redirect hop, unless the source sets
`allow_private_addresses`.

A failure never raises: it comes back as a `Fetched` with `reason` set (http_404, timeout,
connect_error, too_many_redirects, not_html, too_large, private_address, invalid_url, error).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

import httpx

from flows.settings import Settings

__all__ = ["FetchRequest", "Fetched", "fetch_all"]

HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("xml", "rss", "atom", "text/plain", "text/html")


@dataclass(frozen=True)
class FetchRequest:
    url: str
    source: str
    kind: str = "page"  # page | feed
    allow_private_addresses: bool = False


@dataclass(frozen=True)
class Fetched:
    """The outcome of one request: a body, or a reason it failed."""

    request: FetchRequest
    final_url: str
    status: int | None
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime
    elapsed: float
    reason: str | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


class _Refused(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


async def _check_address(request: httpx.Request) -> None:
    """Request hook (runs on every redirect hop): refuse non-public destinations."""
    if request.extensions.get("akhbar_allow_private"):
        return
    host = request.url.host
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, request.url.port or 0)
    except OSError as exc:
        raise httpx.ConnectError(f"cannot resolve {host}: {exc}", request=request) from exc
    for info in infos:
        if not _is_public(info[4][0]):
            raise _Refused("private_address", f"{host} resolves to non-public address {info[4][0]}")


@dataclass
class _Host:
    client: httpx.AsyncClient
    slots: asyncio.Semaphore


@dataclass
class _Clients:
    settings: Settings
    hosts: dict[tuple[str, bool], _Host] = field(default_factory=dict)

    def for_request(self, req: FetchRequest) -> _Host:
        parts = urlsplit(req.url)
        key = (f"{parts.scheme}://{parts.netloc}".lower(), req.allow_private_addresses)
        host = self.hosts.get(key)
        if host is None:
            s = self.settings
            n = s.per_host_concurrency
            client = httpx.AsyncClient(
                headers={"User-Agent": s.user_agent, "Accept-Language": "*"},
                timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
                limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
                follow_redirects=True,
                max_redirects=s.max_redirects,
                event_hooks={"request": [_check_address]},
            )
            host = self.hosts[key] = _Host(client, asyncio.Semaphore(n))
        return host

    async def close(self) -> None:
        await asyncio.gather(*(h.client.aclose() for h in self.hosts.values()))


def _acceptable_type(kind: str, content_type: str) -> bool:
    ctype = content_type.split(";", 1)[0].strip().lower()
    if not ctype:
        return True  # no header: let the parser judge the bytes
    if kind == "feed":
        return any(t in ctype for t in FEED_TYPES)
    return ctype in HTML_TYPES


async def _fetch_one(clients: _Clients, req: FetchRequest) -> Fetched:
    settings = clients.settings
    started = time.monotonic()
    fetched_at = datetime.now(timezone.utc)

    def failed(reason: str, detail: str, status: int | None = None, final_url: str | None = None,
               headers: dict[str, str] | None = None) -> Fetched:
        return Fetched(req, final_url or req.url, status, headers or {}, b"", fetched_at,
                       time.monotonic() - started, reason, detail[:500])

    parts = urlsplit(req.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return failed("invalid_url", f"not an http(s) URL: {req.url}")
    host = clients.for_request(req)
    async with host.slots:
        try:
            async with asyncio.timeout(settings.total_timeout):
                async with host.client.stream(
                    "GET", req.url, extensions={"akhbar_allow_private": req.allow_private_addresses}
                ) as resp:
                    headers = dict(resp.headers)
                    final = str(resp.url)
                    if resp.status_code >= 400:
                        return failed(f"http_{resp.status_code}", f"HTTP {resp.status_code} {resp.reason_phrase}",
                                      resp.status_code, final, headers)
                    ctype = resp.headers.get("content-type", "")
                    if not _acceptable_type(req.kind, ctype):
                        return failed("not_html" if req.kind == "page" else "not_a_feed",
                                      f"content type {ctype!r}", resp.status_code, final, headers)
                    declared = int(resp.headers.get("content-length") or 0)
                    if declared > settings.max_body_bytes:
                        return failed("too_large", f"declared {declared} bytes", resp.status_code, final, headers)
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in resp.aiter_bytes():
                        size += len(chunk)
                        if size > settings.max_body_bytes:
                            return failed("too_large", f"more than {settings.max_body_bytes} bytes",
                                          resp.status_code, final, headers)
                        chunks.append(chunk)
                    return Fetched(req, final, resp.status_code, headers, b"".join(chunks), fetched_at,
                                   time.monotonic() - started)
        except _Refused as exc:
            return failed(exc.reason, exc.detail)
        except (TimeoutError, httpx.TimeoutException) as exc:
            return failed("timeout", f"{type(exc).__name__}: no complete answer in time")
        except httpx.TooManyRedirects as exc:
            return failed("too_many_redirects", str(exc))
        except httpx.HTTPError as exc:
            return failed("connect_error", f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a fetch must never take the run down
            return failed("error", f"{type(exc).__name__}: {exc}")


async def fetch_all(requests: Iterable[FetchRequest], settings: Settings) -> list[Fetched]:
    """Fetch everything concurrently (politely per host); results in request order."""
    clients = _Clients(settings)
    try:
        return list(await asyncio.gather(*(_fetch_one(clients, r) for r in requests)))
    finally:
        await clients.close()
