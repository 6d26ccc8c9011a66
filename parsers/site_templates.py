"""Site templates: CSS selectors for one site or one CMS, versioned by date.

A template names the elements that hold a page's title, kicker, lead, visible date, body,
credit and authors, and the elements to drop from the body. It applies to a page when the
source names it (`SiteContext.template`), or when the page's host is one of its `hosts`, or
when one of its `fingerprints` (CSS selectors, e.g. a CMS's generator meta tag) matches. Each
version is valid from `valid_from` until `valid_until` (exclusive): a page fetched before a
redesign is read with the template of its time.

A field's selector is a CSS selector, or a list of them tried in order (the first that
yields text wins: "the `title` meta tag, else og:title"). A selector that matches a `<meta>`
element yields its `content` attribute (`meta[property="og:title"]`), and `jsonld:<key>`
reads a field of the page's JSON-LD article object (`jsonld:headline`) instead of the tree.

A `drop` entry is a CSS selector, or `{select: CSS, text: REGEX}`: the matches whose text
(whitespace collapsed) the regular expression finds (`re.search`) — the "Got a story?" and
"Follow us" lines a CMS puts in the text column as ordinary paragraphs.

Selectors are compiled once (lxml + cssselect) when the templates are loaded. The
`:contains()` pseudo-class is refused: lxml implements it with a global XPath extension
function, and with it in use a full benchmark run failed pages with garbled-namespace XPath
errors; `{select, text}` says the same thing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from html import unescape as html_unescape
from typing import Any

from lxml import etree
from lxml.cssselect import CSSSelector

from parsers.text import clean_text
from parsers.urls import registrable_host

__all__ = ["SiteTemplate", "TemplateFields", "template_from_dict", "select_template", "apply_template",
           "alternatives", "FIELDS"]

#: The fields a template may give a selector for.
FIELDS = ("title", "kicker", "lead", "date", "body", "credit", "authors")
#: The fields whose selector may read the JSON-LD article object (`jsonld:<key>`).
_TEXT_FIELDS = ("title", "kicker", "lead", "date", "credit")
_JSONLD = "jsonld:"


def alternatives(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """A field's selector as the tuple of alternatives to try in order."""
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _element_text(el: etree._Element) -> str:
    """What a matched element says: a `<meta>` tag's content, else its text."""
    if el.tag == "meta":
        return clean_text(el.get("content") or "")
    return clean_text(el.text_content())


@dataclass(frozen=True)
class SiteTemplate:
    """One version of a site's or CMS's template (see the module doc)."""

    name: str
    hosts: tuple[str, ...] = ()
    fingerprints: tuple[str, ...] = ()
    valid_from: date | None = None
    valid_until: date | None = None
    selectors: dict[str, str | list[str]] = field(default_factory=dict)
    drop: tuple[str | tuple[str, re.Pattern], ...] = ()
    fixtures: tuple[str, ...] = ()
    source: str = ""
    _compiled: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def css(self, selector: str) -> CSSSelector:
        if selector not in self._compiled:
            self._compiled[selector] = CSSSelector(selector)
        return self._compiled[selector]

    def valid_at(self, when: date) -> bool:
        return ((self.valid_from is None or self.valid_from <= when)
                and (self.valid_until is None or when < self.valid_until))

    def matches(self, url: str, root: etree._Element) -> bool:
        host = registrable_host(url)
        for h in self.hosts:  # the host itself or any subdomain of it
            h = registrable_host("http://" + h)
            if host == h or host.endswith("." + h):
                return True
        return any(self.css(sel)(root) for sel in self.fingerprints)


