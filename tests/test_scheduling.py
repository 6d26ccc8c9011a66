"""Scheduled operation with Prefect (docs/scheduling.md), against a real Prefect server (the
`prefect_harness` fixture is a temporary server): prefect.yaml fits sources.yaml and the flows'
signatures, `akhbar init` is idempotent, `prefect deploy --all` creates the deployments with their
schedules, `akhbar serve` builds (and registers) the same ones, a missing writer limit fails a run
clearly, and a run explains itself (artifacts, health, flags)."""

from __future__ import annotations

import inspect
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app
from flows.config import load_config
from flows.demo_world import NewsWorld
from flows.prefect_setup import WriterLimitMissing, build_deployments, flow_of, load_project, work_pools
from parsers import Article, Block
from warehouse import LoadItem, Warehouse, run_query
from warehouse.health import HealthRules, SourceRun

ROOT = Path(__file__).resolve().parents[1]
PREFECT_YAML = ROOT / "prefect.yaml"
runner = CliRunner()


def _spec() -> dict:
    return yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))


# -- prefect.yaml against sources.yaml and the flows (no server) ------------------------------

def test_every_schedule_group_of_sources_yaml_has_a_deployment():
    groups = load_config(ROOT / "sources.yaml").groups
    ingest_groups = {d["parameters"].get("group") for d in _spec()["deployments"]
                     if d["entrypoint"] == "flows/ingest.py:ingest"}
    assert set(groups) <= ingest_groups, f"groups without a deployment: {set(groups) - ingest_groups}"
    assert len(groups) >= 2  # fast and slow sources, as documented


@pytest.mark.parametrize("deployment", _spec()["deployments"], ids=lambda d: d["name"])
def test_every_deployment_fits_its_flow_and_runs_unattended(deployment):
    path, _, name = deployment["entrypoint"].partition(":")
    assert (ROOT / path).is_file()
    flow = flow_of(deployment["entrypoint"])
    params = deployment.get("parameters") or {}
    inspect.signature(flow.fn).bind(**params)  # every parameter is one of the flow's
    flow.validate_parameters(params)  # and of the right type
    if "config" in params:
        assert (ROOT / params["config"]).is_file()  # relative to the project folder (the pull step's)
    if "group" in params:
        assert params["group"] in load_config(ROOT / params["config"]).groups
    assert deployment["work_pool"]["name"]
    assert deployment["concurrency_limit"]["limit"] == 1
    schedules = deployment["schedules"]
    assert schedules and all(s["cron"] and ZoneInfo(s["timezone"]) for s in schedules)


def test_the_pull_step_works_from_any_checkout(tmp_path, monkeypatch):
    from flows.prefect_setup import set_project_directory

    text = PREFECT_YAML.read_text(encoding="utf-8")
    assert _spec()["pull"] == [{"flows.prefect_setup.set_project_directory": {}}]
    assert "/work/" not in text and "/home/" not in text and "/Users/" not in text
    monkeypatch.chdir(tmp_path)  # restored afterwards
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "prefect.yaml").write_text("name: akhbar\n")
    monkeypatch.setenv("AKHBAR_PROJECT_DIR", str(checkout))
    assert set_project_directory() == {"directory": str(checkout.resolve())}
    assert Path.cwd() == checkout.resolve()
    monkeypatch.delenv("AKHBAR_PROJECT_DIR")
    assert set_project_directory() == {"directory": str(ROOT)}  # the editable install's checkout


def test_akhbar_serve_builds_the_deployments_of_prefect_yaml(monkeypatch):
    monkeypatch.setenv("AKHBAR_PROJECT_DIR", str(ROOT))
    deployments = {d.name: d for d in build_deployments(load_project(PREFECT_YAML))}
    assert set(deployments) == {d["name"] for d in _spec()["deployments"]}
    ingest = deployments["ingest-default"]
    assert ingest.flow_name == "ingest" and ingest.parameters == {"group": "default", "config": "sources.yaml"}
    (schedule,) = ingest.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("*/15 * * * *", "UTC")
    assert ingest.concurrency_limit == 1
    assert deployments["maintain-daily"].flow_name == "maintain"
    monkeypatch.chdir(ROOT)  # `serve` changes into the project folder; put it back afterwards
    result = runner.invoke(app, ["serve", "--list", "--prefect-yaml", str(PREFECT_YAML)])
    assert result.exit_code == 0, result.output
    assert "ingest-hourly" in result.output and "maintain-daily" in result.output


