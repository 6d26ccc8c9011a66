"""One normalisation for matching Arabic and Persian text (fingerprints, near-dup, search).

`normalize_for_matching` is the single definition of "the same text" for dedup: two copies of
a wire story that differ only in spelling variants, diacritics, tatweel, digits, punctuation
or whitespace normalise to the same string, so their `body_fingerprint`s are equal.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

from parsers.article import Block

__all__ = ["normalize_for_matching", "body_fingerprint", "body_text_for_matching", "fingerprint_of_normalized"]

# Letter folding applied after NFKC. Alef forms → bare alef; alef maqsura → yeh; teh marbuta
# → heh; Persian yeh/keheh/heh-with-yeh → the Arabic letters; both Eastern digit sets → ASCII.
_FOLD = str.maketrans(
    {
        "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
        "ى": "ي", "ی": "ي", "ې": "ي", "ۍ": "ي", "ئ": "ي",
        "ة": "ه", "ۀ": "ه", "ە": "ه", "ہ": "ه",
        "ک": "ك", "ڪ": "ك",
        "ؤ": "و",
        **{chr(0x0660 + i): str(i) for i in range(10)},
        **{chr(0x06F0 + i): str(i) for i in range(10)},
    }
)
# Tashkeel U+064B–U+065F, superscript alef U+0670, Quranic marks U+06D6–U+06ED, tatweel
# U+0640, ZWNJ/ZWJ/ZWSP/word joiner, bidi controls, BOM, soft hyphen, Arabic letter mark.
_DELETE = re.compile(
    "[\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069"
    "\ufeff\u00ad\u061c]"
)
_SPACE = re.compile(r"\s+")


def _build_table() -> dict[int, str | None]:
    """Steps 2-4 as one `str.translate` table over the Basic Multilingual Plane, built once at
    import (~50 ms), so the text is walked once in C instead of once per step (a per-character
    Python loop cost ~0.2 µs a character)."""
    table: dict[int, str | None] = {}
    for cp in range(0x10000):
        ch = chr(cp)
        if _DELETE.match(ch):
            table[cp] = None
        elif unicodedata.category(ch)[0] in "PS":
            table[cp] = " "
    table.update(_FOLD)
    return table


_TABLE = _build_table()
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


def _astral_symbol_to_space(match: re.Match[str]) -> str:
    return " " if unicodedata.category(match.group())[0] in "PS" else match.group()


def _translate(text: str) -> str:
    text = text.translate(_TABLE)
    # emoji and other symbols outside the BMP are rare: only then look at them one by one
    return _ASTRAL.sub(_astral_symbol_to_space, text) if _ASTRAL.search(text) else text


def normalize_for_matching(text: str) -> str:
    """Normalise text for matching, in this order:

    1. Unicode NFKC (presentation forms ﻻ → لا, full-width → ASCII, ligatures);
    2. delete Arabic diacritics (U+064B–U+065F, U+0670, U+06D6–U+06ED), tatweel U+0640,
       ZWNJ/ZWJ and other zero-width and bidi control characters;
    3. fold letters: أ إ آ ٱ → ا, ى → ي, ة → ه, Persian ی → ي, ک → ك, ۀ → ه (also ئ → ي and
       ؤ → و, hamza seats that copies spell either way), Arabic-Indic and Persian digits →
       ASCII;
    4. every punctuation or symbol character (Unicode categories P* and S*) → space;
    5. casefold; collapse whitespace; strip.

    Idempotent: normalising twice gives the same string as once.
    """
    text = _translate(unicodedata.normalize("NFKC", text)).casefold()
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        # casefold produced something NFKC would change again (rare): one more pass
        text = _translate(unicodedata.normalize("NFKC", text))
    return _SPACE.sub(" ", text).strip()


def body_text_for_matching(body: str | Iterable[Block | str]) -> str:
    """The normalised text of a body: blocks / strings joined by a single space, then
    `normalize_for_matching` (so the paragraph split does not matter)."""
    if isinstance(body, str):
        text = body
    else:
        text = " ".join(b.text if isinstance(b, Block) else str(b) for b in body)
    return normalize_for_matching(text)


def fingerprint_of_normalized(normalized: str) -> str:
    """sha256 hex of an already normalised text (see `body_text_for_matching`)."""
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def body_fingerprint(body: str | Iterable[Block | str]) -> str:
    """sha256 hex of the normalised body text: equal for exact copies.

    `body` is a text, or blocks / strings in order; paragraphs are joined by a single space
    before normalising (so the paragraph split does not change the fingerprint).
    """
    return fingerprint_of_normalized(body_text_for_matching(body))
