"""Source health: the per-run, per-source outcomes a run writes (`source_runs`) and the
`source_health` view read from them (migration 0007). The SQL of the view holds the rules:
a source is `failing` after 3 consecutive failed runs, `silent` when no new story came in the
last 24 h although its usual rate (median daily count of the 14 days before) is at least 1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

import duckdb
import pyarrow as pa

__all__ = ["SourceRun", "HEALTH_COLUMNS", "source_runs_table", "read_health"]

_TS = pa.timestamp("us", tz="UTC")

#: What `akhbar status` and a run's artifact show of `source_health`, in order.
HEALTH_COLUMNS = ("source", "last_success_at", "last_run_status", "consecutive_failures", "articles_24h",
                  "usual_per_day", "articles", "errors_7d", "flag", "flag_reason")


@dataclass(frozen=True)
class SourceRun:
    """What one run did for one source (a row of `source_runs`)."""

    run_id: str
    source: str
    schedule_group: str | None
    flow_run_id: str | None
    started_at: datetime
    finished_at: datetime
    status: str  # ok | failed
    failure: str | None  # no_endpoint_read | nothing_fetched
    endpoints: int
    endpoints_read: int
    discovered: int
    to_fetch: int
    fetched: int
    new: int
    updated: int
    duplicates: int
    skipped: int
    failed: int
    feed_errors: int


def source_runs_table(rows: Sequence[SourceRun]) -> pa.Table:
    columns: dict[str, pa.Array] = {}
    for f in fields(SourceRun):
        values = [getattr(r, f.name) for r in rows]
        if f.name in ("started_at", "finished_at"):
            columns[f.name] = pa.array(values, _TS)
        elif f.type == "int":
            columns[f.name] = pa.array(values, pa.int32())
        else:
            columns[f.name] = pa.array(values, pa.string())
    return pa.table(columns)


def read_health(con: duckdb.DuckDBPyConnection, names: Sequence[str] | None = None) -> list[dict]:
    """Rows of `source_health` (all sources, or those named), flagged ones first."""
    sql = "SELECT * FROM source_health"
    params: list = []
    if names is not None:
        sql += " WHERE source IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(names))
    sql += " ORDER BY flag IS NULL, source"
    cursor = con.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]
