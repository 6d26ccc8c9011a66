"""A real ingest run (Prefect flow, DuckDB file) against the fault-injecting server, twice:
every discovered URL ends in exactly one outcome and the summary adds up; the faults end as
expected; politeness holds in the server's log; the second run asks conditionally, uses the cached
robots.txt and turns the article that changed into a new version of the same story."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from faulty_server import FAULTS, FaultyServer
from flows.summary import OUTCOMES
from warehouse import run_query


@dataclass
class Runs:
    server: FaultyServer
    database: Path
    data_dir: Path
    first: dict
    second: dict


@pytest.fixture(scope="module")
def runs(prefect_harness, tmp_path_factory) -> Runs:
    from flows.ingest import ingest

    tmp = tmp_path_factory.mktemp("fetchrun")
    with FaultyServer(stall=1.5) as server:
        source = {
            "name": "faulty", "homepage": server.url("/home"), "language": "ar", "timezone": "Asia/Beirut",
            "feeds": [server.url(p) for p in ("/feed.xml", "/broken-feed.xml", "/bomb-feed.xml")],
            "sitemaps": [server.url("/sitemap-index.xml")],
            "listing_pages": [{"url": server.url("/faults"), "link_pattern": "."},
                              {"url": server.url("/section"), "link_pattern": r"/a/\d+$"}],
            "autodiscover_feeds": True,
            "allow_private_addresses": ["127.0.0.0/8"],
        }
        settings = {"database": str(tmp / "akhbar.duckdb"), "data_dir": str(tmp / "data"), "read_timeout": 0.5,
                    "connect_timeout": 0.5, "total_timeout": 3.0, "retry_backoff": 0.05, "max_retries": 2,
                    "max_body_bytes": 2_000_000, "host_failure_limit": 100}
        config = tmp / "sources.yaml"
        config.write_text(yaml.safe_dump({"settings": settings, "sources": [source]}, allow_unicode=True))
        first = ingest(config=str(config))
        server.version = 2  # /changing is corrected; the news sitemap says so (lastmod)
        second = ingest(config=str(config))
        return Runs(server, tmp / "akhbar.duckdb", tmp / "data", first, second)


def q(runs: Runs, sql: str) -> list[tuple]:
    return run_query(runs.database, sql).rows


@pytest.mark.parametrize("which", ["first", "second"])
def test_every_discovered_url_ends_in_exactly_one_outcome(runs, which):
    counts = getattr(runs, which)["sources"]["faulty"]
    assert counts["discovered"] == sum(counts[o] for o in OUTCOMES if o in counts), counts
    assert counts["discovered"] >= 20


def test_the_faults_end_as_expected(runs):
    reasons = dict(q(runs, "SELECT url, reason FROM fetch_errors WHERE run_id = "
                           "(SELECT run_id FROM runs ORDER BY started_at LIMIT 1)"))
    for path, (outcome, reason) in FAULTS.items():
        url = runs.server.url(path)
        if reason:
            assert reasons.get(url) == reason, path
        else:
            assert url not in reasons, path
    c = runs.first["sources"]["faulty"]
    assert c["skipped"] == sum(1 for o, _ in FAULTS.values() if o == "skipped") + 1  # + the feed's /private/secret
    assert c["failed"] == sum(1 for o, _ in FAULTS.values() if o == "failed")
    assert c["feed_errors"] == 1  # the entity bomb; the broken feed still yielded its item
    titles = [r[0] for r in q(runs, "SELECT title FROM latest_articles")]
    assert any(t.startswith("مرفأ بيروت") for t in titles)  # the windows-1256 page, header lying utf-8


def test_politeness_in_the_server_log(runs):
    s = runs.server
    assert s.concurrency() <= 2  # per-host limit (one host), as the server saw it
    assert not [p for p in s.paths() if p.startswith("/private/")]
    assert s.counts["/robots.txt"] == 1  # cached in the warehouse for the second run
    assert all(h.user_agent.startswith("akhbar/") for h in s.hits)


def test_the_second_run_asks_conditionally_and_refetches_only_what_changed(runs):
    assert runs.server.not_modified >= 1  # the feed answered 304
    c = runs.second["sources"]["faulty"]
    assert c["new"] == 0 and c["updated"] == 1
    assert c["known"] == runs.first["sources"]["faulty"]["new"] - 1
    (n_versions,) = q(runs, f"SELECT count(*) FROM article_versions WHERE url = '{runs.server.url('/changing')}'")[0]
    assert n_versions == 2
    assert q(runs, f"SELECT count(*) FROM articles WHERE url = '{runs.server.url('/changing')}'") == [(1,)]


def test_every_request_is_archived_and_indexed(runs):
    rows = q(runs, "SELECT kind, warc_file, warc_offset, sha256, error FROM fetch_log")
    assert rows and all(r[1] and r[2] is not None for r in rows)
    assert all(r[3] for r in rows if r[0] == "page" and r[4] is None)
    assert list(runs.data_dir.glob("warc/*/*/*/*.warc.gz"))
