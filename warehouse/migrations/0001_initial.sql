-- akhbar warehouse, schema version 1.
-- Bodies are immutable: `articles` is narrow and mutable (one row per story URL), the full
-- extracted record lives in the insert-only `article_versions`, one row per distinct content.

CREATE TABLE runs (
    run_id       VARCHAR PRIMARY KEY,
    flow_run_id  VARCHAR,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    status       VARCHAR NOT NULL,            -- running | completed | failed
    sources      VARCHAR[],
    stats        JSON                         -- per source: discovered, fetched, new, duplicates, failed
);

CREATE TABLE articles (
    article_id        VARCHAR PRIMARY KEY,    -- sha256 of the canonical URL, 24 hex chars
    source            VARCHAR NOT NULL,
    url               VARCHAR NOT NULL,       -- the URL it was first fetched from
    canonical_url     VARCHAR NOT NULL,
    title             VARCHAR,
    published_at      TIMESTAMPTZ,
    language          VARCHAR,
    first_seen_at     TIMESTAMPTZ NOT NULL,
    last_seen_at      TIMESTAMPTZ NOT NULL,
    content_hash      VARCHAR NOT NULL,       -- the current row of article_versions
    body_fingerprint  VARCHAR,                -- sha256 of the normalised body (exact copies)
    duplicate_of      VARCHAR,                -- article_id of the story this one copies
    duplicate_reason  VARCHAR,                -- why: exact_body
    first_run_id      VARCHAR
);
CREATE INDEX articles_url ON articles (url);
CREATE INDEX articles_canonical_url ON articles (canonical_url);
CREATE INDEX articles_fingerprint ON articles (body_fingerprint);

CREATE TABLE article_versions (
    article_id        VARCHAR NOT NULL,
    content_hash      VARCHAR NOT NULL,
    run_id            VARCHAR,
    fetched_at        TIMESTAMPTZ NOT NULL,
    parser_version    VARCHAR NOT NULL,
    source            VARCHAR NOT NULL,
    url               VARCHAR NOT NULL,
    canonical_url     VARCHAR NOT NULL,
    title             VARCHAR,
    kicker            VARCHAR,
    lead              VARCHAR,
    body              VARCHAR,                -- blocks joined by blank lines
    body_blocks       STRUCT(kind VARCHAR, text VARCHAR)[],
    credit            VARCHAR,
    authors           VARCHAR[],
    language          VARCHAR,
    published_at      TIMESTAMPTZ,
    published_text    VARCHAR,
    modified_at       TIMESTAMPTZ,
    modified_text     VARCHAR,
    section           VARCHAR,
    tags              VARCHAR[],
    image             VARCHAR,
    methods           JSON,                   -- field -> method that produced it
    body_fingerprint  VARCHAR,
    PRIMARY KEY (article_id, content_hash)
);

CREATE TABLE fetch_errors (
    run_id       VARCHAR,
    source       VARCHAR NOT NULL,
    url          VARCHAR NOT NULL,
    stage        VARCHAR NOT NULL,            -- discover | fetch | parse
    reason       VARCHAR NOT NULL,            -- short machine-readable reason: http_404, timeout, not_html...
    status_code  INTEGER,
    detail       VARCHAR,
    occurred_at  TIMESTAMPTZ NOT NULL
);

-- The current version of every story, with its full record: what analysts usually want.
CREATE VIEW latest_articles AS
SELECT a.article_id, a.source, a.url, a.canonical_url, a.published_at, a.first_seen_at,
       a.last_seen_at, a.duplicate_of, a.duplicate_reason,
       v.title, v.kicker, v.lead, v.body, v.body_blocks, v.credit, v.authors, v.language,
       v.published_text, v.modified_at, v.section, v.tags, v.image, v.methods,
       v.parser_version, a.content_hash
FROM articles a
JOIN article_versions v USING (article_id, content_hash);
