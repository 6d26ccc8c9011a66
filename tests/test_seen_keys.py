"""The in-memory bucket index a writer session keeps (`warehouse/seen_keys.py`): it must find
every (key, story) pair a join over `lsh_buckets` would, however the keys were added."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from warehouse.seen_keys import BucketIndex, SeenKeys, numbering

_KEYS = st.integers(min_value=0, max_value=2**63 - 1)  # bucket keys are 63-bit hashes
_EDGES = st.sampled_from([0, 7, 2**62, 2**63 - 1])  # the first and last home slots, and repeats
_ROWS = st.lists(st.tuples(_EDGES | _KEYS, st.integers(0, 40)), max_size=60)


def _columns(rows: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.array([k for k, _ in rows], dtype=np.int64)
    return keys, np.array([o for _, o in rows], dtype=np.int64)


def _pairs(keys, owners) -> set[tuple[int, int]]:
    return set(zip(np.asarray(keys).tolist(), np.asarray(owners).tolist()))


@settings(max_examples=200, deadline=None)
@given(first=_ROWS, later=st.lists(_ROWS, max_size=6), probe=st.lists(_EDGES | _KEYS, max_size=30))
def test_the_bucket_index_finds_every_pair_holding_a_probed_key(first, later, probe):
    index = BucketIndex(*_columns(sorted(first)))  # as read from the file: sorted by key
    for rows in later:  # added batch by batch, in any order: young runs and merges
        index.add(*_columns(rows))
    stored = [r for rows in [first, *later] for r in rows]
    probe_keys = np.unique(np.array(probe, dtype=np.int64))
    wanted = {(k, o) for k, o in stored if k in set(probe_keys.tolist())}
    assert _pairs(*index.holders(probe_keys)) == wanted
    assert len(index) == len(stored)


def test_the_bucket_index_grows_and_still_finds_every_pair():
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 2**63 - 1, 20_000, dtype=np.int64)
    keys[::7] = keys[0]  # one key held by many stories
    owners = np.arange(len(keys), dtype=np.int64)
    index = BucketIndex(np.empty(0, np.int64), np.empty(0, np.int64))
    for start in range(0, len(keys), 1_500):  # from 1,024 slots to 65,536
        index.add(keys[start:start + 1_500], owners[start:start + 1_500])
    probe = np.unique(np.concatenate([keys[::3], rng.integers(0, 2**63 - 1, 1_000, dtype=np.int64)]))
    wanted = {(k, o) for k, o in zip(keys.tolist(), owners.tolist()) if k in set(probe.tolist())}
    assert _pairs(*index.holders(probe)) == wanted and len(index) == len(keys)


def test_stories_that_share_a_number_are_all_reported_as_holders():
    a, b, c = "a" * 24, "b" * 24, "c" * 24
    id_of, ids_of = numbering([7, 9, 7], [a, b, c])  # a and c: one number
    assert ids_of == {7: [a, c]}
    seen = SeenKeys({a, b, c}, set(), BucketIndex(np.array([11, 12], np.int64), np.array([7, 9], np.int64)), id_of, ids_of)
    # one more comparison by full signature, never one less
    assert seen.bucket_holders(np.array([11, 12, 13], np.int64)) == {a: [11], c: [11], b: [12]}


def test_a_story_stored_in_the_session_is_found_by_its_keys():
    seen = SeenKeys(set(), set(), BucketIndex(np.empty(0, np.int64), np.empty(0, np.int64)), {})
    buckets = pa.table({"band_key": pa.array([5, 6, 6], pa.int64()), "item": pa.array([1, 1, 2], pa.int32())})
    seen.add(["x" * 24, "y" * 24, "z" * 24], ["fp"], buckets)
    assert seen.bucket_holders(np.array([6], np.int64)) == {"y" * 24: [6], "z" * 24: [6]}
    assert seen.known_ids(["x" * 24, "w" * 24]) == ["x" * 24] and seen.known_fingerprints(["fp", "other"]) == ["fp"]


def test_a_bucket_row_whose_story_is_gone_names_no_story():
    seen = SeenKeys(set(), set(), BucketIndex(np.array([11], np.int64), np.array([7], np.int64)), {})
    assert seen.bucket_holders(np.array([11], np.int64)) == {}


def _numpy_asks_for_huge_pages() -> bool:
    switch = np._core.multiarray._set_madvise_hugepage
    now = switch(True)
    switch(now)
    return now


def test_while_a_session_holds_the_file_numpy_asks_for_no_huge_pages_and_after_it_as_before(tmp_path):
    from warehouse import Warehouse

    switch = np._core.multiarray._set_madvise_hugepage
    before = switch(True)  # asking for them, whatever this platform's default, so that the session must turn it off
    try:
        wh = Warehouse(tmp_path / "w.duckdb")
        wh.migrate()
        with wh.session():
            assert _numpy_asks_for_huge_pages() is False
        assert _numpy_asks_for_huge_pages() is True
    finally:
        switch(before)
