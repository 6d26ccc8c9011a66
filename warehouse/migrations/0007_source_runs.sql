-- akhbar warehouse, schema version 7: what each run did per source, and source health from it.

-- One row per run and source, written when the run ends (insert-only, narrow). A source run
-- failed when no discovery endpoint could be read, or when nothing could be fetched while there
-- was something to fetch (every page attempted failed); partial failures are counts.
CREATE TABLE source_runs (
    run_id          VARCHAR NOT NULL,
    source          VARCHAR NOT NULL,
    schedule_group  VARCHAR,                 -- the run's group (NULL: a run not limited to one group)
    flow_run_id     VARCHAR,                 -- the Prefect flow run
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ NOT NULL,
    status          VARCHAR NOT NULL,        -- ok | failed
    failure         VARCHAR,                 -- why it failed: no_endpoint_read | nothing_fetched
    endpoints       INTEGER NOT NULL,        -- discovery endpoints asked (feeds, sitemaps, listings, homepage)
    endpoints_read  INTEGER NOT NULL,        -- of them, read (200 or 304, and parsed)
    discovered      INTEGER NOT NULL,
    to_fetch        INTEGER NOT NULL,        -- pages the frontier chose to fetch
    fetched         INTEGER NOT NULL,        -- pages fetched with a body
    new             INTEGER NOT NULL,
    updated         INTEGER NOT NULL,
    duplicates      INTEGER NOT NULL,
    skipped         INTEGER NOT NULL,
    failed          INTEGER NOT NULL,        -- pages that failed (fetch or parse)
    feed_errors     INTEGER NOT NULL,        -- discovery endpoints that failed
    PRIMARY KEY (run_id, source)
);

-- One row per source (configured, or seen in articles, errors or source runs): when it last
-- worked, how much it yields against its usual rate, and whether it keeps failing. Flags:
-- `failing` after 3 consecutive failed runs; `silent` when no new story came in the last 24 h
-- although the median of the 14 days before is at least 1 a day.
CREATE OR REPLACE VIEW source_health AS
WITH names AS (
    SELECT name AS source FROM sources
    UNION SELECT source FROM articles
    UNION SELECT source FROM fetch_errors
    UNION SELECT source FROM source_runs
),
art AS (
    SELECT source,
           count(*) AS articles,
           max(last_seen_at) AS last_loaded_at,
           max(first_seen_at) AS last_new_article_at,
           min(first_seen_at) AS first_article_at,
           count(*) FILTER (WHERE first_seen_at >= now() - INTERVAL 24 HOUR) AS new_24h,
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
),
sr AS (
    SELECT source,
           min(started_at) AS first_run_at,
           max(finished_at) AS last_run_at,
           max(finished_at) FILTER (WHERE status = 'ok') AS last_ok_run_at,
           arg_max(status, finished_at) AS last_run_status,
           arg_max(failure, finished_at) AS last_failure
    FROM source_runs GROUP BY source
),
streak AS (
    SELECT r.source, count(*) AS consecutive_failures
    FROM source_runs r JOIN sr USING (source)
    WHERE r.status = 'failed' AND (sr.last_ok_run_at IS NULL OR r.finished_at > sr.last_ok_run_at)
    GROUP BY r.source
),
-- day i (1..14) is the 24 hours ending i days ago; counted only once the source was observed
windows AS (
    SELECT n.source, i, now() - to_hours(24 * (i + 1)) AS day_start, now() - to_hours(24 * i) AS day_end
    FROM names n
    LEFT JOIN art a USING (source)
    LEFT JOIN sr USING (source)
    CROSS JOIN range(1, 15) t(i)
    WHERE now() - to_hours(24 * (i + 1)) >= least(a.first_article_at, sr.first_run_at) - INTERVAL 6 HOUR
),
daily AS (
    SELECT w.source, w.i, count(a.article_id) AS n
    FROM windows w
    LEFT JOIN articles a ON a.source = w.source AND a.first_seen_at >= w.day_start AND a.first_seen_at < w.day_end
    GROUP BY w.source, w.i
),
usual AS (
    SELECT source, count(*) AS usual_days, CASE WHEN count(*) >= 3 THEN median(n) END AS usual_per_day
    FROM daily GROUP BY source
),
health AS (
    SELECT n.source,
           CASE WHEN sr.source IS NOT NULL THEN sr.last_ok_run_at
                ELSE greatest(a.last_loaded_at, f.last_fetch_ok_at) END AS last_success_at,
           a.last_new_article_at,
           e.last_error_at,
           coalesce(a.articles, 0) AS articles,
           coalesce(a.new_7d, 0) AS articles_7d,
           round(coalesce(a.new_7d, 0) / 7.0, 2) AS articles_per_day_7d,
           coalesce(e.errors_7d, 0) AS errors_7d,
           CASE WHEN coalesce(e.errors_7d, 0) + coalesce(a.loaded_7d, 0) > 0
                THEN round(coalesce(e.errors_7d, 0) / (coalesce(e.errors_7d, 0) + coalesce(a.loaded_7d, 0)), 3)
           END AS error_rate_7d,
           sr.last_run_at,
           sr.last_run_status,
           coalesce(s.consecutive_failures, 0) AS consecutive_failures,
           sr.last_failure,
           coalesce(a.new_24h, 0) AS articles_24h,
           u.usual_per_day,
           coalesce(u.usual_days, 0) AS usual_days
    FROM names n
    LEFT JOIN art a USING (source)
    LEFT JOIN err e USING (source)
    LEFT JOIN fetched f USING (source)
    LEFT JOIN sr USING (source)
    LEFT JOIN streak s USING (source)
    LEFT JOIN usual u USING (source)
)
SELECT *,
       CASE WHEN consecutive_failures >= 3 THEN 'failing'
            WHEN usual_per_day >= 1 AND articles_24h = 0 THEN 'silent' END AS flag,
       CASE WHEN consecutive_failures >= 3
                THEN printf('%d consecutive failed runs (last: %s)', consecutive_failures,
                            CASE last_failure WHEN 'no_endpoint_read' THEN 'no discovery endpoint could be read'
                                              WHEN 'nothing_fetched' THEN 'no page could be fetched'
                                              ELSE coalesce(last_failure, '?') END)
            WHEN usual_per_day >= 1 AND articles_24h = 0
                THEN format('no new story in 24 h; usually {:g} a day', usual_per_day) END AS flag_reason
FROM health;
