"""Full-text search on real pages: BM25 over a real DuckDB file built from the dev set."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app
from parsers import Article, Block, SiteContext, canonicalize_url, extract
from parsers.search_terms import query_terms
from warehouse import LoadItem, Warehouse, run_query
from warehouse import store
from warehouse.connection import open_session, transaction
from warehouse.search_index import SessionTerms, _term_ids, search
from warehouse.statement_queue import statement_queue

FIXTURES = Path(__file__).parent / "fixtures"
FETCHED = datetime(2024, 5, 1, tzinfo=timezone.utc)


def _dev_pages() -> list[tuple[dict, Article]]:
    pages, seen = [], set()
    for meta_path in sorted(FIXTURES.glob("*-dev/**/*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        key = canonicalize_url(meta["url"])
        if key in seen:
            continue
        seen.add(key)
        html = gzip.decompress(meta_path.with_suffix(".html.gz").read_bytes())
        art = extract(html, meta["url"], SiteContext(timezone="UTC"))
        source = meta_path.parent.name
        pages.append((meta, replace(art, source=source)))
    return pages


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    pages = _dev_pages()
    wh = Warehouse(tmp_path_factory.mktemp("search") / "w.duckdb")
    wh.migrate()
    wh.upsert_articles([LoadItem(a, FETCHED) for _, a in pages])
    return wh, pages


def _language(meta: dict) -> str:
    return meta.get("language") or meta.get("lang") or "?"


def _rank_first_share(corpus, languages: set[str]) -> tuple[float, int]:
    wh, pages = corpus
    chosen = [(m, a) for m, a in pages if _language(m) in languages]
    first = 0
    for meta, art in chosen:
        hits = search(wh.path, meta["title"], limit=3)
        first += bool(hits) and hits[0].url == art.url
    return first / len(chosen), len(chosen)


def test_an_arabic_or_persian_page_ranks_first_for_its_title_words(corpus):
    share, n = _rank_first_share(corpus, {"ar", "fa"})
    assert n >= 8 and share >= 0.9, share


def test_an_english_page_ranks_first_for_its_title_words(corpus):
    share, n = _rank_first_share(corpus, {"en"})
    assert n >= 10 and share >= 0.9, share


def test_every_language_together_ranks_the_page_first_nine_times_in_ten(corpus):
    share, n = _rank_first_share(corpus, {_language(m) for m, _ in corpus[1]})
    assert n >= 100 and share >= 0.9, share


def test_persian_letters_and_tatweel_in_the_query_still_match_arabic_text(corpus):
    wh, pages = corpus
    meta, art = next((m, a) for m, a in pages if "youm7" in m["url"])
    query = meta["title"].replace("ي", "ی").replace("ك", "ک").replace("الرى", "الـرى")
    assert search(wh.path, query, limit=1)[0].url == art.url


def test_filters_by_source_and_language(corpus):
    wh, _ = corpus
    hits = search(wh.path, "وزير", source="youm7.com", limit=5)
    assert hits and {h.source for h in hits} == {"youm7.com"}
    assert all(h.language == "ar" for h in search(wh.path, "وزير", language="ar", limit=5))


def test_the_index_follows_each_load_without_a_rebuild(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    body = tuple(Block("paragraph", p) for p in ["اجتماع وزراء الدفاع في أستانا لبحث التعاون الأمني المشترك"] * 3)
    first = Article(url="https://a.example/1", canonical_url="https://a.example/1", title="اجتماع في أستانا",
                    body=body, language="ar", source="a")
    wh.upsert_articles([LoadItem(first, FETCHED)])
    assert [h.url for h in search(wh.path, "أستانا")] == ["https://a.example/1"]
    updated = replace(first, title="قمة في طشقند", body=(Block("paragraph", "القمة المقبلة تعقد في طشقند"),))
    wh.upsert_articles([LoadItem(updated, FETCHED)])
    assert search(wh.path, "أستانا") == []
    assert [h.url for h in search(wh.path, "طشقند")] == ["https://a.example/1"]
    assert run_query(wh.path, "SELECT count(*) FROM search_docs").rows == [(1,)]


def test_a_batch_that_updates_the_newest_indexed_story_and_adds_new_ones_indexes_all_of_them(tmp_path):
    # the updated story holds the highest document id, which it keeps; the new ones get the next
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    first = Article(url="https://a.example/1", canonical_url="https://a.example/1", title="اجتماع في أستانا",
                    body=(Block("paragraph", "اجتماع وزراء الدفاع في أستانا لبحث التعاون الأمني"),), language="ar",
                    source="a")
    wh.upsert_articles([LoadItem(first, FETCHED)])
    updated = replace(first, body=(Block("paragraph", "اجتماع وزراء الدفاع في أستانا انتهى ببيان مشترك"),))
    new = Article(url="https://a.example/2", canonical_url="https://a.example/2", title="قمة في طشقند",
                  body=(Block("paragraph", "القمة المقبلة تعقد في طشقند الشهر القادم"),), language="ar", source="a")
    result = wh.upsert_articles([LoadItem(updated, FETCHED), LoadItem(new, FETCHED)])
    assert [d.kind for d in result.decisions] == ["updated", "new"]
    assert [h.url for h in search(wh.path, "بيان مشترك")] == ["https://a.example/1"]
    assert [h.url for h in search(wh.path, "طشقند")] == ["https://a.example/2"]
    assert run_query(wh.path, "SELECT count(*), count(DISTINCT doc_id) FROM search_docs").rows == [(2, 2)]


def test_a_session_numbers_documents_as_the_file_would_across_loads_and_a_rollback(tmp_path):
    # a session keeps the next free document id instead of asking the file at every load
    def story(n: int, words: str) -> LoadItem:
        return LoadItem(Article(url=f"https://a.example/{n}", canonical_url=f"https://a.example/{n}", title=words,
                                body=(Block("paragraph", f"{words} {words} تقرير رقم {n}"),), language="ar",
                                source="a"), FETCHED)

    wh = Warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    wh.upsert_articles([story(1, "اجتماع في أستانا")])
    with wh.session() as held:
        held.upsert_articles([story(2, "قمة في طشقند"), story(3, "مؤتمر في الدوحة")])
        with pytest.raises(ZeroDivisionError), held._writing():
            held.upsert_articles([story(4, "لقاء في عمان")], _con=held._con)
            1 / 0  # rolled back: the ids it took stay unused
        held.upsert_articles([story(5, "ندوة في تونس")])
    wh.upsert_articles([story(6, "معرض في بيروت")])  # outside the session: asks the file again
    # the session's own count, not the file's: the rolled-back load's id 4 stays unused
    assert run_query(wh.path, "SELECT list(doc_id ORDER BY doc_id) FROM search_docs").rows == [([1, 2, 3, 5, 6],)]
    for words, url in (("أستانا", 1), ("طشقند", 2), ("الدوحة", 3), ("تونس", 5), ("بيروت", 6)):
        assert [h.url for h in search(wh.path, words)] == [f"https://a.example/{url}"]
    assert search(wh.path, "عمان") == []


def _story(n: int, words: str) -> LoadItem:
    return LoadItem(Article(url=f"https://a.example/{n}", canonical_url=f"https://a.example/{n}", title=words,
                            body=(Block("paragraph", f"{words} {words} تقرير رقم {n}"),), language="ar",
                            source="a"), FETCHED)


def test_a_session_remembers_the_term_ids_of_committed_loads_only(tmp_path, monkeypatch):
    # a session's loads look up only terms its earlier loads did not use; a load that rolls
    # back gave ids to terms the file then lacks, so those must not be remembered
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    real_index_documents = store.index_documents

    def fails_after_indexing(queue, *args, **kwargs):
        update = real_index_documents(queue, *args, **kwargs)
        queue.execute("SELECT error('a write after the terms fails')")  # raised when the load waits for its writes
        return update

    with wh.session() as held:
        held.upsert_articles([_story(1, "اجتماع في أستانا")])
        with monkeypatch.context() as patched:
            patched.setattr(store, "index_documents", fails_after_indexing)
            with pytest.raises(duckdb.Error, match="a write after the terms fails"):
                held.upsert_articles([_story(2, "قمة في طشقند")])
        held.upsert_articles([_story(3, "ندوة في طشقند")])
        remembered = dict(held._terms.ids)
    in_file = dict(run_query(wh.path, "SELECT term, term_id FROM search_terms").rows)
    assert {"استا", "طشقند"} <= set(remembered)  # (أستانا's stem) the words of both committed loads
    assert {term: in_file.get(term) for term in remembered} == remembered
    assert [h.url for h in search(wh.path, "طشقند")] == ["https://a.example/3"]


def test_a_runs_load_in_a_session_remembers_its_terms_only_once_its_failures_are_written_too(tmp_path, monkeypatch):
    # `Warehouse.load` (the flows' path) writes a batch's articles and failures in one
    # transaction: terms are remembered after that commits, not after the articles
    from warehouse import PageFailure

    def failure(n: int) -> PageFailure:
        return PageFailure("a", f"https://a.example/bad/{n}", "fetch", "http_404", FETCHED, 404, "HTTP 404")

    def refuse(*args, **kwargs):
        raise RuntimeError("the failures cannot be written")

    wh = Warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    with wh.session() as held:
        held.load([_story(1, "اجتماع في أستانا")], [failure(1)], "r1")
        with monkeypatch.context() as patched:
            patched.setattr(store, "apply_rows", refuse)
            with pytest.raises(RuntimeError, match="cannot be written"):
                held.load([_story(2, "قمة في طشقند")], [failure(2)], "r2")
        remembered = dict(held._terms.ids)
    assert "استا" in remembered and "طشقند" not in remembered
    assert run_query(wh.path, "SELECT count(*) FROM articles").rows == [(1,)]


def test_remembered_terms_are_not_looked_up_and_new_ones_follow_the_highest_id(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    wh.upsert_articles([_story(1, "اجتماع في أستانا")])
    with open_session(wh.path) as con, transaction(con):
        highest = con.execute("SELECT max(term_id) FROM search_terms").fetchall()[0][0]
        stored = dict(con.execute("SELECT term, term_id FROM search_terms").fetchall())
        with statement_queue(con) as queue:
            assert _term_ids(queue, sorted(stored), stored) == {}  # all remembered: nothing asked
            assert queue._queued == []
            got = _term_ids(queue, ["استا", "زنجبار"], {})
        assert got == {"استا": stored["استا"], "زنجبار": highest + 1}
        assert con.execute("SELECT term_id FROM search_terms WHERE term = 'زنجبار'").fetchall() == [(highest + 1,)]


def test_a_session_remembers_at_most_its_limit_of_terms():
    terms = SessionTerms(limit=3)
    terms.remember({"a": 1, "b": 2})
    terms.remember({"c": 3, "d": 4})
    terms.remember({"e": 5})
    assert terms.ids == {"a": 1, "b": 2, "c": 3}


def test_copies_of_one_story_collapse_to_one_result(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    text = "وفي بيانهم الختامي يوم الجمعة رحب وزراء الدفاع في الدول الأعضاء في منظمة شنغهاي للتعاون " * 3
    a = Article(url="https://a.example/1", canonical_url="https://a.example/1", title="شنغهاي",
                body=(Block("paragraph", text),), language="ar", source="a")
    b = replace(a, url="https://b.example/1", canonical_url="https://b.example/1", source="b")
    wh.upsert_articles([LoadItem(a, FETCHED), LoadItem(b, FETCHED)])
    hits = search(wh.path, "شنغهاي")
    assert len(hits) == 1 and hits[0].cluster_size == 2
    assert len(search(wh.path, "شنغهاي", all_copies=True)) == 2


def test_the_sql_macro_takes_the_printed_terms(corpus):
    wh, pages = corpus
    meta, art = next((m, a) for m, a in pages if "khabaronline" in m["url"])
    terms = query_terms(meta["title"])
    rows = run_query(wh.path, "SELECT article_id FROM search_bm25(?::VARCHAR[]) ORDER BY score DESC LIMIT 1", [terms]).rows
    (top,) = rows[0]
    assert run_query(wh.path, "SELECT url FROM articles WHERE article_id = ?", [top]).rows == [(art.url,)]


def test_akhbar_search_prints_the_best_match(corpus):
    wh, pages = corpus
    meta, _ = next((m, a) for m, a in pages if "youm7" in m["url"])
    result = CliRunner().invoke(app, ["search", "--database", str(wh.path), "--limit", "3", meta["title"]])
    assert result.exit_code == 0, result.output
    assert "youm7" in result.output.splitlines()[3] and "3 result(s)" in result.output


def test_akhbar_search_json_and_help(corpus):
    wh, _ = corpus
    result = CliRunner().invoke(app, ["search", "--database", str(wh.path), "--json", "--limit", "2", "في"])
    assert result.exit_code == 0 and len(json.loads(result.output)) == 2
    assert CliRunner().invoke(app, ["search", "--help"]).exit_code == 0
