"""The DuckDB warehouse: schema and migrations, loading, dedup index, queries. All SQL lives here.

Exceptions (all subclasses of `WarehouseError`):
- `WarehouseBusy`: another process held the file longer than the lock timeout;
- `WarehouseMissing`: a read-only open of a file that does not exist yet.
"""

from warehouse.connection import WarehouseBusy, WarehouseError, WarehouseMissing
from warehouse.query import QueryResult, run_query
from warehouse.records import ArchivedPage, FetchRecord, LoadItem, LoadResult, PageFailure, RobotsRecord, SourceRecord, Validators
from warehouse.store import Warehouse

__all__ = [
    "Warehouse",
    "WarehouseError",
    "WarehouseBusy",
    "WarehouseMissing",
    "LoadItem",
    "LoadResult",
    "PageFailure",
    "FetchRecord",
    "Validators",
    "RobotsRecord",
    "ArchivedPage",
    "SourceRecord",
    "QueryResult",
    "run_query",
]
