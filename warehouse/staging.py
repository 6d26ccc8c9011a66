"""The staging area: batches that could not be written because another process held the file.

DuckDB lets one process hold a file read-write, and while an analyst's session reads it, no
process may write. A load that finds the file busy for longer than the lock timeout does not
fail and does not wait: it writes its batch here, one Parquet file per batch, and the next write
that gets the file merges every waiting batch first, in the order they were staged, in its own
transaction.

Exactly once: the merging transaction records each batch id in `staged_batches`; the file is
deleted only after that transaction committed. A batch whose id is already recorded (the process
died between the commit and the delete) is skipped and its file deleted.

Layout: `<database dir>/staging/<database file name>/<UTC time>-<batch id>.<kind>.parquet`,
written as a hidden `.tmp` file, fsynced and atomically renamed, so a reader never sees half a
batch. Kinds: `articles` (LoadItems; the merge re-runs the dedup and load of `upsert_articles`),
`failures` (rows of `fetch_errors`), `runs` (a run's start or finish), `sources`, `source_runs`, and the fetcher's
state: `fetch_log`, `validators` (`http_validators`), `robots` (`robots_txt`).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from parsers import Article, Block
from warehouse.connection import execute_over
from warehouse.records import LoadItem

__all__ = ["Staging", "StagedBatch", "merge_staged", "apply_rows", "article_from_dict", "KINDS"]

_TS = pa.timestamp("us", tz="UTC")

#: How each plain kind is merged: the statement reads the staged rows as `batch_rows`
#: (`warehouse.connection.execute_over`).
_MERGE_SQL = {
    "failures": "INSERT INTO fetch_errors BY NAME SELECT * FROM batch_rows",
    "runs": (
        "INSERT INTO runs BY NAME SELECT * FROM batch_rows ON CONFLICT (run_id) DO UPDATE SET "
        "finished_at = coalesce(excluded.finished_at, runs.finished_at), "
        "status = excluded.status, stats = coalesce(excluded.stats, runs.stats), "
        "flow_run_id = coalesce(runs.flow_run_id, excluded.flow_run_id)"
    ),
    "fetch_log": "INSERT INTO fetch_log BY NAME SELECT * FROM batch_rows",
    "validators": (
        "INSERT OR REPLACE INTO http_validators BY NAME "
        "SELECT * EXCLUDE (_n) FROM (SELECT *, row_number() OVER (PARTITION BY url ORDER BY checked_at DESC) AS _n "
        "FROM batch_rows) WHERE _n = 1"
    ),
    "robots": (
        "INSERT OR REPLACE INTO robots_txt BY NAME "
        "SELECT * EXCLUDE (_n) FROM (SELECT *, row_number() OVER (PARTITION BY origin ORDER BY fetched_at DESC) AS _n "
        "FROM batch_rows) WHERE _n = 1"
    ),
    "source_runs": "INSERT INTO source_runs BY NAME SELECT * FROM batch_rows ON CONFLICT DO NOTHING",
    "sources": (
        "INSERT INTO sources BY NAME SELECT * FROM batch_rows ON CONFLICT (name) DO UPDATE SET "
        "homepage = excluded.homepage, language = excluded.language, timezone = excluded.timezone, "
        "country = excluded.country, aliases = excluded.aliases, updated_at = excluded.updated_at"
    ),
}
KINDS = ("articles", *_MERGE_SQL)


@dataclass(frozen=True)
class StagedBatch:
    path: Path
    batch_id: str
    kind: str
    staged_at: datetime


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Staging:
    """The staging directory of one warehouse file."""

    def __init__(self, database: str | Path) -> None:
        database = Path(database)
        self.dir = database.parent / "staging" / database.name

    # -- writing -------------------------------------------------------------------------
    def put(self, kind: str, table: pa.Table, run_id: str | None = None) -> StagedBatch:
        """Write one batch atomically (temp file, fsync, rename); returns it."""
        if kind not in KINDS:
            raise ValueError(f"unknown staged kind {kind!r}")
        self.dir.mkdir(parents=True, exist_ok=True)
        batch_id = uuid.uuid4().hex
        now = _utc_now()
        name = f"{now:%Y%m%dT%H%M%S%f}Z-{batch_id}.{kind}.parquet"
        meta = {b"akhbar.kind": kind.encode(), b"akhbar.batch_id": batch_id.encode(),
                b"akhbar.staged_at": now.isoformat().encode(), b"akhbar.run_id": (run_id or "").encode()}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
        final = self.dir / name
        tmp = self.dir / f".{name}.tmp"
        pq.write_table(table, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        dir_fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return StagedBatch(final, batch_id, kind, now)

    def put_articles(self, items: Sequence[LoadItem], run_id: str | None) -> StagedBatch:
        arts = [i.article for i in items]
        table = pa.table(
            {
                "article": [json.dumps(a.to_dict(), ensure_ascii=False) for a in arts],
                "fetched_at": pa.array([i.fetched_at for i in items], _TS),
                "source": [a.source for a in arts],
                "url": [a.url for a in arts],
                "canonical_url": [a.canonical_url for a in arts],
                "run_id": [run_id] * len(arts),
            }
        )
        return self.put("articles", table, run_id)

    # -- reading -------------------------------------------------------------------------
    def pending(self) -> list[StagedBatch]:
        """Every complete staged batch, oldest first (temp files of unfinished writes are not)."""
        if not self.dir.is_dir():
            return []
        out = []
        for path in sorted(self.dir.glob("*.parquet")):
            stem, _, _ = path.name.rpartition(".parquet")
            head, _, kind = stem.rpartition(".")
            stamp, _, batch_id = head.partition("-")
            try:
                staged_at = datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
            except ValueError:
                continue
            if kind in KINDS and batch_id:
                out.append(StagedBatch(path, batch_id, kind, staged_at))
        return out

    def read(self, batch: StagedBatch) -> pa.Table:
        return pq.read_table(batch.path)

    def remove(self, batches: Sequence[StagedBatch]) -> None:
        for batch in batches:
            batch.path.unlink(missing_ok=True)

    def known_urls(self, urls: Sequence[str]) -> set[str]:
        """Those of `urls` that a staged article batch holds as its URL or canonical URL (the
        frontier counts them as known, so a run does not fetch again what waits to be merged)."""
        wanted = set(urls)
        found: set[str] = set()
        for batch in self.pending():
            if batch.kind != "articles" or not wanted:
                continue
            try:
                table = pq.read_table(batch.path, columns=["url", "canonical_url"])
            except (OSError, pa.ArrowException):
                continue
            for column in ("url", "canonical_url"):
                found.update(u for u in table.column(column).to_pylist() if u in wanted)
        return found

    def summary(self) -> list[dict]:
        """Per kind: batches, rows and the oldest batch's time (for `akhbar status`)."""
        per: dict[str, dict] = {}
        for batch in self.pending():
            slot = per.setdefault(batch.kind, {"kind": batch.kind, "batches": 0, "rows": 0, "oldest": batch.staged_at})
            slot["batches"] += 1
            try:
                slot["rows"] += pq.ParquetFile(batch.path).metadata.num_rows
            except (OSError, pa.ArrowException):
                pass
            slot["oldest"] = min(slot["oldest"], batch.staged_at)
        return [per[k] for k in sorted(per)]


