"""Read-only ad-hoc queries for `akhbar sql` and for Python users."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warehouse.connection import open_reader

__all__ = ["QueryResult", "run_query"]


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]


def run_query(path: str | Path, sql: str, params: list[Any] | None = None, timeout: float = 30.0) -> QueryResult:
    """Run one statement on a read-only connection (retrying while a writer holds the file)."""
    with open_reader(path, timeout) as con:
        cursor = con.execute(sql, params or [])
        if cursor.description is None:
            return QueryResult([], [], [])
        columns = [d[0] for d in cursor.description]
        types = [str(d[1]) for d in cursor.description]
        return QueryResult(columns, types, cursor.fetchall())
