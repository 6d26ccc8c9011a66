"""A load's statements run in order on a worker thread (`warehouse/statement_queue.py`)."""

from __future__ import annotations

import sys

import duckdb
import pyarrow as pa
import pytest

from warehouse.connection import transaction
from warehouse.statement_queue import GIL_HANDOFF_S, gil_handoff, statement_queue


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "q.duckdb"))
    con.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    yield con
    con.close()


def test_statements_run_in_the_order_they_were_queued_and_reads_see_the_writes_before_them(con):
    with transaction(con), statement_queue(con) as queue:
        queue.execute("INSERT INTO t SELECT n FROM batch_rows", pa.table({"n": [1, 2]}))
        first = queue.query("SELECT count(*) FROM t")
        queue.execute("INSERT INTO t VALUES (?)", params=[3])
        last = queue.query_arrow("SELECT n FROM t JOIN batch_rows USING (n) ORDER BY n", pa.table({"n": [2, 3]}))
    assert first.result() == [(2,)]
    assert last.result().column("n").to_pylist() == [2, 3]
    assert con.execute("SELECT list(n ORDER BY n) FROM t").fetchall() == [([1, 2, 3],)]


def test_a_failed_statement_stops_the_ones_after_it_and_its_error_is_raised_at_the_end(con):
    with pytest.raises(duckdb.ConstraintException):
        with transaction(con), statement_queue(con) as queue:
            queue.execute("INSERT INTO t VALUES (1)")
            queue.execute("INSERT INTO t VALUES (1)")  # a duplicate key
            after = queue.execute("CREATE TABLE later (n INTEGER)")
    with pytest.raises(duckdb.ConstraintException):
        after.result()  # never ran: it carries the first failure
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(0,)]  # the transaction rolled back
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'later'").fetchall() == [(0,)]


def test_an_error_in_the_block_waits_for_the_running_statements_so_the_rollback_finds_the_connection_idle(con):
    with pytest.raises(ZeroDivisionError):
        with transaction(con), statement_queue(con) as queue:
            queue.execute("INSERT INTO t SELECT range FROM range(200000)")
            1 / 0
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(0,)]


def test_while_a_queue_is_open_the_gil_changes_hands_every_half_millisecond_and_after_it_as_before(con):
    before = sys.getswitchinterval()
    with transaction(con), statement_queue(con) as queue:
        queue.execute("INSERT INTO t VALUES (1)")
        during = sys.getswitchinterval()
    assert during == pytest.approx(GIL_HANDOFF_S)
    assert sys.getswitchinterval() == before


def test_the_switch_interval_is_restored_when_the_block_raises(con):
    before = sys.getswitchinterval()
    with pytest.raises(ZeroDivisionError):
        with transaction(con), statement_queue(con):
            1 / 0
    assert sys.getswitchinterval() == before


def test_a_switch_interval_someone_else_set_meanwhile_is_left_as_they_set_it():
    before = sys.getswitchinterval()
    try:
        with gil_handoff(GIL_HANDOFF_S):
            sys.setswitchinterval(0.002)
        assert sys.getswitchinterval() == pytest.approx(0.002)
        sys.setswitchinterval(0.0001)
        with gil_handoff(GIL_HANDOFF_S):  # already shorter: left alone
            assert sys.getswitchinterval() == pytest.approx(0.0001)
        assert sys.getswitchinterval() == pytest.approx(0.0001)
    finally:
        sys.setswitchinterval(before)
