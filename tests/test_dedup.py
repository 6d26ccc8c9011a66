"""Deduplication and story clusters on real DuckDB files, with real article text:
exact copies, near copies (MinHash LSH, confirmed), across batches, and never two stories merged."""

from __future__ import annotations

import gzip
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from parsers import Article, Block, SiteContext, extract
from parsers.signatures import minhash_signature, similarity
from warehouse import LoadItem, Warehouse, run_query

FIXTURES = Path(__file__).parent / "fixtures"
FETCHED = datetime(2024, 4, 27, 6, 0, tzinfo=timezone.utc)


def _seed_paragraphs() -> list[str]:
    lines = (FIXTURES / "seed" / "alwefaq-2024-04-27.txt").read_text(encoding="utf-8").split("\n")
    body = [ln for ln in lines[8:-1] if ln.strip("\u00a0 ")]
    return body


def _page_paragraphs(rel: str) -> list[str]:
    html = gzip.decompress((FIXTURES / "arabic-dev" / rel).read_bytes())
    return [b.text for b in extract(html, "https://example.org/x", SiteContext(timezone="Africa/Cairo")).body]


SEED = _seed_paragraphs()
OTHER = _page_paragraphs("youm7.com/htmldate_1691196862.html.gz")


def story(source: str, n: int, paragraphs: list[str], title: str = "عنوان", published_hour: int = 5) -> Article:
    return Article(
        url=f"https://{source}.example/news/{n}",
        canonical_url=f"https://{source}.example/news/{n}",
        title=title,
        body=tuple(Block("paragraph", p) for p in paragraphs),
        published_at=datetime(2024, 4, 27, published_hour, 0, tzinfo=timezone.utc),
        source=source,
    )


def persianise(text: str) -> str:
    return text.replace("ي", "ی").replace("ك", "ک")


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    return wh


def rows(wh: Warehouse, sql: str) -> list[tuple]:
    return run_query(wh.path, sql).rows


def load(wh: Warehouse, *articles: Article):
    return wh.upsert_articles([LoadItem(a, FETCHED) for a in articles])


def test_an_edited_copy_is_a_near_copy_of_the_original(warehouse):
    edited = [persianise(p) for p in SEED[1:]] + ["وأضافت الوكالة أن الاجتماع المقبل سيعقد في العام القادم."]
    result = load(warehouse, story("wefaq", 1, SEED), story("digest", 1, edited, title="عنوان آخر", published_hour=7))
    assert result.count("digest", "duplicate") == 1
    (reason, score, same_cluster), = rows(
        warehouse,
        "SELECT c.duplicate_reason, c.duplicate_similarity, c.cluster_id = o.cluster_id "
        "FROM articles c JOIN articles o ON c.duplicate_of = o.article_id",
    )
    assert reason == "near_copy" and 0.6 <= score < 1.0 and same_cluster


def test_a_different_story_is_never_merged(warehouse):
    result = load(warehouse, story("wefaq", 1, SEED), story("youm7", 1, OTHER))
    assert result.count("youm7", "new") == 1
    assert rows(warehouse, "SELECT count(DISTINCT cluster_id) FROM articles") == [(2,)]


def test_a_near_copy_in_a_later_run_is_caught_against_the_warehouse(warehouse):
    load(warehouse, story("wefaq", 1, SEED))
    result = load(warehouse, story("digest", 1, SEED[:-1], published_hour=8))
    assert result.count("digest", "duplicate") == 1
    assert rows(warehouse, "SELECT duplicate_reason FROM articles WHERE source = 'digest'") == [("near_copy",)]


