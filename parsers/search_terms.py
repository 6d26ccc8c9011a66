"""Terms for full-text search: the same normalisation as dedup, then Snowball stems per language.

Tokens are the words of `normalize_for_matching` (every punctuation and symbol is a space there,
so this is the `[^\\p{L}\\p{N}]+` split that keeps every Arabic letter). Stems come from the
Snowball algorithms through PyStemmer (the C build of the same algorithms `snowballstemmer`
implements in pure Python, ~50x faster, which matters when every load indexes thousands of
bodies). Languages without a Snowball stemmer are indexed unstemmed.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

import Stemmer

from parsers.article import Article
from parsers.normalize import normalize_for_matching

__all__ = ["STEMMERS", "tokenize", "stem_all", "document_terms", "query_terms", "TITLE_WEIGHT"]

#: ISO 639-1 code → Snowball algorithm.
STEMMERS = {
    "ar": "arabic", "fa": "persian", "en": "english", "fr": "french", "de": "german", "es": "spanish",
    "it": "italian", "pt": "portuguese", "nl": "dutch", "sv": "swedish", "no": "norwegian",
    "nb": "norwegian", "nn": "norwegian", "da": "danish", "fi": "finnish", "ru": "russian",
    "tr": "turkish", "el": "greek", "hu": "hungarian", "ro": "romanian", "cs": "czech",
    "pl": "polish", "id": "indonesian", "ca": "catalan", "eu": "basque", "ga": "irish",
    "lt": "lithuanian", "sr": "serbian", "ta": "tamil", "hi": "hindi", "ne": "nepali",
    "hy": "armenian", "et": "estonian", "yi": "yiddish",
}

#: A headline word counts as this many body words (a light BM25F).
TITLE_WEIGHT = 2

_PERSIAN_LETTERS = re.compile("[پچژگ]")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")


@lru_cache(maxsize=64)
def _stemmer(language: str) -> Stemmer.Stemmer | None:
    algorithm = STEMMERS.get(language.split("-")[0].lower())
    return Stemmer.Stemmer(algorithm) if algorithm else None


def tokenize(text: str | None) -> list[str]:
    """The normalised words of a text."""
    return normalize_for_matching(text).split() if text else []


def stem_all(tokens: list[str], language: str | None) -> list[str]:
    """Stems of `tokens` in `language` (the tokens themselves when there is no stemmer)."""
    stemmer = _stemmer(language) if language else None
    return stemmer.stemWords(tokens) if stemmer and tokens else list(tokens)


def document_terms(
    article: Article, language: str | None = None, *, normalized_body: str | None = None
) -> tuple[Counter[str], int]:
    """Term frequencies of an article (title weighted, lead, body) and its length in terms.
    `normalized_body`: the body already through `normalize_for_matching` (dedup has it)."""
    lang = article.language or language
    title = stem_all(tokenize(article.title), lang)
    body = normalized_body.split() if normalized_body is not None else tokenize(article.body_text)
    rest = stem_all(tokenize(article.lead) + body, lang)
    counts = Counter(rest)
    for term in title:
        counts[term] += TITLE_WEIGHT
    return counts, len(rest) + TITLE_WEIGHT * len(title)


def query_terms(query: str, language: str | None = None) -> list[str]:
    """The terms to look up for a query: each word as typed (normalised) and its stems.

    Without a `language`, the script decides which stemmers to try: Arabic script → Arabic and,
    when Persian letters appear, Persian; anything else → English. Documents are indexed with
    their own language's stems, so offering both forms finds them either way.
    """
    tokens = tokenize(query)
    if language:
        languages = [language]
    elif _ARABIC_SCRIPT.search(query):
        languages = ["fa", "ar"] if _PERSIAN_LETTERS.search(query) else ["ar", "fa"]
    else:
        languages = ["en"]
    terms: list[str] = []
    for lang in languages:
        terms += stem_all(tokens, lang)
    terms += tokens
    return list(dict.fromkeys(terms))
