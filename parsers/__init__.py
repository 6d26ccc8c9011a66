"""Pure parsing: bytes and text in, records out. No I/O, no HTTP, no Prefect, no DuckDB."""

from parsers.article import PARSER_VERSION, Article, Block, SiteContext

__all__ = ["PARSER_VERSION", "Article", "Block", "SiteContext"]
