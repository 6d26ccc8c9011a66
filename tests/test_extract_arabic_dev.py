"""The nine real Arabic and Persian pages of the development set, against their truth files."""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from parsers import Article, SiteContext, extract

FIXTURES = Path(__file__).parent / "fixtures" / "arabic-dev"
PAGES = sorted(FIXTURES.glob("*/*.html.gz"))
#: The zone a source config would give each site (sources.yaml carries an IANA name).
TIMEZONES = {"EG": "Africa/Cairo", "AE": "Asia/Dubai", "LB": "Asia/Beirut", "IR": "Asia/Tehran",
             "RU": "Europe/Moscow"}

#: exclude_from_body, made checkable: (text, how). "in": must not occur anywhere in the body;
#: "block": no block may equal it (captions that repeat words of the text). Entries of the
#: truth files that are descriptions are turned into the literal text they describe.
EXCLUDE: dict[str, list[tuple[str, str]]] = {
    "akhbarelyom.com": [("القاهرة: الأربعاء، 07 أكتوبر 2020 12:19 م", "in"), ("نعيمة عاكف", "block")],
    "albayan.ae": [("تابعوا أخبار الإمارات من البيان عبر غوغل نيوز", "in"), ("1441هـ", "in"),
                   ("شوال", "in")],
    # "comment-policy boilerplate: ترحب شبكة CNN ..." and the disclaimer below it
    "arabic.cnn.com": [("ترحب شبكة CNN بالنقاش الحيوي والمفيد", "in"),
                       ("الآراء الواردة أدناه لا تعبر عن رأي موقع CNN بالعربية", "in")],
    "arabic.sputniknews.com": [("REUTERS / SHOKRY HUSSIEN", "in"), ("انسخ الرابط", "in"), ("تابعنا عبر", "in")],
    # "AdSense block inside body", "AddToAny share links"
    "beirutobserver.com": [("adsbygoogle", "in"), ("AddToAny", "in"), ("Facebook", "in"), ("Twitter", "in")],
    "khabaronline.ir": [("17302", "block"), ("سه‌شنبه ۲۹ بهمن ۱۳۹۸", "in")],
    # "related articles (مقالات ذات صلة) with their own dates"
    "lbcgroup.tv": [("مقالات ذات صلة", "in")],
    "yjc.ir": [("يکشنبه ۲۱ ارديبهشت ۱۳۹۹", "in"), ("کد خبر", "in")],
    "youm7.com": [("الدكتور محمد عبد العاطي وزير الموارد المائية والري", "block"),
                  ("اضف تعليقاً واقرأ تعليقات القراء", "in"), ("الأحد، 23 أغسطس 2020", "in")],
}
#: The credit each page states (from credit_or_source_line, annotations removed).
CREDITS = {"albayan.ae": "المصدر: (أبوظبي - البيان)", "yjc.ir": "انتهای پیام/ی", "arabic.cnn.com": "CNN"}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def _truth(page: Path) -> dict:
    return json.loads(page.with_name(page.name.replace(".html.gz", ".json")).read_text(encoding="utf-8"))


_CACHE: dict[Path, tuple[dict, Article]] = {}


def _extracted(page: Path) -> tuple[dict, Article]:
    if page not in _CACHE:
        truth = _truth(page)
        source = SiteContext(name=truth["site"], timezone=TIMEZONES.get(truth["country"][:2]),
                             language=truth["language"])
        _CACHE[page] = truth, extract(gzip.decompress(page.read_bytes()), truth["url"], source)
    return _CACHE[page]


ids = [p.parent.name for p in PAGES]


def test_all_nine_pages_are_there() -> None:
    assert len(PAGES) == 9
    for page in PAGES:
        assert _truth(page)["provenance"]["repo"]


@pytest.mark.parametrize("page", PAGES, ids=ids)
def test_title_exact(page: Path) -> None:
    truth, article = _extracted(page)
    assert _norm(article.title or "") == _norm(truth["title"])


@pytest.mark.parametrize("page", PAGES, ids=ids)
def test_published_day_in_truth_zone(page: Path) -> None:
    truth, article = _extracted(page)
    assert article.published_at is not None
    iso = truth["published"]["iso"]
    if iso:
        zone = datetime.fromisoformat(iso).tzinfo
    else:  # day-only truth: read in the site's zone
        from zoneinfo import ZoneInfo
        zone = ZoneInfo(TIMEZONES.get(truth["country"][:2], "UTC"))
    assert article.published_at.astimezone(zone).date().isoformat() == truth["published"]["date"]


