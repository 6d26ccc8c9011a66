"""Operations on real files: the analysts' views, `akhbar status / snapshot / export / maintain`,
compaction and archive retention."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import duckdb
import pyarrow.dataset as ds
import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app
from holder import held
from parsers import Article, Block
from warehouse import FetchRecord, LoadItem, PageFailure, Warehouse, run_query
from warehouse.maintenance import compact, prune_archive
from warehouse.migrations import available_migrations

runner = CliRunner()
NOW = datetime.now(timezone.utc)
WIRE = "قال وزير الخارجية إن المحادثات ستستأنف الأسبوع المقبل في العاصمة بعد توقف دام شهرين كاملين."


def article(n: int, source: str, body: str | None = None, day: int = 27, language: str = "ar", credit=None) -> Article:
    return Article(
        url=f"https://{source}.example/news/{n}", canonical_url=f"https://{source}.example/news/{n}",
        title=f"خبر {n} من {source}", lead=f"مقدمة {n}",
        body=(Block("paragraph", body or f"نص الخبر رقم {n} من {source} عن موضوع خاص به وحده دون غيره."),),
        published_at=datetime(2024, 4, day, 5, n % 60, tzinfo=timezone.utc), language=language, source=source,
        credit=credit, tags=("سياسة",),
    )


@pytest.fixture
def loaded(tmp_path) -> Warehouse:
    """Two outlets on two days; one wire story carried by both (an exact copy); a failure."""
    wh = Warehouse(tmp_path / "data" / "akhbar.duckdb", lock_timeout=2)
    wh.migrate()
    items = [article(1, "alwefaq", WIRE, day=26), article(2, "alwefaq", day=27), article(3, "alwefaq", day=27),
             article(4, "digest", WIRE + " ", day=27, credit="المصدر: الوفاق"), article(5, "digest", day=27, language="en")]
    wh.start_run("r1", ["alwefaq", "digest"])
    wh.load([LoadItem(a, NOW) for a in items],
            [PageFailure("digest", "https://digest.example/x", "fetch", "http_404", NOW, 404, "HTTP 404"),
             PageFailure("digest", "https://digest.example/y", "fetch", "http_404", NOW, 404, "HTTP 404"),
             PageFailure("digest", "https://digest.example/z", "fetch", "timeout", NOW)], "r1")
    wh.finish_run("r1", "completed", {"totals": {"new": 4, "duplicates": 1}})
    return wh


def q(wh: Warehouse, sql: str) -> list[tuple]:
    return run_query(wh.path, sql).rows


# -- views --------------------------------------------------------------------------------

def test_latest_with_cluster_ties_the_copy_to_the_wire_story(loaded):
    rows = q(loaded, "SELECT source, cluster_size, cluster_outlets, is_representative, duplicate_reason "
                     "FROM latest_with_cluster WHERE cluster_size > 1 ORDER BY source")
    assert rows == [("alwefaq", 2, ["alwefaq", "digest"], True, None),
                    ("digest", 2, ["alwefaq", "digest"], False, "exact_body")]
    assert q(loaded, "SELECT count(*) FROM latest_with_cluster") == [(5,)]


def test_daily_counts_per_source_and_language(loaded):
    rows = q(loaded, "SELECT day::VARCHAR, source, language, articles, originals, copies FROM daily_counts ORDER BY ALL")
    assert rows == [("2024-04-26", "alwefaq", "ar", 1, 1, 0), ("2024-04-27", "alwefaq", "ar", 2, 2, 0),
                    ("2024-04-27", "digest", "ar", 1, 0, 1), ("2024-04-27", "digest", "en", 1, 1, 0)]


def test_source_health(loaded):
    rows = {r[0]: r[1:] for r in q(loaded, "SELECT source, last_success_at IS NOT NULL, articles, articles_7d, "
                                           "articles_per_day_7d, errors_7d, error_rate_7d FROM source_health")}
    assert rows["alwefaq"] == (True, 3, 3, round(3 / 7, 2), 0, 0.0)
    assert rows["digest"] == (True, 2, 2, round(2 / 7, 2), 3, 0.6)  # 3 failures, 2 loaded


def test_errors_by_reason(loaded):
    rows = q(loaded, "SELECT source, stage, reason, errors, urls FROM errors_by_reason ORDER BY errors DESC")
    assert rows == [("digest", "fetch", "http_404", 2, 2), ("digest", "fetch", "timeout", 1, 1)]


def test_cluster_outlets(loaded):
    rows = q(loaded, "SELECT source, articles, is_representative_source FROM cluster_outlets "
                     "WHERE outlet_count > 1 ORDER BY source")
    assert rows == [("alwefaq", 1, True), ("digest", 1, False)]


# -- status -------------------------------------------------------------------------------

def test_status_shows_schema_counts_last_run_and_staging(loaded):
    with held(loaded.path):
        busy = Warehouse(loaded.path, lock_timeout=0.2, stage_when_busy=True)
        busy.load([LoadItem(article(9, "digest"), NOW)], [], "r2")
    result = runner.invoke(app, ["status", "--database", str(loaded.path)])
    assert result.exit_code == 0, result.output
    newest = max(m.version for m in available_migrations())
    assert f"version {newest}" in result.output and "articles 5" in result.output
    assert "completed" in result.output and "articles" in result.output and "staging:" in result.output
    loaded.migrate()  # lands it
    result = runner.invoke(app, ["status", "--database", str(loaded.path)])
    assert "staging    empty" in result.output and "articles 6" in result.output


def test_status_of_a_missing_file(tmp_path):
    result = runner.invoke(app, ["status", "--database", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1 and "akhbar demo" in result.output


# -- snapshot -----------------------------------------------------------------------------

def test_snapshot_gives_a_session_its_own_copy(loaded, tmp_path):
    out = tmp_path / "mine.duckdb"
    result = runner.invoke(app, ["snapshot", "--database", str(loaded.path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    session = duckdb.connect(str(out), read_only=True)  # a long session on the copy…
    try:
        assert session.execute("SELECT count(*) FROM latest_with_cluster").fetchone() == (5,)
        loaded.load([LoadItem(article(7, "alwefaq"), NOW)], [], "r2")  # …does not block the pipeline
    finally:
        session.close()
    assert q(loaded, "SELECT count(*) FROM articles") == [(6,)]


def test_snapshot_waits_while_a_writer_holds_the_file_then_says_so(loaded, tmp_path):
    with held(loaded.path, read_only=False):
        result = runner.invoke(app, ["snapshot", "--database", str(loaded.path), "--timeout", "0.3"])
    assert result.exit_code == 1 and "held by another process" in result.output


# -- export -------------------------------------------------------------------------------

def test_export_writes_hive_partitioned_parquet_that_duckdb_and_pyarrow_read(loaded, tmp_path):
    out = tmp_path / "export"
    result = runner.invoke(app, ["export", "--format", "parquet", "--since", "2024-04-27",
                                 "--database", str(loaded.path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "4 stories" in result.output
    assert sorted(p.relative_to(out).parent.as_posix() for p in out.rglob("*.parquet")) == [
        "source=alwefaq/published_date=2024-04-27", "source=digest/published_date=2024-04-27"]
    rows = duckdb.sql(f"SELECT source, published_date::VARCHAR, count(*), count(DISTINCT cluster_id) "
                      f"FROM read_parquet('{out}/**/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY 1").fetchall()
    assert rows == [("alwefaq", "2024-04-27", 2, 2), ("digest", "2024-04-27", 2, 2)]
    table = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 4 and {"source", "published_date", "body", "body_blocks", "title"} <= set(table.column_names)
    assert table.column("body_blocks").to_pylist()[0][0]["kind"] == "paragraph"


def test_the_export_reads_back_in_pandas_and_polars(loaded, tmp_path):
    import pandas
    import polars

    out = tmp_path / "export"
    result = runner.invoke(app, ["export", "--format", "parquet", "--database", str(loaded.path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    expected = dict(duckdb.sql(f"SELECT source, count(*) FROM read_parquet('{out}/**/*.parquet', "
                               "hive_partitioning = true) GROUP BY ALL").fetchall())
    assert set(expected) == {"alwefaq", "digest"}
    frame = pandas.read_parquet(out)
    assert frame["source"].astype(str).value_counts().to_dict() == expected
    lazy = polars.scan_parquet(str(out / "**" / "*.parquet"), hive_partitioning=True)
    assert dict(lazy.group_by("source").len().collect().iter_rows()) == expected


def test_export_rejects_other_formats(loaded, tmp_path):
    result = runner.invoke(app, ["export", "--format", "csv", "--database", str(loaded.path)])
    assert result.exit_code == 2 and "parquet" in result.output


# -- compaction and retention -------------------------------------------------------------

def test_compact_rewrites_the_file_only_when_nobody_holds_it(loaded):
    before = q(loaded, "SELECT * FROM latest_articles ORDER BY article_id")
    with held(loaded.path):
        assert compact(loaded.path, timeout=0.2).compacted is False
    result = compact(loaded.path, timeout=1)
    assert result.compacted
    assert q(loaded, "SELECT * FROM latest_articles ORDER BY article_id") == before
    assert q(loaded, "SELECT max(version) FROM schema_migrations") == [(max(m.version for m in available_migrations()),)]
    loaded.load([LoadItem(article(8, "digest", WIRE), NOW)], [], "r3")  # dedup index and keys still work
    assert q(loaded, "SELECT duplicate_reason FROM articles WHERE url LIKE '%/news/8'") == [("exact_body",)]


def _warc(data_dir, rel: str, age_days: float) -> None:
    path = data_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"WARC/1.1\r\n" * 10)
    stamp = time.time() - age_days * 86400
    os.utime(path, (stamp, stamp))


def test_retention_deletes_old_warc_files_and_clears_their_index(loaded):
    data_dir = loaded.path.parent
    old, new = "warc/2024/01/01/akhbar-old.warc.gz", "warc/2024/04/27/akhbar-new.warc.gz"
    _warc(data_dir, old, 40)
    _warc(data_dir, new, 1)
    loaded.log_fetches("r1", [FetchRecord("alwefaq", "https://a/1", "page", NOW, status=200, warc_file=old, warc_offset=0),
                              FetchRecord("alwefaq", "https://a/2", "page", NOW, status=200, warc_file=new, warc_offset=0)])
    result = prune_archive(data_dir, 30, loaded.path)
    assert (result.files_deleted, result.index_rows_cleared) == (1, 1)
    assert not (data_dir / "warc/2024/01").exists() and (data_dir / new).exists()
    assert q(loaded, "SELECT url, warc_file FROM fetch_log ORDER BY url") == [("https://a/1", None), ("https://a/2", new)]


def test_maintain_lands_staging_compacts_and_applies_retention(prefect_harness, loaded, tmp_path):
    data_dir = loaded.path.parent
    _warc(data_dir, "warc/2024/01/01/akhbar-old.warc.gz", 10)
    with held(loaded.path):
        Warehouse(loaded.path, lock_timeout=0.2, stage_when_busy=True).record_failures(
            "r2", [PageFailure("digest", "https://digest.example/w", "fetch", "timeout", NOW)])
    config = tmp_path / "sources.yaml"
    config.write_text(yaml.safe_dump({
        "settings": {"database": str(loaded.path), "data_dir": str(data_dir), "archive_retention_days": 7},
        "sources": [{"name": "alwefaq", "homepage": "https://www.al-vefagh.net/", "language": "ar",
                     "timezone": "Asia/Tehran", "feeds": ["https://www.al-vefagh.net/rss"]}],
    }))
    result = runner.invoke(app, ["maintain", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "1 of 1 batch(es) landed" in result.output
    assert "compact    " in result.output and "skipped" not in result.output
    assert "1 WARC file(s) older than 7 days deleted" in result.output
    assert q(loaded, "SELECT count(*) FROM fetch_errors") == [(4,)]


@pytest.mark.parametrize("command", ["status", "snapshot", "export", "maintain"])
def test_every_operations_command_explains_itself(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output and len(result.output.splitlines()) > 4
