"""Small read-only reports the command line prints (the SQL stays here, in warehouse/)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from warehouse.query import run_query

__all__ = ["SAMPLE_QUERY", "example_articles", "exact_copies"]

#: A first query to suggest to a new user.
SAMPLE_QUERY = (
    "SELECT source, title, published_at, duplicate_of IS NOT NULL AS is_copy "
    "FROM latest_articles ORDER BY source, published_at"
)


def example_articles(path: str | Path, n: int = 3) -> list[tuple[str, str | None, datetime | None]]:
    """(source, title, published_at) of the earliest original story of each of up to n sources."""
    return run_query(
        path,
        "SELECT source, title, published_at FROM ("
        "  SELECT source, title, published_at,"
        "         row_number() OVER (PARTITION BY source ORDER BY published_at NULLS LAST) AS rn"
        "  FROM latest_articles WHERE duplicate_of IS NULL"
        ") WHERE rn = 1 ORDER BY source LIMIT ?",
        [n],
    ).rows


def exact_copies(path: str | Path) -> list[tuple[str, str, str | None]]:
    """(copy's source, original's source, original's title) for every exact copy caught."""
    return run_query(
        path,
        "SELECT c.source, o.source, o.title FROM articles c JOIN articles o ON c.duplicate_of = o.article_id "
        "WHERE c.duplicate_reason = 'exact_body' ORDER BY c.source, o.source",
    ).rows
