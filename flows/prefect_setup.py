"""What akhbar needs on a Prefect server, and the deployments of `prefect.yaml` as Python objects.

- `ensure_infrastructure`: the process work pools that `prefect.yaml` names and the global
  concurrency limit (one slot) that guards the warehouse writer. `akhbar init` calls it; so do
  `akhbar run`, `akhbar demo`, `akhbar maintain` and `akhbar serve` (for the limit), so that local
  mode needs no setup. Idempotent: what exists is left as it is.
- `writer_slot`: the context manager every warehouse write of a flow runs in. It takes the limit
  with `strict=True`: a missing limit is an error (`WriterLimitMissing`), never silently
  unprotected writing.
- `load_project` / `build_deployments`: `prefect.yaml` read the way `prefect deploy` reads it
  (`{{ $ENV_VAR }}` templating from the environment), and its deployments built with
  `flow.to_deployment(...)`, for `akhbar serve`.
- `set_project_directory`: the pull step of prefect.yaml's deployments. It finds the checkout
  when a run starts on the worker, so no path is written into the deployment.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "WriterLimitMissing",
    "SetupReport",
    "ensure_infrastructure",
    "ensure_writer_limit",
    "writer_slot",
    "load_project",
    "work_pools",
    "build_deployments",
    "flow_of",
    "set_project_directory",
]


class WriterLimitMissing(RuntimeError):
    """The global concurrency limit that guards the warehouse writer does not exist."""


@dataclass
class SetupReport:
    api_url: str | None
    created: list[str]
    existing: list[str]


def _api_url() -> str | None:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def ensure_writer_limit(name: str) -> bool:
    """Create the global concurrency limit `name` with one slot unless it exists; True when created."""
    return "limit " + name in ensure_infrastructure((), name).created


def ensure_infrastructure(pools: tuple[str, ...] | list[str], writer_limit: str) -> SetupReport:
    """Create the process work pools `pools` and the one-slot global concurrency limit
    `writer_limit`, each only when missing."""
    from prefect import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    created: list[str] = []
    existing: list[str] = []
    with get_client(sync_client=True) as client:
        for pool in dict.fromkeys(pools):
            try:
                client.read_work_pool(pool)
                existing.append("work pool " + pool)
                continue
            except ObjectNotFound:
                pass
            try:
                client.create_work_pool(WorkPoolCreate(name=pool, type="process",
                                                       base_job_template=_process_job_template()))
                created.append("work pool " + pool)
            except ObjectAlreadyExists:  # created meanwhile by someone else
                existing.append("work pool " + pool)
        try:
            client.read_global_concurrency_limit_by_name(writer_limit)
            existing.append("limit " + writer_limit)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=writer_limit, limit=1))
                created.append("limit " + writer_limit)
            except ObjectAlreadyExists:
                existing.append("limit " + writer_limit)
    return SetupReport(_api_url(), created, existing)


def _process_job_template() -> dict:
    from prefect.workers.process import ProcessWorker

    return ProcessWorker.get_default_base_job_template()


#: Seconds `writer_slot` waits before asking for the slot. Asked the instant a task run ends, the
#: request often meets the local (SQLite) Prefect server writing that task run's state: the
#: server answers 503 "database is locked" and Prefect's client retries only after 2 s. Measured
#: with a flow alternating a 0.1 s task and the slot, 6-8 takes each: 2.0 s waits in 4-6 of them
#: without a pause, none with a pause of 10, 30 or 100 ms. A Prefect server on PostgreSQL has no
#: such lock; the pause costs it 20 ms.
SLOT_PAUSE = 0.02


@contextmanager
def writer_slot(name: str) -> Iterator[None]:
    """Hold the one slot of the writer's global concurrency limit (strict: missing is an error)."""
    from prefect.concurrency.sync import concurrency
    from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError

    time.sleep(SLOT_PAUSE)
    with ExitStack() as stack:
        try:
            stack.enter_context(concurrency(name, occupy=1, strict=True))
        except ConcurrencySlotAcquisitionError as exc:
            where = _api_url() or "the local temporary server"
            raise WriterLimitMissing(
                f"cannot take the warehouse writer's global concurrency limit {name!r} on {where}: {exc}. "
                "Create it with `akhbar init` (idempotent), or name an existing limit in the setting "
                "writer_concurrency_limit."
            ) from None
        yield


