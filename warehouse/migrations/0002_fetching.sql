-- akhbar warehouse, schema version 2: what the fetcher remembers between runs.
-- Narrow, mutable state (validators of discovery endpoints, robots.txt) and the insert-only
-- index of the raw archive (WARC files under the data directory).

-- Conditional requests for feeds and sitemaps: the validators of the last answer, and the entries
-- it listed, so that a 304 costs nothing more (no body, no parse: the stored entries are reused).
CREATE TABLE http_validators (
    url            VARCHAR PRIMARY KEY,      -- the endpoint as configured or discovered
    kind           VARCHAR NOT NULL,         -- feed | sitemap
    etag           VARCHAR,
    last_modified  VARCHAR,                  -- the header value, sent back verbatim
    checked_at     TIMESTAMPTZ NOT NULL,     -- when we last asked (200 or 304)
    changed_at     TIMESTAMPTZ NOT NULL,     -- when it last answered 200
    entries        JSON                      -- what it listed: [{url, lastmod, title, published}] or child sitemaps
);

-- robots.txt per origin (scheme://host:port), kept until expires_at.
CREATE TABLE robots_txt (
    origin      VARCHAR PRIMARY KEY,
    status      INTEGER,                     -- HTTP status of the robots.txt answer, NULL if unreachable
    body        VARCHAR,                     -- the rules (empty: allow all)
    fetched_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

-- One row per request the fetcher made (or refused), and where its raw record lies.
CREATE TABLE fetch_log (
    run_id        VARCHAR,
    source        VARCHAR NOT NULL,
    url           VARCHAR NOT NULL,          -- the URL requested
    final_url     VARCHAR,                   -- after redirects
    kind          VARCHAR NOT NULL,          -- page | feed | sitemap | homepage | listing | robots
    status        INTEGER,                   -- HTTP status, NULL when no answer
    fetched_at    TIMESTAMPTZ NOT NULL,
    elapsed_s     DOUBLE,
    content_type  VARCHAR,
    size          BIGINT,                    -- decoded body bytes kept
    sha256        VARCHAR,                   -- of the decoded body
    warc_file     VARCHAR,                   -- path relative to the data directory
    warc_offset   BIGINT,                    -- byte offset of the record in that file
    error         VARCHAR                    -- reason when it failed or was refused, else NULL
);
CREATE INDEX fetch_log_url ON fetch_log (url);
