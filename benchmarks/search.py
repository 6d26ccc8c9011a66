"""Search latency on a large warehouse.

    python benchmarks/search.py [--articles 100000] [--queries 50]

Builds a warehouse of N generated Arabic articles (3 KB bodies; their vocabulary is small, so
common terms have very long postings lists: a hard case for BM25) through the real loader (which
indexes as it loads), then times `warehouse.search_index.search` (the `akhbar search` path: query
terms, BM25 macro, cluster collapse, join to the articles) for queries made of 2–6 words of
random articles' headlines. Prints the median and 90th percentile latency, and the same for the
bare `search_bm25` macro, plus the index size.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.demo_world import GeneratedWorld  # noqa: E402
from parsers import Article, Block  # noqa: E402
from parsers.search_terms import query_terms  # noqa: E402
from warehouse import LoadItem, Warehouse, run_query  # noqa: E402
from warehouse.dedup import prepare  # noqa: E402
from warehouse.search_index import search  # noqa: E402

NOW = datetime.now(timezone.utc)


def _batch(args: tuple[int, int, int]) -> tuple[list[LoadItem], list]:
    n, start, stop = args
    world = GeneratedWorld(n_articles=n)
    items = []
    for i in range(start, stop):
        url = f"https://gen.example/{i}"
        art = Article(url=url, canonical_url=url, title=world.headline(i), language="ar", source=f"gen-{i % 10}",
                      body=tuple(Block("paragraph", p) for p in world.paragraphs(i)),
                      published_at=NOW - timedelta(minutes=n - i))
        items.append(LoadItem(art, NOW))
    return items, prepare(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    n = args.articles
    path = Path(tempfile.mkdtemp(prefix="akhbar-search-")) / "w.duckdb"
    wh = Warehouse(path)
    wh.migrate()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        for items, prepared in pool.map(_batch, [(n, s, min(n, s + 1000)) for s in range(0, n, 1000)]):
            wh.upsert_articles(items, prepared=prepared)
    build = time.perf_counter() - t0
    (postings,), = run_query(path, "SELECT count(*) FROM search_postings").rows
    (terms,), = run_query(path, "SELECT count(*) FROM search_terms").rows

    world = GeneratedWorld(n_articles=n)
    rng = random.Random(1)
    queries = []
    for _ in range(args.queries):
        words = world.headline(rng.randrange(n)).split()
        k = rng.randint(2, min(6, len(words)))
        queries.append(" ".join(rng.sample(words, k)))

    full, bare = [], []
    for q in queries:
        t = time.perf_counter()
        search(path, q, limit=10)
        full.append(time.perf_counter() - t)
        terms_q = query_terms(q)
        t = time.perf_counter()
        run_query(path, "SELECT * FROM search_bm25(?::VARCHAR[]) ORDER BY score DESC LIMIT 10", [terms_q])
        bare.append(time.perf_counter() - t)

    def p90(xs: list[float]) -> float:
        return sorted(xs)[int(0.9 * (len(xs) - 1))]

    print(f"search benchmark: {n:,d} articles loaded and indexed in {build:.0f} s; "
          f"{terms:,d} terms, {postings:,d} postings; {len(queries)} queries of 2-6 headline words")
    print(f"  akhbar search (terms, BM25, collapse, join): median {1000 * statistics.median(full):.0f} ms, "
          f"p90 {1000 * p90(full):.0f} ms")
    print(f"  search_bm25 macro alone:                    median {1000 * statistics.median(bare):.0f} ms, "
          f"p90 {1000 * p90(bare):.0f} ms")


if __name__ == "__main__":
    main()
