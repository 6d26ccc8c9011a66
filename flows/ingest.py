"""The Prefect flow `ingest`: discover → frontier → fetch (+ archive) → parse → dedup and load.

Entrypoint for deployments: `flows/ingest.py:ingest`. The flow composes the stages of
`flows/stages.py` as tasks that work per batch (discover, frontier, fetch, load) or per source
(parse), never per article. A page that fails is recorded in `fetch_errors` with its reason and
the run goes on; the flow fails only when the run itself cannot work (bad configuration,
unusable warehouse).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.runtime import flow_run

from flows.archive import Archive
from flows.config import Source, load_config
from flows.fetch import Fetched, FetchState
from flows.parse_pool import ParsedRun, pages_by_source, parse_sources
from flows.prefect_setup import writer_slot
from flows.progress import report
from flows.robots import RobotsCache, origin_of
from flows.settings import Settings
from flows.stages import (
    Discovered,
    Frontier,
    Parsed,
    build_frontier,
    discover,
    fetch_pages,
    load_pages,
    save_fetch_state,
)
from flows.summary import RunSummary, report_markdown, report_table
from warehouse import LoadResult, PageFailure, Warehouse

__all__ = ["ingest"]


@dataclass(frozen=True)
class _Timed:
    value: object
    wall: float
    cpu: float


def _timed(fn, *args) -> _Timed:
    wall, cpu = time.perf_counter(), time.thread_time()
    value = fn(*args)
    return _Timed(value, time.perf_counter() - wall, time.thread_time() - cpu)


@task(name="discover", cache_policy=NONE)
def discover_task(sources: Sequence[Source], settings: Settings, warehouse: Warehouse, state: FetchState) -> _Timed:
    report("discover", f"reading feeds, sitemaps and listing pages of {len(sources)} source(s)")
    return _timed(discover, sources, settings, warehouse, state)


@task(name="frontier", cache_policy=NONE)
def frontier_task(discovered: Discovered, sources: Sequence[Source], warehouse: Warehouse, cap: int) -> _Timed:
    return _timed(build_frontier, discovered, sources, warehouse, cap)


@task(name="fetch", cache_policy=NONE)
def fetch_task(urls: dict[str, list[str]], sources: Sequence[Source], settings: Settings, state: FetchState) -> _Timed:
    report("fetch", f"fetching {sum(map(len, urls.values()))} page(s)")
    return _timed(fetch_pages, urls, sources, settings, state)


@task(name="parse", cache_policy=NONE)
def parse_task(work: list[tuple[Source, list[Fetched]]], processes: int, min_bytes: int) -> _Timed:
    pages = sum(len(p) for _, p in work)
    report("parse", f"parsing {pages} page(s) of {len(work)} source(s)")
    timed = _timed(parse_sources, work, processes, min_bytes)
    run: ParsedRun = timed.value
    if run.processes:
        report("parse", f"parsed in {run.processes} worker processes")
    return _Timed(run, timed.wall, timed.cpu + run.worker_cpu)


@task(name="load", cache_policy=NONE)
def load_task(parsed: Parsed, warehouse: Warehouse, run_id: str, state: FetchState, discovered: Discovered,
              writer_limit: str) -> _Timed:
    report("load", f"loading {len(parsed.items)} article(s)")

    def load() -> LoadResult:
        result = load_pages(parsed, warehouse, run_id, state, discovered, lambda: writer_slot(writer_limit))
        if result.staged:
            report("load", f"warehouse busy: {result.staged} article(s) staged for the next load")
        return result

    return _timed(load)


def _origins(sources: Sequence[Source]) -> list[str]:
    urls = [u for s in sources for u in (s.homepage, *s.feeds, *s.sitemaps, *(p.url for p in s.listing_pages))]
    return sorted({origin_of(u) for u in urls})


@flow(name="ingest")
def ingest(
    sources: list[str] | None = None,
    group: str | None = None,
    config: str = "sources.yaml",
    database: str | None = None,
) -> dict:
    """Ingest the configured sources once: all of them, those of schedule group `group` (each
    deployment of prefect.yaml ingests one group), and/or those named in `sources`.

    Returns the run summary: per source discovered, known, skipped, fetched, new, updated,
    unchanged, duplicates and failed (discovered is the sum of the outcomes), plus failure
    reasons, time per stage and the health of the sources (`flagged`: silent or failing).
    Publishes a markdown and a table artifact. Fails only when the run cannot work (bad
    configuration, unusable warehouse, missing writer limit), never because pages failed.
    """
    logger = get_run_logger()
    started_at = datetime.now(timezone.utc)
    cfg = load_config(config)  # a bad file stops the run here, before anything is fetched
    selected = cfg.select(sources, group)
    settings = cfg.settings if database is None else cfg.settings.model_copy(update={"database": database})
    warehouse = Warehouse(
        settings.database,
        near_duplicate_threshold=settings.near_duplicate_threshold,
        dedup_window_days=settings.dedup_window_days,
        memory_limit=settings.duckdb_memory_limit,
        checkpoint_threshold=settings.duckdb_checkpoint_threshold,
        lock_timeout=settings.lock_timeout,
        stage_when_busy=True,  # a busy file never loses a batch: it waits in staging
        health_rules=settings.health_rules(),
    )
    limit = settings.writer_concurrency_limit
    run_id = uuid.uuid4().hex
    names = [s.name for s in selected]
    summary = RunSummary(run_id, names)
    flow_run_id = str(flow_run.id) if flow_run.id else None
    setup_wall, setup_cpu = time.perf_counter(), time.thread_time()
    with writer_slot(limit):  # strict: a missing limit fails the run here, before anything is fetched
        warehouse.migrate()
        warehouse.upsert_sources([s.warehouse_record() for s in selected])
        warehouse.start_run(run_id, names, flow_run_id)
    archive = Archive(settings.archive_dir, settings.warc_max_bytes) if settings.archive else None
    state = FetchState(settings, RobotsCache.from_records(warehouse.robots(_origins(selected)), settings.robots_ttl),
                       archive)
    summary.time_stage("setup", time.perf_counter() - setup_wall, time.thread_time() - setup_cpu)
    discovered: Discovered | None = None
    status = "failed"
    try:
        found = discover_task(selected, settings, warehouse, state)
        summary.time_stage("discover", found.wall, found.cpu)
        discovered = found.value
        for name, urls in discovered.urls.items():
            summary.add(name, "discovered", len(urls))
        summary.endpoints = {n: (discovered.asked.get(n, 0), discovered.read.get(n, 0)) for n in names}
        summary.add_failures(discovered.failures)

        planned = frontier_task(discovered, selected, warehouse, settings.max_articles_per_source)
        summary.time_stage("frontier", planned.wall, planned.cpu)
        frontier: Frontier = planned.value
        summary.to_fetch = {name: len(urls) for name, urls in frontier.todo.items()}
        for name in discovered.urls:
            summary.add(name, "known", frontier.known.get(name, 0))
            summary.add_skipped(name, "frontier:deferred", frontier.deferred.get(name, 0))

        got = fetch_task(frontier.todo, selected, settings, state)
        summary.time_stage("fetch", got.wall, got.cpu)
        pages: list[Fetched] = got.value
        for page in pages:
            if page.ok:
                summary.add(page.request.source, "fetched")

        # One parse task for the run: parsing is CPU-bound, so it goes to worker processes
        # (flows/parse_pool.py), not threads, which only fight over the GIL (DESIGN.md measured
        # the thread runner slower than one core).
        timed = parse_task(pages_by_source(selected, pages), settings.parse_processes, settings.parse_pool_min_bytes)
        summary.time_stage("parse", timed.wall, timed.cpu)
        summary.parse_workers = timed.value.processes
        batch = Parsed()
        for parsed in timed.value.parsed:
            batch.items.extend(parsed.items)
            batch.failures.extend(parsed.failures)
        failures: list[PageFailure] = discovered.failures + batch.failures
        summary.add_failures(batch.failures)

        loaded = load_task(Parsed(batch.items, failures), warehouse, run_id, state, discovered, limit)
        result: LoadResult = loaded.value
        summary.time_stage("dedup", result.dedup_wall, result.dedup_cpu)
        summary.time_stage("load", loaded.wall - result.dedup_wall, loaded.cpu - result.dedup_cpu)
        summary.add_load(result)
        status = "completed"
    finally:
        finish_wall, finish_cpu = time.perf_counter(), time.thread_time()
        if archive is not None:
            archive.close()
        with writer_slot(limit):
            if status != "completed":  # keep the archive index of what was fetched before the failure
                try:
                    save_fetch_state(warehouse, run_id, state, discovered)
                except Exception:  # noqa: BLE001 - the original error matters more
                    logger.exception("could not save the fetch log of the failed run")
            warehouse.finish_run(run_id, status, summary.as_dict())
            # health is recorded only for runs that worked: a crashed run says nothing of its sources
            rows = summary.source_runs(group, flow_run_id, started_at, datetime.now(timezone.utc))
            health_rows = warehouse.record_source_runs(rows) if status == "completed" else None
        summary.time_stage("finish", time.perf_counter() - finish_wall, time.thread_time() - finish_cpu)
    health = None if health_rows is None else {h["source"]: h for h in health_rows}

    _publish(summary, health, group)
    totals = summary.totals()
    logger.info("run %s: %s", run_id, ", ".join(f"{k} {v}" for k, v in totals.items()))
    for name, reasons in summary.reasons.items():
        if reasons:
            logger.info("source %s: failures %s", name, dict(reasons))
    out = summary.as_dict()
    out["health"] = _jsonable_health(health)
    out["flagged"] = {}
    for h in (health or {}).values():
        if h.get("flag"):
            # one WARNING line per flagged source, and an event a Prefect automation can match
            logger.warning("source %s is %s: %s", h["source"], h["flag"], h["flag_reason"])
            _emit_flagged(h, run_id, group)
            out["flagged"][h["source"]] = {"flag": h["flag"], "reason": h["flag_reason"]}
    return out


def _artifact_key(kind: str, group: str | None) -> str:
    return f"ingest-{kind}" + (f"-{group}" if group else "")


def _publish(summary: RunSummary, health: dict[str, dict] | None, group: str | None) -> None:
    """The run's table artifact (per source counts, outcome and flag) and markdown artifact
    (the same, plus top error reasons, time per stage and flagged sources)."""
    where = f"schedule group {group}" if group else "all sources"
    create_table_artifact(
        key=_artifact_key("summary", group),
        table=report_table(summary, health),
        description=f"akhbar run {summary.run_id} ({where}): per source discovered, fetched, new, updated, "
        "duplicates, skipped, failed, the source run's outcome and health flag",
    )
    create_markdown_artifact(
        key=_artifact_key("report", group),
        markdown=report_markdown(summary, health, group, "completed"),
        description=f"akhbar run {summary.run_id} ({where}): what it did, why pages failed, time per stage, "
        "flagged sources",
    )


def _jsonable_health(health: dict[str, dict] | None) -> dict | None:
    if health is None:
        return None
    def plain(v):
        return v.isoformat() if isinstance(v, datetime) else float(v) if isinstance(v, Decimal) else v

    return {name: {k: plain(v) for k, v in h.items()} for name, h in health.items()}


def _emit_flagged(health: dict, run_id: str, group: str | None) -> None:
    from prefect.events import emit_event

    emit_event(
        event="akhbar.source.flagged",
        resource={"prefect.resource.id": f"akhbar.source.{health['source']}",
                  "prefect.resource.name": health["source"], "akhbar.flag": health["flag"]},
        payload={"flag": health["flag"], "reason": health["flag_reason"], "run_id": run_id, "group": group,
                 "consecutive_failures": health["consecutive_failures"], "articles_24h": health["articles_24h"]},
    )
