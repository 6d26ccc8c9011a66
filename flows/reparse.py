"""Re-extract archived pages with the current parser, without the network.

`reparse()` reads the newest archived answer of every page URL (the warehouse's `fetch_log`
index points into the WARC files), parses it exactly as a run does (`flows.parse_pool.parse_sources`)
and loads the result, `reparse_batch_pages` pages at a time: a story whose extracted record
changed gets a new version (`updated`), an unchanged one only has `last_seen_at` moved.
Recorded as a run of its own (`runs`, with `sources` and `stats` like an ingest run).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from flows.archive import read_record
from flows.config import Source, load_config
from flows.fetch import Fetched, FetchRequest
from flows.parse_pool import ParsePool, parse_sources
from flows.progress import report
from flows.settings import Settings
from flows.stages import Parsed
from flows.summary import RunSummary
from warehouse import ArchivedPage, PageFailure, Warehouse

__all__ = ["reparse"]


def _parse_archived(pages: Sequence[ArchivedPage], selected: Sequence[Source], settings: Settings,
                    summary: RunSummary, pool: ParsePool) -> Parsed:
    """Read a batch of archived pages from the WARC files and parse them as a run does; a page
    whose record cannot be read is a failure (`archive_missing`)."""
    batch = Parsed()
    work = []
    for source in selected:
        fetched: list[Fetched] = []
        for page in (p for p in pages if p.source == source.name):
            req = FetchRequest(page.url, source.name, "page")
            try:
                record = read_record(settings.archive_dir, page.warc_file, page.warc_offset)
            except (OSError, ValueError) as exc:
                batch.failures.append(PageFailure(source.name, page.url, "parse", "archive_missing", page.fetched_at,
                                                  None, f"{page.warc_file}:{page.warc_offset}: {exc}"[:500]))
                summary.add(source.name, "discovered")
                continue
            fetched.append(Fetched(req, page.final_url, record.status, record.headers, record.body,
                                   page.fetched_at, 0.0))
        summary.add(source.name, "discovered", len(fetched))
        summary.add(source.name, "fetched", len(fetched))
        work.append((source, fetched))
    for parsed in parse_sources(work, settings.parse_processes, settings.parse_pool_min_bytes, pool=pool).parsed:
        batch.items.extend(parsed.items)
        batch.failures.extend(parsed.failures)
    return batch


def reparse(config: str = "sources.yaml", sources: Sequence[str] | None = None, since: datetime | None = None,
            database: str | None = None, batch_pages: int | None = None) -> dict:
    """Re-extract the archived pages of the selected sources (fetched at or after `since`);
    returns the run summary (new, updated, unchanged, duplicates, failed per source). The pages
    are read, parsed and loaded `batch_pages` at a time (default: the setting
    `reparse_batch_pages`), each batch its own transaction, so memory stays bounded and a run
    cut short keeps the batches it loaded (a re-run finds them unchanged)."""
    cfg = load_config(config)
    selected = cfg.select(list(sources) if sources else None)
    settings = cfg.settings if database is None else cfg.settings.model_copy(update={"database": database})
    warehouse = Warehouse(settings.database, near_duplicate_threshold=settings.near_duplicate_threshold,
                          dedup_window_days=settings.dedup_window_days, memory_limit=settings.duckdb_memory_limit,
                          checkpoint_threshold=settings.duckdb_checkpoint_threshold)
    warehouse.migrate()
    names = [s.name for s in selected]
    run_id = "reparse-" + uuid.uuid4().hex
    summary = RunSummary(run_id, names)
    pages = warehouse.archived_pages(names, since)
    warehouse.start_run(run_id, names)
    status = "failed"
    try:
        size = batch_pages or settings.reparse_batch_pages
        batches = [pages[k:k + size] for k in range(0, len(pages), size)]
        with ParsePool(settings.parse_processes) as pool:  # the workers start once, not per batch
            for number, chunk in enumerate(batches, 1):
                report("reparse", f"batch {number}/{len(batches)}: {len(chunk)} archived page(s)")
                batch = _parse_archived(chunk, selected, settings, summary, pool)
                summary.add_failures(batch.failures)
                result = warehouse.load(batch.items, batch.failures, run_id)  # one transaction per batch
                summary.add_load(result)
        status = "completed"
    finally:
        warehouse.finish_run(run_id, status, summary.as_dict())
    return summary.as_dict()
