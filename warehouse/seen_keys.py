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

__all__ = ["BucketIndex", "SeenKeys", "SessionKeys", "owner_of", "read_seen_keys", "count_bucket_keys"]


def owner_of(article_id: str) -> int:
    """A story's number in the bucket index: its id's first 15 hex digits (ids are sha256 digits,
    so two stories of a file share it with odds of about 1 in 10^9 at a million stories; if they
    did, the other would only be compared too, by its full signature)."""
    return int(article_id[:15], 16)


@dataclass
class BucketIndex:
    """LSH bucket keys and the story (`owner_of`) holding each, as sorted arrays: one large run,
    plus one young run that takes the keys added since the large one was last merged (merging
    sorted runs with a stable sort is linear, so each is merged into the next when it grows past
    `young_fraction` of it, not on each addition)."""

    keys: np.ndarray
    owners: np.ndarray
    young_keys: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    young_owners: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    young_fraction: float = 0.125

    def __len__(self) -> int:
        return len(self.keys) + len(self.young_keys)

    def add(self, keys: np.ndarray, owners: np.ndarray) -> None:
        self.young_keys, self.young_owners = _merged(self.young_keys, self.young_owners, keys, owners)
        if len(self.young_keys) > self.young_fraction * len(self.keys):
            self.keys, self.owners = _merged(self.keys, self.owners, self.young_keys, self.young_owners)
            self.young_keys, self.young_owners = np.empty(0, np.int64), np.empty(0, np.int64)

    def holders(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pairs (key, owner) of the index whose key is one of `keys` (sorted, distinct)."""
        found_keys, found_owners = [], []
        for run, owners in ((self.keys, self.owners), (self.young_keys, self.young_owners)):
            if len(run) == 0:
                continue
            lo = np.searchsorted(run, keys)
            inside = lo < len(run)
            hit = np.zeros(len(keys), dtype=bool)
            hit[inside] = run[lo[inside]] == keys[inside]
            if not hit.any():
                continue
            lo = lo[hit]
            counts = np.searchsorted(run, keys[hit], side="right") - lo  # one entry per story holding the key
            at = np.repeat(lo - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
            found_keys.append(run[at])
            found_owners.append(owners[at])
        if not found_keys:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(found_keys), np.concatenate(found_owners)


def _merged(keys: np.ndarray, owners: np.ndarray, more_keys: np.ndarray, more_owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    all_keys = np.concatenate([keys, np.asarray(more_keys, np.int64)])
    order = np.argsort(all_keys, kind="stable")
    return all_keys[order], np.concatenate([owners, np.asarray(more_owners, np.int64)])[order]


@dataclass
class SeenKeys:
    """The keys the file holds: story ids, fingerprints of original stories, and the LSH bucket
    keys of stories seen within the dedup window (when read), with their holders."""

    article_ids: set[str]
    fingerprints: set[str]
    buckets: BucketIndex
    id_of: dict[int, str] = field(default_factory=dict)  # owner_of(id) -> id, for the bucket index
    ids_of: dict[int, list[str]] = field(default_factory=dict)  # the owners two ids share, if any

    def __post_init__(self) -> None:
        self._number(self.article_ids)

    def _number(self, ids: Iterable[str]) -> None:
        for article_id in ids:
            owner = owner_of(article_id)
            other = self.id_of.setdefault(owner, article_id)
            if other != article_id:
                shared = self.ids_of.setdefault(owner, [other])
                if article_id not in shared:
                    shared.append(article_id)

    def known_ids(self, ids: Iterable[str]) -> list[str]:
        return [i for i in ids if i in self.article_ids]

    def known_fingerprints(self, fingerprints: Iterable[str]) -> list[str]:
        return [f for f in fingerprints if f in self.fingerprints]

    def bucket_holders(self, keys: np.ndarray) -> dict[str, list[int]]:
        """The stories holding any of `keys` (sorted, distinct bucket keys), each with the keys it
        holds: the stories `warehouse.near_index.find_candidates` would find, before its window."""
        found_keys, owners = self.buckets.holders(keys)
        out: dict[str, list[int]] = {}
        for key, owner in zip(found_keys.tolist(), owners.tolist()):
            for article_id in self.ids_of.get(owner) or (self.id_of[owner],):
                out.setdefault(article_id, []).append(key)
        return out

    def add(self, ids: Sequence[str], fingerprints: Iterable[str], buckets: pa.Table | None) -> None:
        """Record what a load stores: every story id of its batch, the fingerprints of its new
        originals, and its bucket rows (band_key, `item`: a position in `ids`)."""
        owners = np.fromiter((owner_of(i) for i in ids), dtype=np.int64, count=len(ids))
        self._number(i for i in ids if i not in self.article_ids)
        self.article_ids.update(ids)
        self.fingerprints.update(fingerprints)
        if buckets is not None and buckets.num_rows:
            self.buckets.add(buckets["band_key"].to_numpy(), owners[buckets["item"].to_numpy()])


@dataclass
class SessionKeys:
    """A writer session's filters: read when its second load starts (a session with one load,
    like a scheduled run's, never pays for reading them), then kept up to date by each load.
    `limit`: the most bucket keys worth holding in memory (16 bytes each, with their story);
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


def read_seen_keys(con: duckdb.DuckDBPyConnection, since: datetime) -> SeenKeys:
    """The keys the file holds now (`since`: the start of the dedup window; older bucket rows are
    never candidates, and the window only moves forward)."""
    ids, fingerprints = con.execute(
        "SELECT list(article_id), list(body_fingerprint) FILTER (WHERE duplicate_of IS NULL AND body_fingerprint IS NOT NULL) "
        "FROM articles"
    ).fetchall()[0]
    buckets = con.execute(
        "SELECT band_key, ('0x' || left(article_id, 15))::BIGINT AS owner FROM lsh_buckets WHERE seen_at >= ? "
        "ORDER BY band_key", [since]  # the owner is `owner_of(article_id)`
    ).fetchnumpy()
    return SeenKeys(set(ids or ()), set(fingerprints or ()),
                    BucketIndex(np.asarray(buckets["band_key"], np.int64), np.asarray(buckets["owner"], np.int64)))
