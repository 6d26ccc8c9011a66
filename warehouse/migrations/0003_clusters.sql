-- akhbar warehouse, schema version 3: near copies and story clusters.

-- Every story belongs to a cluster: an original starts its own, a copy joins the cluster of
-- what it copies. duplicate_similarity: estimated Jaccard similarity to duplicate_of (1 for
-- exact copies).
ALTER TABLE articles ADD COLUMN cluster_id VARCHAR;
ALTER TABLE articles ADD COLUMN duplicate_similarity DOUBLE;
UPDATE articles SET cluster_id = coalesce(duplicate_of, article_id),
                    duplicate_similarity = CASE WHEN duplicate_reason = 'exact_body' THEN 1.0 END;

-- MinHash signatures (uint32[128] as 512 little-endian bytes) of the stories, insert-only.
CREATE TABLE article_signatures (
    article_id  VARCHAR PRIMARY KEY,
    cluster_id  VARCHAR NOT NULL,
    seen_at     TIMESTAMPTZ NOT NULL,
    minhash     BLOB NOT NULL
);

-- LSH buckets: one row per story and band. A run looks up the buckets of its new articles among
-- rows seen within the rolling window, so memory stays bounded by the batch, not the warehouse.
CREATE TABLE lsh_buckets (
    band_key    BIGINT NOT NULL,
    article_id  VARCHAR NOT NULL,
    seen_at     TIMESTAMPTZ NOT NULL
);

CREATE OR REPLACE VIEW latest_articles AS
SELECT a.article_id, a.source, a.url, a.canonical_url, a.published_at, a.first_seen_at,
       a.last_seen_at, a.cluster_id, a.duplicate_of, a.duplicate_reason, a.duplicate_similarity,
       v.title, v.kicker, v.lead, v.body, v.body_blocks, v.credit, v.authors, v.language,
       v.published_text, v.modified_at, v.section, v.tags, v.image, v.methods,
       v.parser_version, a.content_hash
FROM articles a
JOIN article_versions v USING (article_id, content_hash);

-- One row per story cluster. The representative is the earliest publication (first seen when
-- no date is known).
CREATE VIEW story_clusters AS
SELECT cluster_id,
       count(*) AS size,
       count(DISTINCT source) AS outlet_count,
       list(DISTINCT source ORDER BY source) AS outlets,
       min(published_at) AS first_published_at,
       max(published_at) AS last_published_at,
       arg_min(article_id, coalesce(published_at, first_seen_at)) AS representative_id,
       arg_min(source, coalesce(published_at, first_seen_at)) AS representative_source,
       arg_min(title, coalesce(published_at, first_seen_at)) AS representative_title
FROM articles
GROUP BY cluster_id;

-- The members of every cluster, per outlet, with why each one is in it.
CREATE VIEW cluster_members AS
SELECT cluster_id, source, article_id, url, title, published_at,
       duplicate_of, coalesce(duplicate_reason, 'original') AS membership, duplicate_similarity
FROM articles;
