"""`akhbar parse`: real saved pages in, every field with its method out."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "arabic-dev"
YJC = next((FIXTURES / "yjc.ir").glob("*.html.gz"))
YOUM7 = next((FIXTURES / "youm7.com").glob("*.html.gz"))
runner = CliRunner()


def _truth(page: Path) -> dict:
    return json.loads(page.with_name(page.name.replace(".html.gz", ".json")).read_text(encoding="utf-8"))


def test_help_names_the_options() -> None:
    result = runner.invoke(app, ["parse", "--help"])
    assert result.exit_code == 0
    for option in ("--url", "--json", "--timezone", "--template"):
        assert option in result.output


def test_json_output_has_fields_and_methods() -> None:
    truth = _truth(YJC)
    result = runner.invoke(app, ["parse", str(YJC), "--url", truth["url"], "--json", "--timezone", "Asia/Tehran"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output.strip().splitlines()[0])
    assert record["title"] == truth["title"]
    assert record["credit"] == "انتهای پیام/ی"
    assert record["methods"]["title"] == "template:yjc"
    assert record["published_at"].startswith("2020-05-10T14:29:01")
    assert record["parser_version"]


def test_several_files_one_json_line_each() -> None:
    result = runner.invoke(app, ["parse", str(YJC), str(YOUM7), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [line["file"] for line in lines] == [str(YJC), str(YOUM7)]


def test_standard_input(tmp_path: Path) -> None:
    truth = _truth(YOUM7)
    html = gzip.decompress(YOUM7.read_bytes())
    result = runner.invoke(app, ["parse", "-", "--url", truth["url"], "--json"], input=html)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["title"] == truth["title"]


def test_table_output_shows_methods() -> None:
    truth = _truth(YJC)
    result = runner.invoke(app, ["parse", str(YJC), "--url", truth["url"]])
    assert result.exit_code == 0, result.output
    assert "template:yjc" in result.output and "published_at" in result.output


def test_missing_file_fails() -> None:
    result = runner.invoke(app, ["parse", "no/such/page.html"])
    assert result.exit_code == 1
