"""Load speed: N articles (3 KB bodies) loaded in batches into a file that already holds P, beside
DuckDB's own floor for the same rows, measured in the same run.

    python benchmarks/load.py                        # 100,000 into 100,000, batches of 1,000 and 10,000
    python benchmarks/load.py --configs prepared --repeat 3   # medians of 3 rounds (the floor is noisy)
    python benchmarks/load.py --articles 20000 --prefill 20000

Each configuration runs in its own process on its own copy of the prefilled file (so peak RSS is
its own). The loads run in one `Warehouse.session()`: the file is opened once, every batch is its
own committed transaction, the file is checkpointed when the session ends (and from the second
batch on, for batches of at most 5% of the window's bucket keys, such as 1,000 into 100,000, the
session answers the dedup lookups from memory: `warehouse/seen_keys.py`; reading the keys is part
of the second batch's time); the time counted is every batch's
`upsert_articles` call plus opening and closing (final checkpoint) the session:
- `prepared`: `upsert_articles(batch, prepared=...)` with the batch prepared beforehand, outside
  the timing (ids, hashes, fingerprints, MinHash signatures, search terms, version rows: the CPU
  work the pipeline does before it takes the file): what the loader costs while it holds the
  file. This is the figure to hold against the floor.
- `load`: `upsert_articles(batch)`, which also prepares the batch (inside the timing).
- `per-call` (not run by default): like `prepared`, but every batch opens, commits, checkpoints
  and closes the file itself, as a lone `upsert_articles` outside a session does.
- `floor`: the same rows' `article_versions` and `articles` tables as Arrow, inserted with one
  `INSERT … SELECT` each in one transaction, then a checkpoint, on a plain `duckdb.connect`: no
  dedup lookups, no signatures, no search index. The ratios are against this one.
- `floor-rg`: the same through the loader's connection (`warehouse.connection.open_session`: the
  file attached with akhbar's row group size), to show what that setting does to DuckDB alone.
- `floor-all`: every row the load writes, not only the articles: its versions and articles and
  also the dedup index (`article_signatures`, `lsh_buckets`) and the search index (`search_docs`,
  `search_terms`, `search_postings`), inserted with one `INSERT … SELECT` per table from Arrow in
  one transaction, then a checkpoint, on a plain `duckdb.connect`. The rows are the ones the
  loader really wrote: a load in batches of 10,000 into a scratch copy, whose new rows are read
  back (neither is timed, and the timed process only reads them from Parquet first). This is
  DuckDB's cost of writing what the loader writes; the gap to it is the loader's own work
  (lookups, decisions, one transaction per batch).
- `floor-batched:N` (with `--floors`): the rows of `floor-all` in the loader's batches: split
  into equal parts of N articles' rows each (in the order the load wrote them), every part one
  `INSERT … SELECT` per table and its own committed transaction, through the loader's connection
  (`warehouse.connection.open_session`, the same checkpoint threshold) and checkpointed at the
  end. DuckDB's cost of the same rows in the same durable transactions: the gap between it and
  `prepared:N` is only what the loader does beyond writing (lookups, decisions, building tables).
Floors and loader hand DuckDB their Arrow rows the same way (`warehouse.connection.execute_over`,
a replacement scan; until v14 the floors registered each table, some 0.3 ms a table).
Every configuration, floors and loads alike, runs with the same DuckDB `memory_limit`
(`--memory-limit`; default 1GB, the loader's own default, the `duckdb_memory_limit` setting): a
floor with 80% of RAM beside a loader capped at 1 GB compared the buffer pools, not the work.
Bodies come from `flows.demo_world.GeneratedWorld(...).paragraphs(i)` (synthetic Arabic, 2.8-3.4 KB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def items(start: int, n: int, seed: int = 7):
    from flows.demo_world import GeneratedWorld
    from parsers import Article, Block
    from warehouse import LoadItem

    world = GeneratedWorld(n_articles=start + n, n_hosts=10, seed=seed)
    fetched = datetime.now(timezone.utc)
    out = []
    for i in range(start, start + n):
        source = f"site-{i % 10}"
        url = f"https://{source}.example{world.path(i)}"
        out.append(LoadItem(Article(
            url=url, canonical_url=url, title=world.headline(i), lead=None,
            body=tuple(Block("paragraph", p) for p in world.paragraphs(i)),
            published_at=world.published(i).astimezone(timezone.utc), language="ar", source=source,
            methods={"title": "jsonld", "body": "generic"},
        ), fetched))
    return out


def settled_copy(source: Path, target: Path) -> None:
    """Copy `source` and wait until the copy is on disk, so that the kernel's writing back of its
    hundreds of MB does not overlap the timed run's commits and checkpoint (hygiene: no effect
    on the figures has been shown; a session's median commit of 1,000 articles still came out at
    49 ms in one run of four after a synced copy, against 25-27 ms)."""
    shutil.copy(source, target)
    os.sync()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_load(db: str, start: int, total: int, batch: int, prepared: bool, per_call: bool,
             checkpoint_threshold: str = "1GB", memory_limit: str | None = "1GB") -> dict:
    """Load `total` items in batches. In a session (the default) the file is opened once, every
    batch is its own committed transaction, and the file is checkpointed when the session ends;
    the time counted is every batch's call plus the session's opening and closing (the final
    checkpoint). `per_call`: every batch opens, commits, checkpoints and closes the file."""
    from contextlib import ExitStack

    from warehouse import Warehouse
    from warehouse.dedup import prepare

    wh = Warehouse(db, lock_timeout=60, checkpoint_threshold=checkpoint_threshold, memory_limit=memory_limit)
    times, rows = [], 0
    with ExitStack() as stack:
        t = time.perf_counter()
        target = wh if per_call else stack.enter_context(wh.session())
        opened = time.perf_counter() - t
        for s in range(start, start + total, batch):
            chunk = items(s, min(batch, start + total - s))
            pre = prepare(chunk) if prepared else None
            t = time.perf_counter()
            target.upsert_articles(chunk, "bench", prepared=pre)
            times.append(time.perf_counter() - t)
            rows += len(chunk)
        t = time.perf_counter()
    closed = time.perf_counter() - t
    seconds = sum(times) + opened + closed
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds, "median_batch_s": statistics.median(times),
            "open_close_s": opened + closed, "peak_rss_mb": peak_rss_mb()}


def run_floor(db: str, start: int, total: int, row_groups: bool = False, memory_limit: str | None = None) -> dict:
    """DuckDB's floor: the rows' versions and articles as Arrow, one `INSERT … SELECT` each, one
    transaction, checkpoint. `row_groups`: through the loader's own connection (the file attached
    with akhbar's row group size) instead of a plain `duckdb.connect`."""
    import duckdb

    from warehouse.connection import duckdb_config, execute_over, open_session

    from warehouse.dedup import decide_batch, prepare
    from warehouse.batch_tables import article_rows, articles_table as _articles_table, versions_table as _versions_table

    decisions = []
    for s in range(start, start + total, 10_000):
        chunk = items(s, min(10_000, start + total - s))
        decisions += decide_batch(prepare(chunk), {}, {})
    now = datetime.now(timezone.utc)
    versions, arts = _versions_table(decisions, "bench"), _articles_table(article_rows(decisions), decisions, "bench", now)
    del decisions
    t = time.perf_counter()
    if row_groups:
        session = open_session(db, memory_limit=memory_limit)
        con = session.__enter__()
    else:
        con = duckdb.connect(db, config=duckdb_config(memory_limit))
    con.execute("BEGIN")
    execute_over(con, "INSERT INTO article_versions BY NAME SELECT * FROM batch_rows", versions)
    execute_over(con, "INSERT INTO articles BY NAME SELECT * FROM batch_rows", arts)
    con.execute("COMMIT")
    if row_groups:
        session.__exit__(None, None, None)  # checkpoints and closes
    else:
        con.execute("CHECKPOINT")
        con.close()
    seconds = time.perf_counter() - t
    return {"rows": total, "seconds": seconds, "rows_per_s": total / seconds, "peak_rss_mb": peak_rss_mb()}


