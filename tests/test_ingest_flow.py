"""The ingest flow end to end: a real Prefect flow (test harness), real HTTP from the demo world
on 127.0.0.1, a real DuckDB file. Run twice: the second run adds and changes nothing. The pages
are parsed by a pool of two worker processes (`parse_pool_min_bytes: 0`; the other flow tests
parse in the flow's process, the default for runs this small)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from flows.demo_world import NewsWorld
from warehouse import run_query

SEED_TITLE = "وزراء الدفاع بمنظمة شنغهاي يدينون العدوان على القنصلية"


@dataclass
class Runs:
    world_sources: list[dict]
    database: Path
    first: dict
    second: dict
    snapshot_after_first: dict
    snapshot_after_second: dict


def _snapshot(database: Path) -> dict:
    def q(sql: str) -> list[tuple]:
        return run_query(database, sql).rows

    return {
        "articles": q("SELECT * FROM articles ORDER BY article_id"),
        "versions": q("SELECT article_id, content_hash, title, body FROM article_versions ORDER BY 1, 2"),
    }


@pytest.fixture(scope="module")
def runs(prefect_harness, tmp_path_factory) -> Runs:
    from flows.ingest import ingest

    tmp = tmp_path_factory.mktemp("ingest")
    database = tmp / "akhbar.duckdb"
    with NewsWorld(faults=True, slow_seconds=4.0) as world:
        config = tmp / "sources.yaml"
        settings = {"database": str(database), "read_timeout": 1.0, "total_timeout": 2.0,
                    "parse_processes": 2, "parse_pool_min_bytes": 0}
        config.write_text(yaml.safe_dump({"settings": settings, "sources": world.sources()}, allow_unicode=True))
        first = ingest(config=str(config))
        after_first = _snapshot(database)
        second = ingest(config=str(config))
        after_second = _snapshot(database)
        return Runs(world.sources(), database, first, second, after_first, after_second)


def q(runs: Runs, sql: str) -> list[tuple]:
    return run_query(runs.database, sql).rows


def test_every_source_is_in_the_summary(runs):
    assert set(runs.first["sources"]) == {s["name"] for s in runs.world_sources}


def test_every_good_page_lands_once(runs):
    counts = dict(q(runs, "SELECT source, count(*) FROM articles GROUP BY source"))
    for name, c in runs.first["sources"].items():
        assert counts.get(name, 0) == c["new"] + c["duplicates"], name
        assert c["discovered"] == c["known"] + c["skipped"] + c["fetched"] + c["failed"] - _parse_failures(runs, name), name
    assert runs.first["totals"]["new"] >= 6


def _parse_failures(runs: Runs, source: str) -> int:
    return q(runs, f"SELECT count(*) FROM fetch_errors WHERE source = '{source}' AND stage = 'parse'")[0][0]


def test_the_founding_article_lands_with_its_fields(runs):
    (title, kicker, published, credit, language), = q(
        runs,
        "SELECT title, kicker, published_at AT TIME ZONE 'UTC', credit, language FROM latest_articles "
        "WHERE source = 'alwefaq' AND title = '" + SEED_TITLE + "'",
    )
    assert kicker == "والعميد آشتاني يقترح تعزيز قدرات وإمكانات المنظمة.."
    assert published.date().isoformat() == "2024-04-27"
    assert credit == "المصدر: الوفاق/وكالات" and language == "ar"


def test_the_second_outlets_copy_is_caught_as_an_exact_duplicate(runs):
    rows = q(
        runs,
        "SELECT c.source, o.source, o.title FROM articles c JOIN articles o ON c.duplicate_of = o.article_id "
        "WHERE c.duplicate_reason = 'exact_body'",
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [("wakalat-digest", "alwefaq", SEED_TITLE)]
    assert runs.first["sources"]["wakalat-digest"]["duplicates"] == 1


def test_failed_pages_are_recorded_with_their_reasons(runs):
    reasons = {
        (url.rsplit("/", 1)[-1], reason)
        for url, reason in q(runs, "SELECT url, reason FROM fetch_errors WHERE source = 'faulty' AND run_id = "
                             "(SELECT run_id FROM runs ORDER BY started_at LIMIT 1)")
    }
    assert reasons == {("missing", "http_404"), ("slow", "timeout"), ("report.pdf", "not_html")}
    assert runs.first["sources"]["faulty"]["failed"] == 2  # 404 and timeout
    assert runs.first["sources"]["faulty"]["skipped"] == 1  # the PDF: refused by policy (type)
    assert runs.first["sources"]["faulty"]["new"] == 1


def test_a_second_run_adds_nothing_and_changes_nothing(runs):
    assert runs.snapshot_after_second == runs.snapshot_after_first
    assert runs.second["totals"]["new"] == 0 and runs.second["totals"]["duplicates"] == 0
    assert runs.second["totals"]["known"] == runs.first["totals"]["new"] + runs.first["totals"]["duplicates"]


def test_a_second_run_retries_the_pages_that_failed(runs):
    assert runs.second["sources"]["faulty"]["failed"] == 2
    assert runs.second["sources"]["faulty"]["skipped"] == 1
    assert q(runs, "SELECT count(DISTINCT run_id) FROM fetch_errors") == [(2,)]


def test_the_first_runs_pages_were_parsed_by_two_worker_processes(runs):
    assert runs.first["parse_workers"] == 2


def test_runs_are_recorded_as_completed(runs):
    assert q(runs, "SELECT count(*), min(status), max(status) FROM runs") == [(2, "completed", "completed")]


def test_a_bad_sources_file_fails_the_flow_before_anything_is_fetched(prefect_harness, tmp_path):
    from flows.config import ConfigError
    from flows.ingest import ingest

    config = tmp_path / "sources.yaml"
    config.write_text("sources:\n  - name: x\n    homepage: nope\n")
    with pytest.raises(ConfigError, match="homepage"):
        ingest(config=str(config), database=str(tmp_path / "w.duckdb"))
    assert not (tmp_path / "w.duckdb").exists()


def test_the_agency_story_forms_one_cluster_led_by_the_credited_outlet(runs):
    (size, outlets, rep, credited), = q(
        runs,
        "SELECT size, outlets, representative_source, representative_is_credited FROM story_clusters "
        "WHERE size > 1",
    )
    assert (size, outlets, rep, credited) == (2, ["alwefaq", "wakalat-digest"], "alwefaq", True)
