"""Arrow tables of a batch's rows, built from Python records (no SQL here): what the loader
inserts with one `INSERT … SELECT` per table. Built before the file is taken where possible
(`warehouse.dedup.prepare` builds the versions table and the articles' own columns), since
building them is CPU work that does not need the file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from collections import Counter
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from warehouse.records import Decision, LoadItem

__all__ = ["VersionSource", "versions_table", "with_run_id", "article_rows", "articles_table", "signature_rows",
           "bucket_rows", "search_rows", "select_rows", "select_item_rows", "TS"]

TS = pa.timestamp("us", tz="UTC")


class VersionSource(Protocol):
    """What a version row is made of: a prepared item or a decision."""

    item: LoadItem
    article_id: str
    content_hash: str
    fingerprint: str | None


def article_rows(rows: Sequence[VersionSource]) -> pa.Table:
    """The `articles` columns that do not depend on the dedup decision, one row per record, in
    order: built before the file is taken (`warehouse.dedup.prepare`); `articles_table` adds the
    decision's columns to the rows stored."""
    arts = [d.item.article for d in rows]
    return pa.table(
        {
            "article_id": pa.array([d.article_id for d in rows], pa.string()),
            "source": pa.array([a.source or "" for a in arts], pa.string()),
            "url": pa.array([a.url for a in arts], pa.string()),
            "canonical_url": pa.array([a.canonical_url for a in arts], pa.string()),
            "title": pa.array([a.title for a in arts], pa.string()),
            "published_at": pa.array([a.published_at for a in arts], TS),
            "language": pa.array([a.language for a in arts], pa.string()),
            "content_hash": pa.array([d.content_hash for d in rows], pa.string()),
            "body_fingerprint": pa.array([d.fingerprint for d in rows], pa.string()),
        }
    )


def articles_table(rows: pa.Table, decisions: Sequence[Decision], run_id: str | None, now: datetime) -> pa.Table:
    """The `articles` rows of stories stored for the first time: `rows` (their `article_rows`)
    with the columns each one's decision sets (`decisions`, in the same order)."""
    n = len(decisions)
    decided = {
        "first_seen_at": pa.array([now] * n, TS),
        "last_seen_at": pa.array([now] * n, TS),
        "duplicate_of": pa.array([d.duplicate_of for d in decisions], pa.string()),
        "duplicate_reason": pa.array([d.reason for d in decisions], pa.string()),
        "cluster_id": pa.array([d.cluster_id or d.article_id for d in decisions], pa.string()),
        "duplicate_similarity": pa.array([d.similarity for d in decisions], pa.float64()),
        "first_run_id": pa.array([run_id] * n, pa.string()),
    }
    for name, column in decided.items():
        rows = rows.append_column(name, column)
    return rows


def _block_layout(arts: list) -> tuple[pa.Array, pa.Array]:
    """The kinds and the lengths (in characters) of each article's body blocks, as two aligned
    list arrays built from flat columns: `body` holds the text once, and the migration-8 macro
    `body_blocks_of(body, block_kinds, block_lengths)` cuts it back into blocks."""
    offsets = [0]
    kinds: list[str] = []
    lengths: list[int] = []
    for a in arts:
        for b in a.body:
            kinds.append(b.kind)
            lengths.append(len(b.text))
        offsets.append(len(kinds))
    offsets_array = pa.array(offsets, pa.int32())
    return (pa.ListArray.from_arrays(offsets_array, pa.array(kinds, pa.string())),
            pa.ListArray.from_arrays(offsets_array, pa.array(lengths, pa.int32())))


def versions_table(rows: Sequence[VersionSource], run_id: str | None = None) -> pa.Table:
    """One `article_versions` row per record, in order."""
    arts = [d.item.article for d in rows]
    block_kinds, block_lengths = _block_layout(arts)
    return pa.table(
        {
            "article_id": [d.article_id for d in rows],
            "content_hash": [d.content_hash for d in rows],
            "run_id": [run_id] * len(arts),
            "fetched_at": pa.array([d.item.fetched_at for d in rows], TS),
            "parser_version": [a.parser_version for a in arts],
            "source": [a.source or "" for a in arts],
            "url": [a.url for a in arts],
            "canonical_url": [a.canonical_url for a in arts],
            "title": [a.title for a in arts],
            "kicker": [a.kicker for a in arts],
            "lead": [a.lead for a in arts],
            "body": [a.body_text for a in arts],
            "block_kinds": block_kinds,
            "block_lengths": block_lengths,
            "credit": [a.credit for a in arts],
            "authors": pa.array([list(a.authors) for a in arts], pa.list_(pa.string())),
            "language": [a.language for a in arts],
            "published_at": pa.array([a.published_at for a in arts], TS),
            "published_text": [a.published_text for a in arts],
            "modified_at": pa.array([a.modified_at for a in arts], TS),
            "modified_text": [a.modified_text for a in arts],
            "section": [a.section for a in arts],
            "tags": pa.array([list(a.tags) for a in arts], pa.list_(pa.string())),
            "image": [a.image for a in arts],
            "methods": [json.dumps(a.methods, ensure_ascii=False, sort_keys=True) for a in arts],
            "body_fingerprint": [d.fingerprint for d in rows],
        }
    )


