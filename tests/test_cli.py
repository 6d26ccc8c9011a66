"""The `akhbar` command line through typer's test runner, against real files."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app
from parsers import Article, Block
from warehouse import LoadItem, Warehouse

runner = CliRunner()

SOURCES = """
sources:
  - name: alwefaq
    homepage: https://www.al-vefagh.net/
    language: ar
    timezone: Asia/Tehran
    feeds: [https://www.al-vefagh.net/rss]
"""


@pytest.fixture
def database(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    art = Article(
        url="https://a.example/1", canonical_url="https://a.example/1", title="عنوان الخبر",
        body=(Block("paragraph", "نص"),), language="ar", source="alwefaq",
        published_at=datetime(2024, 4, 27, 5, 0, tzinfo=timezone.utc),
    )
    wh.upsert_articles([LoadItem(art, datetime.now(timezone.utc))])
    return wh.path


def _commands() -> list[str]:
    import typer.main

    return sorted(typer.main.get_command(app).commands)


def test_the_command_list_is_the_documented_one():
    assert {"run", "sql", "sources", "demo", "parse", "search", "reparse", "status", "snapshot", "export",
            "maintain", "init", "serve"} <= set(_commands())


@pytest.mark.parametrize("command", _commands())
def test_every_command_explains_itself_with_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output and len(result.output.splitlines()) > 4


def test_sources_lists_the_configured_sources(write_yaml):
    result = runner.invoke(app, ["sources", "--config", str(write_yaml(SOURCES))])
    assert result.exit_code == 0
    assert "alwefaq" in result.output and "Asia/Tehran" in result.output


def test_sources_with_a_bad_file_names_the_field(write_yaml):
    result = runner.invoke(app, ["sources", "--config", str(write_yaml(SOURCES.replace("Asia/Tehran", "Mars/Base")))])
    assert result.exit_code == 2
    assert "timezone" in result.output and "Mars/Base" in result.output


def test_run_with_a_bad_file_stops_before_prefect_starts(write_yaml):
    result = runner.invoke(app, ["run", "--config", str(write_yaml(SOURCES.replace("feeds: [", "feedz: [")))])
    assert result.exit_code == 2
    assert "unknown key" in result.output and "'feedz'" in result.output


def test_sql_prints_a_table(database):
    result = runner.invoke(app, ["sql", "--database", str(database), "SELECT source, title FROM articles"])
    assert result.exit_code == 0, result.output
    assert "alwefaq" in result.output and "عنوان الخبر" in result.output and "1 row(s)" in result.output


def test_sql_prints_json(database):
    result = runner.invoke(app, ["sql", "--database", str(database), "--json", "SELECT title, published_at FROM articles"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"title": "عنوان الخبر", "published_at": "2024-04-27T05:00:00+00:00"}]


def test_sql_prints_csv(database):
    result = runner.invoke(app, ["sql", "--database", str(database), "--csv", "SELECT source, title FROM articles"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["source,title", "alwefaq,عنوان الخبر"]


def test_sql_refuses_to_write(database):
    result = runner.invoke(app, ["sql", "--database", str(database), "DROP TABLE runs"])
    assert result.exit_code == 1
    assert "read-only" in result.output.lower()


def test_sql_on_a_missing_file_says_what_to_do(tmp_path):
    result = runner.invoke(app, ["sql", "--database", str(tmp_path / "none.duckdb"), "SELECT 1"])
    assert result.exit_code == 1
    assert "akhbar demo" in result.output


def _hold(database, seconds: float):
    """Another process that holds the file read-write for `seconds` (DuckDB then refuses all others)."""
    import subprocess
    import sys
    import time

    code = (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); "
        "time.sleep(float(sys.argv[2])); con.close()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(database), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_sql_waits_while_a_writer_holds_the_file(database):
    holder = _hold(database, 1.5)
    try:
        result = runner.invoke(app, ["sql", "--database", str(database), "--timeout", "20", "SELECT count(*) AS n FROM articles"])
    finally:
        holder.wait()
    assert result.exit_code == 0, result.output
    assert "1 row(s)" in result.output


def test_sql_gives_up_with_a_clear_message_when_the_writer_keeps_the_file(database):
    holder = _hold(database, 4)
    try:
        result = runner.invoke(app, ["sql", "--database", str(database), "--timeout", "0.5", "SELECT 1"])
    finally:
        holder.wait()
    assert result.exit_code == 1
    assert "held by another process" in result.output


def test_run_ingests_a_local_world(prefect_harness, tmp_path):
    from flows.demo_world import NewsWorld

    with NewsWorld() as world:
        config = tmp_path / "sources.yaml"
        config.write_text(yaml.safe_dump({"sources": world.sources()}, allow_unicode=True))
        result = runner.invoke(app, ["run", "--config", str(config), "--database", str(tmp_path / "w.duckdb"),
                                     "--source", "youm7"])
    assert result.exit_code == 0, result.output
    assert "youm7" in result.output and "(total)" in result.output
    assert "alwefaq" not in result.output


def test_demo_runs_end_to_end_and_suggests_a_query(prefect_harness, tmp_path):
    result = runner.invoke(app, ["demo", "--directory", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "Three of the articles that landed" in result.output
    assert "Exact copy caught: wakalat-digest" in result.output
    assert "akhbar sql --database" in result.output
    assert (tmp_path / "demo" / "akhbar.duckdb").exists()


def test_the_readme_lists_every_setting():
    from pathlib import Path

    from flows.settings import Settings

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert [name for name in Settings.model_fields if f"`{name}`" not in readme] == []


def test_the_readme_shows_every_command():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert [c for c in _commands() if f"akhbar {c}" not in readme] == []
