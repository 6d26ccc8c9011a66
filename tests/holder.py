"""Another process that holds a DuckDB file (as an analyst's session would) until released."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

_CODE = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == 'ro'); "
    "con.execute('SELECT count(*) FROM information_schema.tables').fetchall(); "
    "print('held', flush=True); sys.stdin.read(); con.close()"
)


@contextmanager
def held(path: str | Path, read_only: bool = True):
    """Hold `path` in a child process (read-only by default) for the duration of the block."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _CODE, str(path), "ro" if read_only else "rw"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
