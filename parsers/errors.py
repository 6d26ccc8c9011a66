"""Errors raised by the parsers package."""

from __future__ import annotations

__all__ = ["ExtractionError"]


class ExtractionError(ValueError):
    """The page holds no article at all: neither a title nor any body text could be found.

    Junk or partial HTML never raises anything else from `parsers.extract.extract`; a page
    with only a title or only a body still yields an `Article` with the other fields empty.
    """
