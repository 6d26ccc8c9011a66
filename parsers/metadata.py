"""Structured metadata of a page: JSON-LD article objects, <meta> tags (OpenGraph, article:*,
Dublin Core, name=...), microdata itemprops, rel=canonical, <html lang> and <title>.

Works on an lxml tree that the caller parsed once; reads it, never changes it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from parsers.text import clean_text

__all__ = ["PageMeta", "read_metadata", "ARTICLE_TYPES"]

#: schema.org types that describe the article itself.
ARTICLE_TYPES = frozenset(
    {
        "newsarticle", "article", "reportagenewsarticle", "analysisnewsarticle",
        "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle",
        "askpublicnewsarticle", "blogposting", "liveblogposting", "report",
        "socialmediaposting", "techarticle", "scholarlyarticle", "satiricalarticle",
    }
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class PageMeta:
    """What the page says about itself. `meta` maps a lower-cased meta property / name /
    itemprop to its contents in document order; `article` is the first JSON-LD article
    object (keys lower-cased, so "headLine" and "headline" agree)."""

    article: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, list[str]] = field(default_factory=dict)
    canonical: str | None = None
    html_lang: str | None = None
    title_tag: str | None = None

    def first(self, *names: str) -> tuple[str, str] | None:
        """(name, value) of the first of `names` with a non-empty value."""
        for name in names:
            for value in self.meta.get(name, ()):
                if clean_text(value):
                    return name, value
        return None

    def ld(self, *keys: str) -> Any:
        for key in keys:
            value = self.article.get(key)
            if value not in (None, "", [], {}):
                return value
        return None


def _lower_keys(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_lower_keys(v) for v in obj]
    return obj


def _walk(obj: Any):
    """Every dict in a JSON-LD document, following @graph and lists."""
    if isinstance(obj, list):
        for item in obj:
            yield from _walk(item)
    elif isinstance(obj, dict):
        yield obj
        for key in ("@graph", "mainentity", "itemlistelement"):
            if key in obj:
                yield from _walk(obj[key])


def _types(obj: dict) -> set[str]:
    raw = obj.get("@type", ())
    if isinstance(raw, str):
        raw = [raw]
    return {str(t).lower().rsplit("/", 1)[-1] for t in raw if t}


def _load_jsonld(text: str) -> Any:
    text = _CONTROL.sub(" ", text.strip())
    text = re.sub(r"^\s*<!--|-->\s*$", "", text)
    try:
        return json.loads(text, strict=False)
    except ValueError:
        # common breakage: trailing commas
        try:
            return json.loads(re.sub(r",\s*([}\]])", r"\1", text), strict=False)
        except ValueError:
            return None


def read_metadata(tree: etree._Element) -> PageMeta:
    """Collect JSON-LD, meta tags, itemprops, canonical link, html lang and <title>."""
    out = PageMeta()
    candidates: list[dict] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        data = _load_jsonld(script.text or "")
        if data is None:
            continue
        for obj in _walk(_lower_keys(data)):
            if _types(obj) & ARTICLE_TYPES:
                candidates.append(obj)
    if candidates:
        # the object with a headline and a date is the article (pages also describe
        # related articles in ItemLists)
        candidates.sort(key=lambda o: -(("headline" in o) + ("datepublished" in o) + ("articlebody" in o)))
        out.article = candidates[0]
    meta: dict[str, list[str]] = {}
    for el in tree.iter("meta"):
        key = el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv")
        value = el.get("content")
        if key and value is not None:
            meta.setdefault(key.strip().lower(), []).append(value)
    # microdata on visible elements: <time itemprop="datePublished" datetime=...>
    for el in tree.xpath("//*[@itemprop and not(self::meta)]"):
        key = el.get("itemprop", "").strip().lower()
        if key in ("datepublished", "datemodified", "datecreated"):
            value = el.get("datetime") or el.get("content") or el.text_content()
            if value and value.strip():
                meta.setdefault(key, []).append(value.strip())
    out.meta = meta
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        if "canonical" in rel and link.get("href"):
            out.canonical = link.get("href").strip()
            break
    html = tree if tree.tag == "html" else tree.getroottree().getroot()
    lang = html.get("lang") or html.get("xml:lang")
    out.html_lang = lang.strip() if lang else None
    title = tree.find(".//title")
    if title is not None:
        out.title_tag = clean_text(title.text_content())
    return out
