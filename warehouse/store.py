"""The warehouse API: verbs on nouns, each one a short transaction on the DuckDB file."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse.connection import WarehouseBusy, committed_reader, open_reader, open_session, open_writer, transaction
from warehouse.batch_tables import articles_table, select_item_rows, select_rows, with_run_id
from warehouse.dedup import Candidate, Prepared, PreparedBatch, decide_batch, fresh_positions, prepare
from warehouse.health import HealthRules, SourceRun, read_health, source_runs_table, write_rules
from warehouse.near_index import add_buckets, add_signatures, candidates_among, find_candidates
from warehouse.search_index import IndexUpdate, SessionTerms, index_documents
from warehouse.seen_keys import SessionKeys, small_pages
from warehouse.statement_queue import StatementQueue, statement_queue
from warehouse.migrations import apply_migrations
from warehouse.staging import Staging, StagedBatch, apply_rows, merge_staged
from warehouse.records import (
    ArchivedPage,
    Decision,
    FetchRecord,
    LoadItem,
    LoadResult,
    PageFailure,
    RobotsRecord,
    SourceRecord,
    Validators,
)

__all__ = ["Warehouse"]

_LOOKUP_CHUNK = 5_000


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _chunks(values: Sequence[str], size: int = _LOOKUP_CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


class Warehouse:
    """A DuckDB warehouse file. Nothing stays open between calls: each verb opens the file,
    works in one transaction, checkpoints and closes, so the file is free between loads.

    `session()` holds the file for a series of verbs (a run's load and its fetch state, a bulk
    load in batches): each verb is still its own transaction, and the file is checkpointed and
    released when the session ends."""

    def __init__(
        self,
        path: str | Path,
        lock_timeout: float = 60.0,
        *,
        near_duplicate_threshold: float = 0.6,
        dedup_window_days: int = 30,
        memory_limit: str | None = "1GB",
        stage_when_busy: bool = False,
        checkpoint_threshold: str = "1GB",
        health_rules: HealthRules | None = None,
        session_key_limit: int = 10_000_000,
        session_key_share: float = 0.05,
        session_term_limit: int = 2_000_000,
    ) -> None:
        """`near_duplicate_threshold`: the least estimated similarity (Jaccard of word
        shingles) for a near copy; `dedup_window_days`: how far back new articles are compared;
        `memory_limit`: DuckDB's buffer pool cap while loading (None: DuckDB's default, 80% of RAM);
        `checkpoint_threshold`: within a `session()`, the write-ahead log size at which DuckDB
        checkpoints on its own (the session always checkpoints when it ends); `health_rules`: the
        thresholds `source_health` flags by, written with each run's source outcomes
        (`record_source_runs`; None: leave the file's as they are); `session_key_limit`: the most
        LSH bucket keys a session that loads several batches keeps in memory (about 40 bytes each)
        to ask the file less (`warehouse/seen_keys.py`); past it, the session asks the file;
        `session_key_share`: the session reads those keys only for a batch with at most this
        share of the dedup window's bucket keys (a larger batch is answered as fast by the file);
        `session_term_limit`: the most search terms a session keeps the ids of (about 100 bytes
        each), so that its loads look up only terms they have not used before; past it, the
        session keeps no more."""
        self.path = Path(path)
        self.checkpoint_threshold = checkpoint_threshold
        self._con: duckdb.DuckDBPyConnection | None = None  # set only on the copy a session yields
        self._seen: SessionKeys | None = None  # likewise: what the session knows the file holds
        self._threads_before: int | None = None  # likewise: DuckDB's threads before `_leave_a_core`
        self._next_doc_id: int | None = None  # likewise: the search index's next free document id, once known
        self._terms: SessionTerms | None = None  # likewise: search terms the file holds, and their ids
        self.session_term_limit = session_term_limit
        self.session_key_limit = session_key_limit
        self.session_key_share = session_key_share
        self.lock_timeout = lock_timeout
        self.near_duplicate_threshold = near_duplicate_threshold
        self.dedup_window_days = dedup_window_days
        self.memory_limit = memory_limit
        self.health_rules = health_rules
        #: when the file stays busy past `lock_timeout`, writes go to the staging area
        #: (`warehouse/staging.py`) instead of raising `WarehouseBusy`
        self.stage_when_busy = stage_when_busy
        self.staging = Staging(self.path)

    # -- schema -------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Create the file or upgrade it in place, and merge what waits in staging; returns the
        migration versions applied. With `stage_when_busy`, a busy existing file is left as it
        is (the next write that gets it upgrades it first)."""
        applied: list[int] = []
        try:
            with self._writing(applied):
                pass
        except WarehouseBusy:
            if not (self.stage_when_busy and self.path.exists()):
                raise
        return applied

    @contextmanager
    def session(self) -> Iterator[Warehouse]:
        """This warehouse with the file held open until the block ends: every verb called on the
        yielded object is its own transaction on one connection, and the file is checkpointed
        once, at the end, instead of after every verb. From its second load on, the dedup
        lookups of a batch small beside the dedup window (`session_key_share`) are answered from
        keys the session keeps in memory (`warehouse/seen_keys.py`).
        Other processes cannot open the file meanwhile, so keep a session to one run's writes.
        When the file stays busy past the lock timeout and `stage_when_busy` is set, yields this
        warehouse without a held file and without a further wait: each verb tries the file once
        and otherwise stages its rows."""
        if self._con is not None:  # already in a session
            yield self
            return
        stack = ExitStack()
        try:
            con = stack.enter_context(
                open_session(self.path, self.lock_timeout, self.memory_limit, self.checkpoint_threshold))
        except WarehouseBusy:
            if not (self.stage_when_busy and self.path.exists()):
                raise
            staging = copy.copy(self)
            staging.lock_timeout = 0.0  # the wait is spent: each verb tries once, then stages
            yield staging
            return
        with stack:
            held = copy.copy(self)
            held._con = con
            held._seen = SessionKeys(self.session_key_limit, self.session_key_share)
            held._terms = SessionTerms(self.session_term_limit)
            try:
                with small_pages():  # the keys the session reads and keeps (`warehouse/seen_keys.py`)
                    yield held
            finally:
                if held._threads_before is not None:  # (`_leave_a_core`) the closing checkpoint uses them all
                    try:
                        con.execute(f"SET threads = {int(held._threads_before)}")
                    except duckdb.Error:
                        pass  # then the checkpoint runs on fewer threads: slower, not wrong

    @contextmanager
    def _reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The session's connection, or a short read-only one."""
        if self._con is not None:
            yield self._con
        else:
            with open_reader(self.path, self.lock_timeout) as con:
                yield con

    @contextmanager
    def _writing(self, applied: list[int] | None = None,
                 merged_now: list[StagedBatch] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A writer transaction that first merges the staged batches (oldest first, each once);
        their files are deleted only after the transaction committed. `applied`: migrate first
        and report the versions applied (staged batches are always merged on the newest schema).
        `merged_now`: report the batches merged into the transaction (its uncommitted rows)."""
        opened = (transaction(self._con) if self._con is not None
                  else open_writer(self.path, self.lock_timeout, self.memory_limit))
        with opened as con:
            pending = self.staging.pending()
            if applied is not None or pending:
                applied_now = apply_migrations(con)
                if applied is not None:
                    applied.extend(applied_now)
            merged: list[StagedBatch] = merge_staged(
                con, pending, lambda items, run_id: self.upsert_articles(items, run_id, _con=con), self.staging
            )
            if merged_now is not None:
                merged_now.extend(merged)
            yield con
        self.staging.remove(merged)

    def _write_rows(self, kind: str, table: pa.Table, run_id: str | None = None) -> bool:
        """Write rows of a plain staged kind (failures, runs, sources); True when written, False
        when staged because the file was busy."""
        try:
            with self._writing() as con:
                apply_rows(con, kind, table)
            return True
        except WarehouseBusy:
            if not self.stage_when_busy:
                raise
            self.staging.put(kind, table, run_id)
            return False

    def load(
        self,
        items: Sequence[LoadItem],
        failures: Sequence[PageFailure] = (),
        run_id: str | None = None,
        prepared: Sequence[Prepared] | None = None,
    ) -> LoadResult:
        """Load a run's batch: its articles (`upsert_articles`) and failures, in one transaction.
        When the file stays busy past the lock timeout and `stage_when_busy` is set, both are
        written to the staging area instead (`LoadResult.staged` counts the articles) and the
        next write that gets the file merges them."""
        batch, spent = self._prepared(items, prepared) if items else (None, (0.0, 0.0))  # before the file is taken
        try:
            return self._write_batch(batch, spent, run_id, failures)
        except WarehouseBusy:
            if not self.stage_when_busy:
                raise
        result = LoadResult(staged=len(items))
        if items:
            self.staging.put_articles(items, run_id)
        if failures:
            self.staging.put("failures", _failures_table(run_id, failures), run_id)
        for item in items:
            counts = result.per_source.setdefault(item.article.source or "", {})
            counts["staged"] = counts.get("staged", 0) + 1
        return result

    # -- runs ---------------------------------------------------------------------------
    def start_run(self, run_id: str, sources: list[str], flow_run_id: str | None = None) -> None:
        now = _utc_now()
        self._write_rows("runs", _run_table(run_id, flow_run_id, now, None, "running", sources, None), run_id)

    def finish_run(self, run_id: str, status: str, stats: dict) -> None:
        now = _utc_now()  # started_at is kept from start_run (it only fills a row start_run never wrote)
        stats_text = json.dumps(stats, ensure_ascii=False)
        self._write_rows("runs", _run_table(run_id, None, now, now, status, None, stats_text), run_id)

    # -- source runs and health (warehouse/health.py) ------------------------------------
    def record_source_runs(self, rows: Sequence[SourceRun]) -> list[dict] | None:
        """Insert a run's per-source outcomes (`source_runs`) and return the `source_health` of
        those sources, read in the same transaction (by this warehouse's `health_rules`, which it
        first writes to the file); None when the file was busy and the rows were staged (the next
        write lands them)."""
        if not rows:
            return []
        table = source_runs_table(rows)
        try:
            with self._writing() as con:
                apply_rows(con, "source_runs", table)
                if self.health_rules is not None:
                    write_rules(con, self.health_rules)
                return read_health(con, [r.source for r in rows])
        except WarehouseBusy:
            if not self.stage_when_busy:
                raise
            self.staging.put("source_runs", table, rows[0].run_id)
            return None

    def source_health(self, names: Sequence[str] | None = None) -> list[dict]:
        """Rows of the `source_health` view (all sources, or those named), flagged ones first."""
        with self._reading() as con:
            return read_health(con, names)

    # -- sources ------------------------------------------------------------------------
    def upsert_sources(self, sources: Sequence[SourceRecord]) -> None:
        """Record the configured sources (name, homepage, language, timezone, aliases)."""
        if not sources:
            return
        table = pa.table(
            {
                "name": [s.name for s in sources],
                "homepage": [s.homepage for s in sources],
                "language": [s.language for s in sources],
                "timezone": [s.timezone for s in sources],
                "country": [s.country for s in sources],
                "aliases": pa.array([list(s.aliases) for s in sources], pa.list_(pa.string())),
                "updated_at": pa.array([_utc_now()] * len(sources), _TS),
            }
        )
        self._write_rows("sources", table)

    # -- frontier -----------------------------------------------------------------------
    def known_urls(self, urls: Sequence[str]) -> set[str]:
        """Those of `urls` that the warehouse already holds as a story URL or canonical URL."""
        if not urls or not self.path.exists():
            return set()
        found: set[str] = set()
        with self._reading() as con:
            for chunk in _chunks(list(urls)):
                rows = con.execute(
                    "SELECT u FROM unnest(?::VARCHAR[]) t(u) "
                    "WHERE u IN (SELECT url FROM articles) OR u IN (SELECT canonical_url FROM articles)",
                    [chunk],
                ).fetchall()
                found.update(r[0] for r in rows)
        return found | self.staging.known_urls(urls)

    def frontier_state(self, urls: Sequence[str]) -> dict[str, datetime]:
        """For those of `urls` the warehouse holds (as story URL or canonical URL): when the story
        was last loaded (`articles.last_seen_at`), so the frontier can tell whether it changed since."""
        if not urls or not self.path.exists():
            return {}
        out: dict[str, datetime] = {}
        with self._reading() as con:
            for chunk in _chunks(list(urls)):
                rows = con.execute(
                    "SELECT t.u, max(a.last_seen_at) FROM unnest(?::VARCHAR[]) t(u) "
                    "JOIN articles a ON a.url = t.u OR a.canonical_url = t.u GROUP BY t.u",
                    [chunk],
                ).fetchall()
                out.update(rows)
        return out

    # -- fetching state: validators, robots.txt, the archive index ----------------------
    def validators(self, urls: Sequence[str]) -> dict[str, Validators]:
        """Stored validators (ETag, Last-Modified) and entries of feeds and sitemaps."""
        if not urls or not self.path.exists():
            return {}
        out: dict[str, Validators] = {}
        with self._reading() as con:
            for chunk in _chunks(list(urls)):
                rows = con.execute(
                    "SELECT url, kind, etag, last_modified, checked_at, changed_at, entries FROM http_validators "
                    "WHERE url IN (SELECT unnest(?::VARCHAR[]))",
                    [chunk],
                ).fetchall()
                for url, kind, etag, lm, checked, changed, entries in rows:
                    out[url] = Validators(url, kind, etag, lm, checked, changed, json.loads(entries or "[]"))
        return out

    def save_validators(self, rows: Sequence[Validators]) -> None:
        if not rows:
            return
        table = pa.table(
            {
                "url": [r.url for r in rows],
                "kind": [r.kind for r in rows],
                "etag": [r.etag for r in rows],
                "last_modified": [r.last_modified for r in rows],
                "checked_at": pa.array([r.checked_at for r in rows], _TS),
                "changed_at": pa.array([r.changed_at for r in rows], _TS),
                "entries": [json.dumps(r.entries, ensure_ascii=False) for r in rows],
            }
        )
        self._write_rows("validators", table)  # staged when the file is busy; SQL in warehouse/staging.py

    def robots(self, origins: Sequence[str], now: datetime | None = None) -> dict[str, RobotsRecord]:
        """Cached robots.txt of these origins that have not expired yet."""
        if not origins or not self.path.exists():
            return {}
        now = now or _utc_now()
        with self._reading() as con:
            rows = con.execute(
                "SELECT origin, status, body, fetched_at, expires_at FROM robots_txt "
                "WHERE origin IN (SELECT unnest(?::VARCHAR[])) AND expires_at > ?",
                [list(origins), now],
            ).fetchall()
        return {r[0]: RobotsRecord(*r) for r in rows}

    def save_robots(self, rows: Sequence[RobotsRecord]) -> None:
        if not rows:
            return
        table = pa.table(
            {
                "origin": [r.origin for r in rows],
                "status": pa.array([r.status for r in rows], pa.int32()),
                "body": [r.body for r in rows],
                "fetched_at": pa.array([r.fetched_at for r in rows], _TS),
                "expires_at": pa.array([r.expires_at for r in rows], _TS),
            }
        )
        self._write_rows("robots", table)  # staged when the file is busy; SQL in warehouse/staging.py

    def log_fetches(self, run_id: str | None, rows: Sequence[FetchRecord]) -> int:
        """Index requests and their archive records in `fetch_log` (one statement)."""
        if not rows:
            return 0
        table = pa.table(
            {
                "run_id": [run_id] * len(rows),
                "source": [r.source for r in rows],
                "url": [r.url for r in rows],
                "final_url": [r.final_url for r in rows],
                "kind": [r.kind for r in rows],
                "status": pa.array([r.status for r in rows], pa.int32()),
                "fetched_at": pa.array([r.fetched_at for r in rows], _TS),
                "elapsed_s": pa.array([r.elapsed_s for r in rows], pa.float64()),
                "content_type": [r.content_type for r in rows],
                "size": pa.array([r.size for r in rows], pa.int64()),
                "sha256": [r.sha256 for r in rows],
                "warc_file": [r.warc_file for r in rows],
                "warc_offset": pa.array([r.warc_offset for r in rows], pa.int64()),
                "error": [r.error for r in rows],
            }
        )
        self._write_rows("fetch_log", table, run_id)  # staged when the file is busy
        return len(rows)

    def archived_pages(self, sources: Sequence[str] | None = None, since: datetime | None = None) -> list[ArchivedPage]:
        """The newest archived successful answer of every page URL (optionally of some sources,
        fetched at or after `since`), oldest first."""
        if not self.path.exists():
            return []
        where = ["kind = 'page'", "error IS NULL", "status = 200", "warc_file IS NOT NULL"]
        params: list = []
        if sources:
            where.append("source IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(sources))
        if since is not None:
            where.append("fetched_at >= ?")
            params.append(since)
        with self._reading() as con:
            rows = con.execute(
                "SELECT source, url, final_url, fetched_at, warc_file, warc_offset, content_type FROM ("
                " SELECT *, row_number() OVER (PARTITION BY source, url ORDER BY fetched_at DESC) AS _n"
                f" FROM fetch_log WHERE {' AND '.join(where)}) WHERE _n = 1 ORDER BY fetched_at, url",
                params,
            ).fetchall()
        return [ArchivedPage(*r) for r in rows]

    # -- errors -------------------------------------------------------------------------
    def record_failures(self, run_id: str | None, failures: Sequence[PageFailure]) -> int:
        """Insert failures in one statement; returns how many."""
        if not failures:
            return 0
        self._write_rows("failures", _failures_table(run_id, failures), run_id)
        return len(failures)

    # -- articles -----------------------------------------------------------------------
    def upsert_articles(
        self, items: Sequence[LoadItem], run_id: str | None = None, prepared: Sequence[Prepared] | None = None,
        *, _con: duckdb.DuckDBPyConnection | None = None,
    ) -> LoadResult:
        """Deduplicate a batch against itself and the warehouse, then load it in one transaction.

        New stories and exact copies (with `duplicate_of` set) get an `articles` row and a
        version; a known story whose content changed gets a new version and its row points to
        it; an unchanged one only has `last_seen_at` moved. Returns counts per source.
        `_con`: load inside that connection's open transaction (a staged batch merged first).
        """
        if not items:
            return LoadResult()
        prepared, spent = self._prepared(items, prepared)
        if _con is not None:
            return self._load_articles(_con, prepared, run_id, spent, nested=True, after_merges=True)[0]
        return self._write_batch(prepared, spent, run_id)

    def _write_batch(self, batch: PreparedBatch | None, spent: tuple[float, float], run_id: str | None,
                     failures: Sequence[PageFailure] = ()) -> LoadResult:
        """A batch's articles (none: `batch` None) and failures in one writer transaction, the
        staged batches merged first; a session remembers the load's search terms once it commits.
        `spent`: the seconds preparing the batch took (counted as dedup's: signatures and
        fingerprints are its work)."""
        if batch is not None:
            self._leave_a_core()
        merged: list[StagedBatch] = []
        with self._writing(merged_now=merged) as con:
            result, term_ids = (self._load_articles(con, batch, run_id, spent, nested=False, after_merges=bool(merged))
                                if batch is not None else (LoadResult(), None))
            if failures:
                apply_rows(con, "failures", _failures_table(run_id, failures))
        self._remember_terms(term_ids)
        return result

    @staticmethod
    def _prepared(items: Sequence[LoadItem], prepared: Sequence[Prepared] | None) -> tuple[PreparedBatch, tuple[float, float]]:
        """The batch prepared (CPU work: normalising, MinHash; done before the file is taken,
        unless the caller, with spare cores, made it elsewhere with `warehouse.dedup.prepare`),
        and the wall and CPU seconds that took here."""
        wall, cpu = time.perf_counter(), time.thread_time()
        batch = PreparedBatch.of(prepared if prepared is not None else prepare(items))
        return batch, (time.perf_counter() - wall, time.thread_time() - cpu)

    def _remember_terms(self, term_ids: dict[str, int] | None) -> None:
        """After a load's commit: a session keeps the ids of the search terms it used."""
        if term_ids is not None and self._terms is not None:
            self._terms.remember(term_ids)

    def _load_articles(
        self, con: duckdb.DuckDBPyConnection, prepared: PreparedBatch, run_id: str | None,
        spent: tuple[float, float], *, nested: bool, after_merges: bool,
    ) -> tuple[LoadResult, dict[str, int] | None]:
        """`upsert_articles`' work in `con`'s open transaction. `nested`: inside another load's
        transaction (a staged batch merged first); `after_merges`: staged batches were merged
        into this transaction before it. Returns the result and, for a session's own load, the
        ids of the search terms it used that its earlier loads did not (to remember once the
        transaction commits; None otherwise)."""
        result = LoadResult()
        ids, fps = prepared.article_ids, prepared.fingerprints
        dedup_wall, dedup_cpu = spent
        # a session's own load (not one merged inside another's transaction) looks up only the
        # search terms its earlier loads did not use
        known_terms = self._terms.ids if self._terms is not None and not nested else None
        wall, cpu = time.perf_counter(), time.thread_time()
        since = _utc_now() - timedelta(days=self.dedup_window_days)
        # in a session's later loads, the file is asked only about keys it may hold
        seen = self._seen.for_load(con, since, len(prepared.band_keys)) if self._seen is not None else None
        known_hashes = self._current_hashes(con, ids if seen is None else seen.known_ids(ids))
        known_fps = self._originals_by_fingerprint(con, fps if seen is None else seen.known_fingerprints(fps))

        def near_candidates(reader: duckdb.DuckDBPyConnection) -> tuple[list[Candidate], dict[str, list[int]]]:
            return (find_candidates(reader, prepared.band_keys, since) if seen is None
                    else candidates_among(reader, seen.bucket_holders(prepared.band_keys), since))

        # The near-duplicate candidates are stories committed before this transaction, unless
        # staged batches were merged into it first: then they may be among its own rows, which
        # only `con` sees, so they are looked up before the writes start. Otherwise a second
        # connection looks them up while the worker writes: in a session, about 5 ms of a load
        # of 1,000 no longer comes before the first write, and the time before the commit fell
        # from 26-29 ms to 24-26.5 ms (docs/operations.md). Loads outside a session measured the same.
        beside = not nested and not after_merges
        if not beside:
            candidates, candidate_keys = near_candidates(con)
        fresh = fresh_positions(prepared, known_hashes)
        now = _utc_now()
        dedup_wall, dedup_cpu = dedup_wall + time.perf_counter() - wall, dedup_cpu + time.thread_time() - cpu
        # the writes run on a worker thread, in order, while this one decides and builds the
        # next rows. First what the decisions do not change: the versions, buckets and search
        # documents of the stories stored for the first time (the index's lookups of terms
        # the session has not used wait only for those versions and buckets); then the rows that carry the
        # decisions.
        with statement_queue(con) as queue:
            stored_buckets = self._write_fresh(queue, prepared, fresh, run_id, now)
            update = index_documents(queue, select_rows(prepared.search, fresh), indexed=(),
                                     next_doc_id=self._next_doc_id, known_terms=known_terms)
            wall, cpu = time.perf_counter(), time.thread_time()
            if beside:
                with committed_reader(con) as reader:
                    candidates, candidate_keys = near_candidates(reader)
            decisions = decide_batch(prepared, known_hashes, known_fps, candidates, candidate_keys,
                                     self.near_duplicate_threshold)
            result.dedup_wall = dedup_wall + time.perf_counter() - wall
            result.dedup_cpu = dedup_cpu + time.thread_time() - cpu
            updated = [i for i, d in enumerate(decisions) if d.kind == "updated"]
            self._write_decided(queue, decisions, prepared, fresh, updated, run_id, now)
            if updated:
                known_then = {**(known_terms or {}), **update.term_ids}
                again = index_documents(queue, select_rows(prepared.search, updated),
                                        indexed=[decisions[i].article_id for i in updated],
                                        next_doc_id=update.next_doc_id, known_terms=known_then)
                update = IndexUpdate(again.next_doc_id, {**update.term_ids, **again.term_ids})
            if seen is not None:  # before the commit: a load that rolls back leaves only extra keys
                seen.add([p.article_id for p in prepared.items],
                         [d.fingerprint for d in decisions if d.kind == "new" and d.fingerprint], stored_buckets)
        if self._con is not None:  # a session: nothing else writes the file meanwhile (a load that
            self._next_doc_id = update.next_doc_id  # rolls back only leaves the ids it took unused)
        result.decisions = decisions
        for d in decisions:
            counts = result.per_source.setdefault(d.item.article.source or "", {})
            counts[d.kind] = counts.get(d.kind, 0) + 1
        return result, (update.term_ids if known_terms is not None else None)

    def _leave_a_core(self) -> None:
        """In a session that answers the dedup lookups from memory (`warehouse/seen_keys.py`),
        give DuckDB one thread fewer from then on, so that the loader's Python work, which runs
        beside DuckDB's writes (`warehouse/statement_queue.py`), has a core of its own. Such a
        load scans nothing large: its statements are the inserts of one batch, which gain little
        from a second thread. The session sets the count back before its closing checkpoint,
        which uses every thread. Measured (100 loads of 1,000 into a 100k file, 2 cores, 6 runs
        against 6): 0.2-1.2 s less a session, about 5%. Setting it for each load and back after
        it cost more than it saved (6-9 ms a load)."""
        if self._threads_before is not None or self._seen is None or self._seen.keys is None:
            return
        self._threads_before = self._con.execute("SELECT current_setting('threads')").fetchall()[0][0]
        if self._threads_before > 1:
            self._con.execute(f"SET threads = {self._threads_before - 1}")

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
    def _originals_by_fingerprint(con: duckdb.DuckDBPyConnection, fps: list[str]) -> dict[str, tuple[str, str]]:
        """fingerprint → (article_id, cluster_id) of the earliest original story having it."""
        out: dict[str, tuple[str, str]] = {}
        for chunk in _chunks(fps):
            rows = con.execute(
                "SELECT body_fingerprint, arg_min(article_id, first_seen_at), arg_min(cluster_id, first_seen_at) "
                "FROM articles WHERE duplicate_of IS NULL AND body_fingerprint IN (SELECT unnest(?::VARCHAR[])) "
                "GROUP BY body_fingerprint",
                [chunk],
            ).fetchall()
            out.update((fp, (aid, cluster or aid)) for fp, aid, cluster in rows)
        return out

    @staticmethod
    def _write_fresh(queue: StatementQueue, prepared: PreparedBatch, fresh: list[int], run_id: str | None,
                     now: datetime) -> pa.Table | None:
        """Queue the inserts that stories stored for the first time (`fresh`: positions in
        `prepared`, `warehouse.dedup.fresh_positions`) get whatever dedup decides: their versions
        and LSH bucket rows. Returns the bucket rows (None: no such story)."""
        if not fresh:
            return None
        # A story stored for the first time has no version yet (its articles row and versions are
        # written together), so its rows need no conflict check, which costs as much again as the
        # insert.
        queue.execute("INSERT INTO article_versions BY NAME SELECT * FROM batch_rows",
                      with_run_id(select_rows(prepared.versions, fresh), run_id))
        buckets = select_item_rows(prepared.buckets, fresh, len(prepared))
        add_buckets(queue, buckets, now)
        return buckets

    @staticmethod
    def _write_decided(queue: StatementQueue, decisions: list[Decision], prepared: PreparedBatch, fresh: list[int],
                       updated: list[int], run_id: str | None, now: datetime) -> None:
        """Queue the writes that carry the decisions (`prepared`: the batch they were made for,
        one decision per item, in the same order): the articles rows and signatures of the
        stories stored for the first time (`fresh`: their copy-of and cluster), the new versions
        of changed stories (`updated`: positions), and the last sighting of known ones."""
        if fresh:
            fresh_decisions = [decisions[i] for i in fresh]
            articles = articles_table(select_rows(prepared.articles, fresh), fresh_decisions, run_id, now)
            queue.execute("INSERT INTO articles BY NAME SELECT * FROM batch_rows", articles)
            add_signatures(queue, select_rows(prepared.signatures, fresh),
                           [d.cluster_id or d.article_id for d in fresh_decisions], now)
        # An update may restore an older version's content: that pair already exists.
        if updated:
            queue.execute("INSERT INTO article_versions BY NAME SELECT * FROM batch_rows ON CONFLICT DO NOTHING",
                          with_run_id(select_rows(prepared.versions, updated), run_id))
        seen = [d for d in decisions if d.kind in ("updated", "unchanged")]
        if seen:
            queue.execute(
                "UPDATE articles SET last_seen_at = ?, content_hash = s.content_hash, title = s.title, "
                "published_at = s.published_at FROM batch_rows s WHERE articles.article_id = s.article_id",
                pa.table(
                    {
                        "article_id": [d.article_id for d in seen],
                        "content_hash": [d.content_hash for d in seen],
                        "title": [d.item.article.title for d in seen],
                        "published_at": pa.array([d.item.article.published_at for d in seen], _TS),
                    }
                ),
                [now],
            )


_TS = pa.timestamp("us", tz="UTC")


def _failures_table(run_id: str | None, failures: Sequence[PageFailure]) -> pa.Table:
    return pa.table(
        {
            "run_id": pa.array([run_id] * len(failures), pa.string()),
            "source": [f.source for f in failures],
            "url": [f.url for f in failures],
            "stage": [f.stage for f in failures],
            "reason": [f.reason for f in failures],
            "status_code": pa.array([f.status_code for f in failures], pa.int32()),
            "detail": pa.array([f.detail for f in failures], pa.string()),
            "occurred_at": pa.array([f.occurred_at for f in failures], _TS),
        }
    )


def _run_table(run_id: str, flow_run_id: str | None, started_at: datetime, finished_at: datetime | None,
               status: str, sources: list[str] | None, stats: str | None) -> pa.Table:
    return pa.table(
        {
            "run_id": [run_id],
            "flow_run_id": pa.array([flow_run_id], pa.string()),
            "started_at": pa.array([started_at], _TS),
            "finished_at": pa.array([finished_at], _TS),
            "status": [status],
            "sources": pa.array([sources], pa.list_(pa.string())),
            "stats": pa.array([stats], pa.string()),
        }
    )