# The rows a load adds to each table of a prefilled file, told apart from the prefilled ones.
_NEW_ROWS = {
    "article_versions": "run_id = 'bench'",
    "articles": "first_run_id = 'bench'",
    "article_signatures": "article_id IN (SELECT article_id FROM articles WHERE first_run_id = 'bench')",
    "lsh_buckets": "article_id IN (SELECT article_id FROM articles WHERE first_run_id = 'bench')",
    "search_docs": "doc_id > {docs}",
    "search_postings": "doc_id > {docs}",
    "search_terms": "term_id > {terms}",
}


def written_rows(base: Path, scratch: Path, out: Path, total: int) -> None:
    """Load `total` items into `scratch` (a copy of `base`) in batches of 10,000 and save the rows
    the load added to each table as `out/<table>.parquet`."""
    import duckdb

    shutil.copy(base, scratch)
    con = duckdb.connect(str(base), read_only=True)
    marks = {"docs": con.execute("SELECT coalesce(max(doc_id), 0) FROM search_docs").fetchall()[0][0],
             "terms": con.execute("SELECT coalesce(max(term_id), 0) FROM search_terms").fetchall()[0][0]}
    con.close()
    run_load(str(scratch), 0, total, 10_000, prepared=False, per_call=False)
    out.mkdir(exist_ok=True)
    con = duckdb.connect(str(scratch), read_only=True)
    for table, where in _NEW_ROWS.items():
        con.execute(f"COPY (SELECT * FROM {table} WHERE {where.format(**marks)}) TO '{out / table}.parquet' (FORMAT parquet)")
    con.close()
    scratch.unlink()


