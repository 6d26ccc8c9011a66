"""`akhbar reparse`: archived pages are parsed again without the network; a parser that now
extracts something different records new versions, an unchanged result records nothing new."""

from __future__ import annotations

import shutil
from dataclasses import replace

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

import flows.stages
from faulty_server import FaultyServer
from flows.cli import app
from flows.reparse import reparse
from warehouse import Warehouse, run_query


@pytest.fixture(scope="module")
def ingested(prefect_harness, tmp_path_factory):
    from flows.ingest import ingest

    tmp = tmp_path_factory.mktemp("reparse")
    with FaultyServer() as server:
        source = {"name": "faulty", "homepage": server.url("/home"), "language": "ar", "timezone": "Asia/Beirut",
                  "feeds": [server.url("/feed.xml")], "allow_private_addresses": ["127.0.0.0/8"]}
        config = tmp / "sources.yaml"
        config.write_text(yaml.safe_dump({"settings": {"database": str(tmp / "w.duckdb")}, "sources": [source]}))
        summary = ingest(config=str(config))
        requests_made = len(server.hits)
    assert summary["totals"]["new"] == 3
    return config, tmp / "w.duckdb", requests_made


def test_reparse_with_the_same_parser_changes_nothing(ingested):
    config, database, _ = ingested  # the server is gone: no network
    before = run_query(database, "SELECT count(*) FROM article_versions").rows
    summary = reparse(str(config))
    assert summary["totals"]["unchanged"] == 3 and summary["totals"]["updated"] == 0
    assert run_query(database, "SELECT count(*) FROM article_versions").rows == before


def test_reparse_records_new_versions_where_the_result_changed(ingested, monkeypatch):
    config, database, _ = ingested
    real = flows.stages.extract

    def better_parser(*args, **kwargs):
        article = real(*args, **kwargs)
        return replace(article, title=article.title + " (corrected)")

    monkeypatch.setattr(flows.stages, "extract", better_parser)
    summary = reparse(str(config), sources=["faulty"])
    assert summary["totals"]["updated"] == 3
    titles = [r[0] for r in run_query(database, "SELECT title FROM latest_articles").rows]
    assert len(titles) == 3 and all(t.endswith("(corrected)") for t in titles)
    assert run_query(database, "SELECT count(*) FROM articles").rows == [(3,)]  # same stories


def test_the_reparse_command_filters_by_date(ingested):
    config, database, _ = ingested
    result = CliRunner().invoke(app, ["reparse", "--config", str(config), "--since", "2999-01-01"])
    assert result.exit_code == 0, result.output
    assert "(total)" in result.output
    (row,) = run_query(database, "SELECT stats FROM runs ORDER BY started_at DESC LIMIT 1").rows
    assert '"discovered": 0' in row[0]
    bad = CliRunner().invoke(app, ["reparse", "--config", str(config), "--since", "yesterday"])
    assert bad.exit_code == 2


def test_reparse_loads_in_batches_each_its_own_transaction(ingested, monkeypatch):
    config, database, _ = ingested
    loads = []
    real_load = Warehouse.load

    def counting_load(self, items, failures, run_id, *args, **kwargs):
        loads.append(len(items))
        return real_load(self, items, failures, run_id, *args, **kwargs)

    monkeypatch.setattr(Warehouse, "load", counting_load)
    summary = reparse(str(config), batch_pages=2)
    assert loads == [2, 1]  # three archived pages, two at a time
    totals = summary["totals"]  # unchanged, or updated back if an earlier test left corrected titles
    assert totals["unchanged"] + totals["updated"] == 3 and summary["sources"]["faulty"]["discovered"] == 3


def test_an_unreadable_archive_record_is_a_failure_of_its_page_and_the_rest_still_loads(ingested, tmp_path):
    config, database, _ = ingested
    copy = tmp_path / "w.duckdb"
    shutil.copy(database, copy)
    shutil.copytree(database.parent / "warc", tmp_path / "warc")  # the archive lives beside the database
    (first,) = run_query(copy, "SELECT warc_file FROM fetch_log WHERE kind = 'page' AND status = 200 "
                               "ORDER BY fetched_at LIMIT 1").rows
    con = duckdb.connect(str(copy))
    con.execute("UPDATE fetch_log SET warc_offset = 10 ** 9 WHERE warc_file = ? AND kind = 'page' "
                "AND url = (SELECT min(url) FROM fetch_log WHERE kind = 'page' AND status = 200)", [first[0]])
    con.close()
    summary = reparse(str(config), database=str(copy), batch_pages=1)
    assert summary["totals"]["unchanged"] + summary["totals"]["updated"] == 2
    assert summary["failure_reasons"]["faulty"] == {"parse:archive_missing": 1}
