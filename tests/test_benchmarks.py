"""The load benchmark runs end to end at a small scale and reports every configuration against
its floors (speed itself is measured by running it at full scale, never asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from parsers.signatures import DEFAULT_PARAMS

ROOT = Path(__file__).resolve().parents[1]


def test_the_load_benchmark_reports_every_configuration_against_its_floors():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "load.py"), "--articles", "300", "--prefill", "300",
         "--batches", "100,300", "--configs", "prepared"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    assert set(summary) == {"floor", "floor-rg", "floor-all", "floor-batched:100", "floor-batched:300",
                            "prepared:100", "prepared:300"}
    assert all(run["rows"] == 300 for config in summary.values() for run in config["runs"])
    for batch in (100, 300):
        loader = summary[f"prepared:{batch}"]
        assert loader["floor_ratio"] > 0 and loader["floor_all_ratio"] > 0 and loader["batched_ratio"] > 0
    # floor-all writes what a real load wrote: every story's version, row, signature and search document
    written = summary["floor-all"]["runs"][0]["table_rows"]
    assert {written[t] for t in ("article_versions", "articles", "article_signatures", "search_docs")} == {300}
    assert written["lsh_buckets"] == 300 * DEFAULT_PARAMS.bands and written["search_postings"] > 300


def test_the_load_profile_times_every_statement_of_a_session_through_its_wrapper(tmp_path):
    # its timing wrapper stands between the loader and DuckDB, whose replacement scans look for
    # the loader's Arrow rows among the locals of the caller: a wrapper that lost them would fail here
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import load
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    load.prefill(tmp_path / "pre.duckdb", 200)
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "load_profile.py"), "--prefilled", str(tmp_path / "pre.duckdb"),
         "--batch", "50", "--batches", "3", "--top", "40"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout
    assert "3 batches of 50" in out
    for statement in ("INSERT INTO article_versions", "INSERT INTO articles", "INSERT INTO search_postings", "COMMIT"):
        assert statement in out
