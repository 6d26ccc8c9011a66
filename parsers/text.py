"""Small text helpers shared by the extractors: decoding bytes, cleaning visible text,
telling Arabic from Persian script, and recognising credit, byline and boilerplate lines.

Pure functions over strings; module-level tables are constants.
"""

from __future__ import annotations

import codecs
import re

__all__ = [
    "BIDI_MARKS",
    "ZWNJ",
    "decode_html",
    "clean_text",
    "strip_bidi",
    "is_layout_only",
    "script_language",
    "match_credit",
    "strip_byline_role",
    "is_boilerplate",
    "is_read_also",
]

ZWNJ = "\u200c"
#: LRM, RLM, the embedding/override controls and the isolates. ZWNJ (U+200C) is NOT here:
#: it is part of Persian spelling (اصلاح‌طلبان).
BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff]")
_SPACES = re.compile(r"[\s\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-]+)""", re.I)


def decode_html(data: bytes | str, header_charset: str | None = None) -> str:
    """Bytes → text: a byte-order mark wins; then strict UTF-8 (cheap and right for nearly every
    news site today, and bytes that decode as UTF-8 are almost never another encoding); then the
    charset of the HTTP header (`header_charset`), then the charset a `<meta>` declares, then
    charset_normalizer's detection, then UTF-8 with replacement characters. So a windows-1256
    page whose header lies "utf-8" still decodes right. A `str` is returned unchanged."""
    if isinstance(data, str):
        return data
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if header_charset and header_charset.strip().lower().replace("_", "-") not in ("utf-8", "utf8"):
        try:
            return data.decode(header_charset.strip().lower())
        except (LookupError, UnicodeDecodeError):
            pass
    match = _META_CHARSET.search(data[:4096])
    if match:
        try:
            return data.decode(match.group(1).decode("ascii").lower())
        except (LookupError, UnicodeDecodeError):
            pass
    try:  # installed with httpx; optional here so that parsers/ has no hard extra dependency
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is not None:
            return str(best)
    except ImportError:  # pragma: no cover - charset_normalizer comes with httpx
        pass
    return data.decode("utf-8", errors="replace")


def strip_bidi(text: str) -> str:
    """Remove bidi control marks (keeps ZWNJ)."""
    return BIDI_MARKS.sub("", text)


def clean_text(text: str | None) -> str:
    """Visible text as a field value: bidi marks removed, every run of whitespace (incl.
    U+00A0 and zero-width space) collapsed to one space, ends stripped. ZWNJ is kept."""
    if not text:
        return ""
    return _SPACES.sub(" ", strip_bidi(text)).strip()


def is_layout_only(text: str) -> bool:
    """True for paragraphs that are only layout: empty, U+00A0, whitespace, lone dashes/dots."""
    return not re.sub(r"[\s\u00a0\u200b\-_.…*|•·]+", "", text or "")


# Letters Persian has and Arabic never uses. ک and ی are left out on purpose: Arabic pages typed on
# Persian keyboards (Iranian outlets in Arabic, syndicated copies) are full of them.
_PERSIAN_STRONG = re.compile("[پچژگ]")
_ARABIC_ONLY = re.compile("[ةى]|ال")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")
_LATIN = re.compile("[A-Za-z]")


def script_language(text: str) -> str | None:
    """Guess 'fa' or 'ar' from the letters of an Arabic-script text, or None when the text is not
    mainly Arabic script. Persian: the letters پ چ ژ گ (about 2% of Persian letters, absent from
    Arabic); Arabic: ة, ى and the article ال, which Persian prose uses far less."""
    sample = text[:5000]
    arabic = len(_ARABIC_SCRIPT.findall(sample))
    if arabic < 20 or arabic < len(_LATIN.findall(sample)):
        return None
    persian = len(_PERSIAN_STRONG.findall(sample))
    arabic_only = len(_ARABIC_ONLY.findall(sample))
    if persian >= 3 and persian * 200 >= arabic and persian * 3 >= arabic_only:
        return "fa"
    return "ar"


