"""Full-text search: keeping the BM25 index up to date on every load, and querying it.

The index (search_docs, search_terms, search_postings; migration 0005) holds one document per
story, its current version. A load indexes what it stores in the same transaction: new stories
and copies are added, a story with a new version has its postings replaced. Queries run the
`search_bm25` macro on the query's terms (`parsers.search_terms.query_terms`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from parsers.search_terms import query_terms
from warehouse.statement_queue import StatementQueue
from warehouse.query import run_query

__all__ = ["index_documents", "IndexUpdate", "SessionTerms", "SearchHit", "search"]


@dataclass(frozen=True)
class IndexUpdate:
    """What one `index_documents` call leaves behind: `next_doc_id`, the least document id the
    index leaves free (as given when nothing was added); `term_ids`, the id of every term of the
    batch that was not in the `known_terms` it was given (looked up in the file or given now).
    Neither is committed until the caller's transaction is."""

    next_doc_id: int | None
    term_ids: dict[str, int]


@dataclass
class SessionTerms:
    """The ids of search terms that a writer session's committed loads used, so that its later
    loads look up only the others (`Warehouse.session()`: nothing else writes the file
    meanwhile, and a term's id never changes). Kept only after the load's commit: a load that
    rolls back may have given ids to terms the file then lacks. At most `limit` terms."""

    limit: int
    ids: dict[str, int] = field(default_factory=dict)

    def remember(self, term_ids: Mapping[str, int]) -> None:
        room = self.limit - len(self.ids)
        if room > 0:
            self.ids.update(term_ids if len(term_ids) <= room else islice(term_ids.items(), room))


def index_documents(
    queue: StatementQueue, docs: pa.Table, indexed: Sequence[str] | None = None, next_doc_id: int | None = None,
    known_terms: Mapping[str, int] | None = None,
) -> IndexUpdate:
    """Add or replace documents in the search index (the statements go on `queue`, in the
    caller's transaction; when this returns, the inserts may still be running). `docs`: rows of
    `warehouse.batch_tables.search_rows` (article_id, content_hash, language, doc_len, terms,
    tfs); the last row of a story wins, rows without terms are skipped. `indexed`: the stories
    of `docs` that may be in the index already (None: any of them); the others are only added.
    `next_doc_id`: the least id no document of the index has, when the caller knows it (a
    writer session that holds the file: `Warehouse.session()`); None: ask the file.
    `known_terms`: term -> id of terms the file holds for certain (a session's memory of the
    terms its committed loads used); only the batch's other terms are looked up, and those the
    file lacks are added."""
    with_terms = np.flatnonzero(docs["doc_len"].to_numpy() > 0)
    if len(with_terms) == 0:
        return IndexUpdate(next_doc_id, {})
    if len(with_terms) < docs.num_rows:
        docs = docs.take(pa.array(with_terms))
    ids = docs["article_id"].to_pylist()
    last = {a: i for i, a in enumerate(ids)}
    if len(last) < len(ids):
        docs = docs.take(pa.array(sorted(last.values()), pa.int64()))
        ids = docs["article_id"].to_pylist()
    lookup = ids if indexed is None else sorted(set(indexed).intersection(ids))
    existing = dict(queue.query(
        "SELECT article_id, doc_id FROM search_docs WHERE article_id IN (SELECT unnest(?::VARCHAR[]))", [lookup]
    ).result()) if lookup else {}
    # before the replaced documents are deleted: one of them may hold the highest id, which it keeps
    next_id = next_doc_id if next_doc_id is not None else (
        queue.query("SELECT coalesce(max(doc_id), 0) + 1 FROM search_docs").result()[0][0])
    if existing:
        replaced = list(existing.values())
        queue.execute("DELETE FROM search_postings WHERE doc_id IN (SELECT unnest(?::INTEGER[]))", params=[replaced])
        queue.execute("DELETE FROM search_docs WHERE doc_id IN (SELECT unnest(?::INTEGER[]))", params=[replaced])
    doc_ids = np.empty(len(ids), dtype=np.int32)
    for i, article_id in enumerate(ids):
        if article_id in existing:
            doc_ids[i] = existing[article_id]
        else:
            doc_ids[i] = next_id
            next_id += 1
    queue.execute(
        "INSERT INTO search_docs BY NAME SELECT * FROM batch_rows",
        pa.table({"doc_id": pa.array(doc_ids), "article_id": docs["article_id"], "content_hash": docs["content_hash"],
                  "language": docs["language"], "doc_len": docs["doc_len"]}),
    )

    # Flat columns with C-level list operations and the batch's terms dictionary-encoded
    # (`batch_tables.search_rows`): each distinct term is looked up once, and a posting's term id
    # is an array index. A Python loop over the ~150 postings of each document, and later string
    # matching over all of them, cost most of the index update.
    flat = pc.list_flatten(docs["terms"])
    flat = flat.unify_dictionaries().combine_chunks() if pa.types.is_dictionary(flat.type) else flat.combine_chunks()
    if not pa.types.is_dictionary(flat.type):
        flat = flat.dictionary_encode()
    codes = flat.indices.to_numpy(zero_copy_only=False)
    used = np.flatnonzero(np.bincount(codes, minlength=len(flat.dictionary)))
    vocabulary = flat.dictionary.take(pa.array(used))
    words = vocabulary.to_pylist()
    known = known_terms or {}
    term_ids = _term_ids(queue, words, known)
    term_id_of_code = np.zeros(len(flat.dictionary), dtype=np.int32)
    term_id_of_code[used] = np.fromiter((known[w] if w in known else term_ids[w] for w in words), np.int32, len(words))
    lengths = pc.list_value_length(docs["terms"]).to_numpy(zero_copy_only=False)
    queue.execute(
        "INSERT INTO search_postings SELECT term_id, doc_id, tf FROM batch_rows",
        pa.table({"term_id": pa.array(term_id_of_code[codes]), "doc_id": pa.array(np.repeat(doc_ids, lengths)),
                  "tf": pc.list_flatten(docs["tfs"]).cast(pa.int32())}),
    )
    return IndexUpdate(next_id, term_ids)


