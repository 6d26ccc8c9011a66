"""Snapshots, compaction, Parquet export and archive retention (all the SQL they need).

- `snapshot`: a consistent copy for a long session, taken while holding the file read-only
  for the time of one `COPY FROM DATABASE` (the pipeline is blocked only for that long).
- `compact`: `COPY FROM DATABASE` into a fresh file, then an atomic rename over the old one,
  only when nobody holds the file (we hold it read-write for the whole copy and the rename).
- `export_parquet`: Hive-partitioned Parquet (`source=…/published_date=…/`) of the stories.
- `prune_archive`: deletes WARC files older than N days and clears their index in `fetch_log`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb

from warehouse.connection import WarehouseBusy, WarehouseError, WarehouseMissing, quote_path, retry_while_locked

__all__ = ["snapshot", "compact", "export_parquet", "prune_archive", "CompactResult", "ExportResult", "PruneResult"]


def _attach(con: duckdb.DuckDBPyConnection, path: Path, alias: str, read_only: bool, timeout: float) -> None:
    """ATTACH `path`, retrying while another process holds it, for at most `timeout` seconds."""
    mode = " (READ_ONLY)" if read_only else ""
    retry_while_locked(lambda: con.execute(f"ATTACH '{quote_path(path)}' AS {alias}{mode}"), path, timeout)


def _require(path: Path) -> None:
    if not path.exists():
        raise WarehouseMissing(f"{path}: no warehouse here yet (run `akhbar run` or `akhbar demo` first)")


def default_snapshot_path(database: Path) -> Path:
    return database.with_name(f"{database.stem}-snapshot{database.suffix or '.duckdb'}")


def snapshot(database: str | Path, out: str | Path | None = None, timeout: float = 30.0) -> Path:
    """Copy the warehouse into `out` (default `<name>-snapshot.duckdb` beside it), replacing an
    older snapshot atomically. The source is held read-only only while it is copied."""
    database = Path(database)
    _require(database)
    out = Path(out) if out is not None else default_snapshot_path(database)
    if out.resolve() == database.resolve():
        raise WarehouseError("the snapshot cannot replace the warehouse itself")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    con = duckdb.connect()
    try:
        _attach(con, database, "src", read_only=True, timeout=timeout)
        con.execute(f"ATTACH '{quote_path(tmp)}' AS snap")
        try:
            con.execute("COPY FROM DATABASE src TO snap")
        finally:
            con.execute("DETACH src")  # the pipeline may write again from here on
        con.execute("DETACH snap")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, out)
    return out


@dataclass(frozen=True)
class CompactResult:
    compacted: bool
    size_before: int
    size_after: int
    reason: str = ""


def compact(database: str | Path, timeout: float = 1.0) -> CompactResult:
    """Rewrite the file compactly (`COPY FROM DATABASE` into a fresh file, then an atomic rename
    over the old one). Done only when nobody holds the file: if it stays busy for `timeout`
    seconds, nothing changes and `compacted` is False."""
    database = Path(database)
    _require(database)
    before = database.stat().st_size
    tmp = database.with_name(f".{database.name}.compact-{uuid.uuid4().hex[:8]}.tmp")
    con = duckdb.connect()
    try:
        try:
            _attach(con, database, "src", read_only=False, timeout=timeout)  # exclusive: nobody else may open it
        except WarehouseBusy as exc:
            return CompactResult(False, before, before, str(exc))
        con.execute("CHECKPOINT src")  # nothing left in a WAL beside the old file
        con.execute(f"ATTACH '{quote_path(tmp)}' AS fresh")
        con.execute("COPY FROM DATABASE src TO fresh")
        con.execute("DETACH fresh")
        # Still holding the old file: every other process that opens the path from now on opens
        # the fresh file; nothing can have written to the old one meanwhile.
        os.replace(tmp, database)
        con.execute("DETACH src")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    return CompactResult(True, before, database.stat().st_size)


@dataclass(frozen=True)
class ExportResult:
    out: Path
    rows: int
    files: int


#: The exported columns: every story's current version with its cluster, partitioned by source
#: and UTC publication date (the first-seen date when the page gave none).
_EXPORT_SELECT = """
SELECT l.article_id, l.url, l.canonical_url, l.title, l.kicker, l.lead, l.body, l.body_blocks, l.credit,
       l.authors, l.language, l.published_at, l.published_text, l.modified_at, l.section, l.tags, l.image,
       CAST(l.methods AS VARCHAR) AS methods, l.parser_version, l.content_hash, l.first_seen_at, l.last_seen_at,
       l.cluster_id, l.duplicate_of, l.duplicate_reason, l.duplicate_similarity,
       l.source,
       CAST(timezone('UTC', coalesce(l.published_at, l.first_seen_at)) AS DATE) AS published_date