# cnn's truth has a day only (the date comes from the URL path; no time on the page)
TIMED = [p for p in PAGES if _truth(p)["published"]["iso"]]


@pytest.mark.parametrize("page", TIMED, ids=[p.parent.name for p in TIMED])
def test_published_minute_where_truth_has_a_time(page: Path) -> None:
    truth, article = _extracted(page)
    iso = truth["published"]["iso"]
    delta = abs(article.published_at - datetime.fromisoformat(iso))
    assert delta < timedelta(minutes=1)


@pytest.mark.parametrize("page", PAGES, ids=ids)
def test_body_contains_first_and_last_sentence(page: Path) -> None:
    truth, article = _extracted(page)
    body = _norm(article.body_text)
    assert _norm(truth["body_first_sentence"]) in body
    assert _norm(truth["body_last_sentence"]) in body


WITH_ZWNJ = [p for p in PAGES if "\u200c" in _truth(p)["body_first_sentence"] + _truth(p)["body_last_sentence"]]


@pytest.mark.parametrize("page", WITH_ZWNJ, ids=[p.parent.name for p in WITH_ZWNJ])
def test_body_keeps_zwnj(page: Path) -> None:
    truth, article = _extracted(page)
    assert "\u200c" in article.body_text


@pytest.mark.parametrize("page", PAGES, ids=ids)
def test_nothing_excluded_is_in_the_body(page: Path) -> None:
    truth, article = _extracted(page)
    body = _norm(article.body_text)
    for text, how in EXCLUDE[truth["site"]]:
        if how == "in":
            assert _norm(text) not in body, text
        else:
            assert all(_norm(b.text) != _norm(text) for b in article.body), text


@pytest.mark.parametrize("page", PAGES, ids=ids)
def test_credit_where_the_page_has_one(page: Path) -> None:
    truth, article = _extracted(page)
    expected = CREDITS.get(truth["site"])
    if truth["credit_or_source_line"] is None:
        assert article.credit is None
    else:
        assert expected is not None, "add the credit of this page to CREDITS"
        assert article.credit == expected
        assert all(_norm(b.text) != _norm(expected) for b in article.body)


@pytest.mark.parametrize("page", PAGES, ids=ids)
def test_language_matches_the_script(page: Path) -> None:
    truth, article = _extracted(page)
    assert article.language == truth["language"]


@pytest.mark.parametrize("page", PAGES, ids=ids)
def test_title_is_never_the_site_name_suffixed(page: Path) -> None:
    _, article = _extracted(page)
    assert " - " not in (article.title or "")[-25:] and " | " not in (article.title or "")


def test_youm7_z_labelled_local_time_is_read_as_cairo_time() -> None:
    page = next(p for p in PAGES if p.parent.name == "youm7.com")
    _, article = _extracted(page)
    assert article.published_at == datetime(2020, 8, 24, 7, 23, 13, tzinfo=timezone.utc)


def test_cnn_update_stamp_is_modified_not_published() -> None:
    page = next(p for p in PAGES if p.parent.name == "arabic.cnn.com")
    _, article = _extracted(page)
    assert article.published_at.date().isoformat() in ("2013-08-02", "2013-08-03")
    assert article.modified_at is not None and article.modified_at.date().isoformat() == "2013-08-28"


def test_bogus_modified_before_published_is_dropped() -> None:
    page = next(p for p in PAGES if p.parent.name == "albayan.ae")
    _, article = _extracted(page)
    assert article.modified_at is None


def test_khabaronline_subheadings_are_marked() -> None:
    page = next(p for p in PAGES if p.parent.name == "khabaronline.ir")
    truth, article = _extracted(page)
    assert list(article.subheadings) == truth["subheadings"]


#: The people each page names as its author (benchmarks/arabic_checks.json): a visible byline
#: («كتبت أسماء نصار», an author box) when the metadata names only the site; an
#: Organization or the publisher's short name ("LBCI") is never an author.
AUTHORS = {"akhbarelyom.com": ["نورهان نبيل"], "youm7.com": ["أسماء نصار"], "beirutobserver.com": ["Ziad Sankary"],
           "albayan.ae": [], "arabic.cnn.com": [], "arabic.sputniknews.com": [], "khabaronline.ir": [],
           "lbcgroup.tv": [], "yjc.ir": []}


@pytest.mark.parametrize("page", PAGES, ids=ids)
def test_authors_are_the_people_named(page: Path) -> None:
    _, article = _extracted(page)
    assert [_norm(a) for a in article.authors] == AUTHORS[page.parent.name]
