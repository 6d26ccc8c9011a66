"""A whole run while an analyst's session (another process) holds the file read-only: the run
finishes, its batch waits in staging, and the next run lands it; the counts add up."""

from __future__ import annotations

import pyarrow.parquet as pq
import yaml

from flows.demo_world import NewsWorld
from holder import held
from warehouse import Warehouse, run_query
from warehouse.status import warehouse_status


def test_a_run_under_a_held_file_stages_and_the_next_run_lands_it(prefect_harness, tmp_path):
    from flows.ingest import ingest

    database = tmp_path / "akhbar.duckdb"
    Warehouse(database).migrate()  # the file exists: an analyst has it open
    with NewsWorld() as world:
        config = tmp_path / "sources.yaml"
        settings = {"database": str(database), "lock_timeout": 0.5}
        config.write_text(yaml.safe_dump({"settings": settings, "sources": world.sources()}, allow_unicode=True))
        with held(database):  # read-only, in another process, for the whole run
            first = ingest(config=str(config))
            during = warehouse_status(database, timeout=0.5)
        staged = [b for b in Warehouse(database).staging.pending() if b.kind == "articles"]
        canonical = {u for b in staged for u in pq.read_table(b.path).column("canonical_url").to_pylist()}
        second = ingest(config=str(config))
        n_sources = len(world.sources())

    totals = first["totals"]
    assert totals["staged"] > 0 and totals["new"] == totals["duplicates"] == 0
    assert {s["kind"] for s in during.staging} >= {"articles", "runs", "sources"}
    assert sum(s["rows"] for s in during.staging if s["kind"] == "articles") == totals["staged"]

    def q(sql: str):
        return run_query(database, sql).rows

    assert Warehouse(database).staging.pending() == []
    assert q("SELECT count(*) FROM articles") == [(len(canonical),)]  # every staged story, once
    assert q("SELECT sum(row_count) FROM staged_batches WHERE kind = 'articles'") == [(totals["staged"],)]
    # the second run found the staged stories known and fetched only what failed before
    assert second["totals"]["new"] == 0 and second["totals"]["staged"] == 0
    assert second["totals"]["known"] == totals["staged"]
    assert q("SELECT count(*) FROM fetch_errors") == [(
        totals["failed"] + totals["feed_errors"] + second["totals"]["failed"] + second["totals"]["feed_errors"],)]
    assert sorted(q("SELECT status FROM runs")) == [("completed",), ("completed",)]
    assert q("SELECT count(*) FROM sources") == [(n_sources,)]