def run_floor_all(db: str, rows_dir: str, total: int, memory_limit: str | None = None) -> dict:
    """DuckDB's floor for every row the load writes (see `written_rows`): one `INSERT … SELECT`
    from Arrow per table, one transaction, checkpoint, on a plain `duckdb.connect`."""
    import duckdb
    import pyarrow.parquet as pq

    from warehouse.connection import duckdb_config, execute_over

    tables = {table: pq.read_table(Path(rows_dir) / f"{table}.parquet") for table in _NEW_ROWS}
    rows = {table: t.num_rows for table, t in tables.items()}
    t = time.perf_counter()
    con = duckdb.connect(db, config=duckdb_config(memory_limit))
    con.execute("BEGIN")
    for table, arrow in tables.items():
        execute_over(con, f"INSERT INTO {table} BY NAME SELECT * FROM batch_rows", arrow)
    con.execute("COMMIT")
    con.execute("CHECKPOINT")
    con.close()
    seconds = time.perf_counter() - t
    return {"rows": total, "seconds": seconds, "rows_per_s": total / seconds, "peak_rss_mb": peak_rss_mb(),
            "table_rows": rows}


def run_floor_batched(db: str, rows_dir: str, total: int, batch: int, checkpoint_threshold: str,
                      memory_limit: str | None = None) -> dict:
    """`floor-all`'s rows in parts of `batch` articles' rows, each part its own transaction (one
    `INSERT … SELECT` per table) on the loader's connection, then the closing checkpoint."""
    import pyarrow.parquet as pq

    from warehouse.connection import execute_over, open_session

    tables = {table: pq.read_table(Path(rows_dir) / f"{table}.parquet") for table in _NEW_ROWS}
    parts = -(-total // batch)
    times = []
    t0 = time.perf_counter()
    with open_session(Path(db), memory_limit=memory_limit, checkpoint_threshold=checkpoint_threshold) as con:
        for part in range(parts):
            t = time.perf_counter()
            con.execute("BEGIN")
            for table, arrow in tables.items():
                start, stop = arrow.num_rows * part // parts, arrow.num_rows * (part + 1) // parts
                if stop > start:
                    execute_over(con, f"INSERT INTO {table} BY NAME SELECT * FROM batch_rows", arrow.slice(start, stop - start))
            con.execute("COMMIT")
            times.append(time.perf_counter() - t)
    seconds = time.perf_counter() - t0
    return {"rows": total, "seconds": seconds, "rows_per_s": total / seconds, "median_batch_s": statistics.median(times),
            "open_close_s": seconds - sum(times), "peak_rss_mb": peak_rss_mb()}


def prefill(db: Path, n: int) -> None:
    from warehouse import Warehouse

    wh = Warehouse(db, lock_timeout=60)
    wh.migrate()
    for s in range(0, n, 10_000):
        wh.upsert_articles(items(1_000_000 + s, min(10_000, n - s)), "prefill")


def child(args: argparse.Namespace) -> None:
    memory = None if args.memory_limit == "none" else args.memory_limit
    if args.config in ("floor", "floor-rg"):
        out = run_floor(args.db, 0, args.articles, args.config == "floor-rg", memory)
    elif args.config == "floor-all":
        out = run_floor_all(args.db, args.rows_dir, args.articles, memory)
    elif args.config.startswith("floor-batched:"):
        out = run_floor_batched(args.db, args.rows_dir, args.articles, int(args.config.split(":")[1]),
                                args.checkpoint_threshold, memory)
    else:
        kind, batch = args.config.split(":")
        out = run_load(args.db, 0, args.articles, int(batch), kind != "load", kind == "per-call",
                       args.checkpoint_threshold, memory)
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--prefill", type=int, default=100_000)
    ap.add_argument("--batches", default="1000,10000")
    ap.add_argument("--configs", default="prepared,load",
                    help="prepared, load and/or per-call (prepared, each batch in its own open of the file)")
    ap.add_argument("--checkpoint-threshold", default="1GB",
                    help="the loader's duckdb_checkpoint_threshold (the setting's default: 1GB)")
    ap.add_argument("--memory-limit", default="1GB",
                    help="DuckDB's memory_limit for every configuration, floors and loads alike (default: the "
                         "loader's default, the `duckdb_memory_limit` setting; 'none': DuckDB's own default, 80%% of RAM)")
    ap.add_argument("--prefilled", help="use this prefilled file (copied, never changed) instead of making one")
    ap.add_argument("--repeat", type=int, default=1, help="rounds over all configurations; the summary gives medians")
    ap.add_argument("--config", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--rows-dir", help=argparse.SUPPRESS)
    ap.add_argument("--floors", default="floor,floor-rg,floor-all,floor-batched",
                    help="the floors to measure (floor: the articles' rows, the ratios' reference; "
                         "floor-rg: the same with akhbar's row groups; floor-all: every row the load writes; "
                         "floor-batched: floor-all's rows in the loader's batches, one transaction each)")
    args = ap.parse_args()
    if args.config:
        return child(args)
    work = Path(tempfile.mkdtemp(prefix="akhbar-load-"))
    base = work / "prefilled.duckdb"
    t = time.perf_counter()
    if args.prefilled:
        shutil.copy(args.prefilled, base)
        print(f"prefilled file {args.prefilled} ({base.stat().st_size / 1e6:.0f} MB)")
    else:
        prefill(base, args.prefill)
        print(f"prefilled {args.prefill:,} articles in {time.perf_counter() - t:.0f} s ({base.stat().st_size / 1e6:.0f} MB)")
    print(f"DuckDB memory_limit for every configuration: {args.memory_limit}")
    floors = args.floors.split(",")
    if "floor" not in floors:
        floors.insert(0, "floor")
    if "floor-batched" in floors:  # one per batch size, each just before the loads it is the floor of
        floors.remove("floor-batched")
        floors += [f"floor-batched:{b}" for b in args.batches.split(",")]
    if any(f.startswith("floor-") and f != "floor-rg" for f in floors):
        t = time.perf_counter()
        written_rows(base, work / "scratch.duckdb", work / "rows", args.articles)
        print(f"rows the load writes, for floor-all: made in {time.perf_counter() - t:.0f} s (not timed)")
    configs = floors + [f"{k}:{b}" for k in args.configs.split(",") for b in args.batches.split(",")]
    runs: dict[str, list[dict]] = {c: [] for c in configs}
    for round_ in range(1, args.repeat + 1):  # round-robin, so that a noisy minute hits every configuration alike
        for config in configs:
            db = work / f"{config.replace(':', '-')}.duckdb"
            settled_copy(base, db)
            proc = subprocess.run([sys.executable, __file__, "--config", config, "--db", str(db),
                                   "--articles", str(args.articles), "--checkpoint-threshold", args.checkpoint_threshold,
                                   "--memory-limit", args.memory_limit, "--rows-dir", str(work / "rows")],
                                  capture_output=True, text=True, check=True)
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            for leftover in (db, Path(f"{db}.wal")):
                leftover.unlink(missing_ok=True)
            r["floor_ratio"] = r["seconds"] / runs["floor"][-1]["seconds"] if config != "floor" else 1.0
            if "floor-all" in runs and runs["floor-all"] and not config.startswith("floor"):
                r["floor_all_ratio"] = r["seconds"] / runs["floor-all"][-1]["seconds"]
            batched = runs.get(f"floor-batched:{config.split(':')[-1]}")
            if batched and not config.startswith("floor"):
                r["batched_ratio"] = r["seconds"] / batched[-1]["seconds"]
            runs[config].append(r)
            median = f"{r['median_batch_s'] * 1000:8.0f} ms" if "median_batch_s" in r else " " * 11
            median += f" open+close {r['open_close_s']:5.1f} s" if "open_close_s" in r else " " * 18
            print(f"[{round_}] {config:16s} {r['rows']:>8,} rows {r['seconds']:7.1f} s {r['rows_per_s']:8,.0f} rows/s "
                  f"median batch {median}  peak RSS {r['peak_rss_mb']:6.0f} MB  {r['floor_ratio']:4.2f}x floor time"
                  + (f"  {r['floor_all_ratio']:4.2f}x floor-all time" if "floor_all_ratio" in r else "")
                  + (f"  {r['batched_ratio']:4.2f}x floor-batched time" if "batched_ratio" in r else ""), flush=True)
    shutil.rmtree(work)
    print(f"\nmedians of {args.repeat} round(s); x floor = median over rounds of (time / that round's floor time); "
          "x floor-all and x floor-batched (the floor-batched of the same batch size) likewise")
    summary = {}
    for config, rs in runs.items():
        seconds = statistics.median(r["seconds"] for r in rs)
        ratio = statistics.median(r["floor_ratio"] for r in rs)
        peak = max(r["peak_rss_mb"] for r in rs)
        all_ratio = statistics.median(r["floor_all_ratio"] for r in rs) if "floor_all_ratio" in rs[0] else None
        batched_ratio = statistics.median(r["batched_ratio"] for r in rs) if "batched_ratio" in rs[0] else None
        summary[config] = {"seconds": seconds, "rows_per_s": rs[0]["rows"] / seconds, "floor_ratio": ratio,
                           "floor_all_ratio": all_ratio, "batched_ratio": batched_ratio, "peak_rss_mb": peak, "runs": rs}
        print(f"{config:16s} {seconds:7.1f} s {rs[0]['rows'] / seconds:8,.0f} rows/s  peak RSS {peak:6.0f} MB  "
              f"{ratio:4.2f}x floor time" + (f"  {all_ratio:4.2f}x floor-all time" if all_ratio else "")
              + (f"  {batched_ratio:4.2f}x floor-batched time" if batched_ratio else ""))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
