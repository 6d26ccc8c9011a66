"""Quiet, reliable defaults for Prefect's local (ephemeral) mode, applied before Prefect is imported.

The same values sit in `pyproject.toml` under `[tool.prefect]`, but Prefect reads that file only
from the working directory; the `akhbar` command must behave the same from anywhere. A value the
user already set in the environment wins.
"""

from __future__ import annotations

import os

__all__ = ["PREFECT_DEFAULTS", "apply_prefect_defaults"]

PREFECT_DEFAULTS = {
    # removes a "database is locked" telemetry error of the temporary server
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # removes shutdown tracebacks of the temporary server
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    # the default 20 s is too tight for a 2-core machine (6-14 s measured)
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


def apply_prefect_defaults() -> None:
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