def test_the_documented_automation_is_valid():
    from prefect.events.schemas.automations import AutomationCore

    data = yaml.safe_load((ROOT / "docs" / "automation-source-flagged.yaml").read_text(encoding="utf-8"))
    automation = AutomationCore.model_validate(data)
    assert automation.trigger.expect == {"akhbar.source.flagged"}


# -- against the Prefect server of the harness ------------------------------------------------

def _api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def _interrupt(proc: subprocess.Popen) -> tuple[str, str]:
    """Ctrl-C to the process group (as a terminal would), SIGKILL after 20 s; its output."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        return proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.communicate()


def _subprocess_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PREFECT_API_URL=_api_url(), AKHBAR_PROJECT_DIR=str(ROOT), **extra)
    return env


@pytest.fixture(scope="module")
def initialised(prefect_harness, tmp_path_factory):
    config = tmp_path_factory.mktemp("init") / "sources.yaml"
    config.write_text(
        "settings: {writer_concurrency_limit: akhbar-init-test}\n"
        "sources: [{name: x, homepage: 'https://x.example/', language: ar, timezone: UTC, feeds: ['https://x.example/rss']}]\n"
    )
    first = runner.invoke(app, ["init", "--prefect-yaml", str(PREFECT_YAML), "--config", str(config)])
    second = runner.invoke(app, ["init", "--prefect-yaml", str(PREFECT_YAML), "--config", str(config)])
    return first, second


def test_akhbar_init_creates_the_pool_and_the_writer_limit_once(initialised):
    from prefect import get_client

    first, second = initialised
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "created    work pool akhbar" in first.output and "created    limit akhbar-init-test" in first.output
    assert "created" not in second.output
    assert "exists     work pool akhbar" in second.output and "exists     limit akhbar-init-test" in second.output
    with get_client(sync_client=True) as client:
        assert client.read_work_pool("akhbar").type == "process"
        assert client.read_global_concurrency_limit_by_name("akhbar-init-test").limit == 1
    assert work_pools(_spec()) == ["akhbar"]


@pytest.fixture(scope="module")
def deployed(initialised):
    """`prefect deploy --all` of the repository's prefect.yaml against the harness's server."""
    return subprocess.run([str(Path(sys.executable).with_name("prefect")), "--no-prompt", "deploy", "--all"],
                          cwd=ROOT, env=_subprocess_env(), capture_output=True, text=True, timeout=180)


def test_prefect_deploy_all_creates_every_deployment_with_its_schedule(deployed):
    from prefect import get_client

    done = deployed
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with get_client(sync_client=True) as client:
        for d in _spec()["deployments"]:
            flow_name = d["entrypoint"].rsplit(":", 1)[1]
            deployment = client.read_deployment_by_name(f"{flow_name}/{d['name']}")
            assert deployment.work_pool_name == "akhbar"
            assert deployment.parameters == d["parameters"]
            assert deployment.global_concurrency_limit.limit == 1  # runs of one deployment never overlap
            assert deployment.concurrency_options.collision_strategy == "ENQUEUE"
            (schedule,) = deployment.schedules
            assert schedule.schedule.cron == d["schedules"][0]["cron"]
            assert schedule.schedule.timezone == d["schedules"][0]["timezone"]
            assert deployment.pull_steps == [{"flows.prefect_setup.set_project_directory": {}}]  # no path


def test_a_worker_runs_a_group_deployment_and_two_runs_of_it_never_overlap(deployed, tmp_path):
    """The documented path end to end: init, deploy (above), a process worker, two runs of the
    group's deployment triggered together against a local test site: both complete, one after
    the other, and leave their warehouse rows and artifacts."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    assert deployed.returncode == 0, deployed.stderr[-3000:]
    database = tmp_path / "akhbar.duckdb"
    worker = None
    with NewsWorld() as world, get_client(sync_client=True) as client:
        config = tmp_path / "sources.yaml"
        config.write_text(yaml.safe_dump({"settings": {"database": str(database)}, "sources": world.sources()},
                                         allow_unicode=True))
        deployment = client.read_deployment_by_name("ingest/ingest-default")
        params = {"group": "default", "config": str(config)}
        runs = [client.create_flow_run_from_deployment(deployment.id, parameters=params) for _ in range(2)]
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("prefect")), "worker", "start", "--pool", "akhbar"],
            cwd=tmp_path, env=_subprocess_env(PREFECT_WORKER_QUERY_SECONDS="1"), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline:
                runs = [client.read_flow_run(r.id) for r in runs]
                if all(r.state.is_final() for r in runs):
                    break
                time.sleep(1)
        finally:
            out, err = _interrupt(worker)
        assert all(r.state.is_completed() for r in runs), [(r.state, err[-2000:]) for r in runs]
        first, second = sorted(runs, key=lambda r: r.start_time)
        assert first.end_time <= second.start_time  # deployment concurrency_limit 1: no overlap
        for run in runs:
            keys = {a.key for a in client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))}
            assert keys == {"ingest-summary-default", "ingest-report-default"}
    rows = run_query(database, "SELECT flow_run_id, count(*) FROM source_runs GROUP BY ALL").rows
    assert {r[0] for r in rows} == {str(r.id) for r in runs}
    assert run_query(database, "SELECT count(*) FROM articles").rows[0][0] >= 7
    assert run_query(database, "SELECT count(*), min(status) FROM runs").rows == [(2, "completed")]


