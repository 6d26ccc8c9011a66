"""docs/schema.md agrees with the schema of a freshly migrated file: every table, view and column
is documented, and nothing documented is missing."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from warehouse import Warehouse
from warehouse.migrations import available_migrations

DOC = Path(__file__).resolve().parents[1] / "docs" / "schema.md"
_NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")


def documented(text: str) -> dict[str, set[str]]:
    """Relation → documented columns. A `## ` heading names relations in backticks (before
    any " — "); the first markdown table under it lists columns (first cell, several names
    allowed), or, when its header starts with `table`, relation and column."""
    out: dict[str, set[str]] = {}
    current: list[str] = []
    in_table = header = False
    per_table = False
    for line in text.splitlines():
        if line.startswith("## "):
            current = _NAME.findall(line[3:].split(" — ")[0])
            for name in current:
                out.setdefault(name, set())
            in_table = header = False
            continue
        if not current:
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not in_table:
                in_table, header = True, True
                per_table = cells[0].lower() == "table"
                continue
            if header and set(cells[0]) <= {"-", ":"}:
                header = False
                continue
            if per_table:
                (relation,) = _NAME.findall(cells[0])
                out.setdefault(relation, set()).update(_NAME.findall(cells[1]))
            else:
                for name in current[:1]:
                    out[name].update(_NAME.findall(cells[0]))
        elif in_table and not line.strip():
            current = []  # only the first table under a heading lists columns
    return out


@pytest.fixture(scope="module")
def actual(tmp_path_factory) -> dict[str, set[str]]:
    path = tmp_path_factory.mktemp("schema") / "w.duckdb"
    Warehouse(path).migrate()
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
        ).fetchall()
    finally:
        con.close()
    out: dict[str, set[str]] = {}
    for table, column in rows:
        out.setdefault(table, set()).add(column)
    return out


def test_the_parser_reads_both_table_layouts():
    text = "## `a`, `b` — x\n\n| column | t |\n|---|---|\n| `c1`, `c2` | V |\n\n## `d`\n\n| table | column |\n|---|---|\n| `d` | `e` |\n| `f` | `g` |\n"
    assert documented(text) == {"a": {"c1", "c2"}, "b": set(), "d": {"e"}, "f": {"g"}}


def test_every_table_and_view_is_documented(actual):
    docs = documented(DOC.read_text("utf-8"))
    missing = sorted(set(actual) - set(docs))
    assert not missing, f"docs/schema.md does not describe: {missing}"


def test_nothing_documented_is_missing_from_the_schema(actual):
    docs = documented(DOC.read_text("utf-8"))
    extra = sorted(set(docs) - set(actual))
    assert not extra, f"docs/schema.md describes tables or views the schema lacks: {extra}"


def test_every_column_is_documented_and_exists(actual):
    docs = documented(DOC.read_text("utf-8"))
    problems = []
    for relation in sorted(set(actual) & set(docs)):
        if undocumented := sorted(actual[relation] - docs[relation]):
            problems.append(f"{relation}: undocumented columns {undocumented}")
        if gone := sorted(docs[relation] - actual[relation]):
            problems.append(f"{relation}: documented columns that do not exist {gone}")
    assert not problems, "\n".join(problems)


def test_the_title_names_the_newest_schema_version():
    newest = max(m.version for m in available_migrations())
    assert DOC.read_text("utf-8").splitlines()[0] == f"# Warehouse schema (version {newest})"
