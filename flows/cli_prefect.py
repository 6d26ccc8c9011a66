"""`akhbar init` and `akhbar serve`: scheduled operation with Prefect (docs/scheduling.md).
Registered on the `akhbar` app of flows/cli.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from flows.cli import ConfigOpt, _err, _out, _writer_limit, app
from flows.prefect_env import apply_prefect_defaults

ProjectOpt = Annotated[Path, typer.Option("--prefect-yaml", help="The project's deployments file.")]


def _project(prefect_yaml: Path) -> dict:
    from flows.prefect_setup import load_project

    if not prefect_yaml.is_file():
        _err().print(f"error: {prefect_yaml}: no such file (run from a checkout of akhbar, or give --prefect-yaml)",
                     markup=False)
        raise typer.Exit(2)
    return load_project(prefect_yaml)


@app.command()
def init(
    prefect_yaml: ProjectOpt = Path("prefect.yaml"),
    config: ConfigOpt = Path("sources.yaml"),
) -> None:
    """Create what the deployments need on the Prefect server (PREFECT_API_URL): the process
    work pool(s) that prefect.yaml names and the global concurrency limit (one slot) that guards
    the warehouse writer (setting writer_concurrency_limit). Safe to run again."""
    apply_prefect_defaults()
    from flows.prefect_setup import ensure_infrastructure, work_pools

    pools = work_pools(_project(prefect_yaml))
    console = _out()
    with console.status("connecting to Prefect…"):
        setup = ensure_infrastructure(pools, _writer_limit(config))
    console.print(f"prefect    {setup.api_url or 'no PREFECT_API_URL: the local temporary server (~/.prefect)'}",
                  markup=False)
    for item in setup.created:
        console.print(f"created    {item}", markup=False)
    for item in setup.existing:
        console.print(f"exists     {item}", markup=False)
    if pools:
        console.print(f"next       prefect deploy --all; prefect worker start --pool {pools[0]}",
                      markup=False, highlight=False)


@app.command()
def serve(
    prefect_yaml: ProjectOpt = Path("prefect.yaml"),
    config: ConfigOpt = Path("sources.yaml"),
    deployment: Annotated[Optional[list[str]], typer.Option("--deployment", "-n", help="Only this deployment of prefect.yaml (repeatable).")] = None,
    list_only: Annotated[bool, typer.Option("--list", help="Print the deployments that would be served and exit.")] = False,
) -> None:
    """Run the scheduled deployments of prefect.yaml in this process, on one machine without a
    worker: the same flows, schedules, parameters and concurrency limits (needs a Prefect server:
    PREFECT_API_URL). Stop with Ctrl-C."""
    apply_prefect_defaults()
    from flows.prefect_setup import build_deployments, ensure_writer_limit

    spec = _project(prefect_yaml)
    config = config.resolve()
    # the deployments' parameters (config: sources.yaml) are relative to the project's folder
    os.chdir(prefect_yaml.resolve().parent)
    try:
        deployments = build_deployments(spec, deployment or None)
    except ValueError as exc:
        _err().print(f"error: {exc}", markup=False)
        raise typer.Exit(2)
    console = _out()
    table = Table(title=f"deployments of {prefect_yaml}", title_justify="left")
    for column in ("deployment", "flow", "schedules", "parameters", "concurrency"):
        table.add_column(column, overflow="fold")
    for d in deployments:
        schedules = ", ".join(f"{s.schedule.cron} ({s.schedule.timezone})" if hasattr(s.schedule, "cron")
                              else str(s.schedule) for s in d.schedules or [])
        limit = d.concurrency_limit.limit if hasattr(d.concurrency_limit, "limit") else d.concurrency_limit
        table.add_row(d.name, d.flow_name, schedules, str(d.parameters), str(limit or "-"))
    console.print(table)
    if list_only:
        return
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        _err().print("error: akhbar serve needs a Prefect server to schedule runs: start one (`prefect server start`) "
                     "and set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api)", markup=False)
        raise typer.Exit(2)
    ensure_writer_limit(_writer_limit(config))
    from prefect import serve as prefect_serve

    console.print("serving; stop with Ctrl-C", markup=False)
    prefect_serve(*deployments, print_starting_message=False)
