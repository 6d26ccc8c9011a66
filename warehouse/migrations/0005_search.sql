-- akhbar warehouse, schema version 5: full-text search (BM25) in plain SQL.
-- The fts extension cannot be installed offline and has no build for DuckDB 2.0, and its
-- default tokeniser deletes Arabic letters; so the index is three plain tables that every load
-- updates: documents, a term dictionary and postings. Terms are normalised words and their
-- Snowball stems (see parsers/search_terms.py).

-- One row per indexed story: its current version, language and length in terms.
CREATE TABLE search_docs (
    doc_id        INTEGER PRIMARY KEY,
    article_id    VARCHAR NOT NULL UNIQUE,
    content_hash  VARCHAR NOT NULL,
    language      VARCHAR,
    doc_len       INTEGER NOT NULL
);

-- The term dictionary.
CREATE TABLE search_terms (
    term_id  INTEGER PRIMARY KEY,
    term     VARCHAR NOT NULL UNIQUE
);

-- How often each term occurs in each document (headline words count twice).
CREATE TABLE search_postings (
    term_id  INTEGER NOT NULL,
    doc_id   INTEGER NOT NULL,
    tf       INTEGER NOT NULL
);

-- BM25 (k1 = 1.2, b = 0.75) over the documents that contain any of `query_terms` (already
-- normalised and stemmed: `akhbar search --show-terms` prints them). Returns article_id, score.
CREATE MACRO search_bm25(query_terms) AS TABLE
WITH q AS (
    SELECT term_id FROM search_terms WHERE term IN (SELECT unnest(query_terms))
),
stats AS (
    SELECT count(*)::DOUBLE AS n, avg(doc_len)::DOUBLE AS avgdl FROM search_docs
),
hits AS (
    SELECT p.doc_id, p.tf, count(*) OVER (PARTITION BY p.term_id)::DOUBLE AS df
    FROM search_postings p SEMI JOIN q ON p.term_id = q.term_id
),
scored AS (
    SELECT h.doc_id,
           sum(ln(1 + (stats.n - h.df + 0.5) / (h.df + 0.5))
               * h.tf * 2.2 / (h.tf + 1.2 * (0.25 + 0.75 * d.doc_len / stats.avgdl))) AS score
    FROM hits h JOIN search_docs d USING (doc_id) CROSS JOIN stats
    GROUP BY h.doc_id
)
SELECT d.article_id, s.score FROM scored s JOIN search_docs d USING (doc_id);
