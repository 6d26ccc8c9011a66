"""Finding article URLs and feeds in HTML pages (bytes in, URLs out). Pure: no I/O.

- `feed_links`: feed autodiscovery, the `<link rel="alternate" type="application/rss+xml|atom+xml">`
  of a homepage;
- `listing_links`: the links of a listing page (a section front) whose URL matches a pattern, for
  sites that have neither feed nor sitemap.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urldefrag

import lxml.html
from lxml import etree

from parsers.text import decode_html

__all__ = ["feed_links", "listing_links"]

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/rdf+xml",
               "application/xml", "text/xml")


def _tree(content: bytes | str, charset: str | None = None):
    text = decode_html(content, charset) if isinstance(content, bytes) else content
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    if not text.strip():
        return None
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return None


def _absolute(base_url: str, href: str | None) -> str | None:
    if not href or not href.strip():
        return None
    url, _ = urldefrag(urljoin(base_url, href.strip()))
    return url if urlsplit(url).scheme in ("http", "https") else None


def feed_links(content: bytes | str, base_url: str, charset: str | None = None) -> list[str]:
    """The feeds a page announces (`<link rel="alternate">` with a feed type), absolute, each once."""
    tree = _tree(content, charset)
    if tree is None:
        return []
    base = _absolute(base_url, (tree.xpath("//base/@href") or [None])[0]) or base_url
    out: list[str] = []
    for link in tree.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        ctype = (link.get("type") or "").split(";", 1)[0].strip().lower()
        if "alternate" in rels and ctype in _FEED_TYPES and ctype != "application/feed+json":
            url = _absolute(base, link.get("href"))
            if url and url not in out:
                out.append(url)
    return out


def listing_links(content: bytes | str, base_url: str, pattern: str, charset: str | None = None,
                  same_host: bool = True) -> list[str]:
    """Links of a page whose absolute URL matches `pattern` (a regular expression, searched),
    in document order, each once; by default only links on the page's own host."""
    tree = _tree(content, charset)
    if tree is None:
        return []
    regex = re.compile(pattern)
    host = urlsplit(base_url).hostname
    out: list[str] = []
    seen: set[str] = set()
    for a in tree.iter("a"):
        url = _absolute(base_url, a.get("href"))
        if not url or url in seen:
            continue
        seen.add(url)
        if same_host and urlsplit(url).hostname != host:
            continue
        if regex.search(url):
            out.append(url)
    return out
