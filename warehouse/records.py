"""Records the warehouse accepts and returns (plain dataclasses, no SQL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from parsers import Article

__all__ = ["PageFailure", "LoadItem", "LoadResult", "Decision"]


@dataclass(frozen=True)
class PageFailure:
    """A page (or feed) that could not be fetched or parsed, with its reason.

    `stage` is discover, fetch or parse; `reason` a short machine-readable word
    (http_404, timeout, not_html, too_large, private_address, no_article...).
    """

    source: str
    url: str
    stage: str
    reason: str
    occurred_at: datetime
    status_code: int | None = None
    detail: str | None = None


@dataclass(frozen=True)
class LoadItem:
    """An extracted article ready to load, with when its page was fetched."""

    article: Article
    fetched_at: datetime


@dataclass(frozen=True)
class Decision:
    """What the dedup step decided for one item of a batch.

    `kind`: new (a new story), updated (a known story whose content changed), unchanged
    (a known story, same content), duplicate (a copy: `reason` says of what kind).
    """

    item: LoadItem
    article_id: str
    content_hash: str
    fingerprint: str | None
    kind: str
    duplicate_of: str | None = None
    reason: str | None = None


@dataclass
class LoadResult:
    """Counts of one load, per source: new, updated, unchanged, duplicates."""

    per_source: dict[str, dict[str, int]] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    #: wall and CPU seconds spent deciding (dedup), apart from writing
    dedup_wall: float = 0.0
    dedup_cpu: float = 0.0

    def count(self, source: str, kind: str) -> int:
        return self.per_source.get(source, {}).get(kind, 0)