def test_akhbar_serve_registers_its_deployments_and_stops_cleanly(initialised, tmp_path):
    from prefect import get_client

    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:  # a deployment of that name made by `prefect deploy` goes
        try:
            client.delete_deployment(client.read_deployment_by_name("ingest/ingest-hourly").id)
        except ObjectNotFound:
            pass
    akhbar = str(Path(sys.executable).with_name("akhbar"))
    proc = subprocess.Popen([akhbar, "serve", "--prefect-yaml", str(PREFECT_YAML), "-n", "ingest-hourly"],
                            cwd=tmp_path, env=_subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        deployment = None
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    deployment = client.read_deployment_by_name("ingest/ingest-hourly")
                    break
                except ObjectNotFound:  # not registered yet
                    time.sleep(0.5)
        assert proc.poll() is None, proc.communicate()
        assert deployment is not None and deployment.work_pool_name is None  # served: no worker needed
        assert deployment.schedules[0].schedule.cron == "7 * * * *"
        assert deployment.parameters == {"group": "hourly", "config": "sources.yaml"}
    finally:
        out, err = _interrupt(proc)
    assert "Traceback" not in err, err[-3000:]


def test_a_run_without_the_writer_limit_fails_clearly_before_anything_is_written(prefect_harness, tmp_path):
    from flows.ingest import ingest

    config = tmp_path / "sources.yaml"
    config.write_text(
        "settings: {writer_concurrency_limit: akhbar-no-such-limit}\n"
        "sources: [{name: x, homepage: 'https://x.example/', language: ar, timezone: UTC, feeds: ['https://x.example/rss']}]\n"
    )
    with pytest.raises(WriterLimitMissing, match="akhbar-no-such-limit.*akhbar init"):
        ingest(config=str(config), database=str(tmp_path / "w.duckdb"))
    assert not (tmp_path / "w.duckdb").exists()


# -- a run explains itself; health and flags --------------------------------------------------

class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def grouped(prefect_harness, tmp_path_factory):
    """The demo world with faults as group `default`, and a source whose feed is gone as group
    `broken`; the default group runs once, the broken one three times."""
    from flows.ingest import ingest

    tmp = tmp_path_factory.mktemp("grouped")
    database = tmp / "akhbar.duckdb"
    handler = _Lines()
    logger = logging.getLogger("prefect.flow_runs")
    logger.addHandler(handler)
    try:
        with NewsWorld(faults=True, slow_seconds=3.0) as world:
            sources = world.sources()
            gone = dict(sources[0], name="gone", schedule_group="broken",
                        feeds=[sources[0]["homepage"].rstrip("/") + "/no-such-feed.xml"])
            settings = {"database": str(database), "read_timeout": 1.0, "total_timeout": 2.0, "max_retries": 0,
                        "health_failing_after": 2}  # not the default 3: the runs must apply the setting
            config = tmp / "sources.yaml"
            config.write_text(yaml.safe_dump({"settings": settings, "sources": sources + [gone]}, allow_unicode=True))
            state = ingest(group="default", config=str(config), return_state=True)
            broken = [ingest(group="broken", config=str(config)) for _ in range(3)]
    finally:
        logger.removeHandler(handler)
    return {"state": state, "broken": broken, "database": database, "sources": sources, "warnings": handler.lines,
            "config": config}


def _artifact(key: str):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        (artifact,) = client.read_latest_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
        return artifact


def test_a_run_with_failed_pages_completes_and_counts_them(grouped):
    state = grouped["state"]
    assert state.is_completed()
    summary = state.result()
    assert set(summary["sources"]) == {s["name"] for s in grouped["sources"]}  # only its group
    assert summary["sources"]["faulty"]["failed"] == 2 and summary["totals"]["new"] >= 6
    rows = run_query(grouped["database"], "SELECT source, status, schedule_group FROM source_runs "
                     "WHERE schedule_group = 'default' ORDER BY source").rows
    assert {r[0] for r in rows} == set(summary["sources"]) and {r[1] for r in rows} == {"ok"}


def test_the_run_publishes_a_table_and_a_markdown_artifact(grouped):
    table = _artifact("ingest-summary-default")
    rows = table.data if isinstance(table.data, list) else __import__("json").loads(table.data)
    faulty = next(r for r in rows if r["source"] == "faulty")
    for column in ("discovered", "fetched", "new", "updated", "duplicates", "skipped", "failed"):
        assert column in faulty
    assert faulty["failed"] == 2 and faulty["run"] == "ok"
    report = _artifact("ingest-report-default").data
    assert "## Per source" in report and "## Top error reasons" in report and "## Time per stage" in report
    assert "fetch:http_404" in report and "fetch:timeout" in report and "| fetch |" in report
    assert "## Flagged sources" in report


def test_a_source_that_keeps_failing_is_flagged_in_the_run_the_log_and_status(grouped):
    # the fixture's sources.yaml sets health_failing_after: 2
    first, second, third = grouped["broken"]
    assert first["sources"]["gone"]["feed_errors"] == 1
    assert first["health"]["gone"]["consecutive_failures"] == 1 and not first["flagged"]
    assert second["flagged"] == {"gone": {"flag": "failing", "reason":
                                          "2 consecutive failed runs (last: no discovery endpoint could be read)"}}
    assert third["flagged"] == {"gone": {"flag": "failing", "reason":
                                         "3 consecutive failed runs (last: no discovery endpoint could be read)"}}
    assert [line for line in grouped["warnings"] if "is failing" in line] == [
        "source gone is failing: 2 consecutive failed runs (last: no discovery endpoint could be read)",
        "source gone is failing: 3 consecutive failed runs (last: no discovery endpoint could be read)"]
    report = _artifact("ingest-report-broken").data
    assert "- **gone**: failing, 3 consecutive failed runs" in report
    result = runner.invoke(app, ["status", "--database", str(grouped["database"])])
    assert result.exit_code == 0, result.output
    assert "flagged    gone is failing" in result.output and "alwefaq" in result.output


def _quiet_source(tmp_path, rules: HealthRules | None = None) -> tuple[Warehouse, SourceRun]:
    """A source with two new stories a day from 7 to 2 days ago and none since."""
    wh = Warehouse(tmp_path / "w.duckdb", health_rules=rules)
    wh.migrate()
    now = datetime.now(timezone.utc)
    items = []
    for day in range(2, 8):  # two stories a day from 7 days ago to 2 days ago, none since
        for k in range(2):
            art = Article(url=f"https://s.example/{day}-{k}", canonical_url=f"https://s.example/{day}-{k}",
                          title=f"t{day}{k}", body=(Block("paragraph", f"نص {day} {k} " * 20),), language="ar",
                          source="quiet")
            items.append((day, LoadItem(art, now)))
    wh.upsert_articles([i for _, i in items])
    con = duckdb.connect(str(wh.path))
    for day, item in items:
        con.execute("UPDATE articles SET first_seen_at = ? WHERE url = ?", [now - timedelta(days=day, hours=1),
                                                                            item.article.url])
    con.close()
    return wh, SourceRun("r1", "quiet", "default", None, now, now, "ok", None, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)


def test_a_source_that_went_silent_is_flagged(tmp_path):
    wh, run = _quiet_source(tmp_path)
    (health,) = wh.record_source_runs([run])
    assert health["articles_24h"] == 0 and float(health["usual_per_day"]) == 2.0
    assert health["flag"] == "silent" and health["flag_reason"] == "no new story in 24 h; usually 2 a day"
    assert health["consecutive_failures"] == 0 and health["last_success_at"] is not None


def test_silence_is_judged_over_the_configured_hours(tmp_path):
    # the last stories came 49 hours ago: silent for 48 hours, not for 72
    for hours, flag in ((48, "silent"), (72, None)):
        wh, run = _quiet_source(tmp_path / str(hours), HealthRules(3, hours, 1.0, 14, 3))
        (health,) = wh.record_source_runs([run])
        assert health["flag"] == flag, hours
        assert health["articles_quiet"] == (0 if flag else 2)
    assert health["articles_24h"] == 0  # the fixed 24-hour count does not follow the setting
    assert run_query(wh.path, "SELECT silent_hours FROM health_rules").rows == [(72,)]


def test_a_source_below_the_configured_usual_rate_is_never_silent(tmp_path):
    wh, run = _quiet_source(tmp_path, HealthRules(3, 24, 2.5, 14, 3))
    (health,) = wh.record_source_runs([run])
    assert float(health["usual_per_day"]) == 2.0 and health["flag"] is None


def test_the_usual_rate_needs_the_configured_number_of_observed_days(tmp_path):
    # observed for 6 days of the 14: a usual rate with min_usual_days 6, none with 7
    for days, usual in ((6, 2.0), (7, None)):
        wh, run = _quiet_source(tmp_path / str(days), HealthRules(3, 24, 1.0, 14, days))
        (health,) = wh.record_source_runs([run])
        assert (float(health["usual_per_day"]) if health["usual_per_day"] is not None else None) == usual
        assert health["usual_days"] == 6


def test_the_usual_rate_is_the_median_of_the_configured_number_of_days(tmp_path):
    # the 3 days before the last 24 h hold 0 (day 1), 2 and 2 stories: median 2; over 2 days, 1
    for days, usual in ((3, 2.0), (2, 1.0)):
        wh, run = _quiet_source(tmp_path / str(days), HealthRules(3, 24, 1.0, days, 2))
        (health,) = wh.record_source_runs([run])
        assert float(health["usual_per_day"]) == usual and health["usual_days"] == days


def test_a_source_is_failing_after_the_configured_consecutive_failed_runs(tmp_path):
    now = datetime.now(timezone.utc)
    failed = [SourceRun(f"r{i}", "gone", None, None, now + timedelta(minutes=i), now + timedelta(minutes=i), "failed",
                        "nothing_fetched", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) for i in range(3)]
    default = Warehouse(tmp_path / "default.duckdb")  # no rules given: the file's, 3 by default
    default.migrate()
    assert [default.record_source_runs([r])[0]["flag"] for r in failed] == [None, None, "failing"]
    strict = Warehouse(tmp_path / "strict.duckdb", health_rules=HealthRules(1, 24, 1.0, 14, 3))
    strict.migrate()
    (health,) = strict.record_source_runs(failed[:1])
    assert health["flag"] == "failing"
    assert health["flag_reason"] == "1 consecutive failed run (last: no page could be fetched)"
