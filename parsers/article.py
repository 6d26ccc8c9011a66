"""The records that parsing produces: `Block` (one unit of body text) and `Article`.

They are plain frozen dataclasses so that every stage can pass them around, compare them in
tests and turn them into JSON (`Article.to_dict`) or Arrow rows without any I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, asdict
from datetime import datetime
from typing import Any, Literal

__all__ = ["Block", "Article", "SiteContext", "PARSER_VERSION"]

#: Goes with every extracted row, so that re-parsing with a newer parser is easy to target.
PARSER_VERSION = "0.5.0"

BlockKind = Literal["paragraph", "subheading", "list_item"]


@dataclass(frozen=True)
class Block:
    """One unit of the body: a paragraph, a subheading or a list item, in reading order.

    `text` is the visible text, whitespace collapsed, otherwise verbatim (a `*`-prefixed
    pseudo-subheading keeps its `*`; the mark is `kind == "subheading"`).
    """

    kind: BlockKind
    text: str


@dataclass(frozen=True)
class SiteContext:
    """What the parser may know about the site a page comes from (no I/O, no config files).

    `timezone` is an IANA name used when a page gives a date without a zone; `language` is the
    source's declared language; `template` names a site template to try first.
    """

    name: str | None = None
    timezone: str | None = None
    language: str | None = None
    template: str | None = None


@dataclass(frozen=True)
class Article:
    """One extracted news article.

    Dates are timezone-aware and in UTC; `published_text` / `modified_text` keep the raw text
    the winning date was read from. `methods` maps a field name to the method that produced it
    (`jsonld`, `opengraph`, `meta`, `h1`, `template:<name>`, `generic`, ...).
    """

    url: str
    canonical_url: str
    title: str | None = None
    kicker: str | None = None
    lead: str | None = None
    body: tuple[Block, ...] = ()
    credit: str | None = None
    authors: tuple[str, ...] = ()
    language: str | None = None
    published_at: datetime | None = None
    published_text: str | None = None
    modified_at: datetime | None = None
    modified_text: str | None = None
    section: str | None = None
    tags: tuple[str, ...] = ()
    image: str | None = None
    source: str | None = None
    methods: dict[str, str] = field(default_factory=dict)
    parser_version: str = PARSER_VERSION

    @property
    def body_text(self) -> str:
        """The body as plain text, one block per paragraph, separated by blank lines."""
        return "\n\n".join(block.text for block in self.body)

    @property
    def subheadings(self) -> tuple[str, ...]:
        return tuple(b.text for b in self.body if b.kind == "subheading")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able values: dates as ISO 8601 strings, tuples as lists, blocks as dicts."""
        out = asdict(self)
        for key in ("published_at", "modified_at"):
            value = getattr(self, key)
            out[key] = value.isoformat() if value is not None else None
        out["body"] = [{"kind": b.kind, "text": b.text} for b in self.body]
        out["authors"] = list(self.authors)
        out["tags"] = list(self.tags)
        out["methods"] = dict(self.methods)
        return out
