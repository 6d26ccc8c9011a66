"""Optional progress reporting from inside a run, for the command line's progress display.

The reporter travels in a context variable (Prefect copies the context into task runs), so the
flow's signature stays the same for deployments, and nothing global is mutated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["Reporter", "reporting", "report"]

#: Called with (stage, message).
Reporter = Callable[[str, str], None]

_reporter: ContextVar[Reporter | None] = ContextVar("akhbar_progress", default=None)


@contextmanager
def reporting(reporter: Reporter) -> Iterator[None]:
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


def report(stage: str, message: str) -> None:
    reporter = _reporter.get()
    if reporter is not None:
        reporter(stage, message)
