"""Source health: the per-run, per-source outcomes a run writes (`source_runs`) and the
`source_health` view read from them (migrations 0007 and 0009). The view flags by the rules in
`health_rules` (`HealthRules`, written by each run from its settings): a source is `failing`
after `failing_after` consecutive failed runs (3 by default), `silent` when no new story came
in the last `silent_hours` (24) although its usual rate, the median daily count of the
`usual_days` (14) before the last 24 h, is at least `min_usual_per_day` (1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

import duckdb
import pyarrow as pa

__all__ = ["SourceRun", "HealthRules", "HEALTH_COLUMNS", "source_runs_table", "read_health", "write_rules"]

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


@dataclass(frozen=True)
class HealthRules:
    """The thresholds `source_health` flags by (the row of `health_rules`)."""

    failing_after: int  # consecutive failed source runs that flag `failing`
    silent_hours: int  # hours without a new story that flag `silent` ...
    min_usual_per_day: float  # ... when the usual rate is at least this many a day
    usual_days: int  # the usual rate is the median of this many days before the last 24 h
    min_usual_days: int  # with fewer observed days than this, a source has no usual rate


def write_rules(con: duckdb.DuckDBPyConnection, rules: HealthRules) -> None:
    """Make `rules` the ones `source_health` applies (caller's transaction)."""
    con.execute("INSERT OR REPLACE INTO health_rules VALUES (1, ?, ?, ?, ?, ?, now())",
                [rules.failing_after, rules.silent_hours, rules.min_usual_per_day, rules.usual_days,
                 rules.min_usual_days])


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
