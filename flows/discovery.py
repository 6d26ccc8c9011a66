"""Discovery: the article URLs of each source, from feeds, sitemaps, listing pages and the feeds
a homepage announces, with a hint of when each article last changed (feed `updated`, sitemap
`lastmod`) for the frontier.

Feeds and sitemaps are asked with conditional requests when the warehouse knows their
validators (ETag / Last-Modified, table `http_validators`); a 304 reuses the entries stored
with them, so it costs no body and no parse. Sitemap indexes are followed breadth-first to
depth `MAX_SITEMAP_DEPTH`, each sitemap at most once per source (an index pointing at itself, or
a cycle, ends there), at most `settings.max_sitemaps_per_source` files per source.

Parsing is pure (`parsers.feeds`, `parsers.sitemaps`, `parsers.discovery`); this module does the
fetching (through `flows.fetch`) and the bookkeeping. Endpoint failures are `PageFailure`s with
stage `discover`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from flows.config import Source
from flows.fetch import Fetched, FetchRequest, FetchState, fetch_all
from flows.settings import Settings
from parsers import canonicalize_url
from parsers.discovery import feed_links, listing_links
from parsers.feeds import FeedError, parse_feed
from parsers.sitemaps import SitemapError, parse_sitemap
from warehouse import PageFailure, Validators, Warehouse

__all__ = ["Discovered", "discover", "MAX_SITEMAP_DEPTH"]

MAX_SITEMAP_DEPTH = 4


@dataclass
class Discovered:
    """URLs a run found, per source, in discovery order, each once; for each, when the endpoint
    says it last changed (or None); endpoint failures; validators to save."""

    urls: dict[str, list[str]] = field(default_factory=dict)
    changed: dict[str, dict[str, datetime | None]] = field(default_factory=dict)
    failures: list[PageFailure] = field(default_factory=list)
    validators: list[Validators] = field(default_factory=list)
    endpoints: dict[str, int] = field(default_factory=dict)  # kind -> endpoints read (200 or 304)
    #: per source: discovery endpoints asked, and of them read (answered and parsed)
    asked: dict[str, int] = field(default_factory=dict)
    read: dict[str, int] = field(default_factory=dict)
    not_modified: int = 0

    def add(self, source: str, url: str, changed: datetime | None) -> None:
        url = canonicalize_url(url, fold_variants=False)  # an address to fetch
        hints = self.changed.setdefault(source, {})
        if url not in hints:
            self.urls.setdefault(source, []).append(url)
            hints[url] = changed
        elif changed is not None and (hints[url] is None or changed > hints[url]):
            hints[url] = changed


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _request(source: Source, url: str, kind: str, known: dict[str, Validators]) -> FetchRequest:
    v = known.get(url) if kind in ("feed", "sitemap") else None
    return FetchRequest(url, source.name, kind, source.allow_private_addresses,
                        etag=v.etag if v else None, last_modified=v.last_modified if v else None,
                        per_host_concurrency=source.per_host_concurrency, min_delay=source.min_delay)


def discover(sources: Sequence[Source], settings: Settings, warehouse: Warehouse | None = None,
             state: FetchState | None = None) -> Discovered:
    """Read every discovery endpoint of every source (see the module docstring)."""
    state = state or FetchState(settings)
    result = Discovered(urls={s.name: [] for s in sources}, changed={s.name: {} for s in sources})
    by_name = {s.name: s for s in sources}
    sitemaps_read: dict[str, set[str]] = {s.name: set() for s in sources}

    # round 0: feeds, sitemaps, listing pages and homepages (autodiscovery), all at once
    todo: list[tuple[FetchRequest, dict]] = []
    for s in sources:
        for url in s.feeds:
            todo.append((FetchRequest(url, s.name, "feed"), {}))
        for url in s.sitemaps:
            todo.append((FetchRequest(url, s.name, "sitemap"), {"depth": 0}))
            sitemaps_read[s.name].add(url)
        for page in s.listing_pages:
            todo.append((FetchRequest(page.url, s.name, "listing"), {"pattern": page.link_pattern}))
        if s.autodiscover_feeds:
            todo.append((FetchRequest(s.homepage, s.name, "homepage"), {}))

    feed_seen: dict[str, set[str]] = {s.name: set(s.feeds) for s in sources}
    while todo:
        endpoint_urls = [r.url for r, _ in todo if r.kind in ("feed", "sitemap")]
        known = warehouse.validators(endpoint_urls) if warehouse is not None else {}
        requests = [_request(by_name[r.source], r.url, r.kind, known) for r, _ in todo]
        answers = asyncio.run(fetch_all(requests, settings, state))
        next_round: list[tuple[FetchRequest, dict]] = []
        for (_, extra), fetched in zip(todo, answers):
            source = by_name[fetched.request.source]
            kind = fetched.request.kind
            result.asked[source.name] = result.asked.get(source.name, 0) + 1
            failures_before = len(result.failures)
            if not fetched.ok:
                result.failures.append(_failure(fetched, fetched.reason or "error", fetched.detail))
                continue
            result.endpoints[kind] = result.endpoints.get(kind, 0) + 1
            if kind == "feed":
                _read_feed(result, source, fetched, known.get(fetched.request.url))
            elif kind == "sitemap":
                children = _read_sitemap(result, source, fetched, known.get(fetched.request.url), settings)
                depth = extra.get("depth", 0) + 1
                for child in children:
                    if child in sitemaps_read[source.name]:
                        continue  # an index that points at itself, or a cycle
                    if depth > MAX_SITEMAP_DEPTH or len(sitemaps_read[source.name]) >= settings.max_sitemaps_per_source:
                        result.failures.append(_failure(fetched, "sitemap_limit",
                                                        f"not read: {child} (depth or count limit)", url=child))
                        continue
                    sitemaps_read[source.name].add(child)
                    next_round.append((FetchRequest(child, source.name, "sitemap"), {"depth": depth}))
            elif kind == "listing":
                for url in listing_links(fetched.body, fetched.final_url, extra["pattern"], fetched.charset):
                    result.add(source.name, url, None)
            elif kind == "homepage":
                for url in feed_links(fetched.body, fetched.final_url, fetched.charset):
                    if url not in feed_seen[source.name]:
                        feed_seen[source.name].add(url)
                        next_round.append((FetchRequest(url, source.name, "feed"), {}))
            if not any(f.url == fetched.request.url for f in result.failures[failures_before:]):
                result.read[source.name] = result.read.get(source.name, 0) + 1
        todo = next_round
    return result


def _failure(fetched: Fetched, reason: str, detail: str | None, url: str | None = None) -> PageFailure:
    return PageFailure(fetched.request.source, url or fetched.request.url, "discover", reason, fetched.fetched_at,
                       fetched.status, (detail or "")[:500] or None)


def _validators(fetched: Fetched, kind: str, entries: list, previous: Validators | None) -> Validators:
    now = datetime.now(timezone.utc)
    if fetched.not_modified and previous is not None:
        return Validators(previous.url, kind, previous.etag, previous.last_modified, now, previous.changed_at,
                          previous.entries)
    return Validators(fetched.request.url, kind, fetched.headers.get("etag"), fetched.headers.get("last-modified"),
                      now, now, entries)


def _read_feed(result: Discovered, source: Source, fetched: Fetched, previous: Validators | None) -> None:
    if fetched.not_modified and previous is not None:
        result.not_modified += 1
        entries = previous.entries
    else:
        try:
            parsed = parse_feed(fetched.body, fetched.final_url)
        except FeedError as exc:
            result.failures.append(_failure(fetched, "not_a_feed", str(exc)))
            return
        entries = [{"url": e.url, "changed": _iso(e.updated_at or e.published_at)} for e in parsed]
    for e in entries:
        result.add(source.name, e["url"], _dt(e.get("changed")))
    result.validators.append(_validators(fetched, "feed", entries, previous))


def _read_sitemap(result: Discovered, source: Source, fetched: Fetched, previous: Validators | None,
                  settings: Settings) -> list[str]:
    """Add the URLs of a url set; return the child sitemaps of an index."""
    if fetched.not_modified and previous is not None:
        result.not_modified += 1
        entries = previous.entries
    else:
        try:
            sitemap = parse_sitemap(fetched.body, fetched.final_url, max_bytes=settings.max_body_bytes)
        except SitemapError as exc:
            result.failures.append(_failure(fetched, "not_a_sitemap", str(exc)))
            return []
        key = "sitemap" if sitemap.kind == "index" else "url"
        entries = [{key: e.url, "changed": _iso(e.lastmod or e.news_published_at)} for e in sitemap.entries]
    result.validators.append(_validators(fetched, "sitemap", entries, previous))
    children = [e["sitemap"] for e in entries if "sitemap" in e]
    urls = sorted((e for e in entries if "url" in e), key=lambda e: e.get("changed") or "", reverse=True)
    for e in urls:  # newest first, so that a per-run cap keeps the fresh ones
        result.add(source.name, e["url"], _dt(e.get("changed")))
    return children
