"""`akhbar status`, `snapshot`, `export` and `maintain`: the warehouse's operations commands
(registered on the `akhbar` app of flows/cli.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from flows.cli import ConfigOpt, DatabaseOpt, _database, _err, _out, app


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _when(value) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


@app.command()
def status(
    database: DatabaseOpt = None,
    config: ConfigOpt = Path("sources.yaml"),
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the file while a writer holds it.")] = 5.0,
) -> None:
    """Show the warehouse: schema version, row counts, the last run, the health of each source
    (flagged when silent or failing), and what waits in staging."""
    from warehouse.status import warehouse_status

    st = warehouse_status(_database(database, config), timeout=timeout)
    console = _out()
    if not st.exists and not st.staging:
        _err().print(f"error: {st.path}: no warehouse here yet (run `akhbar run` or `akhbar demo` first)", markup=False)
        raise typer.Exit(1)
    console.print(f"warehouse  {st.path} ({_size(st.size_bytes)})", markup=False)
    if st.busy:
        console.print("           busy: another process holds the file; counts unavailable", markup=False)
    else:
        version = f"{st.schema_version} (newest {st.newest_schema_version})"
        if st.schema_version is not None and st.schema_version < st.newest_schema_version:
            version += " — the next run upgrades it"
        console.print(f"schema     version {version}", markup=False)
        console.print("rows       " + ", ".join(f"{k} {v}" for k, v in st.counts.items()), markup=False)
        if st.clusters_with_copies is not None:
            console.print(f"clusters   {st.clusters_with_copies} with copies", markup=False)
        if st.last_run:
            r = st.last_run
            console.print(f"last run   {r['run_id'][:12]} {r['status']} started {_when(r['started_at'])} "
                          f"finished {_when(r['finished_at'])} totals {r['totals'] or '-'}", markup=False)
        else:
            console.print("last run   none", markup=False)
        if st.health:
            _print_health(st.health, console)
    if not st.staging:
        console.print("staging    empty", markup=False)
        return
    table = Table(title=f"staging: {st.staging_dir} (merged by the next load that gets the file)", title_justify="left")
    for column in ("kind", "batches", "rows", "oldest"):
        table.add_column(column)
    for s in st.staging:
        table.add_row(s["kind"], str(s["batches"]), str(s["rows"]), _when(s["oldest"]))
    console.print(table)


def _print_health(health: list[dict], console) -> None:
    table = Table(title="sources (view source_health)", title_justify="left")
    for column in ("source", "last success", "last run", "failed runs in a row", "new 24 h", "usual a day",
                   "articles", "flag"):
        table.add_column(column, justify="left" if column in ("source", "last success", "flag") else "right")
    for h in health:
        usual = "-" if h["usual_per_day"] is None else f"{float(h['usual_per_day']):g}"
        table.add_row(h["source"], _when(h["last_success_at"]), h["last_run_status"] or "-",
                      str(h["consecutive_failures"]), str(h["articles_24h"]), usual, str(h["articles"]),
                      h["flag"] or "", style="yellow" if h["flag"] else None)
    console.print(table)
    for h in health:
        if h["flag"]:
            console.print(f"flagged    {h['source']} is {h['flag']}: {h['flag_reason']}", markup=False, style="yellow")


@app.command()
def snapshot(
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Snapshot file (default: <name>-snapshot.duckdb beside the warehouse).")] = None,
    database: DatabaseOpt = None,
    config: ConfigOpt = Path("sources.yaml"),
    timeout: Annotated[float, typer.Option(help="Seconds to keep retrying while a writer holds the file.")] = 30.0,
) -> None:
    """Copy the warehouse into a file of your own for a long session (the pipeline is blocked
    only while the copy is taken; your session on the copy never blocks it)."""
    from warehouse import WarehouseError
    from warehouse.maintenance import snapshot as take

    path = _database(database, config)
    try:
        written = take(path, out, timeout=timeout)
    except WarehouseError as exc:
        _err().print(f"error: {exc}", markup=False)
        raise typer.Exit(1)
    console = _out()
    console.print(f"snapshot of {path} written to {written} ({_size(written.stat().st_size)})", markup=False)
    console.print(f"  duckdb -readonly {written}", markup=False, highlight=False)


@app.command()
def export(
    since: Annotated[Optional[datetime], typer.Option(help="Only stories published on or after this UTC date (YYYY-MM-DD).", formats=["%Y-%m-%d"])] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output directory (default: export/articles beside the warehouse); replaced as a whole.")] = None,
    format: Annotated[str, typer.Option("--format", help="Output format (parquet).")] = "parquet",
    database: DatabaseOpt = None,
    config: ConfigOpt = Path("sources.yaml"),
    timeout: Annotated[float, typer.Option(help="Seconds to keep retrying while a writer holds the file.")] = 30.0,
) -> None:
    """Export the stories as Hive-partitioned Parquet (source=…/published_date=…/) that DuckDB,
    pandas, Polars and pyarrow read."""
    from warehouse import WarehouseError
    from warehouse.maintenance import export_parquet

    if format != "parquet":
        _err().print(f"error: unknown format {format!r} (only parquet)", markup=False)
        raise typer.Exit(2)
    path = _database(database, config)
    target = out if out is not None else path.parent / "export" / "articles"
    try:
        result = export_parquet(path, target, since.date() if since else None, timeout=timeout)
    except WarehouseError as exc:
        _err().print(f"error: {exc}", markup=False)
        raise typer.Exit(1)
    console = _out()
    console.print(f"{result.rows} stories in {result.files} Parquet file(s) under {result.out}", markup=False)
    console.print(f"  duckdb -c \"SELECT source, count(*) FROM read_parquet('{result.out}/**/*.parquet', "
                  "hive_partitioning = true) GROUP BY ALL\"", markup=False, highlight=False)


@app.command()
def maintain(
    database: DatabaseOpt = None,
    config: ConfigOpt = Path("sources.yaml"),
    compact: Annotated[bool, typer.Option("--compact/--no-compact", help="Rewrite the file compactly (only when nobody holds it).")] = True,
    retention_days: Annotated[Optional[int], typer.Option(help="Delete raw archive (WARC) files older than this many days (default: setting archive_retention_days; 0 keeps all).")] = None,
) -> None:
    """Run the maintenance flow once: land staged batches, compact the file, apply archive retention."""
    from flows.prefect_env import apply_prefect_defaults

    apply_prefect_defaults()
    from flows.cli import _writer_limit
    from flows.maintain import maintain as maintain_flow
    from flows.prefect_setup import ensure_writer_limit

    path = _database(database, config)
    with _out().status("starting Prefect (local mode)…"):
        ensure_writer_limit(_writer_limit(config))  # local mode: the same step as `akhbar init`
        report = maintain_flow(config=str(config), database=str(path), compact_file=compact,
                               retention_days=retention_days)
    console = _out()
    st = report["staging"]
    console.print(f"staging    {st['merged']} of {st['waiting']} batch(es) landed" + (" (file busy)" if st["busy"] else ""),
                  markup=False)
    if "compact" in report:
        c = report["compact"]
        if c["compacted"]:
            console.print(f"compact    {_size(c['size_before'])} → {_size(c['size_after'])}", markup=False)
        else:
            console.print(f"compact    skipped: {c['reason']}", markup=False)
    a = report["archive"]
    if a["retention_days"]:
        console.print(f"archive    {a['files_deleted']} WARC file(s) older than {a['retention_days']} days deleted "
                      f"({_size(a['bytes_deleted'])}), {a['index_rows_cleared']} fetch_log row(s) cleared", markup=False)
    else:
        console.print("archive    retention off (archive_retention_days = 0)", markup=False)
