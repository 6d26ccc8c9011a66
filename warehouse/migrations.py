"""Versioned schema migrations: `migrations/NNNN_name.sql`, applied in order, recorded in
`schema_migrations`. An older file is upgraded in place; a newer one is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import duckdb

__all__ = ["Migration", "available_migrations", "applied_versions", "apply_migrations"]

_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """Every migration shipped with the package, in version order."""
    found = []
    for entry in resources.files("warehouse").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.version)


def applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    return {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}


def apply_migrations(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply what is missing inside the caller's transaction; returns the versions applied."""
    done = applied_versions(con)
    migrations = available_migrations()
    newest = max((m.version for m in migrations), default=0)
    if done and max(done) > newest:
        raise RuntimeError(
            f"the warehouse has schema version {max(done)}, newer than this akhbar knows ({newest}); upgrade akhbar"
        )
    applied = []
    for migration in migrations:
        if migration.version in done:
            continue
        con.execute(migration.sql)
        con.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, now())", [migration.version, migration.name]
        )
        applied.append(migration.version)
    return applied
