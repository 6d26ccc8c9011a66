"""Pure date readers for news pages: machine-readable ISO strings and the visible dates of
Arabic and Persian pages.

Why our own rules and not dateparser for the visible dates: dateparser 1.5 reads the
Egyptian/Gulf month names and Arabic-Indic digits, but not the Levantine (كانون الثاني…) or
Maghrebi (جانفي، فيفري… / يوليوز، غشت…) families, and silently reads the Jalali year 1399 as
Gregorian unless it is told the calendar; it also costs milliseconds per call. The month
tables below are small, exact and fast. The Jalali → Gregorian arithmetic is left to
`jdatetime`, and the lunar Hijri → Gregorian conversion to `hijridate` (the Umm al-Qura
calendar, the one Gulf sites print), instead of hand-written calendar code.

Every function returns timezone-aware UTC datetimes. A date without a zone is read in the
source's IANA `tz` (UTC when none is given). Nothing here reads a clock unless `now` is left
out of `is_plausible`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import jdatetime
from hijridate import Hijri

__all__ = [
    "ParsedDate",
    "parse_iso",
    "parse_visible",
    "find_dates",
    "parse_any",
    "is_plausible",
    "date_from_url",
    "resolve_z_trap",
    "to_ascii_digits",
    "MONTHS",
    "JALALI_MONTHS",
    "HIJRI_MONTHS",
]

UTC = timezone.utc
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
#: A date later than `now` by more than this is rejected (leaves room for clock skew and
#: a wrongly assumed zone, never for tomorrow's date).
FUTURE_TOLERANCE = timedelta(hours=14)

_DIGITS = str.maketrans({**{chr(0x0660 + i): str(i) for i in range(10)},
                         **{chr(0x06F0 + i): str(i) for i in range(10)}})
# One-to-one letter folding for month lookups (hamza/madda alef, alef maqsura, Persian
# yeh/keheh, teh marbuta) plus removal of tatweel and diacritics.
_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ی": "ي",
                          "ک": "ك", "ة": "ه", "ۀ": "ه"})
_MARKS = re.compile("[\u064b-\u065f\u0670\u0640\u200c\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def to_ascii_digits(text: str) -> str:
    """Arabic-Indic (٠-٩) and Persian (۰-۹) digits → ASCII."""
    return text.translate(_DIGITS)


def _fold(text: str) -> str:
    return _MARKS.sub("", to_ascii_digits(text)).translate(_LETTERS).replace("\u00a0", " ")


_GREGORIAN_NAMES: dict[int, tuple[str, ...]] = {
    # Egyptian/Gulf, Levantine, Maghrebi (Algeria/Tunisia), Moroccan, Persian transliterations
    1: ("يناير", "كانون الثاني", "جانفي", "ژانویه", "ژانويه"),
    2: ("فبراير", "شباط", "فيفري", "فبرایر", "فوریه", "فوريه"),
    3: ("مارس", "آذار", "اذار"),
    4: ("أبريل", "ابريل", "إبريل", "نيسان", "أفريل", "افريل", "آوریل", "آوريل"),
    5: ("مايو", "أيار", "ايار", "ماي", "مه"),
    6: ("يونيو", "يونيه", "حزيران", "جوان", "ژوئن"),
    7: ("يوليو", "يوليه", "تموز", "جويلية", "جويليه", "يوليوز", "ژوئیه", "ژوئيه", "جولای"),
    8: ("أغسطس", "اغسطس", "آب", "أوت", "اوت", "غشت", "آگوست"),
    9: ("سبتمبر", "أيلول", "ايلول", "شتنبر", "سپتامبر"),
    10: ("أكتوبر", "اكتوبر", "تشرين الأول", "تشرين الاول", "اکتبر", "اكتبر"),
    11: ("نوفمبر", "تشرين الثاني", "نونبر", "نوامبر"),
    12: ("ديسمبر", "كانون الأول", "كانون الاول", "دجنبر", "دسامبر"),
}
_ENGLISH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("january", "jan"), 2: ("february", "feb"), 3: ("march", "mar"), 4: ("april", "apr"),
    5: ("may",), 6: ("june", "jun"), 7: ("july", "jul"), 8: ("august", "aug"),
    9: ("september", "sept", "sep"), 10: ("october", "oct"), 11: ("november", "nov"),
    12: ("december", "dec"),
}
_JALALI_NAMES: dict[int, tuple[str, ...]] = {
    1: ("فروردین",), 2: ("اردیبهشت", "ارديبهشت"), 3: ("خرداد",), 4: ("تیر",),
    5: ("مرداد", "امرداد"), 6: ("شهریور",), 7: ("مهر",), 8: ("آبان",), 9: ("آذر",),
    10: ("دی",), 11: ("بهمن",), 12: ("اسفند",),
}
_HIJRI_NAMES: dict[int, tuple[str, ...]] = {
    1: ("محرم",), 2: ("صفر",), 3: ("ربيع الأول", "ربيع الاول", "ربيع أول"),
    4: ("ربيع الثاني", "ربيع الآخر", "ربيع الاخر", "ربيع ثاني"),
    5: ("جمادى الأولى", "جمادى الاولى", "جمادى الأول", "جمادي الاولي", "جمادى أولى"),
    6: ("جمادى الآخرة", "جمادى الاخرة", "جمادى الثانية", "جمادى الآخر", "جمادى ثانية"),
    7: ("رجب",), 8: ("شعبان",), 9: ("رمضان",), 10: ("شوال",),
    11: ("ذو القعدة", "ذي القعدة"), 12: ("ذو الحجة", "ذي الحجة"),
}
#: folded month name → month number (Gregorian families and English).
MONTHS: dict[str, int] = {
    _fold(name): num
    for table in (_GREGORIAN_NAMES, _ENGLISH_NAMES)
    for num, names in table.items()
    for name in names
}
#: folded Solar Hijri month name → month number.
JALALI_MONTHS: dict[str, int] = {
    _fold(name): num for num, names in _JALALI_NAMES.items() for name in names
}


def _alternation(names: list[str]) -> str:
    return "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in sorted(names, key=len, reverse=True))


#: folded lunar Hijri month name → month number.
HIJRI_MONTHS: dict[str, int] = {
    _fold(name): num for num, names in _HIJRI_NAMES.items() for name in names
}
_GREG_ALT = _alternation(list(MONTHS))
_HIJ_ALT = _alternation(list(HIJRI_MONTHS))
_JAL_ALT = _alternation(list(JALALI_MONTHS))
_ANY_MONTH = f"(?:{_HIJ_ALT}|{_GREG_ALT}|{_JAL_ALT})"
# Word boundaries that work for Arabic letters: not preceded/followed by a letter.
_NB = r"(?<![^\W\d_])"
_NA = r"(?![^\W\d_])"
_TIME = (
    r"(?P<H>\d{1,2})\s*:\s*(?P<M>\d{2})(?:\s*:\s*(?P<S>\d{2}))?"
    r"(?:\s*(?P<ampm>ق\.?\s?ظ|ب\.?\s?ظ|ص|م|[aApP]\.?\s?[mM]\.?)"
    r"(?![^\W\d_]))?"
    r"(?:\s*\(?\s*(?:GMT|UTC)\s*(?P<goff>[+-]\s*\d{1,2}(?::?\d{2})?)?\s*\)?)?"
)
_DAY_MONTH_YEAR = re.compile(
    rf"{_NB}(?P<d>\d{{1,2}})\s*(?:ال)?\s*(?P<mon>{_ANY_MONTH})"
    rf"(?:\s*/\s*(?P<mon2>{_ANY_MONTH}))?{_NA}\s*[,،]?\s*(?P<y>\d{{4}})(?!\d)",
    re.I,
)
_MONTH_DAY_YEAR = re.compile(
    rf"{_NB}(?P<mon>{_GREG_ALT}){_NA}\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s*(?P<y>\d{{4}})(?!\d)",
    re.I,
)
_NUMERIC_YMD = re.compile(r"(?<!\d)(?P<y>\d{4})\s*(?P<sep>[-/.])\s*(?P<m>\d{1,2})\s*(?P=sep)\s*(?P<d>\d{1,2})(?!\d)")
_NUMERIC_DMY = re.compile(r"(?<!\d)(?P<d>\d{1,2})\s*(?P<sep>[-/.])\s*(?P<m>\d{1,2})\s*(?P=sep)\s*(?P<y>\d{4})(?!\d)")
_TIME_RE = re.compile(_TIME)
_ISO = re.compile(
    r"^\s*(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:\s*[T ]\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?)?"
    r"\s*(?P<tz>Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
_HIJRI_SUFFIX = re.compile(r"^\s*(?:هـ|ه(?![^\W\d_])|ھ)")


@dataclass(frozen=True)
class ParsedDate:
    """One date read from a text.

    `value` is aware UTC; `wall` is the naive local wall-clock time as written; `has_time`
    says whether a clock time was given; `calendar` is "gregorian" or "jalali"; `text` is
    the raw text it came from; `start` is its offset in that text.
    """

    value: datetime
    wall: datetime
    has_time: bool
    calendar: str
    text: str
    start: int = 0


def _zone(tz: str | None) -> ZoneInfo | timezone:
    if not tz:
        return UTC
    try:
        return ZoneInfo(tz)
    except Exception:  # unknown zone name: fall back to UTC rather than fail a page
        return UTC


def _offset(text: str) -> timezone | None:
    text = text.strip().replace(" ", "")
    if text.upper() in ("Z", "UTC", "GMT", ""):
        return UTC
    m = re.match(r"^([+-])(\d{1,2}):?(\d{2})?$", text)
    if not m:
        return None
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
    return timezone(-delta if m.group(1) == "-" else delta)


def _gregorian(year: int, month: int, day: int, calendar: str) -> date | None:
    """A day of the "gregorian", "jalali" (Solar Hijri) or "hijri" (lunar, Umm al-Qura)
    calendar as a Gregorian date; None when it does not exist (or is out of range)."""
    try:
        if calendar == "jalali":
            return jdatetime.date(year, month, day).togregorian()
        if calendar == "hijri":
            return Hijri(year, month, day).to_gregorian()
        return date(year, month, day)
    except (ValueError, TypeError, OverflowError):
        return None


def _make(day: date, hms: tuple[int, int, int] | None, zone, text: str, calendar: str,
          start: int = 0) -> ParsedDate | None:
    h, mi, s = hms or (0, 0, 0)
    try:
        wall = datetime(day.year, day.month, day.day, h, mi, s)
    except ValueError:
        return None
    value = wall.replace(tzinfo=zone).astimezone(UTC)
    return ParsedDate(value, wall, hms is not None, calendar, text, start)


def parse_iso(text: str, tz: str | None = None) -> datetime | None:
    """Read a machine-readable date: ISO 8601 and its common variants ("2020-06-03T03:01+0400",
    "2020-02-18 T 07:20:50 +0330", "2020-03-17T17:27", "2020-06-03"). Eastern digits are
    accepted; a year before 1500 is read as Solar Hijri. No zone → `tz` (default UTC).
    Returns aware UTC or None."""
    if not text:
        return None
    m = _ISO.match(to_ascii_digits(text))
    if not m:
        return None
    y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
    day = _gregorian(y, mo, d, "jalali" if y < 1500 else "gregorian")
    if day is None:
        return None
    zone = _offset(m["tz"]) if m["tz"] else _zone(tz)
    if zone is None:
        return None
    hms = (int(m["H"]), int(m["M"]), int(m["S"] or 0)) if m["H"] else None
    parsed = _make(day, hms, zone, text, "gregorian")
    return parsed.value if parsed else None


def _time_after(folded: str, pos: int, limit: int = 40) -> tuple[tuple[int, int, int], timezone | None] | None:
    """A clock time starting within `limit` characters after `pos` (e.g. "- 12:09 م")."""
    window = folded[pos:pos + limit]
    m = _TIME_RE.search(window)
    if not m or re.search(r"\d{4}", window[:m.start()]):
        return None
    return _hms(m)


def _time_before(folded: str, pos: int, limit: int = 25) -> tuple[tuple[int, int, int], timezone | None] | None:
    """A clock time ending right before a date (e.g. "GMT 17:27 17.03.2020")."""
    window = folded[max(0, pos - limit):pos]
    found = None
    for m in _TIME_RE.finditer(window):
        found = m
    if found is None or window[found.end():].strip(" -|،,") != "":
        return None
    result = _hms(found)
    if result and result[1] is None and re.search(r"(?:GMT|UTC)\s*$", window[:found.start()]):
        return result[0], UTC
    return result


def _hms(m: re.Match) -> tuple[tuple[int, int, int], timezone | None] | None:
    h, mi, s = int(m["H"]), int(m["M"]), int(m["S"] or 0)
    ampm = (m["ampm"] or "").replace(".", "").replace(" ", "").lower()
    if ampm in ("م", "بظ", "pm") and h < 12:
        h += 12
    elif ampm in ("ص", "قظ", "am") and h == 12:
        h = 0
    if h > 23 or mi > 59 or s > 59:
        return None
    off = None
    if m.group(0) and re.search(r"GMT|UTC", m.group(0)):
        off = _offset(m["goff"] or "Z")
    return (h, mi, s), off


def find_dates(text: str, tz: str | None = None) -> list[ParsedDate]:
    """Every date written in `text`, in order of appearance: "07 أكتوبر 2020 - 12:09 م",
    "28 آب/اغسطس 2013", "۲۹ بهمن ۱۳۹۸ - ۰۶:۵۵", "November 9, 2020", "2024-04-27 08:30",
    "17.03.2020", "۱۳۹۹/۰۲/۲۱ - ۱۸:۵۹". Numeric dates are day-first unless the year leads;
    a year before 1500 is Solar Hijri unless a lunar Hijri month name (رمضان, شوال...) or the
    هـ mark says lunar Hijri, which is converted with the Umm al-Qura calendar."""
    if not text:
        return []
    folded = _fold(text)
    zone = _zone(tz)
    found: list[ParsedDate] = []
    taken: list[tuple[int, int]] = []

    def overlaps(a: int, b: int) -> bool:
        return any(a < e and s < b for s, e in taken)

    def add(m: re.Match, y: int, mo: int, d: int, calendar: str) -> None:
        if overlaps(m.start(), m.end()):
            return
        if _HIJRI_SUFFIX.match(folded[m.end():]) and calendar != "jalali":
            calendar = "hijri"  # "11/10/1441 هـ": a numeric date marked lunar Hijri
        if calendar == "gregorian" and y < 1500:
            calendar = "jalali"
        day = _gregorian(y, mo, d, calendar)
        if day is None:
            return
        t = _time_after(folded, m.end()) or _time_before(folded, m.start())
        local_zone = zone
        hms = None
        if t:
            hms, off = t
            if off is not None:
                local_zone = off
        parsed = _make(day, hms, local_zone, text, calendar, m.start())
        if parsed:
            taken.append((m.start(), m.end()))
            found.append(parsed)

    for m in _DAY_MONTH_YEAR.finditer(folded):
        name = re.sub(r"\s+", " ", m["mon"].lower())
        if name in HIJRI_MONTHS:
            add(m, int(m["y"]), HIJRI_MONTHS[name], int(m["d"]), "hijri")
        elif name in JALALI_MONTHS and (int(m["y"]) < 1500 or name not in MONTHS):
            add(m, int(m["y"]), JALALI_MONTHS[name], int(m["d"]), "jalali")
        elif name in MONTHS:
            add(m, int(m["y"]), MONTHS[name], int(m["d"]), "gregorian")
    for m in _MONTH_DAY_YEAR.finditer(folded):
        add(m, int(m["y"]), MONTHS[re.sub(r"\s+", " ", m["mon"].lower())], int(m["d"]), "gregorian")
    for m in _NUMERIC_YMD.finditer(folded):
        add(m, int(m["y"]), int(m["m"]), int(m["d"]), "gregorian")
    for m in _NUMERIC_DMY.finditer(folded):
        d, mo = int(m["d"]), int(m["m"])
        if mo > 12 and d <= 12:
            d, mo = mo, d
        add(m, int(m["y"]), mo, d, "gregorian")
    found.sort(key=lambda p: p.start)
    return found


def parse_visible(text: str, tz: str | None = None) -> ParsedDate | None:
    """The first date written in a visible text (see `find_dates`), or None."""
    dates = find_dates(text, tz)
    return dates[0] if dates else None


def parse_any(text: str, tz: str | None = None) -> datetime | None:
    """ISO first, then the first visible date in the text; aware UTC or None."""
    iso = parse_iso(text, tz)
    if iso is not None:
        return iso
    parsed = parse_visible(text, tz)
    return parsed.value if parsed else None


def is_plausible(value: datetime | None, now: datetime | None = None) -> bool:
    """Not before 1990 and not in the future (beyond `FUTURE_TOLERANCE`) relative to `now`
    (the real clock when `now` is None)."""
    if value is None:
        return False
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return EARLIEST <= value <= now + FUTURE_TOLERANCE


_URL_DATE = re.compile(
    r"/((?:19|20)\d{2})[/_-](?:[a-z_\-]+/)?(\d{1,2})[/_-](\d{1,2})(?:/|$|[_\-.])", re.I
)
_URL_COMPACT = re.compile(r"/((?:19|20)\d{2})(\d{2})(\d{2})(?:\d{0,12})?[/_\-]")


def date_from_url(url: str) -> date | None:
    """A publication day written in the URL path: /2013/middle_east/8/3/, /2020/11/09/,
    /2020-06-03-..., /202003171044893040-... (compact YYYYMMDD prefix)."""
    path = re.sub(r"^[a-z]+://[^/]+", "", url or "", flags=re.I)
    for pattern in (_URL_DATE, _URL_COMPACT):
        for m in pattern.finditer(path):
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                continue
    return None


def resolve_z_trap(raw: str, machine: datetime, visible: ParsedDate | None,
                   tz: str | None) -> datetime:
    """Fix a machine-readable time labelled UTC ("Z"/"+00:00") that is really local time.

    When the visible date near the title shows the same day and the same clock time as the
    machine value's UTC wall clock, states no zone itself, and the source's zone is not UTC
    at that moment, the
    "Z" is a mislabel (youm7: meta 09:23:13Z, page "09:23 ص" Cairo): the wall clock is read
    in `tz`. Otherwise `machine` is returned unchanged.
    """
    if visible is None or not visible.has_time or not tz:
        return machine
    if re.search(r"GMT|UTC|[+-]\d{2}:?\d{2}", visible.text):
        return machine  # the visible time states its own zone: nothing mislabelled
    if not re.search(r"(?:Z|[+-]00:?00)\s*$", raw.strip()):
        return machine
    zone = _zone(tz)
    wall_utc = machine.astimezone(UTC).replace(tzinfo=None)
    if (wall_utc.date(), wall_utc.hour, wall_utc.minute) != (
        visible.wall.date(), visible.wall.hour, visible.wall.minute
    ):
        return machine
    local = wall_utc.replace(tzinfo=zone)
    if local.utcoffset() == timedelta(0):
        return machine
    return local.astimezone(UTC)
