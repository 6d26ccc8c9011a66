"""What a writer session knows the file holds: the keys dedup looks up, kept in memory.

Every load asks the file three questions about its batch: which of these story ids are stored
(their content hashes), which of these body fingerprints belong to a stored original, and which
stored stories hold these LSH bucket keys (`warehouse.near_index.find_candidates`). Each is a
scan of a column over the whole table, so its cost grows with the warehouse: on a 100k file,
about 20 ms of a batch of 1,000's 85 (`benchmarks/load_profile.py`), most of it the bucket join
over 3.2 million rows.

A session that loads batch after batch (`Warehouse.session()`: a bulk load, a backfill) holds
the file, so nothing else writes it meanwhile. From its second load on, at the first load whose
batch is small beside the dedup window (`SessionKeys.batch_share`), it reads the keys the file
holds and keeps them in memory (a set of ids, a set of fingerprints, a hash table of bucket keys and their
stories), asks the file about ids and fingerprints only when they are among them, and reads
only the signatures of the stories the bucket table names. What it keeps may hold more than the
file (a load that rolled back, rows removed since) but never less: every key a load stores is
added before its transaction commits. An extra key only costs a question whose answer is empty,
so every decision is the one the plain lookups make. A session's first load, like a scheduled
run's only one, asks the file as before: reading the keys costs about 0.2 s on a 100k file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa

__all__ = ["BucketIndex", "SeenKeys", "SessionKeys", "numbering", "read_seen_keys", "count_bucket_keys", "small_pages"]


class BucketIndex:
    """A multimap from LSH bucket key to the stories holding it (each story by a number, its
    "owner"), so that looking up or adding a batch's 32,000 keys is a few vectorised passes
    (about 1 ms each on 3.2 million keys), not a Python loop or a scan.

    The pairs stay in the order they came: the ones it was made with, in the arrays it was given
    (as read from the file), then those added, in arrays that double as they fill. An
    open-addressing hash table with linear probing holds, per slot, 1 + the position of a pair
    (0: empty). A key's home slot is its high bits (the keys are uniform 63-bit hashes). The
    table stays at most half full; past that it is built again, larger. 3.2 million keys take
    about 120 MB: 67 MB of table, 51 MB of pairs.

    Memory is time here: every page of a new array costs a fault on first touch, and in a
    process that has loaded a batch those cost 2-5 ms per MB on the development machine (numpy
    asks for transparent huge pages, which this machine is slow to fault in). Hence pairs are not
    copied, the table starts zeroed by the kernel, and the one-pass fill works in place.

    Why not a library: Python's dict takes about 100 bytes a key; pandas' and pyarrow's hash
    tables are rebuilt by every lookup or addition."""

    def __init__(self, keys: np.ndarray, owners: np.ndarray) -> None:
        self._first_keys = np.ascontiguousarray(keys, np.int64)
        self._first_owners = np.ascontiguousarray(owners, np.int64)
        self._first = len(self._first_keys)
        self._added_keys = np.empty(0, np.int64)
        self._added_owners = np.empty(0, np.int64)
        self._added = 0
        self._build(3 * self._first)

    def __len__(self) -> int:
        return self._first + self._added

    def _home(self, keys: np.ndarray) -> np.ndarray:
        return keys >> (63 - self._bits)

    def _at(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The keys and owners of the pairs at `positions`."""
        if self._added == 0:
            return self._first_keys[positions], self._first_owners[positions]
        later = positions >= self._first
        if self._first == 0 or later.all():
            return self._added_keys[positions - self._first], self._added_owners[positions - self._first]
        keys, owners = self._first_keys[np.where(later, 0, positions)], self._first_owners[np.where(later, 0, positions)]
        keys[later] = self._added_keys[positions[later] - self._first]
        owners[later] = self._added_owners[positions[later] - self._first]
        return keys, owners

    def _build(self, slots: int) -> None:
        """A new table of at least `slots` slots, holding every pair, filled in one pass: in
        order of home slot, each pair takes its home or the slot after the pair before it,
        whichever is later (what inserting them one by one with probing would do)."""
        self._bits = max(10, int(max(slots, 2) - 1).bit_length())
        self._table = np.zeros(1 << self._bits, np.int32)
        n = len(self)
        if n == 0:
            return
        keys = self._first_keys if self._added == 0 else np.concatenate(
            [self._first_keys, self._added_keys[: self._added]])
        # sort (home, position) packed in one int64 (numpy sorts plain integers fastest)
        position_bits = max(n - 1, 1).bit_length()
        packed = self._home(keys)
        packed <<= position_bits
        step = np.arange(n, dtype=np.int32)
        packed |= step
        packed.sort()
        stored = np.empty(n, np.int32)  # 1 + position, as the table holds it
        np.bitwise_and(packed, (1 << position_bits) - 1, out=stored, casting="unsafe")
        stored += 1
        slots_taken = packed
        slots_taken >>= position_bits  # the homes, in order
        slots_taken -= step
        np.maximum.accumulate(slots_taken, out=slots_taken)
        slots_taken += step
        if slots_taken[-1] < len(self._table):
            self._table[slots_taken] = stored
            return
        inside = slots_taken < len(self._table)  # the last few run past the end: they wrap round
        self._table[slots_taken[inside]] = stored[inside]
        self._insert(stored[~inside].astype(np.int64) - 1)

    def add(self, keys: np.ndarray, owners: np.ndarray) -> None:
        """Add (key, owner) pairs."""
        keys, owners = np.asarray(keys, np.int64), np.asarray(owners, np.int64)
        start, end = self._added, self._added + len(keys)
        if end > len(self._added_keys):
            grown = max(2 * len(self._added_keys), end, 1 << 16)
            self._added_keys = _grown(self._added_keys, start, grown)
            self._added_owners = _grown(self._added_owners, start, grown)
        self._added_keys[start:end] = keys
        self._added_owners[start:end] = owners
        self._added = end
        if 2 * len(self) > len(self._table):
            self._build(3 * len(self))
        else:
            self._insert(np.arange(self._first + start, self._first + end, dtype=np.int64))

    def _insert(self, positions: np.ndarray) -> None:
        mask = len(self._table) - 1
        slots = self._home(self._at(positions)[0])
        stored = (positions + 1).astype(np.int32)
        pending = np.arange(len(positions))
        while len(pending):
            at = slots[pending]
            free = self._table[at] == 0
            mine, there = stored[pending[free]], at[free]
            # several may race for one free slot: each writes, one wins, the others probe on
            self._table[there] = mine
            landed = np.zeros(len(pending), dtype=bool)
            landed[free] = self._table[there] == mine
            pending = pending[~landed]
            slots[pending] = (slots[pending] + 1) & mask

    def holders(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pairs (key, owner) whose key is one of `keys` (distinct)."""
        keys = np.asarray(keys, np.int64)
        mask = len(self._table) - 1
        slots = self._home(keys)
        active = np.arange(len(keys))
        found: list[np.ndarray] = []
        while len(active):
            at = self._table[slots[active]]
            occupied = at > 0
            active, at = active[occupied], at[occupied] - 1  # a key's pairs lie between its home and an empty slot
            match = self._at(at)[0] == keys[active]
            if match.any():
                found.append(at[match])
            slots[active] = (slots[active] + 1) & mask
        if not found:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return self._at(np.concatenate(found))


@contextmanager
def small_pages() -> Iterator[None]:
    """numpy's arrays made in the block do not ask for transparent huge pages; then as before.

    numpy asks the kernel for huge pages (`madvise`) for every array of 4 MB or more. Where the
    kernel's THP defrag setting is `madvise` (its default), the first touch of such memory may
    wait while the kernel compacts memory to find 2 MB pages: in a writer session, reading the
    keys of a 100k file took a load of 1,000 from about 240 ms to 430 ms in most runs, and a few
    later loads, whose key arrays grew, from 55 ms to 120-145 ms (100 loads of 1,000, uncapped,
    3 runs each way with `NUMPY_MADVISE_HUGEPAGE` 0 and 1). A session's arrays are hash tables
    probed at random and rebuilt as they grow, which gain little from huge pages. The switch
    is numpy's (`_set_madvise_hugepage`, what the `NUMPY_MADVISE_HUGEPAGE` environment variable
    sets at import) and the process's: other threads' arrays made meanwhile ask for none either.
    Without it (another numpy), the block runs as it is."""
    switch = getattr(getattr(getattr(np, "_core", None), "multiarray", None), "_set_madvise_hugepage", None)
    if switch is None:
        yield
        return
    before = switch(False)
    try:
        yield
    finally:
        switch(before)


def _grown(values: np.ndarray, used: int, size: int) -> np.ndarray:
    """A new array of `size` holding the first `used` of `values`; the rest is left untouched,
    so its pages are faulted in only as pairs are added (concatenating with `np.empty` wrote
    them all at once: some 2 ms a batch of 1,000 over a session, `BucketIndex` above)."""
    out = np.empty(size, values.dtype)
    out[:used] = values[:used]
    return out


@dataclass
class SeenKeys:
    """The keys the file holds: story ids, fingerprints of original stories, and the LSH bucket
    keys of stories seen within the dedup window (when read), with their holders.

    In the bucket index a story is a number: for the stories read from the file, DuckDB's
    `hash(article_id) >> 1` (numbers two stories share, with odds of 1 in 10^8 at a million
    stories, report both: one more comparison by full signature, never one less); for stories
    the session stores, -1, -2, and so on."""

    article_ids: set[str]
    fingerprints: set[str]
    buckets: BucketIndex
    id_of: dict[int, str]  # story number -> id
    ids_of: dict[int, list[str]] = field(default_factory=dict)  # numbers two stories of the file share
    number_of: dict[str, int] = field(default_factory=dict)  # id -> number, of the stories the session stored

    def known_ids(self, ids: Iterable[str]) -> list[str]:
        return [i for i in ids if i in self.article_ids]

    def known_fingerprints(self, fingerprints: Iterable[str]) -> list[str]:
        return [f for f in fingerprints if f in self.fingerprints]

    def bucket_holders(self, keys: np.ndarray) -> dict[str, list[int]]:
        """The stories holding any of `keys` (distinct bucket keys), each with the keys it holds:
        the stories `warehouse.near_index.find_candidates` would find, before its window."""
        found_keys, owners = self.buckets.holders(keys)
        out: dict[str, list[int]] = {}
        for key, owner in zip(found_keys.tolist(), owners.tolist()):
            # (a bucket row whose story has no articles row, which only a hand-edited file has,
            # names no story)
            for article_id in self.ids_of.get(owner) or ((self.id_of[owner],) if owner in self.id_of else ()):
                out.setdefault(article_id, []).append(key)
        return out

    def add(self, ids: Sequence[str], fingerprints: Iterable[str], buckets: pa.Table | None) -> None:
        """Record what a load stores: every story id of its batch, the fingerprints of its new
        originals, and its bucket rows (band_key, `item`: a position in `ids`)."""
        self.article_ids.update(ids)
        self.fingerprints.update(fingerprints)
        if buckets is None or not buckets.num_rows:
            return
        items = buckets["item"].to_numpy()
        numbers = np.zeros(len(ids), np.int64)
        for item in set(items[np.flatnonzero(np.diff(items, prepend=-1))].tolist()):  # (rows come item by item)
            numbers[item] = self._number(ids[item])
        self.buckets.add(buckets["band_key"].to_numpy(), numbers[items])

    def _number(self, article_id: str) -> int:
        number = self.number_of.get(article_id)
        if number is None:  # (a story a rolled-back load stored keeps its number when loaded again)
            number = self.number_of[article_id] = -1 - len(self.number_of)
            self.id_of[number] = article_id
        return number


@dataclass
class SessionKeys:
    """A writer session's keys: read when a load from its second on starts (a session with one
    load, like a scheduled run's, never pays for reading them), then kept up to date by each load.
    `limit`: the most bucket keys worth holding in memory (about 40 bytes each, ids and
    fingerprints aside); above it, the session keeps asking the file. `batch_share`: the keys are
    read only for a load whose batch has at most this share of the window's bucket keys.

    Why the share: the file answers a batch's bucket lookup with one join that scans the window's
    keys, about 21 ms per 3.2 million keys plus 0.05 µs a batch key; the keys in memory answer it
    and take the batch's new keys for about 0.15 µs a batch key, and reading them costs 0.2 s per
    3.2 million (measured on 100k stories: batches of 1,000 save some 20 ms each, batches of
    10,000 none). Memory wins below about 7% of the window's keys; 5% leaves room for the read."""

    limit: int
    batch_share: float = 0.05
    loads: int = 0
    keys: SeenKeys | None = None
    too_many: bool = False

    def for_load(self, con: duckdb.DuckDBPyConnection, since: datetime, batch_keys: int) -> SeenKeys | None:
        """The keys for the load that starts now, whose batch has `batch_keys` distinct bucket
        keys (None: ask the file)."""
        self.loads += 1
        if self.keys is None and self.loads >= 2 and not self.too_many:
            window = count_bucket_keys(con, since)
            if window > self.limit:
                self.too_many = True
            elif batch_keys <= self.batch_share * window:
                self.keys = read_seen_keys(con, since)
        return self.keys


