"""The warehouse API: verbs on nouns, each one a short transaction on the DuckDB file."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse.connection import open_reader, open_writer
from parsers.normalize import body_fingerprint
from warehouse.dedup import article_id_for, decide_batch
from warehouse.migrations import apply_migrations
from warehouse.records import Decision, LoadItem, LoadResult, PageFailure

__all__ = ["Warehouse"]

_LOOKUP_CHUNK = 5_000


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _chunks(values: Sequence[str], size: int = _LOOKUP_CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


class Warehouse:
    """A DuckDB warehouse file. Nothing stays open between calls: each verb opens the file,
    works in one transaction, checkpoints and closes, so the file is free between loads."""

    def __init__(self, path: str | Path, lock_timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout

    # -- schema -------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Create the file or upgrade it in place; returns the migration versions applied."""
        with open_writer(self.path, self.lock_timeout) as con:
            return apply_migrations(con)

    # -- runs ---------------------------------------------------------------------------
    def start_run(self, run_id: str, sources: list[str], flow_run_id: str | None = None) -> None:
        with open_writer(self.path, self.lock_timeout) as con:
            con.execute(
                "INSERT INTO runs (run_id, flow_run_id, started_at, status, sources) VALUES (?, ?, ?, 'running', ?)",
                [run_id, flow_run_id, _utc_now(), sources],
            )

    def finish_run(self, run_id: str, status: str, stats: dict) -> None:
        with open_writer(self.path, self.lock_timeout) as con:
            con.execute(
                "UPDATE runs SET finished_at = ?, status = ?, stats = ? WHERE run_id = ?",
                [_utc_now(), status, json.dumps(stats, ensure_ascii=False), run_id],
            )

    # -- frontier -----------------------------------------------------------------------
    def known_urls(self, urls: Sequence[str]) -> set[str]:
        """Those of `urls` that the warehouse already holds as a story URL or canonical URL."""
        if not urls or not self.path.exists():
            return set()
        found: set[str] = set()
        with open_reader(self.path, self.lock_timeout) as con:
            for chunk in _chunks(list(urls)):
                rows = con.execute(
                    "SELECT u FROM unnest(?::VARCHAR[]) t(u) "
                    "WHERE u IN (SELECT url FROM articles) OR u IN (SELECT canonical_url FROM articles)",
                    [chunk],
                ).fetchall()
                found.update(r[0] for r in rows)
        return found

    # -- errors -------------------------------------------------------------------------
    def record_failures(self, run_id: str | None, failures: Sequence[PageFailure]) -> int:
        """Insert failures in one statement; returns how many."""
        if not failures:
            return 0
        table = pa.table(
            {
                "run_id": [run_id] * len(failures),
                "source": [f.source for f in failures],
                "url": [f.url for f in failures],
                "stage": [f.stage for f in failures],
                "reason": [f.reason for f in failures],
                "status_code": pa.array([f.status_code for f in failures], pa.int32()),
                "detail": [f.detail for f in failures],
                "occurred_at": pa.array([f.occurred_at for f in failures], pa.timestamp("us", tz="UTC")),
            }
        )
        with open_writer(self.path, self.lock_timeout) as con:
            con.register("batch_failures", table)
            con.execute(
                "INSERT INTO fetch_errors (run_id, source, url, stage, reason, status_code, detail, occurred_at) "
                "SELECT run_id, source, url, stage, reason, status_code, detail, occurred_at FROM batch_failures"
            )
            con.unregister("batch_failures")
        return len(failures)

    # -- articles -----------------------------------------------------------------------
    def upsert_articles(self, items: Sequence[LoadItem], run_id: str | None = None) -> LoadResult:
        """Deduplicate a batch against itself and the warehouse, then load it in one transaction.

        New stories and exact copies (with `duplicate_of` set) get an `articles` row and a
        version; a known story whose content changed gets a new version and its row points to
        it; an unchanged one only has `last_seen_at` moved. Returns counts per source.
        """
        result = LoadResult()
        if not items:
            return result
        ids = sorted({article_id_for(i.article.canonical_url) for i in items})
        fps = sorted({body_fingerprint(i.article.body) for i in items if i.article.body})
        with open_writer(self.path, self.lock_timeout) as con:
            wall, cpu = time.perf_counter(), time.thread_time()
            known_hashes = self._current_hashes(con, ids)
            known_fps = self._originals_by_fingerprint(con, fps)
            decisions = decide_batch(items, known_hashes, known_fps)
            result.dedup_wall, result.dedup_cpu = time.perf_counter() - wall, time.thread_time() - cpu
            self._write(con, decisions, run_id)
        result.decisions = decisions
        for d in decisions:
            counts = result.per_source.setdefault(d.item.article.source or "", {})
            counts[d.kind] = counts.get(d.kind, 0) + 1
        return result

    @staticmethod
    def _current_hashes(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(ids):
            rows = con.execute(
                "SELECT article_id, content_hash FROM articles WHERE article_id IN (SELECT unnest(?::VARCHAR[]))",
                [chunk],
            ).fetchall()
            out.update(rows)
        return out

    @staticmethod
    def _originals_by_fingerprint(con: duckdb.DuckDBPyConnection, fps: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(fps):
            rows = con.execute(
                "SELECT body_fingerprint, arg_min(article_id, first_seen_at) FROM articles "
                "WHERE duplicate_of IS NULL AND body_fingerprint IN (SELECT unnest(?::VARCHAR[])) "
                "GROUP BY body_fingerprint",
                [chunk],
            ).fetchall()
            out.update(rows)
        return out

    @staticmethod
    def _write(con: duckdb.DuckDBPyConnection, decisions: list[Decision], run_id: str | None) -> None:
        now = _utc_now()
        stored = [d for d in decisions if d.kind in ("new", "updated") or d.reason == "exact_body"]
        if stored:
            con.register("batch_versions", _versions_table(stored, run_id))
            con.execute("INSERT INTO article_versions BY NAME SELECT * FROM batch_versions ON CONFLICT DO NOTHING")
            con.unregister("batch_versions")
        fresh = [d for d in stored if d.kind in ("new", "duplicate")]
        if fresh:
            con.register("batch_articles", _articles_table(fresh, run_id, now))
            con.execute("INSERT INTO articles BY NAME SELECT * FROM batch_articles ON CONFLICT DO NOTHING")
            con.unregister("batch_articles")
        seen = [d for d in decisions if d.kind in ("updated", "unchanged")]
        if seen:
            con.register(
                "batch_seen",
                pa.table(
                    {
                        "article_id": [d.article_id for d in seen],
                        "content_hash": [d.content_hash for d in seen],
                        "title": [d.item.article.title for d in seen],
                        "published_at": pa.array([d.item.article.published_at for d in seen], pa.timestamp("us", tz="UTC")),
                    }
                ),
            )
            con.execute(
                "UPDATE articles SET last_seen_at = ?, content_hash = s.content_hash, title = s.title, "
                "published_at = s.published_at FROM batch_seen s WHERE articles.article_id = s.article_id",
                [now],
            )
            con.unregister("batch_seen")


_TS = pa.timestamp("us", tz="UTC")


def _articles_table(decisions: list[Decision], run_id: str | None, now: datetime) -> pa.Table:
    arts = [d.item.article for d in decisions]
    return pa.table(
        {
            "article_id": [d.article_id for d in decisions],
            "source": [a.source or "" for a in arts],
            "url": [a.url for a in arts],
            "canonical_url": [a.canonical_url for a in arts],
            "title": [a.title for a in arts],
            "published_at": pa.array([a.published_at for a in arts], _TS),
            "language": [a.language for a in arts],
            "first_seen_at": pa.array([now] * len(arts), _TS),
            "last_seen_at": pa.array([now] * len(arts), _TS),
            "content_hash": [d.content_hash for d in decisions],
            "body_fingerprint": [d.fingerprint for d in decisions],
            "duplicate_of": [d.duplicate_of for d in decisions],
            "duplicate_reason": [d.reason for d in decisions],
            "first_run_id": [run_id] * len(arts),
        }
    )


_BLOCKS = pa.list_(pa.struct([("kind", pa.string()), ("text", pa.string())]))


def _versions_table(decisions: list[Decision], run_id: str | None) -> pa.Table:
    arts = [d.item.article for d in decisions]
    return pa.table(
        {
            "article_id": [d.article_id for d in decisions],
            "content_hash": [d.content_hash for d in decisions],
            "run_id": [run_id] * len(arts),
            "fetched_at": pa.array([d.item.fetched_at for d in decisions], _TS),
            "parser_version": [a.parser_version for a in arts],
            "source": [a.source or "" for a in arts],
            "url": [a.url for a in arts],
            "canonical_url": [a.canonical_url for a in arts],
            "title": [a.title for a in arts],
            "kicker": [a.kicker for a in arts],
            "lead": [a.lead for a in arts],
            "body": [a.body_text for a in arts],
            "body_blocks": pa.array([[{"kind": b.kind, "text": b.text} for b in a.body] for a in arts], _BLOCKS),
            "credit": [a.credit for a in arts],
            "authors": pa.array([list(a.authors) for a in arts], pa.list_(pa.string())),
            "language": [a.language for a in arts],
            "published_at": pa.array([a.published_at for a in arts], _TS),
            "published_text": [a.published_text for a in arts],
            "modified_at": pa.array([a.modified_at for a in arts], _TS),
            "modified_text": [a.modified_text for a in arts],
            "section": [a.section for a in arts],
            "tags": pa.array([list(a.tags) for a in arts], pa.list_(pa.string())),
            "image": [a.image for a in arts],
            "methods": [json.dumps(a.methods, ensure_ascii=False, sort_keys=True) for a in arts],
            "body_fingerprint": [d.fingerprint for d in decisions],
        }
    )
