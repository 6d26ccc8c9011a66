"""Parsing untrusted XML safely, and inflating gzip with a cap. Pure: no I/O.

The lxml parser here never resolves entities, never loads a DTD and never touches the network,
so a billion-laughs document parses without expanding anything (its entity references stay
unexpanded, and a document that declares entities is refused outright). Broken XML is
recovered where libxml2 can.
"""

from __future__ import annotations

import re
import zlib

from lxml import etree

__all__ = ["XMLRefused", "parse_xml", "gunzip_capped", "declares_entities"]


class XMLRefused(ValueError):
    """The document is not usable XML, or is a bomb."""


_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)


def declares_entities(content: bytes) -> bool:
    """True when the document's prolog declares entities (what every entity bomb needs)."""
    head = content[:65536]
    return b"<!DOCTYPE" in head.upper() and bool(_ENTITY_DECL.search(head))


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, recover=True, remove_comments=True, remove_pis=True,
    )


def parse_xml(content: bytes) -> etree._Element:
    """The root element of an XML document; raises XMLRefused for entity declarations or junk."""
    if declares_entities(content):
        raise XMLRefused("refused: the document declares XML entities (possible entity bomb)")
    try:
        root = etree.fromstring(content.lstrip(), _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise XMLRefused(f"not XML: {exc}") from None
    if root is None:
        raise XMLRefused("not XML: nothing parsed")
    return root


def gunzip_capped(data: bytes, max_bytes: int) -> bytes:
    """Inflate gzip data, refusing (XMLRefused) to produce more than `max_bytes`."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise XMLRefused(f"bad gzip data: {exc}") from None
    if len(out) > max_bytes:
        raise XMLRefused(f"refused: gzip data inflates to more than {max_bytes} bytes")
    return out
