"""Where a batch's time goes while the loader holds the file: every SQL statement and loader
function of `Warehouse.upsert_articles`, timed over a series of batches in one writer session.

    python benchmarks/load_profile.py --prefilled FILE [--batch 1000] [--batches 20]
    python benchmarks/load_profile.py --prefilled FILE --commit-each   # the commit split by table

FILE is a prefilled warehouse (e.g. one made by `benchmarks/load.py`'s prefill; it is copied,
never changed). The batches are prepared before the session, as the pipeline does. Prints the
session's time, the median batch, and per statement / function the mean and median time per
batch, largest first. `--commit-each` commits after every insert, update or delete (and begins
again), so that the commit's cost is told per table: the transactions are then smaller than the
loader's, so use it to split the commit, not for the total.

A load's writes run on a worker thread (`warehouse/statement_queue.py`): a statement's time is
the worker's, and a function's time (`fn ...`) is the loader thread's, which includes waiting for
the worker where it needs a result (`index_documents`, queued first, waits for its lookups of the
search terms the session has not used yet and of the documents an update replaces).
So the lines overlap and do not add up to the batch.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


class _TimedConnection:
    """A DuckDB connection that times every statement (by its first 70 characters)."""

    def __init__(self, con, times: dict[str, list[float]], commit_each: bool) -> None:
        self._con, self._times, self._commit_each = con, times, commit_each

    def execute(self, sql: str, *args):
        key = re.sub(r"\s+", " ", sql)[:70]
        # `warehouse.connection.execute_over`'s table, for DuckDB's replacement scan, which looks
        # for it among the locals of the function that calls DuckDB: this one
        batch_rows = sys._getframe(1).f_locals.get("batch_rows")  # noqa: F841
        t = time.perf_counter()
        out = self._con.execute(sql, *args)
        self._times[key].append(time.perf_counter() - t)
        if self._commit_each and sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            t = time.perf_counter()
            self._con.execute("COMMIT")
            self._times["COMMIT after " + key[:50]].append(time.perf_counter() - t)
            self._con.execute("BEGIN TRANSACTION")
        return out

    def sql(self, sql: str, *args):
        batch_rows = sys._getframe(1).f_locals.get("batch_rows")  # noqa: F841 (as in `execute`)
        t = time.perf_counter()
        table = self._con.sql(sql, *args).to_arrow_table()
        self._times["sql: " + re.sub(r"\s+", " ", sql)[:64]].append(time.perf_counter() - t)
        return _Result(table)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


class _Result:
    def __init__(self, table) -> None:
        self._table = table

    def to_arrow_table(self):
        return self._table


def _time_function(module, name: str, times: dict[str, list[float]]) -> None:
    function = getattr(module, name)

    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            times[f"fn {name}"].append(time.perf_counter() - t)

    setattr(module, name, timed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prefilled", required=True, help="a prefilled warehouse file (copied, never changed)")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--commit-each", action="store_true", help="commit after every write, to split the commit by table")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()

    import load  # benchmarks/load.py: the same generated articles

    import warehouse.store as store
    from warehouse import Warehouse
    from warehouse.dedup import prepare

    times: dict[str, list[float]] = defaultdict(list)
    for name in ("find_candidates", "candidates_among", "decide_batch", "add_signatures", "index_documents", "articles_table",
                 "with_run_id"):
        _time_function(store, name, times)
    from warehouse.seen_keys import SeenKeys

    for name in ("known_ids", "known_fingerprints", "bucket_holders", "add"):  # the session's keys in memory
        _time_function(SeenKeys, name, times)
    work = Path(tempfile.mkdtemp(prefix="akhbar-load-profile-"))
    db = work / "w.duckdb"
    shutil.copy(args.prefilled, db)
    batches = []
    for start in range(0, args.batch * args.batches, args.batch):
        items = load.items(start, args.batch)
        batches.append((items, prepare(items)))
    per_batch = []
    t0 = time.perf_counter()
    with Warehouse(db, lock_timeout=60).session() as held:
        # the session's connection, wrapped: every statement the loader runs goes through it
        held._con = _TimedConnection(held._con, times, args.commit_each)
        for items, prepared in batches:
            t = time.perf_counter()
            held.upsert_articles(items, "profile", prepared)
            per_batch.append(time.perf_counter() - t)
        t1 = time.perf_counter()
    closed = time.perf_counter() - t1
    shutil.rmtree(work)
    n = len(batches)
    print(f"{n} batches of {args.batch:,}: {t1 - t0:.2f} s, median batch {statistics.median(per_batch) * 1000:.0f} ms, "
          f"closing the session (checkpoint) {closed:.2f} s" + ("  [--commit-each]" if args.commit_each else ""))
    print(f"{'mean/batch':>11} {'median':>8}  statement or function")
    for key, values in sorted(times.items(), key=lambda kv: -sum(kv[1]))[: args.top]:
        print(f"{sum(values) / n * 1000:8.1f} ms {statistics.median(values) * 1000:6.1f} ms  {key}")


if __name__ == "__main__":
    main()
