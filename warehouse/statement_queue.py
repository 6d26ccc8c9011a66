"""A load's statements, run in order on a worker thread while the caller builds the next ones.

A load of 1,000 articles spends some 45 ms in DuckDB (inserting its rows into seven tables) and
some 10 ms in Python building those rows from its decisions (the articles' rows, the search
index's postings) and adding its keys to the session's memory (`warehouse/seen_keys.py`). DuckDB
lets the GIL go while it runs a statement, so with the statements queued to one worker thread
the Python work of the load runs beside them instead of between them: on the development
machine (2 cores), 100 loads of 1,000 into a 100k file took 3-5% less (alternating with the
commit before, 3 rounds each: docs/operations.md, "Load speed").

While a queue is open, Python's GIL changes hands every 0.5 ms instead of every 5 (`gil_handoff`).
The worker needs the GIL for a moment at every statement (its own Python, the parameters, and
DuckDB finding and opening the Arrow rows it reads), and the loader's thread, deciding what to
write, holds it in pure-Python loops; at the default interval each statement could wait up to
5 ms for it. Measured (100 loads of 1,000 into a 100k file, 2 cores, sessions alternating, 4
rounds): the loader's wait for the worker at the end of a load 11.5-13.5 ms against 14-16 ms, the
median load 56-62.5 ms against 62-64 ms; loads alternating within one session (6 sessions) gained
less, 0.6-2.2 ms a load in 5 of 6.

Nothing else may use the connection between queueing and `wait()`: DuckDB refuses a second call
on a busy connection (it raises, it does not corrupt), and a statement's result is valid only
until the next one runs. So a read is fetched on the worker (`query`, `query_arrow`) and its
Future holds the rows.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

__all__ = ["StatementQueue", "statement_queue", "gil_handoff", "GIL_HANDOFF_S"]

#: How often the GIL changes hands while a load's statements run (Python's default: 5 ms).
GIL_HANDOFF_S = 0.0005

T = TypeVar("T")


class StatementQueue:
    """Statements on one connection, run in the order they are queued on one worker thread.

    Each method returns a Future. A statement queued after one that failed does not run: its
    Future raises the first failure, as does `wait()`. The Arrow rows a statement reads as
    `batch_rows` (DuckDB's replacement scan, as in `warehouse.connection.execute_over`) are a
    local of the worker's frame, `_run`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, pool: ThreadPoolExecutor) -> None:
        self._con = con
        self._pool = pool
        self._queued: list[Future] = []
        self._failure: BaseException | None = None

    def execute(self, sql: str, batch_rows: pa.Table | None = None, params: list | None = None) -> Future[None]:
        """Queue a statement that returns nothing (an insert, update or delete)."""
        return self._queue(sql, batch_rows, params, lambda con: None)

    def query(self, sql: str, params: list | None = None, batch_rows: pa.Table | None = None) -> Future[list[tuple]]:
        """Queue a query; its Future holds its rows."""
        return self._queue(sql, batch_rows, params, lambda con: con.fetchall())

    def query_arrow(self, sql: str, batch_rows: pa.Table | None = None) -> Future[pa.Table]:
        """Queue a query; its Future holds its rows as Arrow."""
        return self._queue(sql, batch_rows, None, None)

    def wait(self) -> None:
        """Return when every queued statement has run; raise the first failure."""
        queued, self._queued = self._queued, []
        for future in queued:
            future.exception()  # waits; the failure itself is kept in `_failure`
        if self._failure is not None:
            raise self._failure

    def _queue(self, sql: str, batch_rows: pa.Table | None, params: list | None,
               fetch: Callable[[duckdb.DuckDBPyConnection], T] | None) -> Future[Any]:
        future = self._pool.submit(self._run, sql, batch_rows, params, fetch)
        self._queued.append(future)
        return future

    def _run(self, sql: str, batch_rows: pa.Table | None, params: list | None,
             fetch: Callable[[duckdb.DuckDBPyConnection], T] | None) -> Any:
        if self._failure is not None:
            raise self._failure
        try:
            if fetch is None:  # (a relation's Arrow, without the DB-API result's extra copy)
                return self._con.sql(sql).to_arrow_table()
            return fetch(self._con.execute(sql, params))
        except BaseException as failure:
            self._failure = failure
            raise


@contextmanager
def gil_handoff(interval: float) -> Iterator[None]:
    """Python's switch interval (`sys.setswitchinterval`: how long a thread that wants the GIL
    waits before the holder is asked to let it go) at most `interval` for the block, then as it
    was, unless something else changed it meanwhile. It is the process's setting: every thread
    hands the GIL over more often during the block, which costs the holder a little."""
    before = sys.getswitchinterval()
    if interval >= before:
        yield
        return
    sys.setswitchinterval(interval)
    try:
        yield
    finally:
        if abs(sys.getswitchinterval() - interval) < 1e-7:
            sys.setswitchinterval(before)


@contextmanager
def statement_queue(con: duckdb.DuckDBPyConnection, handoff: float = GIL_HANDOFF_S) -> Iterator[StatementQueue]:
    """A queue of statements on `con` for the block (inside the caller's transaction). When the
    block ends, every statement has run: waited for, and a failure raised, when it ends normally;
    waited for quietly when it raises (so that the caller's rollback finds the connection idle).
    `handoff`: the GIL's switch interval meanwhile (`gil_handoff`)."""
    with gil_handoff(handoff), ThreadPoolExecutor(max_workers=1, thread_name_prefix="akhbar-load") as pool:
        queue = StatementQueue(con, pool)
        try:
            yield queue
        except BaseException:
            try:
                queue.wait()
            except BaseException:
                pass  # the block's own error is the one to raise
            raise
        queue.wait()