def with_run_id(versions: pa.Table, run_id: str | None) -> pa.Table:
    """`versions` with every row's run_id set to `run_id`."""
    at = versions.schema.get_field_index("run_id")
    return versions.set_column(at, "run_id", pa.array([run_id] * versions.num_rows, pa.string()))


class SignatureSource(Protocol):
    article_id: str
    signature: Any  # numpy uint32 array, or None for short bodies
    keys: tuple[int, ...]


def signature_rows(rows: Sequence[SignatureSource]) -> pa.Table:
    """article_id, minhash (little-endian uint32 bytes; null without a signature) and band_keys
    (its LSH bucket keys) of each record, in order: what `near_index.add_signatures` stores."""
    return pa.table(
        {
            "article_id": pa.array([r.article_id for r in rows], pa.string()),
            "minhash": pa.array([None if r.signature is None else np.asarray(r.signature, dtype="<u4").tobytes()
                                 for r in rows], pa.binary()),
            "band_keys": pa.array([list(r.keys) for r in rows], pa.list_(pa.int64())),
        }
    )


def bucket_rows(signatures: pa.Table) -> pa.Table:
    """The LSH bucket rows of `signature_rows`: band_key, article_id, and `item`, the position of
    the record it came from (records without a signature have no keys, so no rows)."""
    keys = signatures["band_keys"].combine_chunks()
    items = pc.list_parent_indices(keys)
    return pa.table({"band_key": pc.list_flatten(keys), "article_id": pc.take(signatures["article_id"], items),
                     "item": items.cast(pa.int32())})


class SearchSource(Protocol):
    article_id: str
    content_hash: str
    item: LoadItem
    terms: Counter
    doc_len: int


def search_rows(rows: Sequence[SearchSource]) -> pa.Table:
    """article_id, content_hash, language, doc_len and the document's search terms with their
    frequencies (two aligned lists) of each record, in order: what `search_index.index_documents`
    indexes. The terms are dictionary-encoded over the whole batch, so that selecting rows later
    copies small integers, not the strings of every posting."""
    offsets = [0]
    terms: list[str] = []
    tfs: list[int] = []
    for r in rows:
        terms.extend(r.terms.keys())
        tfs.extend(r.terms.values())
        offsets.append(len(terms))
    offsets_array = pa.array(offsets, pa.int32())
    return pa.table(
        {
            "article_id": pa.array([r.article_id for r in rows], pa.string()),
            "content_hash": pa.array([r.content_hash for r in rows], pa.string()),
            "language": pa.array([r.item.article.language for r in rows], pa.string()),
            "doc_len": pa.array([r.doc_len for r in rows], pa.int32()),
            "terms": pa.ListArray.from_arrays(offsets_array, pa.array(terms, pa.string()).dictionary_encode()),
            "tfs": pa.ListArray.from_arrays(offsets_array, pa.array(tfs, pa.int32())),
        }
    )


def _all_in_order(positions: Sequence[int], n: int) -> bool:
    return len(positions) == n and all(p == i for i, p in enumerate(positions))


def select_rows(table: pa.Table, positions: Sequence[int]) -> pa.Table:
    """The rows of `table` at `positions`: the table itself when that is all of it, in order
    (the usual case, and a copy of a batch's bodies saved)."""
    if _all_in_order(positions, table.num_rows):
        return table
    return table.take(pa.array(positions, pa.int64()))  # typed, so that an empty selection takes nothing


def select_item_rows(table: pa.Table, positions: Sequence[int], n_items: int) -> pa.Table:
    """The rows of `table` (which has an `item` column: a position among `n_items` records) that
    belong to the records at `positions`: the table itself when that is all of them."""
    if _all_in_order(positions, n_items):
        return table
    return table.filter(pc.is_in(table["item"], value_set=pa.array(positions, pa.int32())))
