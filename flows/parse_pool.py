"""Parsing a run's pages in worker processes.

Parsing is CPU-bound Python (bs4, trafilatura, dateparser): threads only fight over the GIL.
DESIGN.md measured two processes at 1.6× one core on 1,000 real pages, in tasks of 50 pages or
more. Starting the workers costs about 1.5 s (each imports the parsers and loads their data), so
a run that fetched fewer than `min_bytes` bytes of pages parses in this process (the real pages
of ../shared/eval, ~300 KB each, take ~22 ms), as does any run with `processes` 1; parse cost
follows page size, which page counts do not (`benchmarks/parse.py`).

The pages of each source are cut into chunks of `chunk` pages; every chunk is
`flows.stages.parse_pages` on its own, so the result is the same as parsing in this process,
in the same order. Workers are started with `spawn` (the flow's process has threads, which
`fork` would copy in an unknown state). If a worker dies (a crash in a C extension), the
chunks it left unfinished are parsed in this process, as they would have been without a pool.
A caller that parses in several calls (`akhbar reparse`, batch by batch) keeps one `ParsePool`
for all of them, so the workers start once, not once per batch (272 real pages in 4 batches on
2 cores: 4.4 s, against 8.2 s with a pool per batch; `benchmarks/parse.py --batches 4`).
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from flows.config import Source
from flows.fetch import Fetched
from flows.stages import Parsed, parse_pages

__all__ = ["ParsedRun", "ParsePool", "parse_sources", "pages_by_source"]

_log = logging.getLogger(__name__)


@dataclass
class ParsedRun:
    """Each source's `Parsed`, in the order asked; `worker_cpu`: CPU seconds the worker
    processes spent (0 when parsing stayed in this process); `processes`: workers used."""

    parsed: list[Parsed]
    worker_cpu: float = 0.0
    processes: int = 0


class ParsePool:
    """Worker processes kept for several `parse_sources` calls: started on first use (a call
    that parses in this process starts none), replaced after one died, stopped when the block
    ends. The workers' CPU is counted when they exit (the OS reports only finished children), so
    a call on a kept pool reports `worker_cpu` 0."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._executor: ProcessPoolExecutor | None = None

    def executor(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(max_workers=self.processes,
                                                 mp_context=multiprocessing.get_context("spawn"))
        return self._executor

    def close(self) -> None:
        """Stop the workers (a broken pool too; the next `executor()` starts new ones)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pages_by_source(sources: Sequence[Source], pages: Sequence[Fetched]) -> list[tuple[Source, list[Fetched]]]:
    """Each source with its fetched pages, in the order of `sources` (what `parse_sources` takes)."""
    return [(s, [p for p in pages if p.request.source == s.name]) for s in sources]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def parse_sources(work: Sequence[tuple[Source, Sequence[Fetched]]], processes: int, min_bytes: int,
                  chunk: int = 25, parse: Callable[[Sequence[Fetched], Source], Parsed] = parse_pages,
                  pool: ParsePool | None = None) -> ParsedRun:
    """Parse the fetched pages of each source (`work`: pairs of a source and its pages) with
    `parse` (a module-level function, so that a worker can import it). `pool`: workers kept
    across calls (None: this call starts its own and stops them when it is done)."""
    total = sum(len(page.body) for _, pages in work for page in pages)
    chunks = [(n, source, list(pages[k:k + chunk])) for n, (source, pages) in enumerate(work)
              for k in range(0, len(pages), chunk)]
    workers = min(processes, len(chunks))
    if workers <= 1 or total == 0 or total < min_bytes:
        return ParsedRun([parse(pages, source) for source, pages in work])
    done: dict[int, Parsed] = {}
    cpu = _children_cpu()
    own = pool is None
    if pool is None:
        pool = ParsePool(workers)
    else:
        workers = pool.processes
    try:
        futures = {pool.executor().submit(parse, pages, source): i for i, (_, source, pages) in enumerate(chunks)}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
    except BrokenProcessPool as exc:
        pool.close()  # a kept pool starts new workers for its next call
        left = [i for i in range(len(chunks)) if i not in done]
        _log.warning("a parse worker died (%s): parsing %d chunk(s) in this process", exc, len(left))
        for i in left:
            _, source, pages = chunks[i]
            done[i] = parse(pages, source)
    finally:
        if own:
            pool.close()
    out = [Parsed() for _ in work]
    for i, (n, _, _) in enumerate(chunks):  # chunks are in source and page order
        out[n].items.extend(done[i].items)
        out[n].failures.extend(done[i].failures)
    return ParsedRun(out, _children_cpu() - cpu, workers)
