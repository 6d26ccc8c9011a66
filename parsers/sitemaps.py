"""Reading XML sitemaps (bytes in, entries out): url sets, sitemap indexes, gzip, Google News.

Pure: no I/O. The XML parser is the safe one of `parsers.safexml` (no entity expansion, no DTD,
no network), so an entity bomb parses to nothing instead of gigabytes, and gzip is inflated with
a cap on the decoded size (a decompression bomb is refused, not inflated).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

from parsers.safexml import XMLRefused, gunzip_capped, parse_xml

__all__ = ["SitemapEntry", "Sitemap", "SitemapError", "parse_sitemap", "parse_w3c_datetime"]

_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


class SitemapError(ValueError):
    """The bytes are not a sitemap (or were refused: entity bomb, decompression bomb)."""


@dataclass(frozen=True)
class SitemapEntry:
    """One `<url>` of a url set, or one `<sitemap>` of an index."""

    url: str
    lastmod: datetime | None = None
    news_title: str | None = None
    news_published_at: datetime | None = None


@dataclass(frozen=True)
class Sitemap:
    """`kind` is `urlset` (article URLs in `entries`) or `index` (child sitemaps in `entries`)."""

    kind: str
    entries: list[SitemapEntry]


def parse_w3c_datetime(text: str | None) -> datetime | None:
    """A W3C datetime (`2024-04-27`, `2024-04-27T08:00:00+03:30`, `...Z`) as aware UTC, else None.
    A date or a time without zone is read as UTC."""
    if not text:
        return None
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _child_text(element, name: str, ns: str | None = None) -> str | None:
    for child in element:
        tag = child.tag if isinstance(child.tag, str) else ""
        if _local(tag) == name and (ns is None or tag.startswith("{" + ns + "}")):
            return (child.text or "").strip() or None
    return None


def parse_sitemap(content: bytes, base_url: str, max_bytes: int = 50_000_000) -> Sitemap:
    """Entries of a sitemap (gzip or plain), in document order, URLs absolute, each once.

    Raises SitemapError when the content is not a sitemap or was refused.
    """
    try:
        if content[:2] == b"\x1f\x8b":
            content = gunzip_capped(content, max_bytes)
        root = parse_xml(content)
    except XMLRefused as exc:
        raise SitemapError(str(exc)) from None
    kind = {"urlset": "urlset", "sitemapindex": "index"}.get(_local(root.tag))
    if kind is None:
        raise SitemapError(f"not a sitemap: root element <{_local(root.tag) or '?'}>")
    item = "url" if kind == "urlset" else "sitemap"
    seen: set[str] = set()
    entries: list[SitemapEntry] = []
    for element in root:
        if _local(element.tag) != item:
            continue
        loc = _child_text(element, "loc")
        if not loc:
            continue
        url = urljoin(base_url, loc)
        if urlsplit(url).scheme not in ("http", "https") or url in seen:
            continue
        seen.add(url)
        title = published = None
        for child in element:
            if _local(child.tag) == "news" and isinstance(child.tag, str) and child.tag.startswith("{" + _NEWS_NS):
                title = _child_text(child, "title")
                published = parse_w3c_datetime(_child_text(child, "publication_date"))
        entries.append(SitemapEntry(url, parse_w3c_datetime(_child_text(element, "lastmod")), title, published))
    return Sitemap(kind, entries)