# -- prefect.yaml ---------------------------------------------------------------------------

def load_project(path: str | Path = "prefect.yaml") -> dict[str, Any]:
    """`prefect.yaml` with `{{ $VAR }}` placeholders filled from the environment where set (as
    `prefect deploy` does; unset ones stay as they are)."""
    from prefect.utilities.templating import apply_values

    spec = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return apply_values(spec, dict(os.environ), remove_notset=False)


def work_pools(spec: dict[str, Any]) -> list[str]:
    """The work pools the deployments of a project name."""
    return list(dict.fromkeys(
        d["work_pool"]["name"] for d in spec.get("deployments") or [] if (d.get("work_pool") or {}).get("name")
    ))


def flow_of(entrypoint: str):
    """The flow object of an entrypoint like `flows/ingest.py:ingest`, imported as a module of
    the installed package (no change to sys.path)."""
    path, _, name = entrypoint.partition(":")
    module = path.removesuffix(".py").replace("/", ".").replace(os.sep, ".")
    return getattr(importlib.import_module(module), name)


def build_deployments(spec: dict[str, Any], names: list[str] | None = None) -> list:
    """The RunnerDeployments `akhbar serve` serves: one per deployment of `spec` (or of those
    named), with its schedules (cron and time zone), parameters, description, tags and
    concurrency limit."""
    from prefect.schedules import Cron, Interval

    out = []
    for d in spec.get("deployments") or []:
        if names and d["name"] not in names:
            continue
        schedules = []
        for s in d.get("schedules") or []:
            if not s.get("active", True):
                continue
            if "cron" in s:
                schedules.append(Cron(s["cron"], timezone=s.get("timezone")))
            elif "interval" in s:
                schedules.append(Interval(s["interval"], timezone=s.get("timezone")))
        limit = d.get("concurrency_limit")
        if isinstance(limit, dict):
            limit = limit.get("limit")
        out.append(flow_of(d["entrypoint"]).to_deployment(
            name=d["name"],
            description=d.get("description"),
            parameters=d.get("parameters") or {},
            schedules=schedules,
            tags=d.get("tags") or [],
            concurrency_limit=limit,
        ))
    if names:
        missing = sorted(set(names) - {d.name for d in out})
        if missing:
            raise ValueError(f"no deployment named {', '.join(missing)} in prefect.yaml")
    return out


def set_project_directory(directory: str | None = None) -> dict[str, str]:
    """Pull step (prefect.yaml): change into the akhbar project folder, where sources.yaml and
    the deployments' relative paths live. The folder is `directory` when given, else the worker's
    environment variable AKHBAR_PROJECT_DIR, else the checkout the installed `flows` package comes
    from (an editable install, `pip install -e .`). Read when the run starts, never when
    deploying: `prefect deploy` fills `{{ $VAR }}` placeholders from the deploying shell when the
    variable is set there, which would write that machine's absolute path into the deployment."""
    candidates = [directory, os.environ.get("AKHBAR_PROJECT_DIR"), str(Path(__file__).resolve().parents[1])]
    for candidate in candidates:
        if candidate and (Path(candidate) / "prefect.yaml").is_file():
            os.chdir(candidate)
            return {"directory": str(Path(candidate).resolve())}
    raise RuntimeError(
        "cannot find the akhbar project folder (a folder with prefect.yaml): set AKHBAR_PROJECT_DIR in the "
        f"worker's environment to your checkout, or install akhbar with `pip install -e .` (tried {candidates})"
    )
