-- akhbar warehouse, schema version 6: the staging ledger, and views for the questions analysts
-- ask first. Days are UTC dates; an article without a publication date counts on the day it was
-- first seen.

-- Batches that were staged (the file was busy) and merged later: one row per batch, written in
-- the transaction that merged it, so a batch is never merged twice (see warehouse/staging.py).
CREATE TABLE staged_batches (
    batch_id   VARCHAR PRIMARY KEY,
    kind       VARCHAR NOT NULL,           -- articles | failures | runs | sources
    staged_at  TIMESTAMPTZ NOT NULL,
    merged_at  TIMESTAMPTZ NOT NULL,
    row_count  BIGINT,
    run_id     VARCHAR                     -- the run that staged it
);

-- Every story's current version with its story cluster: size, outlets, representative.
CREATE VIEW latest_with_cluster AS
SELECT l.article_id, l.source, l.url, l.title, l.lead, l.language, l.published_at, l.first_seen_at,
       l.cluster_id, c.size AS cluster_size, c.outlet_count AS cluster_outlet_count,
       c.outlets AS cluster_outlets, c.representative_id, c.representative_source,
       c.representative_title, l.article_id = c.representative_id AS is_representative,
       l.duplicate_of, l.duplicate_reason, l.duplicate_similarity
FROM latest_articles l
JOIN story_clusters c USING (cluster_id);

-- Stories per UTC day, source and language (copies counted apart).
CREATE VIEW daily_counts AS
SELECT CAST(timezone('UTC', coalesce(published_at, first_seen_at)) AS DATE) AS day,
       source,
       language,
       count(*) AS articles,
       count(*) FILTER (WHERE duplicate_of IS NULL) AS originals,
       count(*) FILTER (WHERE duplicate_of IS NOT NULL) AS copies
FROM articles
GROUP BY ALL;

-- One row per source (configured, or seen in articles or errors): when it last worked, how
-- often it fails and how much it yields, over the last 7 days.
CREATE VIEW source_health AS
WITH names AS (
    SELECT name AS source FROM sources
    UNION SELECT source FROM articles
    UNION SELECT source FROM fetch_errors
),
art AS (
    SELECT source,
           count(*) AS articles,
           max(last_seen_at) AS last_loaded_at,
           max(first_seen_at) AS last_new_article_at,
           count(*) FILTER (WHERE first_seen_at >= now() - INTERVAL 7 DAY) AS new_7d,
           count(*) FILTER (WHERE last_seen_at >= now() - INTERVAL 7 DAY) AS loaded_7d
    FROM articles GROUP BY source
),
err AS (
    SELECT source,
           max(occurred_at) AS last_error_at,
           count(*) FILTER (WHERE occurred_at >= now() - INTERVAL 7 DAY) AS errors_7d
    FROM fetch_errors GROUP BY source
),
fetched AS (
    SELECT source, max(fetched_at) AS last_fetch_ok_at
    FROM fetch_log WHERE error IS NULL AND status BETWEEN 200 AND 399 GROUP BY source
)
SELECT n.source,
       greatest(a.last_loaded_at, f.last_fetch_ok_at) AS last_success_at,
       a.last_new_article_at,
       e.last_error_at,
       coalesce(a.articles, 0) AS articles,
       coalesce(a.new_7d, 0) AS articles_7d,
       round(coalesce(a.new_7d, 0) / 7.0, 2) AS articles_per_day_7d,
       coalesce(e.errors_7d, 0) AS errors_7d,
       CASE WHEN coalesce(e.errors_7d, 0) + coalesce(a.loaded_7d, 0) > 0
            THEN round(coalesce(e.errors_7d, 0) / (coalesce(e.errors_7d, 0) + coalesce(a.loaded_7d, 0)), 3)
       END AS error_rate_7d
FROM names n
LEFT JOIN art a USING (source)
LEFT JOIN err e USING (source)
LEFT JOIN fetched f USING (source);

-- Failures grouped by source, stage and reason, newest first.
CREATE VIEW errors_by_reason AS
SELECT source, stage, reason,
       count(*) AS errors,
       count(DISTINCT url) AS urls,
       min(occurred_at) AS first_at,
       max(occurred_at) AS last_at,
       arg_max(url, occurred_at) AS last_url,
       arg_max(detail, occurred_at) AS last_detail
FROM fetch_errors
GROUP BY source, stage, reason;

-- Story clusters with their outlets: one row per cluster and outlet carrying it.
CREATE VIEW cluster_outlets AS
SELECT a.cluster_id, c.representative_title, c.size AS cluster_size, c.outlet_count,
       a.source,
       count(*) AS articles,
       min(a.published_at) AS first_published_at,
       list(a.article_id ORDER BY a.article_id) AS article_ids,
       a.source = c.representative_source AS is_representative_source
FROM articles a
JOIN story_clusters c USING (cluster_id)
GROUP BY a.cluster_id, c.representative_title, c.size, c.outlet_count, a.source, c.representative_source;