# A credit line: who the story comes from. Anchored: the whole (short) paragraph must match.
_CREDIT_PATTERNS = (
    re.compile(r"^(?:ال)?(?:مصدر|المصادر)\s*[:：]\s*\S.{0,80}$"),  # المصدر: الوفاق/وكالات
    re.compile(r"^منبع\s*[:：]\s*\S.{0,80}$"),  # Persian "source:"
    re.compile(r"^(?:Source|Quelle|Fuente|Source\s*s)\s*:\s*\S.{0,80}$", re.I),
    re.compile(r"^[(（]\s*[^()]{2,40}\s*[)）]\.?$"),  # (رويترز), (أ ف ب)
    re.compile(r"^انتهای\s+پیام(?:\s*/\s*\S{1,10})?$"),  # Iranian agencies' end-of-story marker
    re.compile(r"^(?:وكالات|رويترز|أ\s*ف\s*ب|د\s*ب\s*أ|الأناضول)$"),
)


def match_credit(text: str) -> str | None:
    """The credit if `text` (one cleaned paragraph) is a credit line, else None."""
    text = clean_text(text)
    if not text or len(text) > 100:
        return None
    for pattern in _CREDIT_PATTERNS:
        if pattern.match(text):
            return text
    return None


_ROLE_WORDS = re.compile(
    r"^(?:كتب(?:ت|ه|ها)?|بقلم|إعداد|اعداد|تقرير|حوار|ترجمة|نويسنده|گزارش|By|Von|Par|Por|Di|Door|Av|Autor|Autorin|Author)"
    r"\s*[:：\-–]?\s+",
    re.I,
)


def strip_byline_role(text: str) -> tuple[str, bool]:
    """Remove a leading role word (كتب/كتبت/بقلم/By...) from a byline; return (name, had_role)."""
    text = clean_text(text)
    stripped = _ROLE_WORDS.sub("", text, count=1)
    return stripped.strip(" :-–"), stripped != text


_READ_ALSO = re.compile(
    r"^(?:اقرأ|إقرأ|اقرا|إقرا)\s*(?:أيضا|أيضاً|ايضا|ايضاً|المزيد)|^(?:بیشتر\s+بخوانید|بخوانید)|"
    r"^(?:Read|See)\s+(?:also|more)\b|^Lesen Sie auch|^Lire aussi|^Leer también",
    re.I,
)


def is_read_also(text: str) -> bool:
    """A "read also" / «اقرأ أيضا» teaser."""
    return bool(_READ_ALSO.match(clean_text(text)))


# Site furniture that ends up inside article containers on real pages (share prompts,
# "follow us", comment policies). Matched on the start of a block.
_BOILERPLATE = re.compile(
    r"^(?:تابعوا|تابعنا|انسخ الرابط|شارك(?:وا)?\s|اضف تعليق|أضف تعليق|ترحب شبكة|الآراء الواردة|"
    r"كد خبر|کد خبر|لینک کوتاه|برچسب|الكلمات الدالة|كلمات مفتاحية|الوسوم|"
    r"Share this|Follow us|Advertisement|Anzeige|Publicité|"
    r"(?:기사\s*)?(?:URL|링크|주소)[이가]\s*복사되었습니다|Link copied|Link kopiert|Lien copié)",
    re.I,
)


#: The label an ad slot shows ("REKLAM", "Advertisement", «إعلان»): a whole block of only that.
_AD_LABEL = re.compile(
    r"^(?:advertisement|advertising|ad|anzeige|werbung|reklam|reklama|реклама|publicité|publicidad|"
    r"pubblicità|publicidade|advertentie|annons|annonse|mainos|إعلان|اعلان|تبلیغات|広告|광고|广告)$",
    re.I,
)


def is_boilerplate(text: str) -> bool:
    """Share prompts, follow-us lines, comment policies, tag labels, ad-slot labels."""
    text = clean_text(text)
    return bool(_BOILERPLATE.match(text) or _AD_LABEL.match(text.strip(" -–—:|")))
