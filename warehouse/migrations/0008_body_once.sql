-- akhbar warehouse, schema version 8: the body text is stored once.
-- Versions kept it twice: `body` (blocks joined by blank lines) and `body_blocks`
-- (STRUCT(kind, text)[]). The nested copy was the most expensive column to write: a batch of
-- 1,000 versions took ~56 ms to insert and commit into a file of 100,000 with it and ~25 ms
-- without, and one bulk insert of 100,000 about twice as long (measured on DuckDB 2.0.1; see
-- docs/operations.md, "Load speed"). A version now keeps `body` and the layout of its blocks
-- (`block_kinds`, `block_lengths`); the macro `body_blocks_of` cuts `body` back into blocks, and
-- `latest_articles.body_blocks` is made with it, so what readers of that view get is unchanged.

-- The blocks of a body: block i is `lengths[i]` characters of `body`, and blocks are separated
-- by one blank line ("\n\n"), as `parsers.Article.body_text` joins them.
CREATE MACRO body_blocks_of(body, kinds, lengths) AS
    list_transform(
        list_zip(kinds, lengths, generate_series(1, len(kinds))),
        lambda z: {'kind': z[1],
                   'text': substring(body, (1 + coalesce(list_sum(lengths[1:z[3] - 1]), 0) + 2 * (z[3] - 1))::BIGINT,
                                     z[2])});

ALTER TABLE article_versions ADD COLUMN block_kinds VARCHAR[];
ALTER TABLE article_versions ADD COLUMN block_lengths INTEGER[];

-- A body that is not its blocks joined (none was written so, but an old file is not trusted to
-- hold that) is rewritten from its blocks, so that nothing of the blocks is lost.
UPDATE article_versions
SET body = array_to_string([b.text FOR b IN body_blocks], chr(10) || chr(10))
WHERE body_blocks IS NOT NULL
  AND body IS DISTINCT FROM array_to_string([b.text FOR b IN body_blocks], chr(10) || chr(10));

UPDATE article_versions
SET block_kinds = [b.kind FOR b IN body_blocks],
    block_lengths = [length(b.text)::INTEGER FOR b IN body_blocks]
WHERE body_blocks IS NOT NULL;

ALTER TABLE article_versions DROP COLUMN body_blocks;

CREATE OR REPLACE VIEW latest_articles AS
SELECT a.article_id, a.source, a.url, a.canonical_url, a.published_at, a.first_seen_at,
       a.last_seen_at, a.cluster_id, a.duplicate_of, a.duplicate_reason, a.duplicate_similarity,
       v.title, v.kicker, v.lead, v.body, body_blocks_of(v.body, v.block_kinds, v.block_lengths) AS body_blocks,
       v.credit, v.authors, v.language,
       v.published_text, v.modified_at, v.section, v.tags, v.image, v.methods,
       v.parser_version, a.content_hash
FROM articles a
JOIN article_versions v USING (article_id, content_hash);