def _term_ids(queue: StatementQueue, words: Sequence[str], known_terms: Mapping[str, int]) -> dict[str, int]:
    """The ids of `words` not in `known_terms`: those the file holds, and new ones (after the
    highest id) for the others, whose insert is queued. A lookup waits for the statements queued
    before it; in a session whose loads have used these words before, nothing is asked."""
    unknown = [w for w in words if w not in known_terms]
    if not unknown:
        return {}
    found = dict(queue.query(
        "SELECT term, term_id FROM search_terms WHERE term IN (SELECT unnest(?::VARCHAR[]))", [unknown]).result())
    new = sorted(w for w in unknown if w not in found)
    if new:
        first = queue.query("SELECT coalesce(max(term_id), 0) + 1 FROM search_terms").result()[0][0]
        ids = range(first, first + len(new))
        queue.execute("INSERT INTO search_terms SELECT * FROM batch_rows",
                      pa.table({"term_id": pa.array(ids, pa.int32()), "term": pa.array(new, pa.string())}))
        found.update(zip(new, ids))
    return found


@dataclass(frozen=True)
class SearchHit:
    article_id: str
    score: float
    source: str
    title: str | None
    published_at: datetime | None
    url: str
    cluster_id: str | None
    cluster_size: int
    language: str | None
    lead: str | None


def search(
    path: str | Path,
    query: str,
    *,
    source: str | None = None,
    since: date | datetime | None = None,
    language: str | None = None,
    limit: int = 10,
    all_copies: bool = False,
    timeout: float = 30.0,
) -> list[SearchHit]:
    """The best matches for `query`, best first. Copies of one story are collapsed to its best
    match unless `all_copies`. Filters: source name, published since, article language."""
    terms = query_terms(query, language)
    if not terms:
        return []
    sql = (
        "WITH hits AS (SELECT * FROM search_bm25(?::VARCHAR[])), "
        "ranked AS ("
        "  SELECT a.article_id, h.score, a.source, a.title, a.published_at, a.url, a.cluster_id, a.language, a.lead,"
        "         count(*) OVER (PARTITION BY a.cluster_id) AS cluster_hits,"
        "         row_number() OVER (PARTITION BY a.cluster_id ORDER BY h.score DESC, a.article_id) AS rank_in_cluster"
        "  FROM hits h JOIN latest_articles a USING (article_id)"
        "  WHERE (?::VARCHAR IS NULL OR a.source = ?) AND (?::TIMESTAMPTZ IS NULL OR a.published_at >= ?)"
        "    AND (?::VARCHAR IS NULL OR a.language = ?)"
        ") "
        "SELECT r.article_id, r.score, r.source, r.title, r.published_at, r.url, r.cluster_id,"
        "       coalesce(c.size, 1), r.language, r.lead "
        "FROM ranked r LEFT JOIN story_clusters c USING (cluster_id) "
        "WHERE ? OR r.rank_in_cluster = 1 ORDER BY r.score DESC, r.article_id LIMIT ?"
    )
    since_value = datetime.combine(since, datetime.min.time()) if isinstance(since, date) and not isinstance(since, datetime) else since
    params = [terms, source, source, since_value, since_value, language, language, all_copies, limit]
    rows = run_query(path, sql, params, timeout=timeout).rows
    return [SearchHit(*row) for row in rows]
