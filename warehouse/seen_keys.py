"""What a writer session knows the file holds: may-contain filters over the keys dedup looks up.

Every load asks the file three questions about its batch: which of these story ids are stored
(their content hashes), which of these body fingerprints belong to a stored original, and which
of these LSH bucket keys stored stories hold (`warehouse.near_index.find_candidates`). Each is a
scan of a column over the whole table, so its cost grows with the warehouse: on a 100k file,
about 20 ms of a batch of 1,000's 85 (`benchmarks/load_profile.py`), most of it the bucket join.

A session that loads batch after batch (`Warehouse.session()`: a bulk load, a backfill) holds
the file, so nothing else writes it meanwhile. From its second load on it keeps the keys the file
holds in memory and asks the file only about the keys of a batch that are among them, which in a
stream of new stories is almost none. The filters may hold more than the file (a batch that
rolled back, rows removed since) but never less: every key a load stores is added, whether its
transaction then commits or not. An extra key only costs a question whose answer is empty, so
every decision is the one the plain lookups make.

Why not a library: a Bloom filter package would answer "maybe" for a few per cent of the 32,000
bucket keys of each batch, and each maybe is a question to the file; the keys are uniform 63-bit
hashes already, so exact sets are as small as a filter with few false answers (8 bytes a key).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa

__all__ = ["BucketIndex", "SeenKeys", "SessionKeys", "numbering", "read_seen_keys", "count_bucket_keys"]


_EMPTY = -1  # no bucket key is negative: they are 63-bit hashes (`parsers.signatures.band_keys`)


class BucketIndex:
    """A multimap from LSH bucket key to the stories holding it (each story by a number, its
    "owner"): an open-addressing hash table with linear probing, in two numpy arrays, so that
    looking up or adding a batch's 32,000 keys is a few vectorised passes (about 1 ms each on
    3.2 million keys), not a Python loop. A key's home slot is its high bits (the keys are
    uniform hashes). The table stays at most half full; past that it doubles.

    Why not a library: Python's dict would take about 100 bytes a key; pandas' and pyarrow's
    hash tables are rebuilt by every lookup or addition."""

    def __init__(self, keys: np.ndarray, owners: np.ndarray) -> None:
        self._count = 0
        self._allocate(max(len(keys), 1) * 3)
        self._put_all(np.asarray(keys, np.int64), np.asarray(owners, np.int64))

    def __len__(self) -> int:
        return self._count

    def _allocate(self, slots: int) -> None:
        self._bits = max(10, int(slots - 1).bit_length())
        self._keys = np.full(1 << self._bits, _EMPTY, np.int64)
        self._owners = np.zeros(1 << self._bits, np.int64)

    def _home(self, keys: np.ndarray) -> np.ndarray:
        return keys >> (63 - self._bits)

    def _put_all(self, keys: np.ndarray, owners: np.ndarray) -> None:
        """Fill the empty table in one pass: in key order, each entry takes its home slot or the
        one after the entry before it, whichever is later (what probing one by one would do)."""
        if not len(keys):
            return
        if len(keys) > 1 and not bool(np.all(keys[1:] >= keys[:-1])):
            order = np.argsort(keys, kind="stable")
            keys, owners = keys[order], owners[order]
        step = np.arange(len(keys))
        slots = np.maximum.accumulate(self._home(keys) - step) + step
        inside = slots < len(self._keys)  # the last few may run past the end: they wrap round
        self._keys[slots[inside]] = keys[inside]
        self._owners[slots[inside]] = owners[inside]
        self._count += int(inside.sum())
        if not inside.all():
            self.add(keys[~inside], owners[~inside])

    def add(self, keys: np.ndarray, owners: np.ndarray) -> None:
        """Add (key, owner) pairs (a story holds each of its keys once)."""
        keys, owners = np.asarray(keys, np.int64), np.asarray(owners, np.int64)
        if 2 * (self._count + len(keys)) > len(self._keys):
            old = self._keys != _EMPTY
            old_keys, old_owners = self._keys[old], self._owners[old]
            self._count = 0
            self._allocate(4 * (len(old_keys) + len(keys)))
            self._put_all(np.concatenate([old_keys, keys]), np.concatenate([old_owners, owners]))
            return
        mask = len(self._keys) - 1
        slots = self._home(keys)
        pending = np.arange(len(keys))
        while len(pending):
            at = slots[pending]
            free = self._keys[at] == _EMPTY
            mine, there = pending[free], at[free]
            # several may race for one free slot: each writes, one wins, the others probe on
            self._keys[there] = keys[mine]
            self._owners[there] = owners[mine]
            landed = np.zeros(len(pending), dtype=bool)
            landed[free] = (self._keys[there] == keys[mine]) & (self._owners[there] == owners[mine])
            pending = pending[~landed]
            slots[pending] = (slots[pending] + 1) & mask
        self._count += len(keys)

    def holders(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pairs (key, owner) whose key is one of `keys` (distinct)."""
        keys = np.asarray(keys, np.int64)
        mask = len(self._keys) - 1
        slots = self._home(keys)
        active = np.arange(len(keys))
        found_keys, found_owners = [], []
        while len(active):
            at = slots[active]
            there = self._keys[at]
            match = there == keys[active]
            if match.any():
                found_keys.append(there[match])
                found_owners.append(self._owners[at[match]])
            active = active[there != _EMPTY]  # a key's entries lie between its home and an empty slot
            slots[active] = (slots[active] + 1) & mask
        if not found_keys:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(found_keys), np.concatenate(found_owners)


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
            for article_id in self.ids_of.get(owner) or (self.id_of[owner],):
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
        for item in np.unique(items).tolist():
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
    """A writer session's filters: read when its second load starts (a session with one load,
    like a scheduled run's, never pays for reading them), then kept up to date by each load.
    `limit`: the most bucket keys worth holding in memory (the index takes 48-96 bytes a key);
    above it, the session keeps asking the file."""

    limit: int
    loads: int = 0
    keys: SeenKeys | None = None
    too_many: bool = False

    def for_load(self, con: duckdb.DuckDBPyConnection, since: datetime) -> SeenKeys | None:
        """The filters for the load that starts now (None: ask the file)."""
        self.loads += 1
        if self.keys is None and self.loads >= 2 and not self.too_many:
            if count_bucket_keys(con, since) > self.limit:
                self.too_many = True
            else:
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
        "SELECT band_key, (hash(article_id) >> 1)::BIGINT AS number FROM lsh_buckets WHERE seen_at >= ? ORDER BY band_key",
        [since],
    ).fetchnumpy()
    article_ids = ids["article_id"].tolist()
    id_of, ids_of = numbering(ids["number"].tolist(), article_ids)
    return SeenKeys(set(article_ids), set(fingerprints.tolist()),
                    BucketIndex(np.asarray(buckets["band_key"], np.int64), np.asarray(buckets["number"], np.int64)),
                    id_of, ids_of)
