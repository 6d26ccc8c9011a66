"""Parsing in worker processes (flows/parse_pool.py) gives exactly what parsing in the flow's
process gives, on real pages; small runs stay in process; a dead worker loses nothing."""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from flows.config import Source
from flows.fetch import Fetched, FetchRequest
from flows.parse_pool import ParsePool, parse_sources
from flows.stages import Parsed, parse_pages
from warehouse import PageFailure

FIXTURES = Path(__file__).parent / "fixtures" / "arabic-dev"  # real pages, provenance in each .json
FETCHED = datetime(2024, 4, 27, 6, 0, tzinfo=timezone.utc)


def _work() -> list[tuple[Source, list[Fetched]]]:
    """Each fixture site a source with its real pages, plus a page that is not an article and a
    page that failed to fetch."""
    work = []
    for site in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        name = site.name.replace(".", "-")
        source = Source(name=name, homepage=f"https://{site.name}/", language="ar", timezone="Asia/Riyadh",
                        feeds=(f"https://{site.name}/rss",))
        pages = []
        for html in sorted(site.glob("*.html.gz")):
            truth = json.loads(html.with_name(html.name.replace(".html.gz", ".json")).read_text("utf-8"))
            url = truth["url"]
            pages.append(Fetched(FetchRequest(url, name, "page"), url, 200, {"content-type": "text/html"},
                                 gzip.decompress(html.read_bytes()), FETCHED, 0.1))
        work.append((source, pages))
    source, pages = work[0]
    empty = f"https://{source.name}.example/empty"
    pages.append(Fetched(FetchRequest(empty, source.name, "page"), empty, 200, {"content-type": "text/html"},
                         b"<html><body></body></html>", FETCHED, 0.1))
    gone = f"https://{source.name}.example/gone"
    pages.append(Fetched(FetchRequest(gone, source.name, "page"), gone, 404, {}, b"", FETCHED, 0.1, "http_404",
                         "HTTP 404 Not Found"))
    return work


def test_a_pool_parses_exactly_what_the_flows_process_parses_in_the_same_order():
    work = _work()
    alone = parse_sources(work, 1, 0)
    pooled = parse_sources(work, 2, 0, chunk=2)  # many chunks, finishing in any order
    assert pooled.processes == 2 and alone.processes == 0
    assert pooled.parsed == alone.parsed
    assert sum(len(p.items) for p in pooled.parsed) == sum(len(pages) for _, pages in work) - 2
    assert [f.reason for p in pooled.parsed for f in p.failures] == ["no_article", "http_404"]
    assert pooled.worker_cpu > 0 and alone.worker_cpu == 0


def test_a_run_with_less_html_than_the_threshold_parses_in_process():
    work = _work()
    size = sum(len(p.body) for _, pages in work for p in pages)
    assert parse_sources(work, 2, size + 1).processes == 0
    assert parse_sources(work, 2, size).processes == 2


def _dies_in_a_worker(pages: Sequence[Fetched], source: Source) -> Parsed:
    """`parse_pages`, except that a worker process handed the first source's chunk dies."""
    if multiprocessing.parent_process() is not None and pages and pages[0].request.url.endswith("/empty"):
        os._exit(3)
    return parse_pages(pages, source)


def test_when_a_worker_dies_its_pages_are_parsed_in_process_and_nothing_is_lost(caplog):
    work = _work()
    source, pages = work[0]
    work[0] = (source, [pages[-2]] + pages[:-2] + [pages[-1]])  # the chunk that kills starts with /empty
    pooled = parse_sources(work, 2, 0, chunk=3, parse=_dies_in_a_worker)
    assert "a parse worker died" in caplog.text
    assert pooled.parsed == parse_sources(work, 1, 0).parsed


def _parse_and_name_the_worker(pages: Sequence[Fetched], source: Source) -> Parsed:
    """`parse_pages`, plus a failure row whose detail is the id of the process that parsed."""
    parsed = parse_pages(pages, source)
    parsed.failures.append(PageFailure(source.name, "worker", "parse", "pid", FETCHED, None, str(os.getpid())))
    return parsed


def _workers(run) -> set[str]:
    return {f.detail for p in run.parsed for f in p.failures if f.reason == "pid"}


def test_a_kept_pool_parses_every_call_with_the_same_workers_and_the_same_result():
    work = _work()
    with ParsePool(2) as pool:
        first = parse_sources(work, 2, 0, chunk=2, parse=_parse_and_name_the_worker, pool=pool)
        second = parse_sources(work, 2, 0, chunk=2, parse=_parse_and_name_the_worker, pool=pool)
    assert first.processes == second.processes == 2
    workers = _workers(first) | _workers(second)
    assert len(workers) <= 2 and str(os.getpid()) not in workers  # started once, not once per call
    strip = lambda run: [[f for f in p.failures if f.reason != "pid"] for p in run.parsed]  # noqa: E731
    assert [p.items for p in second.parsed] == [p.items for p in parse_sources(work, 1, 0).parsed]
    assert strip(first) == strip(second) == [p.failures for p in parse_sources(work, 1, 0).parsed]


def test_a_kept_pool_whose_worker_died_starts_new_workers_for_the_next_call(caplog):
    work = _work()
    source, pages = work[0]
    work[0] = (source, [pages[-2]] + pages[:-2] + [pages[-1]])  # the chunk that kills starts with /empty
    with ParsePool(2) as pool:
        broken = parse_sources(work, 2, 0, chunk=3, parse=_dies_in_a_worker, pool=pool)
        after = parse_sources(_work(), 2, 0, chunk=2, parse=_parse_and_name_the_worker, pool=pool)
    assert "a parse worker died" in caplog.text
    assert broken.parsed == parse_sources(work, 1, 0).parsed
    assert _workers(after) and str(os.getpid()) not in _workers(after)  # parsed in new workers
