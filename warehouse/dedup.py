"""Deciding, for one batch, what is new, what changed and what is a copy (no SQL here).

Two levels for now, each recorded with its reason:
- the same canonical URL: the same story (a second item in the batch is a duplicate with
  reason `canonical_url`; a known story with new content becomes a new version);
- the same fingerprint of the normalised body: an exact copy (reason `exact_body`) of the
  earliest story that has it, in the warehouse or earlier in the batch.
Near copies (MinHash) come later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

from parsers import Article
from parsers.normalize import body_fingerprint
from warehouse.records import Decision, LoadItem

__all__ = ["article_id_for", "content_hash_for", "decide_batch"]


def article_id_for(canonical_url: str) -> str:
    """A stable id for a story: the first 24 hex digits of the sha256 of its canonical URL."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:24]


def content_hash_for(article: Article) -> str:
    """sha256 of the whole extracted record: equal hashes mean nothing visible changed."""
    payload = json.dumps(article.to_dict(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def decide_batch(
    items: Iterable[LoadItem],
    known_hashes: Mapping[str, str],
    known_fingerprints: Mapping[str, str],
) -> list[Decision]:
    """Classify every item of a batch.

    `known_hashes` maps article_id → current content hash for stories the warehouse holds;
    `known_fingerprints` maps body fingerprint → article_id of the original holding it.
    """
    decisions: list[Decision] = []
    seen_ids: set[str] = set()
    fingerprints = dict(known_fingerprints)
    for item in items:
        article = item.article
        aid = article_id_for(article.canonical_url)
        chash = content_hash_for(article)
        fp = body_fingerprint(article.body) if article.body else None
        if aid in seen_ids:
            decisions.append(Decision(item, aid, chash, fp, "duplicate", aid, "canonical_url"))
            continue
        seen_ids.add(aid)
        if aid in known_hashes:
            kind = "unchanged" if known_hashes[aid] == chash else "updated"
            decisions.append(Decision(item, aid, chash, fp, kind))
            continue
        original = fingerprints.get(fp) if fp else None
        if original is not None and original != aid:
            decisions.append(Decision(item, aid, chash, fp, "duplicate", original, "exact_body"))
            continue
        if fp:
            fingerprints[fp] = aid
        decisions.append(Decision(item, aid, chash, fp, "new"))
    return decisions
