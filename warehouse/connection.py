"""Opening the DuckDB file: late, briefly, and with bounded retries while another process holds it.

DuckDB lets one process hold a file read-write, and then nobody else may even read it; the
error comes at once. So every operation opens, works, checkpoints and closes (a writer session
holds the file for a few transactions, such as one run's load), and an open that finds the file
busy retries with backoff for at most `timeout` seconds.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa

T = TypeVar("T")

__all__ = ["WarehouseError", "WarehouseBusy", "WarehouseMissing", "open_writer", "open_session", "transaction",
           "open_reader", "retry_while_locked", "quote_path", "collector_paused", "duckdb_config", "ROW_GROUP_SIZE",
           "execute_over"]


class WarehouseError(Exception):
    """Base of warehouse errors.

    WarehouseBusy: another process holds the file for longer than we were willing to wait.
    WarehouseMissing: a read-only open of a file that does not exist.
    (A writer open of a file that has a table or view named `batch_rows`, the name under which
    the loader's statements read its Arrow rows, raises WarehouseError itself.)
    """


class WarehouseBusy(WarehouseError):
    pass


class WarehouseMissing(WarehouseError):
    pass


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "being used" in text


def retry_while_locked(open_: Callable[[], T], path: Path, timeout: float) -> T:
    """Call `open_` (a connect or an ATTACH of `path`) until it does not meet another process's
    lock, with jittered exponential backoff, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        try:
            return open_()
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise WarehouseError(f"{path}: {exc}") from exc
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"{path} is held by another process (a run writing, or a session reading it) "
                    f"and did not become free within {timeout:g} s"
                ) from exc
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())) * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)


def duckdb_config(memory_limit: str | None) -> dict[str, str]:
    """The `config` of a DuckDB connection: `memory_limit` (e.g. "1GB") caps its buffer pool;
    None leaves DuckDB's default (80% of RAM)."""
    return {"memory_limit": memory_limit} if memory_limit else {}


