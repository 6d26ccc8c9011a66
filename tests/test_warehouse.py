"""The warehouse: migrations, bulk loads with dedup, failures, read-only queries — on real DuckDB files."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from datetime import datetime, timezone

import duckdb
import pytest

from parsers import Article, Block
from warehouse import LoadItem, PageFailure, Warehouse, WarehouseError, WarehouseMissing, run_query
from warehouse.migrations import available_migrations

FETCHED = datetime(2024, 4, 27, 6, 0, tzinfo=timezone.utc)


def article(n: int, body: str | None = None, source: str = "site-a") -> Article:
    text = body if body is not None else f"نص الخبر رقم {n} عن موضوع مختلف تماما."
    return Article(
        url=f"https://a.example/news/{n}",
        canonical_url=f"https://a.example/news/{n}",
        title=f"خبر {n}",
        body=(Block("paragraph", text), Block("subheading", "*عنوان فرعي")),
        published_at=datetime(2024, 4, 27, 5, n % 60, tzinfo=timezone.utc),
        published_text="2024-04-27",
        authors=("كاتب",),
        language="ar",
        source=source,
        methods={"title": "jsonld"},
    )


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    wh = Warehouse(tmp_path / "w.duckdb", lock_timeout=2)
    wh.migrate()
    return wh


def rows(wh: Warehouse, sql: str) -> list[tuple]:
    return run_query(wh.path, sql).rows


def test_migrate_creates_the_schema_and_records_its_version(warehouse):
    versions = rows(warehouse, "SELECT version FROM schema_migrations ORDER BY version")
    assert [v for (v,) in versions] == [m.version for m in available_migrations()]
    tables = {t for (t,) in rows(warehouse, "SELECT table_name FROM information_schema.tables")}
    assert {"articles", "article_versions", "runs", "fetch_errors", "latest_articles"} <= tables


def test_migrate_twice_applies_nothing_the_second_time(warehouse):
    assert warehouse.migrate() == []


def test_migrate_upgrades_a_file_with_only_the_migrations_table(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)")
    con.close()
    assert Warehouse(path).migrate() == [m.version for m in available_migrations()]


def test_the_file_is_free_between_calls(warehouse):
    warehouse.upsert_articles([LoadItem(article(1), FETCHED)])
    con = duckdb.connect(str(warehouse.path))  # would fail at once if anything held the file
    con.close()


def test_new_articles_land_with_one_version_each(warehouse):
    result = warehouse.upsert_articles([LoadItem(article(i), FETCHED) for i in range(3)], "run-1")
    assert result.count("site-a", "new") == 3
    assert rows(warehouse, "SELECT count(*) FROM articles") == [(3,)]
    assert rows(warehouse, "SELECT count(*) FROM article_versions") == [(3,)]
    (blocks, authors, methods) = rows(warehouse, "SELECT body_blocks, authors, methods FROM latest_articles WHERE title = 'خبر 1'")[0]
    assert blocks[1] == {"kind": "subheading", "text": "*عنوان فرعي"}
    assert authors == ["كاتب"] and '"jsonld"' in methods


def test_loading_the_same_batch_again_changes_nothing(warehouse):
    batch = [LoadItem(article(i), FETCHED) for i in range(3)]
    warehouse.upsert_articles(batch)
    before = rows(warehouse, "SELECT article_id, content_hash FROM articles ORDER BY 1")
    result = warehouse.upsert_articles(batch)
    assert result.count("site-a", "unchanged") == 3 and result.count("site-a", "new") == 0
    assert rows(warehouse, "SELECT article_id, content_hash FROM articles ORDER BY 1") == before
    assert rows(warehouse, "SELECT count(*) FROM article_versions") == [(3,)]


def test_changed_content_becomes_a_new_version_of_the_same_story(warehouse):
    warehouse.upsert_articles([LoadItem(article(1), FETCHED)])
    edited = replace(article(1), title="خبر 1 (محدث)")
    result = warehouse.upsert_articles([LoadItem(edited, FETCHED)])
    assert result.count("site-a", "updated") == 1
    assert rows(warehouse, "SELECT count(*), max(title) FROM articles") == [(1, "خبر 1 (محدث)")]
    assert rows(warehouse, "SELECT count(*) FROM article_versions") == [(2,)]


def test_a_story_edited_back_to_an_earlier_text_keeps_one_version_per_distinct_text(warehouse):
    warehouse.upsert_articles([LoadItem(article(1), FETCHED)])
    warehouse.upsert_articles([LoadItem(replace(article(1), title="خبر 1 (محدث)"), FETCHED)])
    result = warehouse.upsert_articles([LoadItem(article(1), FETCHED)])  # the edit taken back
    assert result.count("site-a", "updated") == 1
    assert rows(warehouse, "SELECT count(*) FROM article_versions") == [(2,)]
    assert rows(warehouse, "SELECT title FROM latest_articles") == [("خبر 1",)]


def test_a_session_holds_the_file_until_it_ends_and_commits_each_load(warehouse):
    with warehouse.session() as held:
        held.upsert_articles([LoadItem(article(1), FETCHED)], "run-1")
        other = subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({str(warehouse.path)!r}, read_only=True)"],
                               capture_output=True, text=True, timeout=60)
        assert other.returncode != 0 and "lock" in other.stderr.lower()  # another process cannot open it now
        held.upsert_articles([LoadItem(article(2), FETCHED)], "run-1")
        assert held.known_urls(["https://a.example/news/2"]) == {"https://a.example/news/2"}  # reads in the session
    assert rows(warehouse, "SELECT count(*) FROM articles") == [(2,)]
    duckdb.connect(str(warehouse.path)).close()  # and free again


def test_a_session_folds_its_write_ahead_log_into_the_file_when_it_ends(warehouse):
    wal = warehouse.path.with_name(warehouse.path.name + ".wal")
    with warehouse.session() as held:
        held.upsert_articles([LoadItem(article(1), FETCHED)], "run-1")
        held.upsert_articles([LoadItem(article(2), FETCHED)], "run-1")
        assert wal.exists() and wal.stat().st_size > 0  # committed, still in the log
    assert not wal.exists()  # a copy of the file alone (a snapshot, a backup) holds every load
    assert rows(warehouse, "SELECT count(*) FROM articles") == [(2,)]


_DIES_IN_A_SESSION = """
import os, sys
from datetime import datetime, timezone
sys.path.insert(0, sys.argv[2])
from tests.test_warehouse import article
from warehouse import LoadItem, Warehouse
with Warehouse(sys.argv[1]).session() as held:
    held.upsert_articles([LoadItem(article(1), datetime.now(timezone.utc))])
    os._exit(3)  # killed before the session checkpoints and closes the file
