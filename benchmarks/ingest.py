"""Ingest N generated articles from local hosts with latency, and print where the time goes.

    python benchmarks/ingest.py [--articles 1000] [--hosts 10] [--latency-ms 20] [--repeat 3]

The world of N pages over H hosts runs in a separate process. Each repeat runs, on the same
world, twice into fresh DuckDB files:
- baseline: the same stage functions called directly, without Prefect;
- flow: the real Prefect flow `ingest` (local mode; its temporary server is started once, before
  timing, by a warm-up run). Besides the stages, the flow archives every response (WARC), keeps
  the fetch log, robots.txt and health, and takes the writer's concurrency limit: the flow's own
  "setup" and "finish" stages time that work, so Prefect's share is what no stage accounts for.
Printed: articles/s of each, CPU seconds per article by stage (fetch, parse, dedup, load) from the
flow's own per-stage accounting, and Prefect's share of the flow's wall time (flow wall minus the
stages' wall, over flow wall). Medians over the repeats; the flow/baseline ratio is the figure to
quote, since the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.prefect_env import apply_prefect_defaults  # noqa: E402

apply_prefect_defaults()

from flows.config import load_config  # noqa: E402
from flows.demo_world import GeneratedWorld  # noqa: E402
from flows.parse_pool import pages_by_source, parse_sources  # noqa: E402
from flows.stages import Parsed, discover, fetch_pages  # noqa: E402
from warehouse import Warehouse  # noqa: E402


def baseline(config_path: Path, database: Path) -> dict:
    """The pipeline without Prefect: the same functions, in order."""
    cfg = load_config(config_path)
    wh = Warehouse(database)
    wh.migrate()
    t0 = time.perf_counter()
    found = discover(cfg.sources, cfg.settings)
    pages = fetch_pages(found.urls, cfg.sources, cfg.settings)
    batch = Parsed()
    s = cfg.settings
    for parsed in parse_sources(pages_by_source(cfg.sources, pages), s.parse_processes, s.parse_pool_min_bytes).parsed:
        batch.items.extend(parsed.items)
        batch.failures.extend(parsed.failures)
    result = wh.upsert_articles(batch.items, "baseline")
    wh.record_failures("baseline", batch.failures)
    wall = time.perf_counter() - t0
    new = sum(c.get("new", 0) for c in result.per_source.values())
    return {"wall": wall, "new": new}


def flow_run(config_path: Path, database: Path) -> dict:
    from flows.ingest import ingest

    t0 = time.perf_counter()
    summary = ingest(config=str(config_path), database=str(database))
    wall = time.perf_counter() - t0
    return {"wall": wall, "new": summary["totals"]["new"], "stages": summary["stages"]}


def _serve(args: argparse.Namespace, config: Path, ready, stop) -> None:
    """The generated world, in its own process, so its CPU is not charged to the pipeline."""
    with GeneratedWorld(n_articles=args.articles, n_hosts=args.hosts, latency_ms=args.latency_ms) as world:
        per_source = max(1000, args.articles)
        config.write_text(
            yaml.safe_dump({"settings": {"max_articles_per_source": per_source}, "sources": world.sources()},
                           allow_unicode=True)
        )
        ready.set()
        stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="akhbar-bench-"))
    config = tmp / "sources.yaml"
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(args, config, ready, stop), daemon=True)
    server.start()
    try:
        if not ready.wait(60):
            raise SystemExit("the generated world did not start")
        warm = tmp / "warm.duckdb"
        t0 = time.perf_counter()
        flow_run(config, warm)  # starts Prefect's temporary server; also warms the world's page cache
        startup = time.perf_counter() - t0

        base_runs, flow_runs = [], []
        for i in range(args.repeat):
            base_runs.append(baseline(config, tmp / f"base-{i}.duckdb"))
            flow_runs.append(flow_run(config, tmp / f"flow-{i}.duckdb"))
    finally:
        stop.set()
        server.join(10)

    n = args.articles
    for runs in (base_runs, flow_runs):
        assert all(r["new"] == n for r in runs), [r["new"] for r in runs]
    base_wall = statistics.median(r["wall"] for r in base_runs)
    flow_wall = statistics.median(r["wall"] for r in flow_runs)
    print(f"akhbar ingest benchmark: {n} articles, {args.hosts} hosts, {args.latency_ms:g} ms latency, "
          f"{args.repeat} repeats (medians)")
    print(f"  first flow run incl. Prefect server start: {startup:.1f} s")
    print(f"  baseline (stages without Prefect): {base_wall:.2f} s  {n / base_wall:.0f} articles/s")
    print(f"  flow (Prefect):                    {flow_wall:.2f} s  {n / flow_wall:.0f} articles/s"
          f"  ratio flow/baseline {flow_wall / base_wall:.2f}")
    print("  CPU ms per article by stage (flow):")
    for stage in ("setup", "discover", "frontier", "fetch", "parse", "dedup", "load", "finish"):
        cpu = statistics.median(r["stages"].get(stage, {}).get("cpu_s", 0.0) for r in flow_runs)
        wall = statistics.median(r["stages"].get(stage, {}).get("wall_s", 0.0) for r in flow_runs)
        print(f"    {stage:9s} cpu {1000 * cpu / n:7.3f} ms/article   wall {wall:6.2f} s")
    shares = [(r["wall"] - sum(s["wall_s"] for s in r["stages"].values())) / r["wall"] for r in flow_runs]
    print(f"  Prefect's share of the flow's wall time: {100 * statistics.median(shares):.1f} %")


if __name__ == "__main__":
    main()
