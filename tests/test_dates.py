"""Date readers: month families, digit scripts, Jalali, a.m./p.m. markers, zone traps."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import jdatetime
import pytest
from hypothesis import given, settings, strategies as st

from parsers.dates import (
    date_from_url, find_dates, is_plausible, parse_iso, parse_visible, resolve_z_trap,
)

UTC = timezone.utc

EGYPTIAN = ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"]
LEVANTINE = ["كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول"]
MAGHREBI = ["جانفي", "فيفري", "مارس", "أفريل", "ماي", "جوان", "جويلية", "أوت", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"]
MOROCCAN = ["يناير", "فبراير", "مارس", "أبريل", "ماي", "يونيو", "يوليوز", "غشت", "شتنبر", "أكتوبر", "نونبر", "دجنبر"]
FAMILIES = {"egyptian": EGYPTIAN, "levantine": LEVANTINE, "maghrebi": MAGHREBI, "moroccan": MOROCCAN}
JALALI = ["فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند"]
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
SCRIPTS = {"ascii": str.maketrans("", ""), "arabic-indic": ARABIC_INDIC, "persian": PERSIAN}


def _day(text: str, tz: str | None = None) -> date:
    parsed = parse_visible(text, tz)
    assert parsed is not None, text
    return parsed.wall.date()


@pytest.mark.parametrize("family", FAMILIES)
def test_each_month_family_reads_all_twelve_months(family: str) -> None:
    for number, name in enumerate(FAMILIES[family], start=1):
        assert _day(f"الأحد 15 {name} 2023") == date(2023, number, 15)


def test_arabic_indic_digits() -> None:
    assert _day("٠٧ أكتوبر ٢٠٢٠") == date(2020, 10, 7)


def test_persian_digits_and_solar_hijri_month_name() -> None:
    assert _day("۲۹ بهمن ۱۳۹۸ - ۰۶:۵۵") == date(2020, 2, 18)


def test_solar_hijri_month_spelled_with_arabic_yeh() -> None:
    assert _day("۲۱ ارديبهشت ۱۳۹۹ - ۱۸:۵۹") == date(2020, 5, 10)


@pytest.mark.parametrize("text", ["۱۴۰۳/۰۲/۰۸", "1403/02/08", "١٤٠٣/٠٢/٠٨"])
def test_numeric_jalali_date(text: str) -> None:
    assert _day(text) == date(2024, 4, 27)


def test_double_month_form() -> None:
    assert _day("الأربعاء، 28 آب/اغسطس 2013") == date(2013, 8, 28)


def test_sa_is_morning_and_meem_is_afternoon() -> None:
    morning = parse_visible("الإثنين، 24 أغسطس 2020 09:23 ص", "Africa/Cairo")
    evening = parse_visible("الأربعاء، 07 أكتوبر 2020 - 12:09 م", "Africa/Cairo")
    assert morning.wall == datetime(2020, 8, 24, 9, 23)
    assert evening.wall == datetime(2020, 10, 7, 12, 9)
    assert parse_visible("5 مايو 2021 3:15 م").wall.hour == 15


def test_persian_am_pm_markers() -> None:
    assert parse_visible("۱۰ مهر ۱۳۹۹ ساعت ۹:۳۰ ق.ظ").wall.hour == 9
    assert parse_visible("۱۰ مهر ۱۳۹۹ ساعت ۹:۳۰ ب.ظ").wall.hour == 21


def test_meem_after_a_year_is_not_pm() -> None:
    parsed = parse_visible("03 يونيو 2020م")
    assert parsed.wall == datetime(2020, 6, 3) and not parsed.has_time


def test_visible_date_without_zone_uses_source_timezone() -> None:
    parsed = parse_visible("2024-04-27 08:30", "Asia/Tehran")
    assert parsed.value == datetime(2024, 4, 27, 5, 0, tzinfo=UTC)


def test_gmt_in_the_text_overrides_source_timezone() -> None:
    parsed = parse_visible("GMT 17:27 17.03.2020", "Europe/Moscow")
    assert parsed.value == datetime(2020, 3, 17, 17, 27, tzinfo=UTC)


def test_english_month_day_year() -> None:
    assert _day("November 9, 2020") == date(2020, 11, 9)


def test_lunar_hijri_year_is_not_read_as_a_date() -> None:
    assert find_dates("شوال 1441هـ") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-04-27T08:30:00+03:30", datetime(2024, 4, 27, 5, 0, tzinfo=UTC)),
        ("2020-06-03T03:01+0400", datetime(2020, 6, 2, 23, 1, tzinfo=UTC)),
        ("2020-02-18 T 07:20:50 +0330", datetime(2020, 2, 18, 3, 50, 50, tzinfo=UTC)),
        ("2020-08-24T09:23:13Z", datetime(2020, 8, 24, 9, 23, 13, tzinfo=UTC)),
        ("2020-03-17T17:49:09.123Z", datetime(2020, 3, 17, 17, 49, 9, tzinfo=UTC)),
    ],
)
def test_iso_variants(text: str, expected: datetime) -> None:
    assert parse_iso(text) == expected


def test_iso_without_zone_uses_source_timezone() -> None:
    assert parse_iso("2020-03-17T17:27", "Asia/Tehran") == datetime(2020, 3, 17, 13, 57, tzinfo=UTC)


def test_z_trap_local_time_labelled_z_is_read_as_local() -> None:
    machine = parse_iso("2020-08-24T09:23:13Z")
    visible = parse_visible("الإثنين، 24 أغسطس 2020 09:23 ص", "Africa/Cairo")
    fixed = resolve_z_trap("2020-08-24T09:23:13Z", machine, visible, "Africa/Cairo")
    assert fixed == datetime(2020, 8, 24, 7, 23, 13, tzinfo=UTC)


def test_z_is_trusted_when_the_visible_clock_differs() -> None:
    machine = parse_iso("2020-02-18T03:25:00Z")
    visible = parse_visible("۲۹ بهمن ۱۳۹۸ - ۰۶:۵۵", "Asia/Tehran")
    assert resolve_z_trap("2020-02-18T03:25:00Z", machine, visible, "Asia/Tehran") == machine


def test_future_and_ancient_dates_are_implausible() -> None:
    now = datetime(2024, 11, 9, 12, 0, tzinfo=UTC)
    assert not is_plausible(now + timedelta(days=2), now)
    assert not is_plausible(datetime(1985, 1, 1, tzinfo=UTC), now)
    assert is_plausible(datetime(2024, 4, 27, 5, 0, tzinfo=UTC), now)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://arabic.cnn.com/2013/middle_east/8/3/syria.clashes/index.html", date(2013, 8, 3)),
        ("https://www.youm7.com/story/2020/8/24/title/4943459", date(2020, 8, 24)),
        ("https://arabic.sputniknews.com/arab_world/202003171044893040-x/", date(2020, 3, 17)),
        ("https://www.beirutobserver.com/2020/11/2338761/", None),
    ],
)
def test_date_from_url(url: str, expected: date | None) -> None:
    assert date_from_url(url) == expected


@pytest.mark.parametrize(
    ("jalali", "gregorian"),
    [("1403/02/08", date(2024, 4, 27)), ("1398/11/29", date(2020, 2, 18)), ("1399/01/01", date(2020, 3, 20))],
)
def test_known_jalali_pairs(jalali: str, gregorian: date) -> None:
    assert _day(jalali) == gregorian


dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2035, 12, 31))


@settings(max_examples=300, deadline=None)
@given(day=dates, family=st.sampled_from(sorted(FAMILIES)), script=st.sampled_from(sorted(SCRIPTS)),
       weekday=st.sampled_from(["", "الأحد ", "السبت، "]))
def test_any_gregorian_date_in_any_family_and_digits_round_trips(day: date, family: str, script: str, weekday: str) -> None:
    text = f"{weekday}{day.day} {FAMILIES[family][day.month - 1]} {day.year}".translate(SCRIPTS[script])
    assert _day(text) == day


@settings(max_examples=200, deadline=None)
@given(day=dates, script=st.sampled_from(sorted(SCRIPTS)), numeric=st.booleans())
def test_any_jalali_date_round_trips_against_jdatetime(day: date, script: str, numeric: bool) -> None:
    j = jdatetime.date.fromgregorian(date=day)
    if numeric:
        text = f"{j.year:04d}/{j.month:02d}/{j.day:02d}"
    else:
        text = f"{j.day} {JALALI[j.month - 1]} {j.year}"
    assert _day(text.translate(SCRIPTS[script])) == day