def _day(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def template_from_dict(data: dict, source: str = "") -> SiteTemplate:
    """Build (and check) a template from its YAML mapping; unknown keys are an error."""
    known = {"name", "description", "hosts", "fingerprints", "valid_from", "valid_until",
             "selectors", "drop", "fixtures"}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"{source}: unknown template keys {sorted(unknown)}")
    selectors = dict(data.get("selectors") or {})
    bad = set(selectors) - set(FIELDS)
    if bad:
        raise ValueError(f"{source}: unknown selector fields {sorted(bad)}")
    tpl = SiteTemplate(
        name=str(data["name"]),
        hosts=tuple(data.get("hosts") or ()),
        fingerprints=tuple(data.get("fingerprints") or ()),
        valid_from=_day(data.get("valid_from")),
        valid_until=_day(data.get("valid_until")),
        selectors=selectors,
        drop=tuple(_drop_entry(d, source) for d in data.get("drop") or ()),
        fixtures=tuple(data.get("fixtures") or ()),
        source=source,
    )
    for name, value in selectors.items():
        for sel in alternatives(value):
            if not isinstance(sel, str) or not sel.strip():
                raise ValueError(f"{source}: empty or non-text selector for {name}")
            if sel.startswith(_JSONLD):
                if name not in _TEXT_FIELDS or not sel[len(_JSONLD):].strip():
                    raise ValueError(f"{source}: {sel!r} is not a JSON-LD text field for {name}")
                continue
            tpl.css(sel)  # compile now: a bad selector fails at load time, not on a page
    for sel in (*(d if isinstance(d, str) else d[0] for d in tpl.drop), *tpl.fingerprints):
        if ":contains(" in sel:
            raise ValueError(f"{source}: {sel!r}: use {{select: CSS, text: REGEX}} instead of :contains()")
        tpl.css(sel)
    return tpl


def _drop_entry(entry: Any, source: str) -> str | tuple[str, re.Pattern]:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and set(entry) == {"select", "text"}:
        return str(entry["select"]), re.compile(str(entry["text"]))
    raise ValueError(f"{source}: a drop entry is a CSS selector or {{select: CSS, text: REGEX}}, not {entry!r}")


def select_template(templates: tuple[SiteTemplate, ...], url: str, root: etree._Element,
                    requested: str | None, when: date) -> SiteTemplate | None:
    """The template for a page fetched on `when`: the one the source names ("none" turns
    templates off), else the first whose host or fingerprint matches; only versions valid
    on `when` are considered."""
    if requested == "none":
        return None
    valid = [t for t in templates if t.valid_at(when)]
    if requested:
        named = [t for t in valid if t.name == requested]
        if named:
            return named[0]
    for tpl in valid:
        if tpl.matches(url, root):
            return tpl
    return None


@dataclass
class TemplateFields:
    """What a template found on a page. A field is None when the template has no selector
    for it; "" when the selector matched an empty slot (e.g. an empty kicker) or nothing.
    `body` is the first element the body selector matched, `body_parts` every match that is
    not inside another one (the story text is all of them, in page order)."""

    title: str | None = None
    kicker: str | None = None
    lead: str | None = None
    date: str | None = None
    body: etree._Element | None = None
    body_parts: list = field(default_factory=list)
    credit: str | None = None
    authors: list[str] | None = None
    drop: set = field(default_factory=set)


def _jsonld_text(meta: Any, key: str) -> str:
    value = meta.ld(key.strip().lower()) if meta is not None else None
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    return clean_text(html_unescape(value)) if isinstance(value, str) else ""


def apply_template(tpl: SiteTemplate, root: etree._Element, meta: Any = None) -> TemplateFields:
    """Run the template's selectors on the page (first match of each; all matches for authors).
    `meta` (a `parsers.metadata.PageMeta`) answers `jsonld:<key>` selectors."""
    out = TemplateFields()
    for name in _TEXT_FIELDS:
        options = alternatives(tpl.selectors.get(name))
        if not options:
            continue
        text = ""
        for sel in options:
            if sel.startswith(_JSONLD):
                text = _jsonld_text(meta, sel[len(_JSONLD):])
            else:
                found = tpl.css(sel)(root)
                text = _element_text(found[0]) if found else ""
            if text:
                break
        setattr(out, name, text)
    for sel in alternatives(tpl.selectors.get("body")):
        found = tpl.css(sel)(root)
        if found:
            # every match not inside another one, in page order: one container, or the
            # paragraphs and subheadings a CMS spreads over several modules
            chosen = set(found)
            out.body_parts = [e for e in found if not any(a in chosen for a in e.iterancestors())]
            out.body = out.body_parts[0]
            break
    options = alternatives(tpl.selectors.get("authors"))
    if options:
        out.authors = []
        for sel in options:
            out.authors = [t for t in (_element_text(e) for e in tpl.css(sel)(root)) if t]
            if out.authors:
                break
    for entry in tpl.drop:
        sel, pattern = (entry, None) if isinstance(entry, str) else entry
        for el in tpl.css(sel)(root):
            if pattern is None or pattern.search(_element_text(el)):
                out.drop.update(el.iter())
    return out
