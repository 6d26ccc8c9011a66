"""The near-duplicate index that lives in the database: MinHash signatures and LSH buckets.

Each load looks up only the buckets of its own batch, among stories seen within the rolling
window, and writes the signatures and buckets of the stories it stores. Nothing is held in
memory between runs; the lookup is one join per batch, then a fetch of the signatures it found.
(Within a writer session, from its second load on, for a batch small beside the window, the
join is answered from memory:
`warehouse/seen_keys.py`, then `candidates_among` fetches the signatures.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from warehouse.connection import execute_over
from warehouse.dedup import Candidate
from warehouse.statement_queue import StatementQueue

__all__ = ["find_candidates", "candidates_among", "add_signatures", "add_buckets"]


def find_candidates(
    con: duckdb.DuckDBPyConnection, keys: Sequence[int] | np.ndarray, since: datetime
) -> tuple[list[Candidate], dict[str, list[int]]]:
    """Stories seen since `since` that share a bucket with `keys` (distinct bucket keys, such as
    `PreparedBatch.band_keys`), and their shared keys."""
    if len(keys) == 0:
        return [], {}
    # Two steps: the stories sharing a bucket, then the signatures of those few. One join of
    # all three reads every stored signature to build its hash table (measured on 100k
    # stories, batch of 10,000: 27 ms against 13 + 4).
    shared = execute_over(
        con,
        "SELECT b.article_id, list(b.band_key) FROM lsh_buckets b JOIN batch_rows k USING (band_key) "
        "WHERE b.seen_at >= ? GROUP BY b.article_id",
        pa.table({"band_key": pa.array(np.asarray(keys, dtype=np.int64))}),
        [since],
    ).fetchall()
    if not shared:
        return [], {}
    return candidates_among(con, dict(shared), since)


def candidates_among(
    con: duckdb.DuckDBPyConnection, keys_of: dict[str, list[int]], since: datetime
) -> tuple[list[Candidate], dict[str, list[int]]]:
    """`find_candidates` once the stories sharing a bucket are known (`keys_of`: story id → the
    shared keys, e.g. from a session's `warehouse.seen_keys.SeenKeys.bucket_holders`): those of
    them seen since `since`, with their signatures. (A story's signature and buckets are written
    together, with one `seen_at`.)"""
    if not keys_of:
        return [], {}
    rows = con.execute(
        "SELECT article_id, cluster_id, minhash FROM article_signatures WHERE article_id IN (SELECT unnest(?::VARCHAR[])) "
        "AND seen_at >= ? ORDER BY article_id",
        [sorted(keys_of), since],
    ).fetchall()
    candidates = [Candidate(aid, cluster, np.frombuffer(blob, dtype="<u4")) for aid, cluster, blob in rows]
    return candidates, {c.article_id: list(keys_of[c.article_id]) for c in candidates}


def add_signatures(queue: StatementQueue, signatures: pa.Table, cluster_ids: Sequence[str], now: datetime) -> None:
    """Queue the insert that stores the signatures of stories stored for the first time (new
    ones and copies: signatures are insert-only). `signatures`: rows of
    `warehouse.batch_tables.signature_rows` (article_id, minhash, band_keys); `cluster_ids`: each
    story's cluster, in the same order; `now`: their `seen_at`, the one their buckets get
    (`add_buckets`). Stories without a signature (short bodies) are skipped."""
    table = signatures.append_column("cluster_id", pa.array(list(cluster_ids), pa.string()))
    if table["minhash"].null_count:
        table = table.filter(pc.is_valid(table["minhash"]))
    if table.num_rows == 0:
        return
    queue.execute("INSERT INTO article_signatures (article_id, cluster_id, seen_at, minhash) "
                  "SELECT article_id, cluster_id, ?, minhash FROM batch_rows",
                  table.select(["article_id", "cluster_id", "minhash"]), [now])


def add_buckets(queue: StatementQueue, buckets: pa.Table, now: datetime) -> None:
    """Queue the insert of the LSH bucket rows (`warehouse.batch_tables.bucket_rows`) of stories
    stored for the first time, seen at `now`. They do not depend on what dedup decides about the
    stories, so a load writes them before it decides."""
    if buckets.num_rows:
        queue.execute("INSERT INTO lsh_buckets (band_key, article_id, seen_at) SELECT band_key, article_id, ? FROM batch_rows",
                      buckets, [now])
