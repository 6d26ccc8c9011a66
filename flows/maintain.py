"""The Prefect flow `maintain`: land what waits in staging, compact the warehouse file, and
apply retention to the raw archive.

Entrypoint for deployments: `flows/maintain.py:maintain` (see prefect.yaml). `akhbar maintain`
runs it once in this process. Compaction happens only when nobody holds the file; otherwise it
is skipped and reported (the next maintenance tries again).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows.config import load_config
from flows.prefect_setup import writer_slot
from flows.settings import Settings
from warehouse import Warehouse, WarehouseBusy
from warehouse.maintenance import compact, prune_archive

__all__ = ["maintain"]


def _settings(config: str) -> Settings:
    return load_config(config).settings if Path(config).exists() else Settings()


@task(name="land-staged", cache_policy=NONE)
def land_staged_task(warehouse: Warehouse) -> dict:
    waiting = sum(s["batches"] for s in warehouse.staging.summary())
    if not warehouse.path.exists() and not waiting:
        return {"waiting": 0, "merged": 0, "busy": False}
    try:
        warehouse.migrate()  # a write: upgrades the schema and merges every staged batch
    except WarehouseBusy:
        return {"waiting": waiting, "merged": 0, "busy": True}
    left = sum(s["batches"] for s in warehouse.staging.summary())
    return {"waiting": waiting, "merged": waiting - left, "busy": False}


@task(name="compact", cache_policy=NONE)
def compact_task(database: Path, timeout: float) -> dict:
    if not database.exists():
        return {"compacted": False, "reason": "no warehouse yet"}
    result = compact(database, timeout=timeout)
    return {"compacted": result.compacted, "size_before": result.size_before, "size_after": result.size_after,
            "reason": result.reason}


@task(name="archive-retention", cache_policy=NONE)
def retention_task(data_dir: Path, days: int, database: Path, timeout: float) -> dict:
    result = prune_archive(data_dir, days, database, timeout=timeout)
    return {"retention_days": days, "files_deleted": result.files_deleted, "bytes_deleted": result.bytes_deleted,
            "index_rows_cleared": result.index_rows_cleared}


@flow(name="maintain")
def maintain(
    config: str = "sources.yaml",
    database: str | None = None,
    compact_file: bool = True,
    retention_days: int | None = None,
) -> dict:
    """Land staged batches, compact the DuckDB file (only when nobody holds it) and delete raw
    archive files older than `retention_days` (default: the `archive_retention_days` setting;
    0 keeps everything). Returns what each step did."""
    logger = get_run_logger()
    settings = _settings(config)
    path = Path(database or settings.database)
    days = settings.archive_retention_days if retention_days is None else retention_days
    warehouse = Warehouse(path, lock_timeout=settings.lock_timeout, memory_limit=settings.duckdb_memory_limit,
                          checkpoint_threshold=settings.duckdb_checkpoint_threshold, stage_when_busy=True)
    with writer_slot(settings.writer_concurrency_limit):  # no ingest run writes meanwhile
        report: dict = {"database": str(path), "staging": land_staged_task(warehouse)}
        if compact_file:
            report["compact"] = compact_task(path, min(settings.lock_timeout, 5.0))
        report["archive"] = retention_task(Path(settings.data_dir or path.parent), days, path, settings.lock_timeout)
    logger.info("maintenance of %s: %s", path, report)
    return report
