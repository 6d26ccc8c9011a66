"""A version stores its body text once (`body`) with the layout of its blocks (`block_kinds`,
`block_lengths`); `body_blocks_of` (migration 8) gives the blocks back exactly, whatever the text
holds: diacritics, emoji sequences, blank lines inside a block, empty blocks."""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import pytest
from hypothesis import given, settings, strategies as st

from parsers import Article, Block
from warehouse import LoadItem, Warehouse
from warehouse.batch_tables import versions_table
from warehouse.dedup import prepare

FETCHED = datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc)
KINDS = st.sampled_from(["paragraph", "subheading", "list_item"])
# any text but NUL and surrogates; newlines included, so a block may itself hold a blank line
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


def article_with(blocks: tuple[Block, ...], n: int = 1) -> Article:
    return Article(url=f"https://a.example/n/{n}", canonical_url=f"https://a.example/n/{n}", title="عنوان",
                   body=blocks, language="ar", source="a")


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = tmp_path_factory.mktemp("layout") / "w.duckdb"
    Warehouse(path).migrate()
    connection = duckdb.connect(str(path), read_only=True)
    yield connection
    connection.close()


def rebuilt(con: duckdb.DuckDBPyConnection, article: Article) -> list[tuple[str, str]]:
    row = versions_table(prepare([LoadItem(article, FETCHED)], search_terms=False)).to_pylist()[0]
    (blocks,), = con.execute("SELECT body_blocks_of(?, ?::VARCHAR[], ?::INTEGER[])",
                             [row["body"], row["block_kinds"], row["block_lengths"]]).fetchall()
    return [(b["kind"], b["text"]) for b in blocks]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(KINDS, TEXT), max_size=8))
def test_any_blocks_come_back_from_body_and_layout(con, blocks):
    article = article_with(tuple(Block(kind, text) for kind, text in blocks))
    assert rebuilt(con, article) == blocks


def test_arabic_with_diacritics_emoji_and_a_blank_line_inside_a_block_come_back(con):
    blocks = [("paragraph", "قالَ المُتَحدِّثُ: «نَعَم» 👩‍👩‍👧"), ("subheading", "عنوان\n\nبسطرين"),
              ("list_item", ""), ("paragraph", "last")]
    assert rebuilt(con, article_with(tuple(Block(k, t) for k, t in blocks))) == blocks


def test_latest_articles_gives_the_blocks_of_the_current_version(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    blocks = (Block("paragraph", "الفقرة الأولى من الخبر."), Block("subheading", "عنوان فرعي"),
              Block("list_item", "بند 👍🏽"))
    wh.upsert_articles([LoadItem(article_with(blocks), FETCHED)], "run-1")
    con = duckdb.connect(str(wh.path), read_only=True)
    try:
        (stored,), = con.execute("SELECT body_blocks FROM latest_articles").fetchall()
        columns = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                             "WHERE table_name = 'article_versions'").fetchall()}
    finally:
        con.close()
    assert [(b["kind"], b["text"]) for b in stored] == [(b.kind, b.text) for b in blocks]
    assert "body_blocks" not in columns  # the text is stored once, in `body`
