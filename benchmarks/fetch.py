"""Fetch N generated pages from H local hosts with latency, and compare with the politeness limit.

    python benchmarks/fetch.py [--pages 2000] [--hosts 10] [--latency-ms 50] [--per-host 2]
                               [--repeat 3] [--world-procs 5] [--no-archive]

The limit is what the politeness settings allow: hosts × per-host concurrency / latency pages/s.
The world (flows/demo_world/generated.py) runs in `--world-procs` separate processes, a few hosts
each: one Python process serving all hosts is itself GIL-bound (its threads build and send every
answer) and would be measured instead of the fetcher. The client is the real fetcher
(`flows.fetch.fetch_all`): robots.txt first (404 here), per-host limits, the WARC archive written
(unless --no-archive). Printed: medians over the repeats of wall time, pages/s, ratio to the limit,
and client CPU ms per page (process CPU time of this process during the fetch).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.archive import Archive  # noqa: E402
from flows.demo_world.generated import GeneratedWorld, _GeneratedHost  # noqa: E402
from flows.fetch import FetchRequest, FetchState, fetch_all  # noqa: E402
from flows.settings import Settings  # noqa: E402


class _Part(GeneratedWorld):
    """The hosts `hosts` of a GeneratedWorld of n_hosts (same articles, same paths)."""

    def __init__(self, hosts: list[int], **kw) -> None:
        super().__init__(**kw)
        self.part = hosts

    def _build_sites(self):
        return [_GeneratedHost(self, h) for h in self.part]


def _serve(hosts: list[int], args, queue, stop) -> None:
    with _Part(hosts, n_articles=args.pages, n_hosts=args.hosts, latency_ms=args.latency_ms) as world:
        urls = [u for name in world.sites for u in world.article_urls(name)]
        for name in world.sites:  # build every page before timing: measure the fetcher, not the
            site = world.site(name)  # test world's page generator (the cache holds 4,096 pages)
            for i in site.ids:
                world.page(i, site.base_url)
        queue.put(urls)
        stop.wait()


def _run(urls: list[str], settings: Settings, archive_dir: Path | None) -> tuple[float, float, int]:
    archive = Archive(archive_dir) if archive_dir else None
    state = FetchState(settings, archive=archive)
    requests = [FetchRequest(u, f"gen-{i % 10}", "page", True) for i, u in enumerate(urls)]
    cpu, wall = time.process_time(), time.perf_counter()
    results = asyncio.run(fetch_all(requests, settings, state))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if archive:
        archive.close()
    return wall, cpu, sum(r.ok for r in results)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pages", type=int, default=2000)
    p.add_argument("--hosts", type=int, default=10)
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--per-host", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--world-procs", type=int, default=5)
    p.add_argument("--no-archive", action="store_true")
    args = p.parse_args()

    groups = [list(range(args.hosts))[i :: args.world_procs] for i in range(min(args.world_procs, args.hosts))]
    queue, stop = multiprocessing.Queue(), multiprocessing.Event()
    procs = [multiprocessing.Process(target=_serve, args=(g, args, queue, stop), daemon=True) for g in groups]
    for proc in procs:
        proc.start()
    try:
        urls = [u for _ in procs for u in queue.get(timeout=120)]
        settings = Settings(per_host_concurrency=args.per_host, database="/nonexistent/x.duckdb")
        tmp = Path(tempfile.mkdtemp(prefix="akhbar-fetch-bench-"))
        _run(urls[: args.hosts * 20], settings, None)  # warm-up (page caches of the world, imports)
        runs = [_run(urls, settings, None if args.no_archive else tmp / f"r{i}") for i in range(args.repeat)]
    finally:
        stop.set()
        for proc in procs:
            proc.join(10)

    limit = args.hosts * args.per_host / (args.latency_ms / 1000.0)
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    ok = min(r[2] for r in runs)
    rate = len(urls) / wall
    print(f"akhbar fetch benchmark: {len(urls)} pages, {args.hosts} hosts, {args.latency_ms:g} ms latency, "
          f"per-host {args.per_host}, world in {len(procs)} processes, archive {'off' if args.no_archive else 'on'}, "
          f"{args.repeat} repeats (medians)")
    print(f"  politeness limit: {limit:.0f} pages/s (floor {len(urls) / limit:.2f} s)")
    print(f"  measured: {wall:.2f} s  {rate:.0f} pages/s  = {100 * rate / limit:.1f} % of the limit"
          f"  (each run: {', '.join(f'{len(urls) / r[0]:.0f}' for r in runs)} pages/s)")
    print(f"  client CPU: {1000 * cpu / len(urls):.2f} ms per page;  ok pages: {ok}/{len(urls)}")


if __name__ == "__main__":
    main()
