"""Staging: a batch that finds the file busy waits in Parquet and is merged exactly once."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timezone

import pyarrow.parquet as pq
import pytest

from holder import held
from parsers import Article, Block
from warehouse import LoadItem, PageFailure, Warehouse, WarehouseBusy, run_query
from warehouse.staging import article_from_dict

FETCHED = datetime(2024, 4, 27, 6, 0, tzinfo=timezone.utc)


def article(n: int, source: str = "site-a", body: str | None = None) -> Article:
    return Article(
        url=f"https://a.example/news/{n}", canonical_url=f"https://a.example/news/{n}", title=f"خبر {n}",
        body=(Block("paragraph", body or f"نص الخبر رقم {n} عن موضوع مختلف تماما في كل مرة."),
              Block("subheading", "عنوان فرعي")),
        published_at=datetime(2024, 4, 27, 5, n % 60, tzinfo=timezone.utc), published_text="27 أبريل",
        authors=("كاتب",), tags=("سياسة",), language="ar", source=source, methods={"title": "jsonld"},
    )


def failure(n: int) -> PageFailure:
    return PageFailure("site-a", f"https://a.example/bad/{n}", "fetch", "http_404", FETCHED, 404, "HTTP 404")


@pytest.fixture
def wh(tmp_path) -> Warehouse:
    w = Warehouse(tmp_path / "w.duckdb", lock_timeout=0.3, stage_when_busy=True)
    w.migrate()
    return w


def count(wh: Warehouse, sql: str):
    return run_query(wh.path, sql).rows[0][0]


def test_an_article_survives_the_round_trip_through_staging():
    a = replace(article(1), modified_at=datetime(2024, 4, 28, tzinfo=timezone.utc), kicker="عاجل")
    assert article_from_dict(a.to_dict()) == a


def test_a_busy_file_stages_the_batch_and_the_next_load_merges_it(wh):
    with held(wh.path):
        wh.start_run("r1", ["site-a"])
        result = wh.load([LoadItem(article(i), FETCHED) for i in range(3)], [failure(1)], "r1")
        wh.finish_run("r1", "completed", {"totals": {"staged": 3}})
        assert result.staged == 3 and result.count("site-a", "staged") == 3
        kinds = {s["kind"]: s for s in wh.staging.summary()}
        assert kinds["articles"]["rows"] == 3 and kinds["failures"]["rows"] == 1 and kinds["runs"]["batches"] == 2
        assert not list(wh.staging.dir.glob(".*.tmp"))  # written to a temp name, then renamed
        # the frontier already counts staged URLs as known
        assert wh.known_urls(["https://a.example/news/1", "https://a.example/news/9"]) == {"https://a.example/news/1"}
    merged = wh.load([LoadItem(article(3), FETCHED)], [], "r2")  # the next load gets the file
    assert merged.count("site-a", "new") == 1
    assert wh.staging.pending() == []
    assert count(wh, "SELECT count(*) FROM articles") == 4
    assert count(wh, "SELECT count(*) FROM fetch_errors") == 1
    assert run_query(wh.path, "SELECT status, stats->>'$.totals.staged', started_at <= finished_at FROM runs").rows == [
        ("completed", "3", True)]
    assert count(wh, "SELECT count(*) FROM staged_batches") == 4
    assert count(wh, "SELECT count(DISTINCT run_id) FROM article_versions WHERE run_id = 'r1'") == 1


def test_a_batch_merged_but_not_deleted_is_not_merged_twice(wh, monkeypatch):
    with held(wh.path):
        wh.load([LoadItem(article(i), FETCHED) for i in range(2)], [failure(1), failure(2)], "r1")
    staged = wh.staging.pending()
    monkeypatch.setattr(wh.staging, "remove", lambda batches: None)  # the process "dies" after commit
    wh.migrate()
    assert [b.path.exists() for b in staged] == [True, True]
    monkeypatch.undo()
    wh.record_failures("r2", [failure(3)])  # the next write finds the ledger rows and only deletes
    assert wh.staging.pending() == []
    assert count(wh, "SELECT count(*) FROM fetch_errors") == 3
    assert count(wh, "SELECT count(*) FROM articles") == 2


def test_a_failed_merge_keeps_the_batch_for_later(wh, monkeypatch):
    with held(wh.path):
        wh.load([LoadItem(article(1), FETCHED)], [], "r1")
    import warehouse.store as store

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "apply_rows", broken)
    with pytest.raises(RuntimeError):
        wh.record_failures("r2", [failure(1)])  # the merge ran, then the write failed: rolled back
    monkeypatch.undo()
    assert len(wh.staging.pending()) == 1
    assert count(wh, "SELECT count(*) FROM articles") == 0
    wh.migrate()
    assert count(wh, "SELECT count(*) FROM articles") == 1 and wh.staging.pending() == []


def test_an_unreadable_staged_file_is_set_aside(wh):
    with held(wh.path):
        wh.load([LoadItem(article(1), FETCHED)], [], "r1")
    (batch,) = wh.staging.pending()
    batch.path.write_bytes(b"not parquet")
    wh.migrate()
    assert wh.staging.pending() == [] and batch.path.with_name(batch.path.name + ".bad").exists()


def test_without_staging_a_busy_file_raises(tmp_path):
    w = Warehouse(tmp_path / "w.duckdb", lock_timeout=0.2)
    w.migrate()
    with held(w.path), pytest.raises(WarehouseBusy):
        w.load([LoadItem(article(1), FETCHED)])


def test_staged_files_are_parquet_that_anyone_can_read(wh):
    with held(wh.path):
        wh.load([LoadItem(article(1), FETCHED)], [failure(1)], "r1")
    tables = {b.kind: pq.read_table(b.path) for b in wh.staging.pending()}
    assert tables["articles"].column("url").to_pylist() == ["https://a.example/news/1"]
    assert tables["failures"].column("reason").to_pylist() == ["http_404"]
    assert tables["articles"].schema.metadata[b"akhbar.run_id"] == b"r1"


def test_a_session_on_a_busy_file_waits_once_then_stages_every_write(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb", lock_timeout=1.0, stage_when_busy=True)
    wh.migrate()
    with held(wh.path):
        started = time.monotonic()
        with wh.session() as session:  # waits its lock timeout once...
            result = session.load([LoadItem(article(1), FETCHED)], [failure(1)], "r1")
            session.record_failures("r1", [failure(2)])  # ...and its writes do not wait again
        waited = time.monotonic() - started
    assert result.staged == 1
    assert sorted(b.kind for b in wh.staging.pending()) == ["articles", "failures", "failures"]
    assert 1.0 <= waited < 2.5  # one lock timeout, not one per write (three would be >= 3 s)
