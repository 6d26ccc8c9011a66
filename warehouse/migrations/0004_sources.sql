-- akhbar warehouse, schema version 4: the configured sources, and cluster representatives that
-- prefer the outlet the copies credit.

-- One row per source, as last configured (updated at the start of every run).
CREATE TABLE sources (
    name        VARCHAR PRIMARY KEY,
    homepage    VARCHAR NOT NULL,
    language    VARCHAR,
    timezone    VARCHAR,
    country     VARCHAR,
    aliases     VARCHAR[],          -- names other outlets credit it by
    updated_at  TIMESTAMPTZ NOT NULL
);

-- One row per story cluster. The representative is the member whose outlet another member's
-- credit line names (e.g. «المصدر: الوفاق/وكالات» names Al-Wefaq when its aliases list «الوفاق»),
-- and among those, or when none is named, the earliest publication (first seen when undated).
CREATE OR REPLACE VIEW story_clusters AS
WITH members AS (
    SELECT a.cluster_id, a.article_id, a.source, a.title, a.published_at,
           coalesce(a.published_at, a.first_seen_at) AS sort_time, v.credit
    FROM articles a JOIN article_versions v USING (article_id, content_hash)
),
credited AS (
    SELECT DISTINCT m.article_id
    FROM members m
    JOIN sources s ON s.name = m.source
    JOIN members c ON c.cluster_id = m.cluster_id AND c.credit IS NOT NULL
    WHERE len(list_filter(s.aliases, lambda x: contains(c.credit, x))) > 0
),
ranked AS (
    SELECT m.*, CASE WHEN cr.article_id IS NULL THEN 1 ELSE 0 END AS not_credited
    FROM members m LEFT JOIN credited cr USING (article_id)
)
SELECT cluster_id,
       count(*) AS size,
       count(DISTINCT source) AS outlet_count,
       list(DISTINCT source ORDER BY source) AS outlets,
       min(published_at) AS first_published_at,
       max(published_at) AS last_published_at,
       arg_min(article_id, (not_credited, sort_time, article_id)) AS representative_id,
       arg_min(source, (not_credited, sort_time, article_id)) AS representative_source,
       arg_min(title, (not_credited, sort_time, article_id)) AS representative_title,
       bool_or(not_credited = 0) AS representative_is_credited
FROM ranked
GROUP BY cluster_id;
