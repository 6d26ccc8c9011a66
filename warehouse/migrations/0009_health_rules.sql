-- akhbar warehouse, schema version 9: the rules of source health are configuration, not constants.

-- One row: the thresholds `source_health` flags by. A run writes them from its settings
-- (`health_*` in sources.yaml or AKHBAR_HEALTH_*) before it reads the health of its sources, so
-- the view, read by anyone, applies the rules of the latest run. The defaults are the rules
-- schema 7 had fixed in the view.
CREATE TABLE health_rules (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    failing_after     INTEGER NOT NULL,      -- consecutive failed source runs that flag `failing`
    silent_hours      INTEGER NOT NULL,      -- hours without a new story that flag `silent` ...
    min_usual_per_day DOUBLE NOT NULL,       -- ... when the usual rate is at least this many a day
    usual_days        INTEGER NOT NULL,      -- the usual rate: median of this many days before the last 24 h
    min_usual_days    INTEGER NOT NULL,      -- with fewer observed days than this, no usual rate
    updated_at        TIMESTAMPTZ NOT NULL
);
INSERT INTO health_rules VALUES (1, 3, 24, 1, 14, 3, now());

-- As in schema 7, with the thresholds read from `health_rules`, and `articles_quiet`: the new
-- stories in the last `silent_hours`.
CREATE OR REPLACE VIEW source_health AS
WITH rules AS (SELECT * FROM health_rules),
names AS (
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
           count(*) FILTER (WHERE first_seen_at >= now() - to_hours(r.silent_hours)) AS new_quiet,
           count(*) FILTER (WHERE first_seen_at >= now() - INTERVAL 7 DAY) AS new_7d,
           count(*) FILTER (WHERE last_seen_at >= now() - INTERVAL 7 DAY) AS loaded_7d
    FROM articles CROSS JOIN rules r GROUP BY source, r.silent_hours
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
-- day i (1..usual_days) is the 24 hours ending i days ago; counted only once the source was observed
day_numbers AS (
    SELECT unnest(range(1, usual_days + 1)) AS i FROM rules
),
windows AS (
    SELECT n.source, d.i, now() - to_hours(24 * (d.i + 1)) AS day_start, now() - to_hours(24 * d.i) AS day_end
    FROM names n
    LEFT JOIN art a USING (source)
    LEFT JOIN sr USING (source)
    CROSS JOIN day_numbers d
    WHERE now() - to_hours(24 * (d.i + 1)) >= least(a.first_article_at, sr.first_run_at) - INTERVAL 6 HOUR
),
daily AS (
    SELECT w.source, w.i, count(a.article_id) AS n
    FROM windows w
    LEFT JOIN articles a ON a.source = w.source AND a.first_seen_at >= w.day_start AND a.first_seen_at < w.day_end
    GROUP BY w.source, w.i
),
usual AS (
    SELECT d.source, count(*) AS usual_days,
           CASE WHEN count(*) >= any_value(r.min_usual_days) THEN median(d.n) END AS usual_per_day
    FROM daily d CROSS JOIN rules r GROUP BY d.source
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
           coalesce(u.usual_days, 0) AS usual_days,
           coalesce(a.new_quiet, 0) AS articles_quiet
    FROM names n
    LEFT JOIN art a USING (source)
    LEFT JOIN err e USING (source)
    LEFT JOIN fetched f USING (source)
    LEFT JOIN sr USING (source)
    LEFT JOIN streak s USING (source)
    LEFT JOIN usual u USING (source)
),
flagged AS (
    SELECT h.*,
           CASE WHEN h.consecutive_failures >= r.failing_after THEN 'failing'
                WHEN h.usual_per_day >= r.min_usual_per_day AND h.articles_quiet = 0 THEN 'silent' END AS flag,
           r.silent_hours
    FROM health h CROSS JOIN rules r
)
SELECT source, last_success_at, last_new_article_at, last_error_at, articles, articles_7d, articles_per_day_7d,
       errors_7d, error_rate_7d, last_run_at, last_run_status, consecutive_failures, last_failure, articles_24h,
       usual_per_day, usual_days, flag,
       CASE flag
            WHEN 'failing'
                THEN printf('%d consecutive failed run%s (last: %s)', consecutive_failures, CASE WHEN consecutive_failures = 1 THEN '' ELSE 's' END,
                            CASE last_failure WHEN 'no_endpoint_read' THEN 'no discovery endpoint could be read'
                                              WHEN 'nothing_fetched' THEN 'no page could be fetched'
                                              ELSE coalesce(last_failure, '?') END)
            WHEN 'silent'
                THEN format('no new story in {} h; usually {:g} a day', silent_hours, usual_per_day) END AS flag_reason,
       articles_quiet
FROM flagged;
