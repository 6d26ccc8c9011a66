"""Shared fixtures. The Prefect test harness is opt-in (`prefect_harness`), never autouse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flows.prefect_env import apply_prefect_defaults

apply_prefect_defaults()
# the test server retries a run held back by its deployment's concurrency limit after 2 s, not 30 s
os.environ.setdefault("PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS", "2")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def prefect_harness():
    """A temporary Prefect server and database for the tests that run real flows, with the
    warehouse writer's global concurrency limit created (as `akhbar run` does in local mode)."""
    from prefect.testing.utilities import prefect_test_harness

    from flows.prefect_setup import ensure_writer_limit
    from flows.settings import Settings

    with prefect_test_harness(server_startup_timeout=120):
        ensure_writer_limit(Settings().writer_concurrency_limit)  # what `akhbar run` does in local mode
        yield


@pytest.fixture
def write_yaml(tmp_path: Path):
    """Write a YAML text to a file in tmp_path and return its path."""

    def write(text: str, name: str = "sources.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
