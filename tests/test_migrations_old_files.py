"""Migrations upgrade real files made by earlier releases of the schema (tests/fixtures/warehouse/:
schema 1 and 3 built by build.py there, schema 4 to 9 by those releases' own code with
build_release.py) to the newest, with their data intact and usable."""

from __future__ import annotations

import gzip
import shutil
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from parsers import Article, Block
from warehouse import LoadItem, Warehouse, run_query
from warehouse.migrations import available_migrations
from warehouse.search_index import search

FIXTURES = Path(__file__).parent / "fixtures" / "warehouse"
NEWEST = max(m.version for m in available_migrations())
#: the schema versions of the old files in FIXTURES
OLD = [1, 3, 4, 5, 6, 7, 8, 9]


def unpack(version: int, tmp_path: Path) -> Path:
    path = tmp_path / f"v{version}.duckdb"
    with gzip.open(FIXTURES / f"v{version}.duckdb.gz") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def columns(path: Path) -> set[tuple[str, str, str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return set(con.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                               "WHERE table_schema = 'main'").fetchall())
    finally:
        con.close()


def q(path: Path, sql: str) -> list[tuple]:
    return run_query(path, sql).rows


def versions(path: Path, names: list[str]) -> list[tuple]:
    """The versions' columns `names`, in that order; since schema 8, `body_blocks` is rebuilt
    from `body` by `body_blocks_of`."""
    schema_8 = "block_kinds" in {c for _, c, _ in columns(path)}
    select = ", ".join("body_blocks_of(body, block_kinds, block_lengths)" if n == "body_blocks" and schema_8
                       else f'"{n}"' for n in names)
    return q(path, f"SELECT {select} FROM article_versions ORDER BY article_id, content_hash")


_KEPT = ("SELECT article_id, source, url, canonical_url, title, published_at, first_seen_at, content_hash, "
         "body_fingerprint, duplicate_of, duplicate_reason FROM articles ORDER BY article_id")


@pytest.mark.parametrize("version", OLD)
def test_an_old_file_is_upgraded_to_the_newest_schema_with_its_data(version, tmp_path):
    path = unpack(version, tmp_path)
    assert q(path, "SELECT max(version) FROM schema_migrations") == [(version,)]
    old_columns = [c for t, c, _ in sorted(columns(path)) if t == "article_versions"]
    before = {
        "articles": q(path, _KEPT),
        "versions": versions(path, old_columns),
        "runs": q(path, "SELECT * FROM runs"),
        "errors": q(path, "SELECT * FROM fetch_errors"),
    }
    applied = Warehouse(path).migrate()
    assert applied == [m.version for m in available_migrations() if m.version > version]
    assert q(path, "SELECT max(version) FROM schema_migrations") == [(NEWEST,)]

    fresh = tmp_path / "fresh.duckdb"
    Warehouse(fresh).migrate()
    assert columns(path) == columns(fresh)  # the same schema as a file created today

    assert q(path, _KEPT) == before["articles"]
    assert ("body_blocks" in old_columns) == (version < 8)  # schema 8 keeps the blocks' layout instead
    assert versions(path, old_columns) == before["versions"]  # every column and every block, in order
    assert q(path, "SELECT * FROM runs") == before["runs"]
    assert q(path, "SELECT * FROM fetch_errors") == before["errors"]
    # clusters exist for the old rows (migration 3 derives them on a version-1 file)
    assert q(path, "SELECT size, outlets FROM story_clusters WHERE size > 1") == [(2, ["alwefaq", "digest"])]
    assert q(path, "SELECT count(*) FROM latest_with_cluster") == [(3,)]
    # the latest version of each story (the weather story of the release-made files has two)
    assert q(path, "SELECT count(DISTINCT article_id), count(*) FROM latest_articles") == [(3, 3)]
    assert q(path, "SELECT sum(articles) FROM daily_counts") == [(3,)]
    assert q(path, "SELECT errors FROM errors_by_reason") == [(1,)]
    # health by the default rules (migration 9), for the sources the old runs saw
    assert q(path, "SELECT failing_after, silent_hours FROM health_rules") == [(3, 24)]
    assert q(path, "SELECT source, articles FROM source_health ORDER BY source") == [("alwefaq", 2), ("digest", 1)]


@pytest.mark.parametrize("version", OLD)
def test_an_upgraded_file_keeps_loading_and_deduplicating_against_its_old_rows(version, tmp_path):
    path = unpack(version, tmp_path)
    wh = Warehouse(path)
    wh.migrate()
    (body,), = q(path, "SELECT body FROM article_versions WHERE source = 'alwefaq' AND title = 'استئناف المحادثات'")
    copy = Article(url="https://third.example/n/1", canonical_url="https://third.example/n/1", title="نسخة",
                   body=tuple(Block("paragraph", p) for p in body.split("\n\n")), language="ar", source="third",
                   published_at=datetime(2025, 3, 2, tzinfo=timezone.utc))
    result = wh.upsert_articles([LoadItem(copy, datetime.now(timezone.utc))], "run-new")
    assert result.count("third", "duplicate") == 1
    (reason, cluster_size), = q(path, "SELECT duplicate_reason, cluster_size FROM latest_with_cluster WHERE source = 'third'")
    assert (reason, cluster_size) == ("exact_body", 3)


def test_migration_8_keeps_the_blocks_of_a_version_whose_body_was_not_its_blocks_joined(tmp_path):
    # a schema-7 file whose version holds a body that is not its blocks joined: the blocks win
    path = tmp_path / "v7.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
                "applied_at TIMESTAMPTZ NOT NULL)")
    for migration in available_migrations():
        if migration.version <= 7:
            con.execute(migration.sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [migration.version, migration.name])
    con.execute("INSERT INTO article_versions (article_id, content_hash, fetched_at, parser_version, source, url, "
                "canonical_url, body, body_blocks) VALUES ('a', 'h', now(), '0.4.0', 's', 'u', 'u', 'stale text', "
                "[{'kind': 'paragraph', 'text': 'أولى'}, {'kind': 'list_item', 'text': 'ثانية\n\nبسطرين'}])")
    con.close()
    assert Warehouse(path).migrate() == [m.version for m in available_migrations() if m.version > 7]
    assert q(path, "SELECT body, block_kinds, block_lengths, body_blocks_of(body, block_kinds, block_lengths) "
                   "FROM article_versions") == [
        ("أولى\n\nثانية\n\nبسطرين", ["paragraph", "list_item"], [4, 13],
         [{"kind": "paragraph", "text": "أولى"}, {"kind": "list_item", "text": "ثانية\n\nبسطرين"}])]


@pytest.mark.parametrize("version", [v for v in OLD if v >= 5])  # search arrived with schema 5
def test_the_search_index_of_an_old_file_still_answers_after_the_upgrade(version, tmp_path):
    # made by the release's own loader, which indexed every story it stored
    path = unpack(version, tmp_path)
    Warehouse(path).migrate()
    hits = search(path, "الطقس في العاصمة")
    assert hits and hits[0].title == "الطقس"
    assert [h.title for h in search(path, "استئناف المحادثات")][:1] == ["استئناف المحادثات"]


def test_every_earlier_schema_version_with_a_release_has_an_old_file():
    # schema 2 was never the newest of any commit: migrations 2 and 3 arrived together
    assert sorted(int(f.name[1:].split(".")[0]) for f in FIXTURES.glob("v*.duckdb.gz")) == OLD
    assert max(OLD) == NEWEST - 1
