"""The stages of one ingestion run as plain functions on plain records.

Prefect wraps them as tasks in `flows/ingest.py`; they hold the logic and can be called and
tested on their own. Every failure of a page or feed comes back as a `PageFailure`; nothing here
raises for bad input.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from flows.config import Source
from flows.fetch import Fetched, FetchRequest, fetch_all
from flows.settings import Settings
from parsers import ExtractionError, canonicalize_url, extract
from parsers.feeds import FeedError, parse_feed
from warehouse import LoadItem, PageFailure

__all__ = ["Discovered", "Parsed", "discover", "fetch_pages", "parse_pages", "failure_of"]


@dataclass
class Discovered:
    """URLs a run found, per source, in discovery order, each once."""

    urls: dict[str, list[str]] = field(default_factory=dict)
    failures: list[PageFailure] = field(default_factory=list)


@dataclass
class Parsed:
    items: list[LoadItem] = field(default_factory=list)
    failures: list[PageFailure] = field(default_factory=list)


def failure_of(fetched: Fetched, stage: str = "fetch") -> PageFailure:
    return PageFailure(
        source=fetched.request.source,
        url=fetched.request.url,
        stage=stage,
        reason=fetched.reason or "error",
        occurred_at=fetched.fetched_at,
        status_code=fetched.status,
        detail=fetched.detail,
    )


def discover(sources: Sequence[Source], settings: Settings) -> Discovered:
    """Read every feed of every source; article URLs are canonicalised and deduplicated."""
    requests = [
        FetchRequest(feed, s.name, "feed", s.allow_private_addresses) for s in sources for feed in s.feeds
    ]
    result = Discovered(urls={s.name: [] for s in sources})
    seen: dict[str, set[str]] = {s.name: set() for s in sources}
    for fetched in asyncio.run(fetch_all(requests, settings)):
        source = fetched.request.source
        if not fetched.ok:
            result.failures.append(failure_of(fetched, "discover"))
            continue
        try:
            entries = parse_feed(fetched.body, fetched.final_url)
        except FeedError as exc:
            result.failures.append(
                PageFailure(source, fetched.request.url, "discover", "not_a_feed", fetched.fetched_at,
                            fetched.status, str(exc)[:500])
            )
            continue
        for entry in entries:
            url = canonicalize_url(entry.url, fold_variants=False)  # an address to fetch
            if url not in seen[source]:
                seen[source].add(url)
                result.urls[source].append(url)
    return result


def fetch_pages(urls: dict[str, list[str]], sources: Sequence[Source], settings: Settings) -> list[Fetched]:
    """Fetch the article pages of all sources in one event loop (per-host limits apply across sources)."""
    by_name = {s.name: s for s in sources}
    requests = [
        FetchRequest(url, name, "page", by_name[name].allow_private_addresses)
        for name, source_urls in urls.items()
        for url in source_urls
    ]
    return asyncio.run(fetch_all(requests, settings))


def parse_pages(fetched: Sequence[Fetched], source: Source) -> Parsed:
    """Extract an Article from each fetched page of one source; failures are recorded, not raised."""
    out = Parsed()
    context = source.site_context()
    for page in fetched:
        if not page.ok:
            out.failures.append(failure_of(page))
            continue
        try:
            article = extract(page.body, page.final_url, context)
        except ExtractionError as exc:
            out.failures.append(_parse_failure(page, "no_article", str(exc)))
            continue
        except Exception as exc:  # a parser bug on one page must not stop the run
            out.failures.append(_parse_failure(page, "parser_error", f"{type(exc).__name__}: {exc}"))
            continue
        # The stored URL is the one discovery found (the frontier checks it next run); the page's
        # own canonical URL was read against the final URL after redirects.
        article = replace(article, url=page.request.url, source=source.name)
        out.items.append(LoadItem(article, page.fetched_at))
    return out


def _parse_failure(page: Fetched, reason: str, detail: str) -> PageFailure:
    return PageFailure(page.request.source, page.request.url, "parse", reason, page.fetched_at,
                       page.status, detail[:500])