def count_bucket_keys(con: duckdb.DuckDBPyConnection, since: datetime) -> int:
    return con.execute("SELECT count(*) FROM lsh_buckets WHERE seen_at >= ?", [since]).fetchall()[0][0]


def numbering(numbers: Sequence[int], article_ids: Sequence[str]) -> tuple[dict[int, str], dict[int, list[str]]]:
    """Story number -> id, and the numbers that several stories share -> their ids."""
    id_of = dict(zip(numbers, article_ids))
    if len(id_of) == len(article_ids):
        return id_of, {}
    grouped: dict[int, list[str]] = {}
    for number, article_id in zip(numbers, article_ids):
        grouped.setdefault(number, []).append(article_id)
    return id_of, {n: shared for n, shared in grouped.items() if len(shared) > 1}


def read_seen_keys(con: duckdb.DuckDBPyConnection, since: datetime) -> SeenKeys:
    """The keys the file holds now (`since`: the start of the dedup window; older bucket rows are
    never candidates, and the window only moves forward)."""
    ids = con.execute("SELECT article_id, (hash(article_id) >> 1)::BIGINT AS number FROM articles").fetchnumpy()
    fingerprints = con.execute(
        "SELECT DISTINCT body_fingerprint FROM articles WHERE duplicate_of IS NULL AND body_fingerprint IS NOT NULL"
    ).fetchnumpy()["body_fingerprint"]
    buckets = con.execute(
        "SELECT band_key, (hash(article_id) >> 1)::BIGINT AS number FROM lsh_buckets WHERE seen_at >= ?",
        [since],
    ).fetchnumpy()
    article_ids = ids["article_id"].tolist()
    id_of, ids_of = numbering(ids["number"].tolist(), article_ids)
    return SeenKeys(set(article_ids), set(fingerprints.tolist()),
                    BucketIndex(np.asarray(buckets["band_key"], np.int64), np.asarray(buckets["number"], np.int64)),
                    id_of, ids_of)
