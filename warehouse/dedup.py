"""Deciding, for one batch, what is new, what changed and what is a copy (no SQL here).

Three levels, each recorded with its reason on the article:
- `canonical_url`: the same story. A second item of the batch with a URL already seen is a
  duplicate; a known story whose content changed becomes a new version (kind `updated`), never
  a new story or a new cluster member.
- `exact_body`: the same normalised body (sha256 of `normalize_for_matching`) as a story in the
  warehouse or earlier in the batch: an exact copy.
- `near_copy`: MinHash LSH finds candidates that share a band bucket; a candidate counts only
  when the direct comparison of the two full signatures (estimated Jaccard similarity of word
  shingles) reaches the threshold. The best candidate wins.

Every story belongs to a cluster: an original starts its own (cluster_id = article_id); a copy
joins the cluster of what it copies.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from parsers import Article
from parsers.normalize import body_text_for_matching, fingerprint_of_normalized
from parsers.search_terms import document_terms
from parsers.signatures import DEFAULT_PARAMS, SignatureParams, band_keys, minhash_signature, similarity
from warehouse.batch_tables import article_rows, bucket_rows, search_rows, signature_rows, versions_table
from warehouse.records import Decision, LoadItem

__all__ = [
    "Prepared",
    "PreparedBatch",
    "Candidate",
    "article_id_for",
    "content_hash_for",
    "prepare",
    "decide_batch",
    "fresh_positions",
]


def article_id_for(canonical_url: str) -> str:
    """A stable id for a story: the first 24 hex digits of the sha256 of its canonical URL."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:24]


