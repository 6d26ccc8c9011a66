"""The in-memory bucket index a writer session keeps (`warehouse/seen_keys.py`): it must find
every (key, story) pair a join over `lsh_buckets` would, however the keys were added."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from warehouse.seen_keys import BucketIndex, SeenKeys, owner_of

_KEYS = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_ROWS = st.lists(st.tuples(st.sampled_from([-5, 0, 7, 2**62]) | _KEYS, st.integers(0, 40)), max_size=60)


def _columns(rows: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.array([k for k, _ in rows], dtype=np.int64)
    return keys, np.array([o for _, o in rows], dtype=np.int64)


def _pairs(keys, owners) -> set[tuple[int, int]]:
    return set(zip(np.asarray(keys).tolist(), np.asarray(owners).tolist()))


@settings(max_examples=200, deadline=None)
@given(first=_ROWS, later=st.lists(_ROWS, max_size=6), probe=st.lists(_KEYS | st.sampled_from([-5, 0, 7, 2**62]), max_size=30))
def test_the_bucket_index_finds_every_pair_holding_a_probed_key(first, later, probe):
    index = BucketIndex(*_columns(sorted(first)))  # as read from the file: sorted by key
    for rows in later:  # added batch by batch, in any order: young runs and merges
        index.add(*_columns(rows))
    stored = [r for rows in [first, *later] for r in rows]
    probe_keys = np.unique(np.array(probe, dtype=np.int64))
    wanted = {(k, o) for k, o in stored if k in set(probe_keys.tolist())}
    assert _pairs(*index.holders(probe_keys)) == wanted
    assert len(index) == len(stored)


def test_stories_that_share_an_owner_number_are_both_reported():
    a, b = "0123456789abcde" + "000000000", "0123456789abcde" + "fffffffff"  # same first 15 hex digits
    seen = SeenKeys({a}, set(), BucketIndex(np.array([11], np.int64), np.array([owner_of(a)], np.int64)))
    seen.add([b], [], None)  # b holds no bucket; a's is also reported as b's (one more comparison, never one less)
    assert seen.bucket_holders(np.array([11], np.int64)) == {a: [11], b: [11]}
    assert seen.known_ids([a, b, "f" * 24]) == [a, b]
