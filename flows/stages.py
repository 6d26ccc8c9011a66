"""The stages of one ingestion run as plain functions on plain records.

Prefect wraps them as tasks in `flows/ingest.py`; they hold the logic and can be called and
tested on their own. Every failure of a page or feed comes back as a `PageFailure`; nothing here
raises for bad input.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from flows.config import Source
from flows.discovery import Discovered, discover
from flows.fetch import Fetched, FetchRequest, FetchState, fetch_all
from flows.settings import Settings
from parsers import ExtractionError, canonicalize_url, extract
from parsers.text import decode_html
from warehouse import LoadItem, LoadResult, PageFailure, Warehouse
from warehouse.dedup import prepare

__all__ = ["Discovered", "Frontier", "Parsed", "discover", "build_frontier", "plan_frontier", "fetch_pages", "parse_pages",
           "load_pages", "save_fetch_state", "failure_of"]


@dataclass
class Parsed:
    items: list[LoadItem] = field(default_factory=list)
    failures: list[PageFailure] = field(default_factory=list)


@dataclass
class Frontier:
    """What to fetch per source, and why the rest is not fetched.

    `todo`: unknown URLs, then known ones with a sign of change (`revisits` of them), at most the
    per-source cap; `known`: known and unchanged (skipped); `deferred`: over the cap (skipped,
    found again next run)."""

    todo: dict[str, list[str]] = field(default_factory=dict)
    known: dict[str, int] = field(default_factory=dict)
    revisits: dict[str, int] = field(default_factory=dict)
    deferred: dict[str, int] = field(default_factory=dict)


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


def build_frontier(discovered: Discovered, sources: Sequence[Source], warehouse: Warehouse, cap: int) -> Frontier:
    """The frontier of a run: when each discovered URL's story was last loaded (looked up by the
    URL and by its folded canonical key: www/m./amp variants are one story), then `plan_frontier`."""
    every = [u for urls in discovered.urls.values() for u in urls]
    keys = {u: canonicalize_url(u) for u in every}
    state = warehouse.frontier_state(every + list(keys.values()))
    last_seen: dict[str, datetime] = {}
    for u in every:
        seen = [t for t in (state.get(u), state.get(keys[u])) if t is not None]
        if seen:
            last_seen[u] = max(seen)
    return plan_frontier(discovered, sources, last_seen, cap)


def plan_frontier(discovered: Discovered, sources: Sequence[Source], last_seen: Mapping[str, datetime],
                  cap: int, now: datetime | None = None) -> Frontier:
    """Decide per discovered URL: fetch (new, or known with a sign it changed) or skip.

    A known URL (in `last_seen`: when its story was last loaded) is fetched again when the feed
    or sitemap says it changed after that (`updated` / `lastmod`), or when the source's
    `revisit_after_hours` have passed since; otherwise it is skipped as known."""
    now = now or datetime.now(timezone.utc)
    out = Frontier()
    by_name = {s.name: s for s in sources}
    for name, urls in discovered.urls.items():
        source = by_name.get(name)
        revisit = timedelta(hours=source.revisit_after_hours) if source and source.revisit_after_hours else None
        hints = discovered.changed.get(name, {})
        fresh: list[str] = []
        again: list[str] = []
        known = 0
        for url in urls:
            seen = last_seen.get(url)
            if seen is None:
                fresh.append(url)
                continue
            changed = hints.get(url)
            if (changed is not None and changed > seen) or (revisit is not None and now - seen >= revisit):
                again.append(url)
            else:
                known += 1
        todo = (fresh + again)[:cap]
        out.todo[name] = todo
        out.known[name] = known
        out.revisits[name] = max(0, len(todo) - len(fresh))
        out.deferred[name] = len(fresh) + len(again) - len(todo)
    return out


def fetch_pages(urls: dict[str, list[str]], sources: Sequence[Source], settings: Settings,
                state: FetchState | None = None) -> list[Fetched]:
    """Fetch the article pages of all sources in one event loop (per-host limits apply across sources)."""
    by_name = {s.name: s for s in sources}
    requests = []
    for name, source_urls in urls.items():
        s = by_name[name]
        requests += [
            FetchRequest(url, name, "page", s.allow_private_addresses, per_host_concurrency=s.per_host_concurrency,
                         min_delay=s.min_delay)
            for url in source_urls
        ]
    return asyncio.run(fetch_all(requests, settings, state))


def parse_pages(fetched: Sequence[Fetched], source: Source) -> Parsed:
    """Extract an Article from each fetched page of one source; failures are recorded, not raised."""
    out = Parsed()
    context = source.site_context()
    for page in fetched:
        if not page.ok:
            out.failures.append(failure_of(page))
            continue
        try:
            # the HTTP header's charset counts (after a BOM and valid UTF-8, before <meta>)
            article = extract(decode_html(page.body, page.charset), page.final_url, context)
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


def load_pages(parsed: Parsed, warehouse: Warehouse, run_id: str, state: FetchState, discovered: Discovered | None,
               writer: Callable[[], AbstractContextManager]) -> LoadResult:
    """Load a run's articles and failures, then its fetch state. The batch is prepared (CPU
    work) before `writer()` (the one-writer slot) and the file are taken; the file is then held
    in one session for the load and the fetch state, each its own transaction, and checkpointed
    once. If it stays busy (an analyst holds it), everything is staged for the next load."""
    wall, cpu = time.perf_counter(), time.thread_time()
    prepared = prepare(parsed.items)
    prepare_wall, prepare_cpu = time.perf_counter() - wall, time.thread_time() - cpu
    with writer(), warehouse.session() as held:
        result = held.load(parsed.items, parsed.failures, run_id, prepared)
        save_fetch_state(held, run_id, state, discovered)
    result.dedup_wall += prepare_wall  # signatures and fingerprints are dedup's work
    result.dedup_cpu += prepare_cpu
    return result


def save_fetch_state(warehouse: Warehouse, run_id: str, state: FetchState, discovered: Discovered | None) -> None:
    """The archive index, fresh robots.txt rules and the validators of feeds and sitemaps."""
    warehouse.log_fetches(run_id, state.log)
    state.log = []
    if state.robots is not None:
        warehouse.save_robots(state.robots.fresh)
        state.robots.fresh = []
    if discovered is not None:
        warehouse.save_validators(discovered.validators)
        discovered.validators = []
