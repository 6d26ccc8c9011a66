-- akhbar warehouse, schema version 10: the derived index rows keep no text keys.
-- `article_signatures.article_id` (primary key) and `search_docs.article_id` (UNIQUE) were ART
-- indexes on text that every load paid for twice, at the insert and at the commit: about 1.8 ms
-- each per 1,000 stories, and 3-4 ms of a load of 1,000 into a file of 100,000 (measured on
-- DuckDB 2.0.1; see docs/operations.md, "Load speed"). Both tables are derived rows that only
-- the loader writes, in the transaction that inserts the story's `articles` row, whose primary
-- key already refuses a second one; a changed story's search document is deleted and written
-- again. Their lookups by story scan a column either way. DuckDB cannot drop a constraint, so
-- the two tables are made again; `search_docs.doc_id` stays the (integer) primary key.

CREATE TABLE article_signatures_v10 (
    article_id  VARCHAR NOT NULL,
    cluster_id  VARCHAR NOT NULL,
    seen_at     TIMESTAMPTZ NOT NULL,
    minhash     BLOB NOT NULL
);
INSERT INTO article_signatures_v10 SELECT article_id, cluster_id, seen_at, minhash FROM article_signatures;
DROP TABLE article_signatures;
ALTER TABLE article_signatures_v10 RENAME TO article_signatures;

CREATE TABLE search_docs_v10 (
    doc_id        INTEGER PRIMARY KEY,
    article_id    VARCHAR NOT NULL,
    content_hash  VARCHAR NOT NULL,
    language      VARCHAR,
    doc_len       INTEGER NOT NULL
);
INSERT INTO search_docs_v10 SELECT doc_id, article_id, content_hash, language, doc_len FROM search_docs;
DROP TABLE search_docs;
ALTER TABLE search_docs_v10 RENAME TO search_docs;
