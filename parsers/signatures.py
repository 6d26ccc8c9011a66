"""MinHash signatures of normalised word shingles, for finding near copies (no I/O).

A near copy of a wire story (headline rewritten, a paragraph dropped or added, credit changed,
spelling variants) shares most of its word shingles with the original, so the Jaccard similarity
of the two shingle sets stays high while different stories of the same day and topic share
almost none. MinHash estimates that similarity from fixed-size signatures, and LSH banding finds
candidate pairs without comparing everything with everything: a pair whose similarity is s
collides in at least one of b bands of r rows with probability 1 - (1 - s^r)^b (b=32, r=4:
0.87 at s=0.5, 0.99 at s=0.6, 0.9999 at s=0.7).

MinHash itself is datasketch's; shingles are hashed with xxhash (datasketch's default sha1 is
half of its time) and the permutations are built once per parameter set.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import xxhash
from datasketch import MinHash

from parsers.normalize import normalize_for_matching

__all__ = ["SignatureParams", "DEFAULT_PARAMS", "minhash_signature", "band_keys", "similarity"]


@dataclass(frozen=True)
class SignatureParams:
    """How signatures are made. Stored signatures are only comparable with the same params:
    changing them means recomputing the stored ones (`akhbar reindex` in a later release)."""

    num_perm: int = 128
    bands: int = 32
    shingle_words: int = 4
    min_words: int = 20  # shorter bodies get no signature: too little text to call a copy
    seed: int = 1

    @property
    def rows(self) -> int:
        return self.num_perm // self.bands


DEFAULT_PARAMS = SignatureParams()


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations


def minhash_signature(
    text: str, params: SignatureParams = DEFAULT_PARAMS, *, normalized: bool = False
) -> np.ndarray | None:
    """The MinHash signature (uint32[num_perm]) of the normalised text's word shingles, or None
    when the text has fewer than `params.min_words` words. Pass `normalized=True` when `text`
    already went through `normalize_for_matching` (saves the larger half of the time)."""
    words = (text if normalized else normalize_for_matching(text)).split()
    if len(words) < params.min_words:
        return None
    k = params.shingle_words
    shingles = {" ".join(words[i : i + k]).encode("utf-8") for i in range(len(words) - k + 1)}
    sketch = MinHash(
        num_perm=params.num_perm,
        seed=params.seed,
        hashfunc=xxhash.xxh32_intdigest,
        permutations=_permutations(params.num_perm, params.seed),
        scheme="affine32",
    )
    sketch.update_batch(list(shingles))
    return sketch.hashvalues.astype(np.uint32)


def band_keys(signature: np.ndarray, params: SignatureParams = DEFAULT_PARAMS) -> list[int]:
    """One LSH bucket key per band: a 63-bit hash of the band's rows and its index."""
    r = params.rows
    return [
        xxhash.xxh64_intdigest(signature[i * r : (i + 1) * r].tobytes(), seed=i) & 0x7FFF_FFFF_FFFF_FFFF
        for i in range(params.bands)
    ]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures: the share of positions that agree."""
    return float(np.count_nonzero(a == b)) / len(a)