def content_hash_for(article: Article) -> str:
    """sha256 of the whole extracted record: equal hashes mean nothing visible changed."""
    payload = json.dumps(article.to_dict(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Prepared:
    """An item with everything dedup needs, computed before the warehouse is opened."""

    item: LoadItem
    article_id: str
    content_hash: str
    fingerprint: str | None
    signature: np.ndarray | None
    keys: tuple[int, ...]
    terms: Counter  # search terms and their frequencies
    doc_len: int


@dataclass(frozen=True)
class PreparedBatch(Sequence[Prepared]):
    """A prepared batch: its items in order, and the Arrow rows the loader will insert for them
    (`warehouse/batch_tables.py`: versions with run_id still empty, the articles' own columns,
    signatures and buckets, search documents), one row per item, built with them so the loader
    does not build them while it holds the file."""

    items: tuple[Prepared, ...]
    versions: pa.Table
    articles: pa.Table  # the articles' columns that do not depend on the decision (`article_rows`)
    signatures: pa.Table
    buckets: pa.Table  # band_key, article_id, item: the LSH bucket rows of the signatures
    search: pa.Table
    band_keys: np.ndarray  # the distinct LSH bucket keys of the batch (int64, sorted)
    repeated_keys: np.ndarray  # those held by more than one item of the batch
    article_ids: list[str]  # the distinct story ids of the batch, sorted
    fingerprints: list[str]  # the distinct body fingerprints of the batch, sorted

    @classmethod
    def of(cls, prepared: Sequence[Prepared]) -> PreparedBatch:
        if isinstance(prepared, PreparedBatch):
            return prepared
        items = tuple(prepared)
        signatures = signature_rows(items)
        keys, counts = np.unique(pc.list_flatten(signatures["band_keys"]).to_numpy().astype(np.int64), return_counts=True)
        # (an item's own keys are distinct: 63-bit hashes of its 32 bands, each seeded with the band)
        return cls(items, versions_table(items), article_rows(items), signatures, bucket_rows(signatures),
                   search_rows(items), keys, keys[counts > 1], sorted({p.article_id for p in items}),
                   sorted({p.fingerprint for p in items if p.fingerprint}))

    def __getitem__(self, index):  # type: ignore[override]
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Candidate:
    """A story already in the warehouse that shares an LSH bucket with something in the batch."""

    article_id: str
    cluster_id: str
    signature: np.ndarray


def prepare(
    items: Iterable[LoadItem], params: SignatureParams = DEFAULT_PARAMS, *, search_terms: bool = True
) -> PreparedBatch:
    """Ids, content hashes, fingerprints, signatures, search terms and version rows of a batch
    (pure CPU work, so it can run before the file is taken, or in other processes: see
    `Warehouse.upsert_articles(prepared=...)`). `search_terms=False` skips the search terms
    (for measuring dedup alone)."""
    out = []
    for item in items:
        article = item.article
        fingerprint = signature = normalized = None
        keys: tuple[int, ...] = ()
        if article.body:
            normalized = body_text_for_matching(article.body)
            if normalized:
                fingerprint = fingerprint_of_normalized(normalized)
                signature = minhash_signature(normalized, params, normalized=True)
                if signature is not None:
                    keys = tuple(band_keys(signature, params))
        terms, doc_len = document_terms(article, normalized_body=normalized) if search_terms else (Counter(), 0)
        out.append(
            Prepared(item, article_id_for(article.canonical_url), content_hash_for(article), fingerprint,
                     signature, keys, terms, doc_len)
        )
    return PreparedBatch.of(out)


@dataclass
class _BatchIndex:
    """Stories decided so far in this batch (plus the warehouse candidates), by bucket.

    Only `shared` keys are indexed: those that occur more than once among the batch and its
    warehouse candidates. Any other key can never produce a candidate pair, and skipping it keeps
    the per-story cost at one C-level set intersection instead of a Python loop over 32 bands.
    """

    shared: frozenset[int] = frozenset()
    buckets: dict[int, list[str]] = field(default_factory=dict)
    stories: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)  # id -> (cluster, sig)

    def add(self, article_id: str, cluster_id: str, signature: np.ndarray, keys: Iterable[int]) -> None:
        self.add_shared(article_id, cluster_id, signature, self.shared.intersection(keys))

    def add_shared(self, article_id: str, cluster_id: str, signature: np.ndarray, shared_keys: Iterable[int]) -> None:
        """`add` with the story's keys already narrowed to the shared ones (`shared.intersection`)."""
        self.stories[article_id] = (cluster_id, signature)
        for key in shared_keys:
            self.buckets.setdefault(key, []).append(article_id)

    def best_match(self, article_id: str, signature: np.ndarray, shared_keys: Iterable[int]) -> tuple[str, float] | None:
        """The closest story indexed so far that shares a bucket with this one (`shared_keys`: its
        keys narrowed to the shared ones), and their estimated similarity."""
        seen: set[str] = {article_id}
        best: tuple[str, float] | None = None
        for key in shared_keys:
            for other in self.buckets.get(key, ()):
                if other in seen:
                    continue
                seen.add(other)
                score = similarity(signature, self.stories[other][1])
                if best is None or score > best[1] or (score == best[1] and other < best[0]):
                    best = (other, score)
        return best


def _shared_keys(batch: Sequence[Prepared], candidate_keys: Mapping[str, Sequence[int]]) -> frozenset[int]:
    """Bucket keys held by at least two stories of the batch, or by the batch and a candidate."""
    if isinstance(batch, PreparedBatch):
        shared = set(batch.repeated_keys.tolist())
    else:
        batch_keys = [k for p in batch for k in set(p.keys)]
        if not batch_keys:
            return frozenset()
        values, counts = np.unique(np.fromiter(batch_keys, dtype=np.int64, count=len(batch_keys)), return_counts=True)
        shared = set(values[counts > 1].tolist())
    for keys in candidate_keys.values():
        shared.update(keys)
    return frozenset(shared)


def _decision(p: Prepared, kind: str, of: str | None = None, reason: str | None = None, cluster: str | None = None,
              score: float | None = None) -> Decision:
    return Decision(p.item, p.article_id, p.content_hash, p.fingerprint, kind, of, reason, cluster or p.article_id,
                    score, p.signature, p.keys)


def fresh_positions(batch: Sequence[Prepared], known_hashes: Mapping[str, str]) -> list[int]:
    """Positions of the items `decide_batch` stores for the first time, whatever it decides
    about copies: the first item of each story id not in `known_hashes` (a new story and a copy
    caught by its body alike get a version, an articles row, a signature and buckets; only their
    articles rows and signatures depend on the decision). Known before the decisions, so that a
    load can start writing these stories' versions, buckets and search documents while it
    decides."""
    seen: set[str] = set()
    out: list[int] = []
    for i, p in enumerate(batch.items if isinstance(batch, PreparedBatch) else batch):
        if p.article_id not in seen:
            seen.add(p.article_id)
            if p.article_id not in known_hashes:
                out.append(i)
    return out


def decide_batch(
    batch: Sequence[Prepared],
    known_hashes: Mapping[str, str],
    known_fingerprints: Mapping[str, tuple[str, str]],
    candidates: Sequence[Candidate] = (),
    candidate_keys: Mapping[str, Sequence[int]] | None = None,
    threshold: float = 0.6,
) -> list[Decision]:
    """Classify every prepared item of a batch.

    `known_hashes`: article_id → current content hash of stories the warehouse holds;
    `known_fingerprints`: fingerprint → (article_id, cluster_id) of the earliest story having it;
    `candidates` (with `candidate_keys`: article_id → its bucket keys): warehouse stories that
    share a bucket with the batch, within the rolling window; `threshold`: the least estimated
    similarity for a near copy.
    """
    decisions: list[Decision] = []
    seen_ids: set[str] = set()
    fingerprints = dict(known_fingerprints)
    keys_of = candidate_keys or {}
    index = _BatchIndex(_shared_keys(batch, keys_of))
    for cand in candidates:
        index.add(cand.article_id, cand.cluster_id, cand.signature, keys_of.get(cand.article_id, ()))
    for p in batch.items if isinstance(batch, PreparedBatch) else batch:  # (a tuple iterates in C)
        aid = p.article_id
        if aid in seen_ids:
            decisions.append(_decision(p, "duplicate", aid, "canonical_url"))
            continue
        seen_ids.add(aid)
        if aid in known_hashes:
            decisions.append(_decision(p, "unchanged" if known_hashes[aid] == p.content_hash else "updated"))
            continue
        # the story's keys that can pair it with another (most have none), narrowed once
        shared = index.shared.intersection(p.keys) if p.signature is not None and index.shared else ()
        original = fingerprints.get(p.fingerprint) if p.fingerprint else None
        if original is not None and original[0] != aid:
            decisions.append(_decision(p, "duplicate", original[0], "exact_body", original[1], 1.0))
            if p.signature is not None:
                index.add_shared(aid, original[1], p.signature, shared)
            continue
        if p.signature is not None:
            match = index.best_match(aid, p.signature, shared) if shared else None
            if match is not None and match[1] >= threshold:
                other, score = match
                cluster = index.stories[other][0]
                decisions.append(_decision(p, "duplicate", other, "near_copy", cluster, score))
                index.add_shared(aid, cluster, p.signature, shared)
                continue
            index.add_shared(aid, aid, p.signature, shared)
        if p.fingerprint:
            fingerprints[p.fingerprint] = (aid, aid)
        decisions.append(_decision(p, "new"))
    return decisions