FROM latest_articles l
"""


def export_parquet(
    database: str | Path, out: str | Path, since: date | None = None, timeout: float = 30.0
) -> ExportResult:
    """Write the stories (published on or after `since`, UTC) as Hive-partitioned Parquet under
    `out/source=<name>/published_date=<YYYY-MM-DD>/`. The directory is written beside `out`
    and swapped in at the end, so readers see the old export or the new one, never half."""
    from warehouse.connection import open_reader

    database = Path(database)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    where = ""
    params: list = []
    if since is not None:
        where = "WHERE CAST(timezone('UTC', coalesce(l.published_at, l.first_seen_at)) AS DATE) >= ?"
        params.append(since)
    try:
        with open_reader(database, timeout) as con:
            rows = con.execute(f"SELECT count(*) FROM ({_EXPORT_SELECT} {where})", params).fetchone()[0]
            tmp.mkdir()
            if rows:
                con.execute(
                    f"COPY ({_EXPORT_SELECT} {where} ORDER BY l.source, published_date, l.published_at, l.article_id) "
                    f"TO '{quote_path(tmp)}' (FORMAT parquet, PARTITION_BY (source, published_date), "
                    "OVERWRITE_OR_IGNORE true, FILENAME_PATTERN 'part-{i}')",
                    params,
                )
        if out.exists():
            old = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.old")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportResult(out, rows, sum(1 for _ in out.rglob("*.parquet")))


@dataclass(frozen=True)
class PruneResult:
    files_deleted: int
    bytes_deleted: int
    index_rows_cleared: int


def prune_archive(
    data_dir: str | Path, retention_days: int, database: str | Path | None = None,
    now: datetime | None = None, timeout: float = 30.0,
) -> PruneResult:
    """Delete WARC files under `<data_dir>/warc/` last written more than `retention_days` ago,
    and clear their records' place (`warc_file`, `warc_offset`) in `fetch_log`, whose rows stay
    as the history of requests. The index is cleared first, so no row ever points to a missing
    file; when the warehouse is busy nothing is deleted (the next maintenance tries again)."""
    if retention_days <= 0:
        return PruneResult(0, 0, 0)
    from warehouse.connection import open_writer

    data_dir = Path(data_dir)
    root = data_dir / "warc"
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=retention_days)
    old = [p for p in sorted(root.rglob("*.warc*")) if p.is_file()
           and datetime.fromtimestamp(p.stat().st_mtime, timezone.utc) < cutoff] if root.is_dir() else []
    if not old:
        return PruneResult(0, 0, 0)
    relative = [p.relative_to(data_dir).as_posix() for p in old]
    cleared = 0
    if database is not None and Path(database).exists():
        with open_writer(database, timeout) as con:
            has_log = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'fetch_log'").fetchone()[0]
            if has_log:
                cleared = con.execute(
                    "UPDATE fetch_log SET warc_file = NULL, warc_offset = NULL "
                    "WHERE warc_file IN (SELECT unnest(?::VARCHAR[]))", [relative]
                ).fetchone()[0]
    size = 0
    for path in old:
        size += path.stat().st_size
        path.unlink()
    for folder in sorted({p.parent for p in old}, key=lambda p: len(p.parts), reverse=True):
        while folder != root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    return PruneResult(len(old), size, cleared)
