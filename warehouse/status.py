"""What `akhbar status` shows: the file, its schema version, counts, the last run, the health of
each source, and what waits in staging. Read-only; when the file is busy the staging part is still shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from warehouse.connection import WarehouseBusy, WarehouseMissing, open_reader
from warehouse.health import read_health
from warehouse.migrations import available_migrations
from warehouse.staging import Staging

__all__ = ["WarehouseStatus", "warehouse_status"]

_COUNTED = ("articles", "article_versions", "runs", "fetch_errors", "sources", "staged_batches")


@dataclass
class WarehouseStatus:
    path: Path
    exists: bool
    size_bytes: int | None = None
    busy: bool = False
    schema_version: int | None = None
    newest_schema_version: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    clusters_with_copies: int | None = None
    last_run: dict[str, Any] | None = None
    staging_dir: Path | None = None
    staging: list[dict] = field(default_factory=list)
    #: rows of the `source_health` view, flagged sources first (empty before schema version 7)
    health: list[dict] = field(default_factory=list)

    @property
    def flagged(self) -> list[dict]:
        return [h for h in self.health if h.get("flag")]

    @property
    def staged_batches(self) -> int:
        return sum(s["batches"] for s in self.staging)


def warehouse_status(path: str | Path, timeout: float = 5.0) -> WarehouseStatus:
    path = Path(path)
    staging = Staging(path)
    status = WarehouseStatus(
        path=path, exists=path.exists(), newest_schema_version=max(m.version for m in available_migrations()),
        staging_dir=staging.dir, staging=staging.summary(),
    )
    if not status.exists:
        return status
    status.size_bytes = path.stat().st_size
    try:
        with open_reader(path, timeout) as con:
            tables = {r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
            if "schema_migrations" in tables:
                status.schema_version = con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
            for name in _COUNTED:
                if name in tables:
                    status.counts[name] = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            if "story_clusters" in tables:
                status.clusters_with_copies = con.execute(
                    "SELECT count(*) FROM (SELECT cluster_id FROM articles GROUP BY cluster_id HAVING count(*) > 1)"
                ).fetchone()[0]
            if "runs" in tables:
                row = con.execute(
                    "SELECT run_id, status, started_at, finished_at, stats->'$.totals' FROM runs "
                    "ORDER BY started_at DESC LIMIT 1"
                ).fetchone()
                if row:
                    status.last_run = dict(zip(("run_id", "status", "started_at", "finished_at", "totals"), row))
            if "source_runs" in tables:
                status.health = read_health(con)
    except (WarehouseBusy, WarehouseMissing):
        status.busy = True
    return status


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"
