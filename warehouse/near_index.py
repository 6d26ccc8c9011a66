"""The near-duplicate index that lives in the database: MinHash signatures and LSH buckets.

Each load looks up only the buckets of its own batch, among stories seen within the rolling
window, and writes the signatures and buckets of the stories it stores. Nothing is held in
memory between runs, and the lookup is one join per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa

from warehouse.dedup import Candidate
from warehouse.records import Decision

__all__ = ["find_candidates", "add_signatures"]

_TS = pa.timestamp("us", tz="UTC")


def find_candidates(
    con: duckdb.DuckDBPyConnection, keys: Sequence[int], since: datetime
) -> tuple[list[Candidate], dict[str, list[int]]]:
    """Stories seen since `since` that share a bucket with `keys`, and their shared keys."""
    if not keys:
        return [], {}
    con.register("batch_keys", pa.table({"band_key": pa.array(sorted(set(keys)), pa.int64())}))
    try:
        rows = con.execute(
            "SELECT b.article_id, list(b.band_key), any_value(s.cluster_id), any_value(s.minhash) "
            "FROM lsh_buckets b JOIN batch_keys k USING (band_key) "
            "JOIN article_signatures s USING (article_id) "
            "WHERE b.seen_at >= ? GROUP BY b.article_id",
            [since],
        ).fetchall()
    finally:
        con.unregister("batch_keys")
    candidates = [Candidate(aid, cluster, np.frombuffer(blob, dtype="<u4")) for aid, _, cluster, blob in rows]
    return candidates, {aid: list(shared) for aid, shared, _, _ in rows}


def add_signatures(con: duckdb.DuckDBPyConnection, decisions: Sequence[Decision], now: datetime) -> None:
    """Store the signature and buckets of every story in `decisions` that has one. Pass only
    stories stored for the first time (new ones and copies): signatures are insert-only."""
    signed = [d for d in decisions if d.signature is not None]
    if not signed:
        return
    con.register(
        "batch_signatures",
        pa.table(
            {
                "article_id": [d.article_id for d in signed],
                "cluster_id": [d.cluster_id or d.article_id for d in signed],
                "seen_at": pa.array([now] * len(signed), _TS),
                "minhash": pa.array([np.asarray(d.signature, dtype="<u4").tobytes() for d in signed], pa.binary()),
            }
        ),
    )
    con.register(
        "batch_buckets",
        pa.table(
            {
                "band_key": pa.array([k for d in signed for k in d.keys], pa.int64()),
                "article_id": [d.article_id for d in signed for _ in d.keys],
                "seen_at": pa.array([now] * sum(len(d.keys) for d in signed), _TS),
            }
        ),
    )
    try:
        con.execute("INSERT INTO article_signatures BY NAME SELECT * FROM batch_signatures")
        con.execute("INSERT INTO lsh_buckets BY NAME SELECT * FROM batch_buckets")
    finally:
        con.unregister("batch_signatures")
        con.unregister("batch_buckets")