def test_stories_outside_the_window_are_not_compared(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb", dedup_window_days=30)
    wh.migrate()
    load(wh, story("wefaq", 1, SEED))
    import duckdb

    con = duckdb.connect(str(wh.path))  # age the index by 40 days, as if loaded long ago
    con.execute("UPDATE lsh_buckets SET seen_at = seen_at - INTERVAL 40 DAY")
    con.close()
    result = load(wh, story("digest", 1, SEED[:-1]))
    assert result.count("digest", "new") == 1


def test_an_exact_copy_joins_the_cluster_with_similarity_one(warehouse):
    load(warehouse, story("wefaq", 1, SEED))
    load(warehouse, story("digest", 1, [persianise(p) for p in SEED]))
    (reason, score), = rows(warehouse, "SELECT duplicate_reason, duplicate_similarity FROM articles WHERE source = 'digest'")
    assert (reason, score) == ("exact_body", 1.0)
    assert rows(warehouse, "SELECT size, outlet_count FROM story_clusters") == [(2, 2)]


def test_a_correction_is_a_version_not_a_cluster_member(warehouse):
    load(warehouse, story("wefaq", 1, SEED))
    corrected = story("wefaq", 1, SEED[:-1] + [SEED[-1] + " (تصحيح)"])
    result = load(warehouse, corrected)
    assert result.count("wefaq", "updated") == 1
    assert rows(warehouse, "SELECT count(*), max(size) FROM story_clusters") == [(1, 1)]
    assert rows(warehouse, "SELECT count(*) FROM article_versions") == [(2,)]


def test_only_stories_stored_for_the_first_time_get_a_signature_and_buckets(warehouse):
    load(warehouse, story("wefaq", 1, SEED))
    # one batch: the known story again (changed), a new one, the new one's URL again, a short body
    result = load(warehouse, story("wefaq", 1, SEED[:-1]), story("other", 1, OTHER),
                  story("other", 1, OTHER[:-1]), story("brief", 1, ["سطر واحد قصير"]))
    assert [d.kind for d in result.decisions] == ["updated", "new", "duplicate", "new"]
    assert rows(warehouse, "SELECT s.article_id, count(b.band_key) FROM article_signatures s "
                           "LEFT JOIN lsh_buckets b USING (article_id) JOIN articles a USING (article_id) "
                           "GROUP BY ALL ORDER BY min(a.source)") == [
        (result.decisions[1].article_id, 32), (result.decisions[0].article_id, 32)]


def test_the_stories_written_before_the_decisions_are_those_the_decisions_store_for_the_first_time():
    from warehouse.dedup import decide_batch, fresh_positions, prepare

    known = story("wefaq", 1, SEED)
    edited = [persianise(p) for p in OTHER[1:]] + ["وأضافت الوكالة أن الاجتماع المقبل سيعقد في العام القادم."]
    # the known story changed, a new one, its URL again, an exact copy of it, a near copy of it
    batch = prepare([LoadItem(a, FETCHED) for a in (
        story("wefaq", 1, SEED[:-1]), story("other", 1, OTHER), story("other", 1, OTHER[:-1]),
        story("copy", 1, [persianise(p) for p in OTHER]), story("digest", 1, edited, title="عنوان آخر"))])
    known_hashes = {prepare([LoadItem(known, FETCHED)])[0].article_id: "an older content hash"}
    decisions = decide_batch(batch, known_hashes, {})
    assert [(d.kind, d.reason) for d in decisions] == [
        ("updated", None), ("new", None), ("duplicate", "canonical_url"), ("duplicate", "exact_body"),
        ("duplicate", "near_copy")]
    assert fresh_positions(batch, known_hashes) == [
        i for i, d in enumerate(decisions) if d.kind == "new" or d.reason in ("exact_body", "near_copy")]


def test_the_cluster_representative_is_the_earliest_publication(warehouse):
    load(warehouse, story("digest", 1, SEED[:-1], published_hour=9), story("wefaq", 1, SEED, published_hour=5))
    (rep_source, size, outlets), = rows(warehouse, "SELECT representative_source, size, outlets FROM story_clusters WHERE size > 1")
    assert rep_source == "wefaq" and size == 2 and outlets == ["digest", "wefaq"]


def test_cluster_members_say_why_each_one_is_there(warehouse):
    load(warehouse, story("wefaq", 1, SEED), story("digest", 1, SEED[:-1]))
    members = dict(rows(warehouse, "SELECT source, membership FROM cluster_members"))
    assert members == {"wefaq": "original", "digest": "near_copy"}


def test_short_bodies_get_no_signature_and_are_never_near_copies():
    assert minhash_signature("خبر قصير جدا") is None


def test_signatures_see_through_spelling_variants():
    text = " ".join(SEED)
    assert similarity(minhash_signature(text), minhash_signature(persianise(text).replace("،", ","))) == 1.0


def test_the_representative_prefers_the_outlet_the_copies_credit(warehouse):
    from warehouse import SourceRecord

    warehouse.upsert_sources([
        SourceRecord("wefaq", "https://wefaq.example/", "ar", "Asia/Tehran", aliases=("الوفاق", "Al-Wefaq")),
        SourceRecord("digest", "https://digest.example/", "ar", "Asia/Beirut"),
    ])
    early_copy = replace(story("digest", 1, SEED[:-1], published_hour=3), credit="المصدر: الوفاق/وكالات")
    load(warehouse, early_copy, story("wefaq", 1, SEED, published_hour=5))
    (rep_source, credited), = rows(
        warehouse, "SELECT representative_source, representative_is_credited FROM story_clusters WHERE size > 1")
    assert (rep_source, credited) == ("wefaq", True)


def test_sources_are_recorded_and_updated_in_place(warehouse):
    from warehouse import SourceRecord

    warehouse.upsert_sources([SourceRecord("wefaq", "https://wefaq.example/", "ar", "Asia/Tehran")])
    warehouse.upsert_sources([SourceRecord("wefaq", "https://wefaq.example/", "ar", "Asia/Tehran", aliases=("الوفاق",))])
    assert rows(warehouse, "SELECT name, aliases FROM sources") == [("wefaq", ["الوفاق"])]


# -- a session's later loads ask the file only about keys it may hold (warehouse/seen_keys.py) --

_SESSION_BATCHES = [
    # 1: originals
    [story("wefaq", 1, SEED), story("youm7", 1, OTHER)],
    # 2: against what batch 1 stored: an exact copy, a near copy, a correction, the same story again
    [story("digest", 1, [persianise(p) for p in SEED]), story("digest", 2, OTHER[:-1], published_hour=8),
     story("wefaq", 1, SEED[:-1] + [SEED[-1] + " (تصحيح)"]), story("youm7", 1, OTHER)],
    # 3: against what batch 2 stored (the near copy's own buckets) and batch 1 again
    [story("mirror", 1, OTHER[:-1], published_hour=9), story("mirror", 2, [persianise(p) for p in SEED]),
     story("youm7", 1, OTHER)],
]


def _decisions(result) -> list[tuple]:
    return [(d.item.article.source, d.kind, d.reason, d.duplicate_of, d.cluster_id) for d in result.decisions]


@pytest.mark.parametrize("key_limit", [10_000_000, 0], ids=["keys-in-memory", "over-the-limit"])
def test_a_session_of_several_loads_decides_like_separate_loads(tmp_path, key_limit):
    alone = Warehouse(tmp_path / "alone.duckdb")
    alone.migrate()
    expected = [_decisions(load(alone, *batch)) for batch in _SESSION_BATCHES]
    # (batches this small are a large share of the window's keys: the share is lifted, so that
    # only the limit decides which path is taken)
    held_file = Warehouse(tmp_path / "session.duckdb", session_key_limit=key_limit, session_key_share=1.0)
    held_file.migrate()
    with held_file.session() as held:
        got = [_decisions(load(held, *batch)) for batch in _SESSION_BATCHES]
        kept = held._seen.keys  # the path under test: keys in memory, or the file asked each time
    assert (kept is not None) == (key_limit > 0)
    assert got == expected
    assert [k for _, k, *_ in expected[1]] == ["duplicate", "duplicate", "updated", "unchanged"]
    assert [r for _, _, r, *_ in expected[2]] == ["near_copy", "exact_body", None]
    assert rows(held_file, "SELECT count(*) FROM lsh_buckets") == rows(alone, "SELECT count(*) FROM lsh_buckets")


def test_a_session_keeps_asking_the_file_about_stories_a_rolled_back_load_left_in_memory(tmp_path):
    warehouse = Warehouse(tmp_path / "w.duckdb", session_key_share=1.0)
    warehouse.migrate()
    with warehouse.session() as held:
        load(held, story("wefaq", 1, SEED))
        with pytest.raises(ZeroDivisionError):
            with held._writing() as con:  # a load whose transaction rolls back after its keys were noted
                held.upsert_articles([LoadItem(story("youm7", 1, OTHER), FETCHED)], _con=con)
                1 / 0
        result = load(held, story("youm7", 1, OTHER), story("digest", 1, SEED[:-1]))
        assert held._seen.keys is not None  # the keys were in memory
    assert [(d.kind, d.reason) for d in result.decisions] == [("new", None), ("duplicate", "near_copy")]
    assert rows(warehouse, "SELECT source FROM articles ORDER BY source") == [("digest",), ("wefaq",), ("youm7",)]


def test_a_session_reads_the_keys_only_for_a_batch_small_beside_the_window(tmp_path):
    # 32 bucket keys a story: the second batch (1 story) against 3 stories' 96 keys is a share of
    # 1/3, over the limit of 1/4; the third (1 story) against 4 stories' 128 keys is 1/4
    warehouse = Warehouse(tmp_path / "w.duckdb", session_key_share=0.25)
    warehouse.migrate()
    with warehouse.session() as held:
        load(held, story("wefaq", 1, SEED), story("youm7", 1, OTHER), story("mirror", 1, SEED[1:-1]))
        load(held, story("digest", 1, OTHER[:-1]))
        after_large = held._seen.keys
        result = load(held, story("digest", 2, SEED[:-1]))
        after_small = held._seen.keys
    assert after_large is None and after_small is not None
    assert [(d.kind, d.reason) for d in result.decisions] == [("duplicate", "near_copy")]


def test_a_session_answering_from_memory_leaves_a_core_to_the_loader_and_gives_it_back_before_closing(
    tmp_path, monkeypatch
):
    import warehouse.connection

    def threads(con) -> int:
        return con.execute("SELECT current_setting('threads')").fetchall()[0][0]

    at_close = []
    real_close = warehouse.connection._close
    held_file = Warehouse(tmp_path / "w.duckdb", session_key_share=1.0)
    held_file.migrate()
    monkeypatch.setattr(warehouse.connection, "_close", lambda con: (at_close.append(threads(con)), real_close(con)))
    with held_file.session() as held:
        held._con.execute("SET threads = 2")  # as on a two-core machine
        load(held, story("wefaq", 1, SEED))
        load(held, story("youm7", 1, OTHER))  # reads the keys, on every thread
        while_reading = threads(held._con)
        result = load(held, story("mirror", 1, SEED[1:-1]))  # answered from memory
        from_memory = threads(held._con)
    assert (while_reading, from_memory, at_close) == (2, 1, [2])
    assert [(d.kind, d.reason) for d in result.decisions] == [("duplicate", "near_copy")]


def test_a_near_copy_of_a_staged_story_is_caught_by_the_load_that_merges_it(tmp_path):
    # the staged original is merged into the same transaction, uncommitted when the copy is
    # decided: its candidates must be looked up where that transaction's rows are seen
    from holder import held

    warehouse = Warehouse(tmp_path / "w.duckdb", lock_timeout=0.3, stage_when_busy=True)
    warehouse.migrate()
    with held(warehouse.path):
        assert warehouse.load([LoadItem(story("wefaq", 1, SEED), FETCHED)]).staged == 1
    result = load(warehouse, story("digest", 1, SEED[:-1], published_hour=8))
    assert [(d.kind, d.reason) for d in result.decisions] == [("duplicate", "near_copy")]
    assert rows(warehouse, "SELECT source, duplicate_reason FROM articles ORDER BY source") == [
        ("digest", "near_copy"), ("wefaq", None)]


def test_every_stored_story_has_one_signature_and_one_search_document_however_often_it_is_loaded(tmp_path):
    # (schema 10: no index on either table's article_id refuses a second row; the loader must)
    warehouse = Warehouse(tmp_path / "w.duckdb", session_key_share=1.0)
    warehouse.migrate()
    for batch in _SESSION_BATCHES:  # new, exact and near copies, a correction, the same story again
        load(warehouse, *batch)
    with warehouse.session() as held:
        for batch in _SESSION_BATCHES + [_SESSION_BATCHES[0] + _SESSION_BATCHES[0]]:  # again, twice in one batch
            load(held, *batch)
    stories = rows(warehouse, "SELECT count(*) FROM articles")[0][0]
    assert stories == 6
    assert rows(warehouse, "SELECT count(*), count(DISTINCT article_id) FROM article_signatures") == [(stories, stories)]
    assert rows(warehouse, "SELECT count(*), count(DISTINCT article_id) FROM search_docs") == [(stories, stories)]
    # each document is its story's current version
    assert rows(warehouse, "SELECT count(*) FROM search_docs d JOIN articles a USING (article_id) "
                           "WHERE d.content_hash <> a.content_hash") == [(0,)]
