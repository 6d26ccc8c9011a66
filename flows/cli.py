"""The `akhbar` command line: run, sql, sources, demo."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from flows.config import ConfigError, load_config
from flows.prefect_env import apply_prefect_defaults
from flows.settings import Settings
from flows.summary import COLUMNS

app = typer.Typer(
    name="akhbar",
    help="akhbar (أخبار): ingest news sites into a DuckDB warehouse with Prefect flows.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Sources file (YAML).")]
DatabaseOpt = Annotated[
    Optional[Path],
    typer.Option("--database", "-d", help="DuckDB file (default: settings of --config, else data/akhbar.duckdb)."),
]

def _out() -> Console:
    console = Console(soft_wrap=True)
    if not console.is_terminal:  # pipes and logs: rich would assume 80 columns and squash tables
        console = Console(soft_wrap=True, width=160)
    return console


def _err() -> Console:
    return Console(stderr=True, soft_wrap=True)


def _database(database: Path | None, config: Path) -> Path:
    if database is not None:
        return database
    if config.exists():
        try:
            return Path(load_config(config).settings.database)
        except ConfigError:
            pass
    return Path(Settings().database)


def _summary_table(summary: dict) -> Table:
    table = Table(title=f"run {summary['run_id'][:12]}", title_justify="left")
    table.add_column("source")
    for column in COLUMNS:
        table.add_column(column, justify="right")
    for name, counts in summary["sources"].items():
        table.add_row(name, *(str(counts[c]) for c in COLUMNS))
    table.add_row("(total)", *(str(summary["totals"][c]) for c in COLUMNS), style="bold")
    return table


def _writer_limit(config: Path) -> str:
    if config.exists():
        try:
            return load_config(config).settings.writer_concurrency_limit
        except ConfigError:
            pass
    return Settings().writer_concurrency_limit


def _run_flow(config: Path, sources: list[str] | None, database: Path | None, console: Console,
              group: str | None = None) -> dict:
    """Run the ingest flow in this process with a progress display; return its summary."""
    apply_prefect_defaults()
    from flows.ingest import ingest  # imports Prefect: only when a run is asked for
    from flows.prefect_setup import ensure_writer_limit
    from flows.progress import reporting

    started = time.monotonic()
    with console.status("starting Prefect (local mode)…") as status:
        ensure_writer_limit(_writer_limit(config))  # local mode: the same step as `akhbar init`

        def show(stage: str, message: str) -> None:
            status.update(f"[{time.monotonic() - started:5.1f}s] {stage}: {message}")

        with reporting(show):
            return ingest(
                sources=sources or None,
                group=group,
                config=str(config),
                database=str(database) if database is not None else None,
            )


def _print_flagged(summary: dict, console: Console) -> None:
    for name, flagged in (summary.get("flagged") or {}).items():
        console.print(f"flagged: {name} is {flagged['flag']}: {flagged['reason']}", markup=False, style="yellow")


@app.command()
def run(
    source: Annotated[Optional[list[str]], typer.Option("--source", "-s", help="Only this source (repeatable).")] = None,
    group: Annotated[Optional[str], typer.Option("--group", "-g", help="Only the sources of this schedule group.")] = None,
    config: ConfigOpt = Path("sources.yaml"),
    database: DatabaseOpt = None,
) -> None:
    """Run the ingest flow once over the configured sources, with a progress display."""
    try:
        load_config(config).select(source, group)  # fail before Prefect starts
    except ConfigError as exc:
        _err().print(f"error: {exc}", markup=False)
        raise typer.Exit(2)
    console = _out()
    summary = _run_flow(config, source, database, console, group)
    console.print(_summary_table(summary))
    for name, reasons in summary.get("failure_reasons", {}).items():
        console.print(f"{name}: failures " + ", ".join(f"{k} ×{v}" for k, v in reasons.items()), markup=False)
    _print_flagged(summary, console)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="One SQL statement, run read-only.")],
    database: DatabaseOpt = None,
    config: ConfigOpt = Path("sources.yaml"),
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array of objects.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV with a header row.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to keep retrying while a writer holds the file.")] = 30.0,
) -> None:
    """Run a read-only SQL query on the warehouse and print the result (table, --json or --csv)."""
    import duckdb

    from warehouse import WarehouseError, run_query

    path = _database(database, config)
    try:
        result = run_query(path, query, timeout=timeout)
    except (WarehouseError, duckdb.Error) as exc:
        _err().print(f"error: {exc}", markup=False)
        raise typer.Exit(1)
    if as_json:
        rows = [dict(zip(result.columns, map(_jsonable, row))) for row in result.rows]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    elif as_csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(result.columns)
        for row in result.rows:
            writer.writerow(["" if v is None else _jsonable(v) for v in row])
        sys.stdout.write(buffer.getvalue())
    else:
        table = Table(show_lines=False)
        for column in result.columns:
            table.add_column(column, overflow="fold")
        for row in result.rows:
            table.add_row(*("" if v is None else str(_jsonable(v)) for v in row))
        console = _out()
        console.print(table)
        console.print(f"{len(result.rows)} row(s)", style="dim")


@app.command()
def sources(config: ConfigOpt = Path("sources.yaml")) -> None:
    """List the configured sources (name, language, timezone, feeds)."""
    try:
        cfg = load_config(config)
    except ConfigError as exc:
        _err().print(f"error: {exc}", markup=False)
        raise typer.Exit(2)
    table = Table()
    for column in ("name", "language", "timezone", "homepage", "feeds"):
        table.add_column(column, overflow="fold")
    for s in cfg.sources:
        table.add_row(s.name, s.language, s.timezone, s.homepage, "\n".join(s.feeds))
    _out().print(table)


@app.command()
def demo(
    directory: Annotated[Path, typer.Option(help="Where the demo's DuckDB file and sources file go.")] = Path("data/demo"),
) -> None:
    """Start a small news world on 127.0.0.1, ingest it with the real flow into a fresh DuckDB
    file, print what landed and a query to try, and stop the world."""
    from flows.demo_world import NewsWorld
    from warehouse.reports import SAMPLE_QUERY, example_articles, exact_copies

    console = _out()
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    database = directory / "akhbar.duckdb"
    config = directory / "sources.yaml"
    started = time.monotonic()
    with NewsWorld() as world:
        world.write_sources_yaml(config)
        console.print(f"news world: {len(world.sites)} sites on 127.0.0.1 ({', '.join(world.sites)})")
        summary = _run_flow(config, None, database, console)
    console.print(_summary_table(summary))
    console.print("Three of the articles that landed:")
    for source, title, published in example_articles(database, 3):
        console.print(f"  [{source}] {title} — {published.isoformat() if published else 'no date'}", markup=False)
    for copy_source, original_source, title in exact_copies(database):
        console.print(f"Exact copy caught: {copy_source} carries the same story as {original_source} («{title}»).",
                      markup=False)
    console.print(f"Done in {time.monotonic() - started:.1f} s. Try:", markup=False)
    console.print(f'  akhbar sql --database {database} "{SAMPLE_QUERY}"', markup=False, highlight=False)


@app.command()
def parse(
    files: Annotated[list[str], typer.Argument(help="HTML files (.gz is read too); '-' reads standard input.")],
    url: Annotated[Optional[str], typer.Option("--url", help="The page's URL (default: file:// path of the file).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per page.")] = False,
    timezone: Annotated[Optional[str], typer.Option("--timezone", help="IANA zone for dates without one.")] = None,
    template: Annotated[Optional[str], typer.Option("--template", help="Site template to use ('none': no template).")] = None,
) -> None:
    """Extract the article of saved pages and print every field with the method that won."""
    import gzip as _gzip

    from parsers import ExtractionError, SiteContext, extract

    context = SiteContext(timezone=timezone, template=template)
    failed = False
    for name in files:
        if name == "-":
            data, page_url = sys.stdin.buffer.read(), url or "stdin:"
        else:
            path = Path(name)
            if not path.is_file():
                _err().print(f"{name}: no such file", markup=False)
                failed = True
                continue
            data = path.read_bytes()
            page_url = url or path.resolve().as_uri()
        if data[:2] == b"\x1f\x8b":
            data = _gzip.decompress(data)
        try:
            article = extract(data, page_url, context)
        except ExtractionError as exc:
            _err().print(f"{name}: no article ({exc})", markup=False)
            failed = True
            continue
        record = article.to_dict()
        if as_json:
            typer.echo(json.dumps({"file": name, **record}, ensure_ascii=False))
            continue
        table = Table(title=name, show_lines=False)
        table.add_column("field")
        table.add_column("value", overflow="fold")
        table.add_column("method")
        for key in ("title", "kicker", "lead", "published_at", "published_text", "modified_at", "credit",
                    "authors", "language", "section", "tags", "image", "canonical_url"):
            value = record[key]
            if isinstance(value, list):
                value = ", ".join(value)
            method_key = {"published_text": "published_at"}.get(key, key)
            table.add_row(key, "" if value in (None, "") else str(value), record["methods"].get(method_key, ""))
        body = "\n".join(("## " if b.kind == "subheading" else "• " if b.kind == "list_item" else "") + b.text
                         for b in article.body)
        table.add_row("body", body, record["methods"].get("body", ""))
        table.add_row("parser_version", article.parser_version, "")
        _out().print(table)
    if failed:
        raise typer.Exit(1)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words to look for, in any language (Arabic and Persian spellings are matched).")],
    source: Annotated[Optional[str], typer.Option("--source", "-s", help="Only this source.")] = None,
    since: Annotated[Optional[datetime], typer.Option(help="Only articles published since (YYYY-MM-DD).", formats=["%Y-%m-%d"])] = None,
    lang: Annotated[Optional[str], typer.Option("--lang", help="Only articles in this language (ISO code); also picks the stemmer.")] = None,
    limit: Annotated[int, typer.Option(help="How many results.")] = 10,
    all_copies: Annotated[bool, typer.Option("--all-copies", help="List every copy of a story, not only its best match.")] = False,
    show_terms: Annotated[bool, typer.Option("--show-terms", help="Print the normalised, stemmed terms looked up (for the search_bm25 SQL macro).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    database: DatabaseOpt = None,
    config: ConfigOpt = Path("sources.yaml"),
) -> None:
    """Full-text search (BM25 over title, lead and body) of the warehouse, best matches first."""
    from parsers.search_terms import query_terms
    from warehouse import WarehouseError
    from warehouse.search_index import search as run_search

    if show_terms:
        _out().print(json.dumps(query_terms(query, lang), ensure_ascii=False), markup=False)
    path = _database(database, config)
    try:
        hits = run_search(path, query, source=source, since=since, language=lang, limit=limit, all_copies=all_copies)
    except WarehouseError as exc:
        _err().print(f"error: {exc}", markup=False)
        raise typer.Exit(1)
    if as_json:
        sys.stdout.write(json.dumps([_jsonable(vars(h)) for h in hits], ensure_ascii=False, indent=2) + "\n")
        return
    table = Table()
    for column in ("#", "score", "source", "published", "title", "copies", "url"):
        table.add_column(column, overflow="fold")
    for rank, hit in enumerate(hits, 1):
        published = hit.published_at.date().isoformat() if hit.published_at else ""
        table.add_row(str(rank), f"{hit.score:.2f}", hit.source, published, hit.title or "",
                      str(hit.cluster_size - 1) if hit.cluster_size > 1 else "", hit.url)
    console = _out()
    console.print(table)
    console.print(f"{len(hits)} result(s)", style="dim")


@app.command()
def reparse(
    config: ConfigOpt = Path("sources.yaml"),
    source: Annotated[Optional[list[str]], typer.Option("--source", "-s", help="Only this source (repeatable).")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only pages fetched on or after this date (YYYY-MM-DD or ISO time, UTC).")] = None,
    database: DatabaseOpt = None,
) -> None:
    """Re-extract archived pages with the current parser (no network); changed results become new versions."""
    from flows.reparse import reparse as run_reparse

    when = None
    if since:
        try:
            when = datetime.fromisoformat(since)
        except ValueError:
            _err().print(f"--since: not a date: {since!r}")
            raise typer.Exit(2) from None
        if when.tzinfo is None:
            from datetime import timezone as _tz

            when = when.replace(tzinfo=_tz.utc)
    try:
        summary = run_reparse(str(config), source, when, str(database) if database else None)
    except ConfigError as exc:
        _err().print(str(exc))
        raise typer.Exit(2) from None
    _out().print(_summary_table(summary))


from flows import cli_warehouse as _cli_warehouse  # noqa: E402,F401  (status, snapshot, export, maintain)
from flows import cli_prefect as _cli_prefect  # noqa: E402,F401  (init, serve)


def main() -> None:  # pragma: no cover - console script entry
    app()
