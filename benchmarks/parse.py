"""Parse speed: real news pages parsed in the flow's process against a pool of worker processes
(`flows.parse_pool.parse_sources`), in the same run.

    python benchmarks/parse.py [--eval-dir ../shared/eval] [--pages 272] [--repeat 3] [--processes 2]
    python benchmarks/parse.py --batches 4     # also: the pages in 4 batches, a pool per batch or one kept

The pages are the extraction development set (`../shared/eval/*/*/*.html.gz`, 136 real pages of
news sites), repeated in order up to `--pages`, each the fetched page of a source of its own site.
Each round parses all of them once in process (`processes` 1) and once with the pool (the pool's
start counted), alternating; printed are the medians, pages/s and the ratio in-process/pool of
each round. `--pages` also gives the break-even: with few pages, starting the workers costs more
than it saves (`parse_pool_min_bytes`). `--batches N` parses the pages in N calls (each source's
pages cut into N parts), as `akhbar reparse` does, once with a pool started per call and once
with one `ParsePool` kept for all calls (reparse's way).
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.config import Source  # noqa: E402
from flows.fetch import Fetched, FetchRequest  # noqa: E402
from flows.parse_pool import ParsePool, parse_sources  # noqa: E402


def work(eval_dir: Path, n: int) -> list[tuple[Source, list[Fetched]]]:
    files = sorted(eval_dir.glob("*/*/*.html.gz"))
    by_site: dict[str, tuple[Source, list[Fetched]]] = {}
    now = datetime.now(timezone.utc)
    for i in range(n):
        html = files[i % len(files)]
        truth = json.loads(html.with_name(html.name.replace(".html.gz", ".json")).read_text("utf-8"))
        url = truth.get("url") or f"https://{html.parent.name}.example/{html.name}"
        site = "".join(c if c.isalnum() else "-" for c in html.parent.name)
        source = by_site.setdefault(site, (Source(name=site, homepage=f"https://{site}.example/",
                                                  language=truth.get("lang") or truth.get("language") or "ar",
                                                  timezone="UTC", feeds=(f"https://{site}.example/feed",)), []))
        body = gzip.decompress(html.read_bytes())
        source[1].append(Fetched(FetchRequest(url, site, "page"), url, 200, {"content-type": "text/html"}, body,
                                 now, 0.0))
    return list(by_site.values())


def in_batches(jobs: list[tuple[Source, list[Fetched]]], n: int) -> list[list[tuple[Source, list[Fetched]]]]:
    """The same work in `n` calls: each source's pages cut into `n` consecutive parts."""
    return [[(source, pages[len(pages) * b // n:len(pages) * (b + 1) // n]) for source, pages in jobs]
            for b in range(n)]


def parse_batched(batches: list, processes: int, keep: bool) -> int:
    """Parse every batch with a pool (one kept for all, or one per call); the articles found."""
    with ParsePool(processes) as pool:
        runs = [parse_sources(batch, processes, 0, pool=pool if keep else None) for batch in batches]
    return sum(len(p.items) for run in runs for p in run.parsed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    ap.add_argument("--pages", type=int, default=272)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--batches", type=int, default=1, help="also parse the pages in this many calls (> 1)")
    args = ap.parse_args()
    jobs = work(args.eval_dir, args.pages)
    size = sum(len(p.body) for _, pages in jobs for p in pages)
    print(f"{args.pages} pages of {len(jobs)} sites, {size / 1e6:.1f} MB of HTML")
    configs = {"in process": lambda: parse_batched([jobs], 1, False),
               f"pool of {args.processes}": lambda: parse_batched([jobs], args.processes, False)}
    if args.batches > 1:
        batches = in_batches(jobs, args.batches)
        configs[f"{args.batches} batches, a pool each"] = lambda: parse_batched(batches, args.processes, False)
        configs[f"{args.batches} batches, kept pool"] = lambda: parse_batched(batches, args.processes, True)
    times: dict[str, list[float]] = {label: [] for label in configs}
    articles = {}
    for round_ in range(1, args.repeat + 1):
        for label, run_config in configs.items():
            t = time.perf_counter()
            articles[label] = run_config()
            times[label].append(time.perf_counter() - t)
            print(f"[{round_}] {label:28s} {times[label][-1]:6.2f} s  {args.pages / times[label][-1]:6.1f} pages/s  "
                  f"{articles[label]} articles", flush=True)
    ratios = [a / b for a, b in zip(*list(times.values())[:2])]
    for label, ts in times.items():
        print(f"{label:28s} median {statistics.median(ts):6.2f} s  {args.pages / statistics.median(ts):6.1f} pages/s")
    print(f"in process / pool: median of the rounds' ratios {statistics.median(ratios):.2f} "
          f"({', '.join(f'{r:.2f}' for r in ratios)})")
    if args.batches > 1:
        kept = [a / b for a, b in zip(*list(times.values())[2:])]
        print(f"a pool each / kept pool: median of the rounds' ratios {statistics.median(kept):.2f} "
              f"({', '.join(f'{r:.2f}' for r in kept)})")
    assert len(set(articles.values())) == 1, articles  # the pool parses exactly what one process does


if __name__ == "__main__":
    main()