def article_from_dict(data: dict) -> Article:
    """The inverse of `Article.to_dict` (unknown keys are ignored)."""
    names = {f.name for f in fields(Article)}
    values = {k: v for k, v in data.items() if k in names}
    values["body"] = tuple(Block(b["kind"], b["text"]) for b in values.get("body") or ())
    for key in ("authors", "tags"):
        values[key] = tuple(values.get(key) or ())
    for key in ("published_at", "modified_at"):
        if values.get(key):
            values[key] = datetime.fromisoformat(values[key])
    return Article(**values)


def apply_rows(con: duckdb.DuckDBPyConnection, kind: str, table: pa.Table) -> None:
    """Write rows of a plain kind (failures, runs, sources) with the same statement a merge uses."""
    execute_over(con, _MERGE_SQL[kind], table.replace_schema_metadata(None))


def merge_staged(
    con: duckdb.DuckDBPyConnection,
    batches: Sequence[StagedBatch],
    load_articles: Callable[[list[LoadItem], str | None], object],
    staging: Staging,
) -> list[StagedBatch]:
    """Merge staged batches inside the caller's transaction, oldest first, each at most once.

    Returns the batches whose files may be deleted once the transaction has committed (the
    merged ones and those merged before). An unreadable file is renamed `*.bad` and skipped.
    """
    done: list[StagedBatch] = []
    if not batches:
        return done
    ids = [b.batch_id for b in batches]
    merged_before = {r[0] for r in con.execute(
        "SELECT batch_id FROM staged_batches WHERE batch_id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall()}
    for batch in batches:
        if batch.batch_id in merged_before:
            done.append(batch)
            continue
        try:
            table = staging.read(batch)
        except FileNotFoundError:
            continue  # merged and deleted by another process meanwhile
        except (OSError, pa.ArrowException):
            batch.path.rename(batch.path.with_name(batch.path.name + ".bad"))
            continue
        run_id = (table.schema.metadata or {}).get(b"akhbar.run_id", b"").decode() or None
        if batch.kind == "articles":
            rows = table.to_pylist()
            items = [LoadItem(article_from_dict(json.loads(r["article"])), r["fetched_at"]) for r in rows]
            load_articles(items, run_id)
        else:
            apply_rows(con, batch.kind, table)
        con.execute(
            "INSERT INTO staged_batches (batch_id, kind, staged_at, merged_at, row_count, run_id) "
            "VALUES (?, ?, ?, now(), ?, ?)",
            [batch.batch_id, batch.kind, batch.staged_at, table.num_rows, run_id],
        )
        done.append(batch)
    return done
