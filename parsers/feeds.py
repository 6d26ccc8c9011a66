"""Reading RSS and Atom feeds (bytes in, entries out) with feedparser."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import feedparser

from parsers.safexml import declares_entities

__all__ = ["FeedEntry", "FeedError", "parse_feed"]


class FeedError(ValueError):
    """The bytes are not a feed that lists anything."""


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed: the article URL and what the feed says about it."""

    url: str
    title: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None


def _as_datetime(struct) -> datetime | None:  # feedparser gives UTC struct_time
    if not struct:
        return None
    return datetime.fromtimestamp(calendar.timegm(struct), tz=timezone.utc)


def parse_feed(content: bytes, base_url: str) -> list[FeedEntry]:
    """Entries of an RSS/Atom feed, in feed order, URLs absolute, each URL once.

    Raises FeedError when the content is not a feed at all (feedparser is lenient with broken
    feeds, so a feed with a few errors still yields its entries), and for a feed that declares
    XML entities (what an entity bomb needs).
    """
    if declares_entities(content):  # an entity bomb (billion laughs): refuse before any parser sees it
        raise FeedError("refused: the feed declares XML entities (possible entity bomb)")
    parsed = feedparser.parse(content, response_headers={"content-location": base_url})
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        reason = parsed.get("bozo_exception") or "no entries"
        raise FeedError(f"not a feed: {reason}")
    seen: set[str] = set()
    entries: list[FeedEntry] = []
    for item in parsed.entries:
        link = item.get("link") or ""
        if not link and str(item.get("id", "")).startswith("http"):
            link = item["id"]
        if not link:
            continue
        url = urljoin(base_url, link.strip())
        if urlsplit(url).scheme not in ("http", "https") or url in seen:
            continue
        seen.add(url)
        entries.append(
            FeedEntry(
                url=url,
                title=item.get("title"),
                published_at=_as_datetime(item.get("published_parsed")),
                updated_at=_as_datetime(item.get("updated_parsed")),
            )
        )
    return entries
