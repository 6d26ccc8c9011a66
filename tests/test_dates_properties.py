"""Property tests for the visible-date readers: any digit script, any month family, any
calendar (Gregorian, Solar Hijri, lunar Hijri), checked against an independent conversion
(jdatetime for Jalali, hijridate for Umm al-Qura)."""

from __future__ import annotations

from datetime import date, timedelta

import jdatetime
from hijridate import Gregorian
from hypothesis import given, settings, strategies as st

from parsers.dates import find_dates, parse_visible

EGYPTIAN = ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"]
LEVANTINE = ["كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول"]
MAGHREBI = ["جانفي", "فيفري", "مارس", "أفريل", "ماي", "جوان", "جويلية", "أوت", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"]
MOROCCAN = ["يناير", "فبراير", "مارس", "أبريل", "ماي", "يونيو", "يوليوز", "غشت", "شتنبر", "أكتوبر", "نونبر", "دجنبر"]
ENGLISH = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
JALALI = ["فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند"]
HIJRI = ["محرم", "صفر", "ربيع الأول", "ربيع الآخر", "جمادى الأولى", "جمادى الآخرة", "رجب", "شعبان",
         "رمضان", "شوال", "ذو القعدة", "ذو الحجة"]
FAMILIES = [EGYPTIAN, LEVANTINE, MAGHREBI, MOROCCAN, ENGLISH]
SCRIPTS = [str.maketrans("", ""), str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"),
           str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")]

days = st.dates(min_value=date(1995, 1, 1), max_value=date(2035, 12, 31))
scripts = st.sampled_from(SCRIPTS)
prefixes = st.sampled_from(["", "الأربعاء، ", "نشر في ", "تاريخ النشر: ", "انتشار: "])


@settings(max_examples=150, deadline=None)
@given(day=days, family=st.sampled_from(FAMILIES), script=scripts, prefix=prefixes)
def test_gregorian_month_names_any_family_any_digits(day: date, family: list[str], script, prefix: str) -> None:
    text = prefix + f"{day.day} {family[day.month - 1]} {day.year}".translate(script)
    parsed = parse_visible(text)
    assert parsed is not None and parsed.wall.date() == day, text


@settings(max_examples=150, deadline=None)
@given(day=days, script=scripts, hour=st.integers(0, 23), minute=st.integers(0, 59))
def test_solar_hijri_round_trip(day: date, script, hour: int, minute: int) -> None:
    j = jdatetime.date.fromgregorian(date=day)
    for text in (f"{j.day} {JALALI[j.month - 1]} {j.year} - {hour:02d}:{minute:02d}",
                 f"{j.year}/{j.month:02d}/{j.day:02d} - {hour:02d}:{minute:02d}"):
        text = text.translate(script)
        parsed = parse_visible(text)
        assert parsed is not None, text
        assert parsed.calendar == "jalali"
        assert parsed.wall.date() == day and (parsed.wall.hour, parsed.wall.minute) == (hour, minute), text


@settings(max_examples=150, deadline=None)
@given(day=days, script=scripts, marked=st.booleans())
def test_lunar_hijri_round_trip(day: date, script, marked: bool) -> None:
    h = Gregorian(day.year, day.month, day.day).to_hijri()
    text = f"{h.day} {HIJRI[h.month - 1]} {h.year}" + (" هـ" if marked else "")
    parsed = parse_visible(text.translate(script))
    assert parsed is not None and parsed.calendar == "hijri", text
    assert parsed.wall.date() == day, text


@settings(max_examples=100, deadline=None)
@given(day=days, script=scripts)
def test_numeric_lunar_hijri_with_mark(day: date, script) -> None:
    h = Gregorian(day.year, day.month, day.day).to_hijri()
    parsed = parse_visible(f"{h.day}/{h.month}/{h.year} هـ".translate(script))
    assert parsed is not None and parsed.wall.date() == day


@settings(max_examples=100, deadline=None)
@given(day=days, script=scripts, hour=st.integers(1, 12), minute=st.integers(0, 59),
       pm=st.booleans(), persian=st.booleans())
def test_am_pm_markers(day: date, script, hour: int, minute: int, pm: bool, persian: bool) -> None:
    marker = ("ب.ظ" if pm else "ق.ظ") if persian else ("م" if pm else "ص")
    text = f"{day.day} {EGYPTIAN[day.month - 1]} {day.year} - {hour}:{minute:02d} {marker}".translate(script)
    parsed = parse_visible(text)
    want_hour = (hour % 12) + (12 if pm else 0)
    assert parsed is not None and (parsed.wall.hour, parsed.wall.minute) == (want_hour, minute), text


@settings(max_examples=60, deadline=None)
@given(day=days, other=days)
def test_hijri_and_gregorian_side_by_side_agree(day: date, other: date) -> None:
    """"11 شوال 1441 هـ الموافق 3 يونيو 2020": both readings give the same day."""
    h = Gregorian(day.year, day.month, day.day).to_hijri()
    text = f"{h.day} {HIJRI[h.month - 1]} {h.year} هـ الموافق {day.day} {EGYPTIAN[day.month - 1]} {day.year}"
    found = find_dates(text)
    assert [p.wall.date() for p in found] == [day, day]


def test_known_conversions() -> None:
    assert parse_visible("۱۴۰۳/۰۲/۰۸").wall.date() == date(2024, 4, 27)
    assert parse_visible("11 شوال 1441 هـ").wall.date() == date(2020, 6, 3)
    assert parse_visible("1 رمضان 1445").wall.date() == date(2024, 3, 11)
    assert parse_visible("30 شعبان 1445") is None  # Shaban 1445 had 29 days (Umm al-Qura)