def _connect(path: Path, read_only: bool, timeout: float, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    config = duckdb_config(memory_limit)
    return retry_while_locked(lambda: duckdb.connect(str(path), read_only=read_only, config=config), path, timeout)


def execute_over(
    con: duckdb.DuckDBPyConnection, sql: str, batch_rows: pa.Table, params: list | None = None
) -> duckdb.DuckDBPyConnection:
    """Run `sql`, which reads the Arrow table `batch_rows` by that name: DuckDB's replacement scan
    finds it among this function's locals. This replaces a `register` / `unregister` pair, which
    on DuckDB 2.0.1 costs about 0.3 ms a table: some 2 ms of a load of 1,000 articles, which
    inserts from seven tables. A table or view of that name would be read instead, silently, so
    a writer refuses a file that has one (`_refuse_shadowed_rows`)."""
    return con.execute(sql, params)


def _refuse_shadowed_rows(con: duckdb.DuckDBPyConnection) -> None:
    found = con.execute(
        "SELECT database_name || '.' || schema_name || '.' || table_name FROM duckdb_tables() WHERE table_name = 'batch_rows' "
        "UNION ALL SELECT database_name || '.' || schema_name || '.' || view_name FROM duckdb_views() "
        "WHERE view_name = 'batch_rows'"
    ).fetchall()
    if found:
        raise WarehouseError(
            f"the warehouse has {found[0][0]}: the loader reads the rows it inserts under the name batch_rows, "
            "and would read that instead; rename or drop it"
        )


def quote_path(path: Path | str) -> str:
    """`path` for a single-quoted SQL string literal."""
    return str(path).replace("'", "''")


#: Rows per row group in the files akhbar writes (DuckDB's default is 122,880). A checkpoint
#: rewrites the partly filled last row group of every table it appends to, so with DuckDB's
#: default a load of 1,000 articles into a file of 100,000 recompressed some 100,000 bodies;
#: with row groups this size it rewrites at most one small group per table. Scans are unaffected
#: in practice (a group of 16,384 article versions is still some 100 MB of text).
ROW_GROUP_SIZE = 16_384


def _connect_writer(
    path: Path, timeout: float, memory_limit: str | None, checkpoint_threshold: str | None, row_group_size: int
) -> duckdb.DuckDBPyConnection:
    """The file ATTACHed read-write as `akhbar` (and made the default database), because the row
    group size of what is written can only be set there. DuckDB's progress bar is off: a long
    write (a migration rewriting every version) would otherwise draw it into the output of
    whatever runs the write (a flow's log, `akhbar maintain`)."""
    config = duckdb_config(memory_limit)
    if checkpoint_threshold:
        config["checkpoint_threshold"] = checkpoint_threshold

    def open_() -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(":memory:", config=config)
        try:
            con.execute("SET enable_progress_bar = false")  # a connection option, not a config one
            con.execute(f"ATTACH '{quote_path(path)}' AS akhbar (ROW_GROUP_SIZE {int(row_group_size)})")
            con.execute("USE akhbar")
            _refuse_shadowed_rows(con)
        except BaseException:
            con.close()
            raise
        return con

    return retry_while_locked(open_, path, timeout)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, then back as it was. A full (oldest
    generation) collection over a pipeline's heap takes about half a second (measured: a pass of
    470 ms during six loads of 10,000 into a 100k file); run inside a write transaction, it holds
    the file that long. Reference counting still frees everything without cycles at once; cycles
    wait for the next collection, after the block."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction on `con`: committed when the block ends, rolled back when it raises. The
    cyclic garbage collector does not run inside it (`collector_paused`)."""
    with collector_paused():
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


def _close(con: duckdb.DuckDBPyConnection) -> None:
    """Close a writer connection: DuckDB folds the write-ahead log into the file as the file's
    database closes, on the closing thread with its worker threads helping.

    Not a `CHECKPOINT` statement first. DuckDB 2.0.1 runs a statement as a task that any of its
    threads may take; when its worker took the checkpoint (straight after a session's last commit:
    20 of 38 runs) the calling thread sat idle and the checkpoint took 1.8x as long (per-thread
    CPU: the worker did all of it; 100 batches of 1,000 into a 100k file, 2 threads: 2.6-3.9 s
    against 1.4-2.2 s). A statement in between only changed the odds (`SET threads`: 2 of 4 runs
    on one thread at a 1 GB memory limit; `SELECT 1`: 3 slow closes of 24 sessions in
    `benchmarks/load.py`). Closing ran on both threads in 12 of 12 runs, the calling thread doing
    about half. If the closing checkpoint fails, the committed loads stay in the log, and the
    next open replays them.
    """
    con.close()


@contextmanager
def open_session(
    path: str | Path, timeout: float = 60.0, memory_limit: str | None = None, checkpoint_threshold: str | None = None,
    row_group_size: int = ROW_GROUP_SIZE,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection held for several transactions (`transaction(con)` each); checkpoints
    and closes on exit. Between transactions the committed work is durable in DuckDB's write-ahead
    log; `checkpoint_threshold` (e.g. "256MB") is the log size at which DuckDB folds it into the
    file on its own. Folding once per session instead of once per transaction is what makes a
    series of small loads cheap: each checkpoint rewrites the partly filled last row group of every
    table it touches."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _connect_writer(path, timeout, memory_limit, checkpoint_threshold, row_group_size)
    try:
        yield con
    finally:
        _close(con)


@contextmanager
def committed_reader(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A second connection to the database of a writer connection (`open_session`), for reads
    that run while `con` is busy, e.g. on another thread. It reads in transactions of its own:
    what is committed, never what `con`'s open transaction wrote. About 0.1 ms to open."""
    reader = con.cursor()
    try:
        reader.execute("USE akhbar")
        yield reader
    finally:
        reader.close()


@contextmanager
def open_writer(
    path: str | Path, timeout: float = 60.0, memory_limit: str | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection inside one transaction; commits, checkpoints and closes on exit.
    `memory_limit` (e.g. "512MB") caps DuckDB's buffer pool for this connection."""
    with open_session(path, timeout, memory_limit) as con, transaction(con):
        yield con


@contextmanager
def open_reader(path: str | Path, timeout: float = 30.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection, closed on exit so the writer is never blocked for long."""
    path = Path(path)
    if not path.exists():
        raise WarehouseMissing(f"{path}: no warehouse here yet (run `akhbar run` or `akhbar demo` first)")
    con = _connect(path, read_only=True, timeout=timeout)
    try:
        yield con
    finally:
        con.close()
