"""The founding example: the synthetic Al-Wefaq page must come out field by field exactly."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from parsers import Article, SiteContext, extract

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "flows" / "demo_world" / "sites" / "alwefaq" / "news-127845.html"
SEED = ROOT / "tests" / "fixtures" / "seed" / "alwefaq-2024-04-27.txt"  # copy of shared/seed
URL = "http://127.0.0.1:8765/news/127845"

KICKER = "والعميد آشتاني يقترح تعزيز قدرات وإمكانات المنظمة.."
TITLE = "وزراء الدفاع بمنظمة شنغهاي يدينون العدوان على القنصلية"
SUBHEADINGS = ("*مقترحات ايرانية", "*مناورة مشتركة لمكافحة الإرهاب", "* الهجمات الإرهابية في روسيا وإيران")
CREDIT = "المصدر: الوفاق/وكالات"


def _seed_lines() -> list[str]:
    return SEED.read_text(encoding="utf-8").split("\n")


@pytest.fixture(scope="module")
def article() -> Article:
    source = SiteContext(name="alwefaq", timezone="Asia/Tehran", language="ar")
    return extract(PAGE.read_bytes(), URL, source)


@pytest.fixture(scope="module")
def expected_body() -> list[str]:
    lines = _seed_lines()
    nonempty = [line for line in lines[8:] if line.strip()]
    assert nonempty[-1] == CREDIT
    return nonempty[:-1]


def test_page_is_marked_synthetic() -> None:
    head = PAGE.read_text(encoding="utf-8")[:800]
    assert "SYNTHETIC" in head and "al-vefagh" in head


def test_kicker(article: Article) -> None:
    assert article.kicker == KICKER


def test_title_has_no_site_name(article: Article) -> None:
    assert article.title == TITLE


def test_lead_is_seed_line_5(article: Article) -> None:
    assert article.lead == _seed_lines()[4]


def test_published_at_is_tehran_morning_in_utc(article: Article) -> None:
    assert article.published_at == datetime(2024, 4, 27, 5, 0, tzinfo=timezone.utc)
    assert article.published_text == "2024-04-27T08:30:00+03:30"


def test_header_date_does_not_win(article: Article) -> None:
    assert article.published_at.year == 2024 and article.published_at.month == 4


def test_body_blocks_are_the_seed_lines_in_order(article: Article, expected_body: list[str]) -> None:
    assert [b.text for b in article.body] == expected_body


def test_body_has_no_layout_only_blocks(article: Article) -> None:
    assert all(b.text.strip("\u00a0 ") for b in article.body)


def test_star_lines_are_subheadings_verbatim(article: Article) -> None:
    assert article.subheadings == SUBHEADINGS


def test_numbered_points_are_paragraphs(article: Article) -> None:
    numbered = [b for b in article.body if b.text[:1].isdigit()]
    assert len(numbered) == 5 and all(b.kind == "paragraph" for b in numbered)


def test_credit_is_out_of_the_body(article: Article) -> None:
    assert article.credit == CREDIT
    assert all(CREDIT not in b.text for b in article.body)


def test_kicker_lead_title_and_captions_are_not_in_the_body(article: Article) -> None:
    text = article.body_text
    assert KICKER not in text and TITLE not in text and article.lead not in text
    assert "اجتماع وزراء دفاع الدول الأعضاء في منظمة شنغهاي للتعاون في أستانا" not in text
    assert "أخبار ذات صلة" not in text and "شارك" not in text


def test_language(article: Article) -> None:
    assert article.language == "ar"


def test_to_dict_is_json_with_iso_dates(article: Article) -> None:
    data = json.loads(json.dumps(article.to_dict(), ensure_ascii=False))
    assert data["published_at"] == "2024-04-27T05:00:00+00:00"
    assert data["body"][1] == {"kind": "subheading", "text": "*مقترحات ايرانية"}


def test_methods_recorded_for_each_field(article: Article) -> None:
    for name in ("title", "kicker", "lead", "body", "published_at", "credit", "language", "canonical_url"):
        assert name in article.methods, name
    assert article.methods["published_at"] in ("jsonld", "opengraph")


def test_relative_canonical_resolves_on_the_same_host(article: Article) -> None:
    assert article.canonical_url == URL


def test_seed_page_in_a_legacy_encoding_gives_the_same_article(article: Article) -> None:
    text = PAGE.read_text(encoding="utf-8").replace('<meta charset="utf-8">', '<meta charset="windows-1256">')
    legacy = text.encode("windows-1256", errors="xmlcharrefreplace")
    again = extract(legacy, URL, SiteContext(timezone="Asia/Tehran"))
    assert (again.title, again.kicker, again.lead, again.body) == (article.title, article.kicker, article.lead, article.body)


def test_bidi_marks_are_removed_and_zwnj_kept() -> None:
    html = PAGE.read_text(encoding="utf-8").replace(TITLE, "\u200f" + TITLE + "\u200e").replace(
        "*مقترحات ايرانية", "*مقترحات\u200cايرانية\u202b")
    again = extract(html, URL)
    assert again.title == TITLE
    assert again.body[1].text == "*مقترحات\u200cايرانية"


@pytest.mark.parametrize("junk", [b"", b"   ", b"<html><body><div></div></body></html>", "<p>\u00a0</p>"])
def test_page_without_an_article_raises_extraction_error(junk) -> None:
    from parsers import ExtractionError

    with pytest.raises(ExtractionError):
        extract(junk, URL)


@pytest.mark.parametrize("junk", [b"\xff\xfe\x00garbage<<<>>>", b"<html><h1>Only a title here</h1>", "<div><p>" + "نص " * 50])
def test_broken_html_never_raises_anything_else(junk) -> None:
    from parsers import ExtractionError

    try:
        extract(junk, URL)
    except ExtractionError:
        pass