"""


def test_a_process_killed_inside_a_session_keeps_what_it_committed(warehouse):
    root = str(Path(__file__).resolve().parents[1])
    died = subprocess.run([sys.executable, "-c", _DIES_IN_A_SESSION, str(warehouse.path), root],
                          capture_output=True, text=True, timeout=120)
    assert died.returncode == 3, died.stderr
    assert Path(str(warehouse.path) + ".wal").exists()  # committed, not yet checkpointed
    assert rows(warehouse, "SELECT count(*) FROM articles") == [(1,)]  # replayed from the log
    assert warehouse.upsert_articles([LoadItem(article(1), FETCHED)]).count("site-a", "unchanged") == 1


def test_a_failed_load_in_a_session_loses_only_itself(warehouse):
    with pytest.raises(ZeroDivisionError):
        with warehouse.session() as held:
            held.upsert_articles([LoadItem(article(1), FETCHED)])
            with held._writing() as con:
                con.execute("DELETE FROM articles")
                1 / 0  # the transaction rolls back; the earlier load stays committed
    assert rows(warehouse, "SELECT count(*) FROM articles") == [(1,)]


def test_a_second_item_with_the_same_canonical_url_in_a_batch_is_a_duplicate(warehouse):
    twin = replace(article(1), url="https://a.example/news/1?utm_source=x")
    result = warehouse.upsert_articles([LoadItem(article(1), FETCHED), LoadItem(twin, FETCHED)])
    assert result.count("site-a", "new") == 1 and result.count("site-a", "duplicate") == 1
    assert rows(warehouse, "SELECT count(*) FROM articles") == [(1,)]


def test_an_exact_copy_in_the_same_batch_points_to_the_original(warehouse):
    original = article(1, body="نص مشترك")
    copy = replace(article(2, body="نص  مشترك،", source="site-b"), source="site-b")
    result = warehouse.upsert_articles([LoadItem(original, FETCHED), LoadItem(copy, FETCHED)])
    assert result.count("site-a", "new") == 1 and result.count("site-b", "duplicate") == 1
    (dup_of, reason), = rows(warehouse, "SELECT duplicate_of, duplicate_reason FROM articles WHERE source = 'site-b'")
    (original_id,), = rows(warehouse, "SELECT article_id FROM articles WHERE source = 'site-a'")
    assert (dup_of, reason) == (original_id, "exact_body")


def test_an_exact_copy_in_a_later_batch_is_caught_against_the_warehouse(warehouse):
    warehouse.upsert_articles([LoadItem(article(1, body="نص مشترك"), FETCHED)])
    result = warehouse.upsert_articles([LoadItem(article(2, body="نص مشترك", source="site-b"), FETCHED)])
    assert result.count("site-b", "duplicate") == 1


def test_each_stored_row_carries_its_own_articles_fields_and_decision_when_part_of_a_batch_is_stored(warehouse):
    warehouse.upsert_articles([LoadItem(article(1), FETCHED)], "run-1")
    moved = replace(article(7, body="نص مشترك"), url="https://a.example/n?id=7", language="en")
    copy = article(8, body="نص مشترك", source="site-b")
    # the known story is only counted, so the rows stored are the 2nd and 3rd of the batch
    warehouse.upsert_articles([LoadItem(article(1), FETCHED), LoadItem(moved, FETCHED), LoadItem(copy, FETCHED)], "run-2")
    stored = rows(warehouse, "SELECT source, url, canonical_url, title, published_at, language, first_run_id, "
                             "duplicate_reason, duplicate_of = (SELECT article_id FROM articles WHERE url LIKE '%id=7') "
                             "FROM articles WHERE first_run_id = 'run-2' ORDER BY title")
    assert stored == [
        ("site-a", "https://a.example/n?id=7", "https://a.example/news/7", "خبر 7", moved.published_at, "en", "run-2",
         None, None),
        ("site-b", "https://a.example/news/8", "https://a.example/news/8", "خبر 8", copy.published_at, "ar", "run-2",
         "exact_body", True),
    ]


def test_known_urls_finds_story_and_canonical_urls(warehouse):
    moved = replace(article(5), url="https://a.example/n?id=5")
    warehouse.upsert_articles([LoadItem(moved, FETCHED)])
    known = warehouse.known_urls(["https://a.example/n?id=5", "https://a.example/news/5", "https://a.example/news/6"])
    assert known == {"https://a.example/n?id=5", "https://a.example/news/5"}


def test_failures_are_recorded_with_their_reasons(warehouse):
    failure = PageFailure("site-a", "https://a.example/x", "fetch", "http_404", FETCHED, 404, "HTTP 404 Not Found")
    assert warehouse.record_failures("run-1", [failure]) == 1
    assert rows(warehouse, "SELECT source, stage, reason, status_code FROM fetch_errors") == [("site-a", "fetch", "http_404", 404)]


def test_runs_are_recorded_with_their_stats(warehouse):
    warehouse.start_run("r1", ["site-a"])
    warehouse.finish_run("r1", "completed", {"totals": {"new": 2}})
    (status, stats), = rows(warehouse, "SELECT status, stats->>'$.totals.new' FROM runs")
    assert (status, stats) == ("completed", "2")


def test_reading_a_missing_file_says_so(tmp_path):
    with pytest.raises(WarehouseMissing):
        run_query(tmp_path / "none.duckdb", "SELECT 1")


def test_a_query_cannot_write(warehouse):
    with pytest.raises(duckdb.Error):
        run_query(warehouse.path, "DELETE FROM articles")


def test_writer_connections_draw_no_progress_bar_into_the_output(warehouse):
    # a long write (migration 8 rewrites every version) would otherwise draw DuckDB's bar into a
    # flow's log or `akhbar maintain`'s output
    from warehouse.connection import open_session

    with open_session(warehouse.path) as con:
        assert con.execute("SELECT current_setting('enable_progress_bar')").fetchall() == [(False,)]


def test_the_garbage_collector_does_not_run_inside_a_write_transaction(warehouse):
    # a full collection over a pipeline's heap takes ~0.5 s; inside a load it would hold the file
    import gc

    from warehouse.connection import open_session, transaction

    seen = []
    with open_session(warehouse.path) as con:
        with transaction(con):
            seen.append(gc.isenabled())
        seen.append(gc.isenabled())
        with pytest.raises(ZeroDivisionError), transaction(con):
            1 / 0
        seen.append(gc.isenabled())
    assert seen == [False, True, True]


def test_a_transaction_leaves_a_collector_that_was_off_off(warehouse):
    import gc

    from warehouse.connection import open_session, transaction

    gc.disable()
    try:
        with open_session(warehouse.path) as con, transaction(con):
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_load_runs_with_the_collector_paused_and_restores_it(warehouse, monkeypatch):
    import gc

    import warehouse.store as store

    states = []
    decide = store.decide_batch

    def recording(*args, **kwargs):
        states.append(gc.isenabled())
        return decide(*args, **kwargs)

    monkeypatch.setattr(store, "decide_batch", recording)
    warehouse.upsert_articles([LoadItem(article(1), FETCHED)])
    assert states == [False] and gc.isenabled()


def test_a_writer_refuses_a_file_with_a_table_named_like_the_loaders_rows(warehouse):
    # the loader's statements read their Arrow rows by the name batch_rows (a replacement scan):
    # a table of that name would be read in their place
    con = duckdb.connect(str(warehouse.path))
    con.execute("CREATE TABLE batch_rows AS SELECT 1 AS x")
    con.close()
    with pytest.raises(WarehouseError, match="batch_rows"):
        warehouse.upsert_articles([LoadItem(article(1), FETCHED)])
    assert run_query(warehouse.path, "SELECT count(*) FROM articles").rows == [(0,)]
