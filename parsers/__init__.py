"""Pure parsing: bytes and text in, records out. No I/O, no HTTP, no Prefect, no DuckDB."""

from parsers.article import PARSER_VERSION, Article, Block, SiteContext
from parsers.errors import ExtractionError
from parsers.extract import extract
from parsers.normalize import body_fingerprint, normalize_for_matching
from parsers.urls import canonicalize_url

__all__ = [
    "PARSER_VERSION",
    "Article",
    "Block",
    "SiteContext",
    "extract",
    "ExtractionError",
    "normalize_for_matching",
    "body_fingerprint",
    "canonicalize_url",
]
