"""`extract`: HTML of a news page → `Article`, field by field through a cascade:

1. structured data: JSON-LD article objects, OpenGraph / article:* / Dublin Core / name=
   meta tags, microdata (`methods[field]` = "jsonld", "opengraph", "meta", "microdata");
2. the visible page around the title: the `<h1>`, the kicker right above it, the lead
   right below it, the date line near it, the body container ("h1", "visible");
3. generic fallbacks: trafilatura for the body, htmldate for the date ("generic"), and the
   date in the URL path ("url").

The page is parsed ONCE with lxml; trafilatura and htmldate get that tree (they copy it).
Persian ZWNJ survives trafilatura because it is swapped for a private-use character before
parsing and swapped back in every output string.
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import datetime, timezone
from urllib.parse import urljoin
from typing import Any

import lxml.html
from lxml import etree

from parsers.article import Article, Block, SiteContext
from parsers.body import (
    class_matches, container_runs, find_container, generic_blocks, is_junk, lead_prefix,
    extends, region_around, runs_to_blocks, trim_by_second_opinion,
)
from parsers.dates import (
    ParsedDate, date_from_url, find_dates, is_plausible, parse_iso, parse_visible,
    resolve_z_trap,
)
from parsers.errors import ExtractionError
from parsers.metadata import PageMeta, read_metadata
from parsers.site_templates import TemplateFields, apply_template, select_template
from parsers.template_data import load_templates
from parsers.normalize import normalize_for_matching
from parsers.text import ZWNJ, clean_text, decode_html, match_credit, script_language, strip_byline_role
from parsers.urls import canonicalize_url, registrable_host

__all__ = ["extract"]

#: Stand-in for ZWNJ while trafilatura holds the tree (it deletes U+200C).
_PUA = "\ue01c"
_ZWNJ_FORMS = re.compile(r"\u200c|&zwnj;|&#8204;|&#x200[cC];")
_KICKER_WORDS = re.compile(
    r"(?<![a-z])(?:kicker|subtitle|sub-title|overline|rotitr|rutitr|rutitr_body|roo?titr|"
    r"supertitle|surtitle|pretitle|uptitle|upper-?title|over-?title|eyebrow|news-?kicker|"
    r"topline|dachzeile|spitzmarke|roofline|title__topic|headline-?intro)(?![a-z])",
    re.I,
)
_LEAD_WORDS = re.compile(
    r"(?<![a-z])(?:lead|lede|summary|introtext|intro|standfirst|excerpt|teaser|dek|sapo|chapo|"
    r"strapline|subtitle|sub-title|description|abstract|news-lead)(?![a-z])",
    re.I,
)
_UPDATE_WORDS = re.compile(r"آخر تحديث|تحديث|محدث|محدّث|updated|update|aktualisiert|mis à jour|بروزرسانی|به‌روز", re.I)
_TITLE_SEPARATORS = re.compile(r"\s+[-|–—:•»«·/]\s+|\s+[|–—]\s*|\s*[|–—]\s+|\s*[｜ㅣ]\s*|--")
#: Screen-reader-only separators inside a headline ("<span class=h-offscreen> - </span>").
_OFFSCREEN = re.compile(r"(?<![\w-])(?:h-offscreen|u-a11y-hidden|sr-only|visually-hidden|screen-reader-text)(?![\w-])", re.I)
_DATELINE = re.compile(r"^[^()\n]{2,40}?\s*[(（]\s*([^()]{2,30}?)\s*[)）]\s*(?:--|[-–—:])")
#: Below this many characters of body text from our own container, trafilatura is asked too
#: (it costs ~5-20 ms, so not on every page).
_GENERIC_BELOW = 1500
#: A paragraph shorter than this is a "short line" (see the second opinion in `extract`).
_SHORT_LINE = 80
#: Below this share of the page's paragraph text, a long body is checked against trafilatura's.
_SPLIT_SHARE = 0.5
_HAS_ZONE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT)\s*$", re.I)
_MACHINE_PUBLISHED = (
    ("article:published_time", "opengraph"), ("og:published_time", "opengraph"),
    ("datepublished", "microdata"), ("pubdate", "meta"), ("publishdate", "meta"),
    ("publish-date", "meta"), ("dc.date.issued", "meta"), ("dcterms.issued", "meta"),
    ("dc.date", "meta"), ("dcterms.created", "meta"), ("sailthru.date", "meta"),
    ("parsely-pub-date", "meta"), ("date", "meta"), ("datecreated", "microdata"),
    ("nastooh:publishdate", "meta"),
)
_MACHINE_MODIFIED = (
    ("article:modified_time", "opengraph"), ("og:updated_time", "opengraph"),
    ("datemodified", "microdata"), ("dcterms.modified", "meta"), ("last-modified", "meta"),
)


def _txt(value: Any) -> str:
    """Any output string: ZWNJ restored, bidi marks gone, whitespace collapsed."""
    if value is None:
        return ""
    return clean_text(str(value).replace(_PUA, ZWNJ))


def _parse(html: str | bytes) -> etree._Element:
    text = _ZWNJ_FORMS.sub(_PUA, decode_html(html))
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    if not text.strip():
        raise ExtractionError("empty page")
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"unparseable page: {exc}") from exc


def _el_text(el: etree._Element | None) -> str:
    return _txt(el.text_content()) if el is not None else ""


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and normalize_for_matching(a) == normalize_for_matching(b)


def _truncation_of(short: str, full: str) -> bool:
    """Is `short` a description cut off with an ellipsis ("… alanda...") from `full`?"""
    if not short.rstrip().endswith(("...", "…")):
        return False
    head = normalize_for_matching(short.rstrip().rstrip(".… "))
    return len(head) >= 60 and normalize_for_matching(full).startswith(head)


def _names(value: Any) -> list[str]:
    """Names from a JSON-LD author/publisher value (string, dict, list)."""
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, str):
        return [value]
    return []


def _choose_h1(root: etree._Element, hints: list[str]) -> etree._Element | None:
    """The h1 of the article: the one that matches a metadata title best, else the first
    non-empty h1 that is not page furniture (logo, header, breadcrumbs, teasers)."""
    h1s = [h for h in root.iter("h1") if _el_text(h)]
    if not h1s:
        return None
    norm_hints = [normalize_for_matching(h) for h in hints if h]
    for h in h1s:
        t = normalize_for_matching(h1_text(h)[1])
        if t and any(t == n or (len(t) > 10 and (t in n or n in t)) for n in norm_hints):
            return h
    for h in h1s:
        if (not any(is_junk(a) or a.tag in ("header", "li", "a") for a in h.iterancestors())
                and len(_el_text(h)) > 10):
            return h
    return h1s[0]


def h1_text(h1: etree._Element | None) -> tuple[str | None, str]:
    """(kicker, headline) of an h1 that carries its overline inside it
    (`<h1><span class="topline">Premier League</span><span>Headline</span></h1>`);
    screen-reader-only separators are left out. (None, text) for a plain h1."""
    if h1 is None:
        return None, ""
    kicker_el = None
    for child in h1.iter():
        if child is not h1 and isinstance(child.tag, str) and class_matches(child, _KICKER_WORDS):
            kicker_el = child
            break
    if kicker_el is None and not any(class_matches(c, _OFFSCREEN) for c in h1.iter() if isinstance(c.tag, str)):
        return None, _el_text(h1)
    parts: list[str] = []

    def walk(el: etree._Element) -> None:
        if el is kicker_el or (isinstance(el.tag, str) and class_matches(el, _OFFSCREEN)):
            return
        if el is not h1 and not isinstance(el.tag, str):
            return
        parts.append(el.text or "")
        for c in el:
            walk(c)
            parts.append(c.tail or "")

    walk(h1)
    kicker = _el_text(kicker_el) if kicker_el is not None else ""
    kicker = kicker.strip(" :-–|") or None
    return kicker, _txt(" ".join(parts))


def _strip_site(title: str, h1: str, site_names: list[str]) -> str:
    """Remove " - Site" / " | Site" suffixes (and prefixes): the part that matches the h1
    wins; otherwise a part that is a known site name is dropped."""
    if not title:
        return title
    parts = [p for p in _TITLE_SEPARATORS.split(title) if p.strip()]
    if h1:
        for p in parts:
            if _same(p, h1):
                return p.strip()
        if len(parts) > 1 and _same(" ".join(parts[:-1]), h1):
            return h1
    sites = {normalize_for_matching(s) for s in site_names if s}
    kept = [p for p in parts if normalize_for_matching(p) not in sites]
    if len(parts) > 1 and kept and len(kept) < len(parts):
        # rejoin with the first separator the title used
        sep = _TITLE_SEPARATORS.search(title)
        return (sep.group(0) if sep else " - ").join(kept).strip()
    return title.strip()


def _meta_text(value: Any) -> str:
    """A metadata string: entities unescaped (JSON-LD and meta values are often escaped twice:
    "R&amp;uuml;ckbau", "&quot;"), then cleaned like any output string."""
    return _txt(html_lib.unescape(str(value))) if value is not None else ""


def _sections(meta: PageMeta) -> list[str]:
    """The page's own section names: JSON-LD articleSection, article:section and any meta
    named like a section or category."""
    found: list[str] = []
    ld = meta.ld("articlesection")
    for value in (ld if isinstance(ld, list) else [ld]):
        if isinstance(value, str):
            found.append(value)
    for key, values in meta.meta.items():
        if "section" in key or key.endswith("category"):
            found.extend(values)
    return [_txt(v) for v in found if v and len(_txt(v)) <= 30]


def _strip_section(title: str, sections: list[str]) -> str:
    """"Headline-정치" / "Headline - Politics": a trailing section name goes."""
    for section in sections:
        if section and title.endswith(section) and len(title) > len(section) + 10:
            head = title[: -len(section)]
            if re.search(r"[-|–—:]\s*$", head):
                return head.rstrip(" -|–—:")
    return title


def _title(meta: PageMeta, h1_title: str, h1_kicker: str | None,
           site_names: list[str]) -> tuple[str | None, str | None]:
    """The headline.

    The JSON-LD `headline` is the publisher's own statement of the article's headline and
    wins when present (og:title and the h1 are often a social or display variant); the
    others follow in order OpenGraph, twitter:title, Dublin Core. Cross-checks with the h1:
    a metadata title (site name stripped) that is a truncated h1 gives way to the h1. With no metadata title,
    the h1; then the `<title>` minus the site name."""
    candidates: list[tuple[str, str]] = []
    sections = _sections(meta)
    ld = meta.ld("headline", "name")
    if isinstance(ld, str):
        candidates.append((_meta_text(ld), "jsonld"))
    for key, method in (("og:title", "opengraph"), ("twitter:title", "meta"), ("dc.title", "meta")):
        found = meta.first(key)
        if found:
            candidates.append((_meta_text(found[1]), method))
    # the same headline in several places: the form without decorative quotes wins
    # ("\"Pink hair\"… riddle" in JSON-LD and the h1, «Pink hair… riddle» in og:title)
    for i, (text, method) in enumerate(candidates):
        for other, other_method in candidates:
            if other != text and _same(other, text) and len(other) < len(text):
                candidates[i] = (other, method)
    for text, method in candidates:
        stripped = _strip_section(_strip_site(text, h1_title, site_names), sections)
        if not stripped or len(stripped) > 400:
            continue
        if h1_title:
            if _same(stripped, h1_title):
                return stripped, method
            if stripped.rstrip("….") and h1_title.startswith(stripped.rstrip("…. ")) and len(stripped) > 20:
                return h1_title, "h1"  # a truncated headline
        return stripped, method
    if h1_title:
        return h1_title, "h1"
    if meta.title_tag:
        return _strip_section(_strip_site(_meta_text(meta.title_tag), "", site_names), sections), "title"
    return None, None


def _kicker(h1: etree._Element | None) -> str | None:
    """The overline right above the h1: a previous sibling of the h1 (or of its wrapper, two
    levels up) with a kicker-like class. An empty slot means no kicker."""
    node = h1
    for _ in range(3):
        if node is None:
            return None
        prev = node.getprevious()
        while prev is not None and not isinstance(prev.tag, str):
            prev = prev.getprevious()
        if prev is not None and (class_matches(prev, _KICKER_WORDS) or
                                 any(class_matches(c, _KICKER_WORDS) for c in prev.iter() if isinstance(c.tag, str))):
            text = _el_text(prev)
            return text if 0 < len(text) <= 250 else None
        if prev is not None and _el_text(prev):
            return None
        node = node.getparent()
    return None


def _following(h1: etree._Element, stop: etree._Element | None, limit: int = 60):
    """Elements after the h1 in document order (not its descendants), up to `stop`."""
    count = 0
    started = False
    root = h1.getroottree().getroot()
    descendants = set(h1.iter())
    for el in root.iter():
        if el is h1:
            started = True
            continue
        if not started or el in descendants or not isinstance(el.tag, str):
            continue
        if el is stop:
            return
        yield el
        count += 1
        if count >= limit:
            return


def _lead(h1: etree._Element | None, container: etree._Element | None, meta: PageMeta,
          in_body: set[etree._Element]) -> tuple[str | None, str | None, etree._Element | None]:
    """The standfirst below the h1: an element with a lead-like class between the h1 and
    the body container, or one whose text equals og:description."""
    if h1 is None:
        return None, None, None
    desc = meta.first("og:description", "description", "twitter:description")
    desc_text = _txt(desc[1]) if desc else ""
    inside = set(container.iter()) if container is not None else set()
    for el in _following(h1, container):
        if el in inside or el in in_body or is_junk(el):
            continue
        text = _el_text(el)
        if not text or len(text) < 20:
            continue
        if class_matches(el, _LEAD_WORDS) and len(text) <= 1200:
            return text, "visible", el
        if desc_text and (_same(text, desc_text) or _truncation_of(desc_text, text)):
            return text, "opengraph", el
    return None, None, None


def _visible_date(h1: etree._Element | None, tz: str | None,
                  stop: etree._Element | None) -> tuple[ParsedDate | None, ParsedDate | None]:
    """(published, updated) dates written near the title: the first short elements after
    the h1 that hold a date; a date labelled "last update" counts as updated."""
    if h1 is None:
        return None, None
    published = updated = None
    for el in _following(h1, stop, limit=80):
        if is_junk(el) and not class_matches(el, re.compile(r"date|time", re.I)):
            continue
        if len(el) > 3:
            continue
        text = _el_text(el)
        if el.tag == "time" and el.get("datetime") and not find_dates(text, tz):
            text = _txt(el.get("datetime"))  # what the reader sees wins over the attribute
        if not text or len(text) > 160:
            continue
        found = find_dates(text, tz)
        if not found:
            continue
        parsed = found[0]
        prefix = text[: parsed.start] if parsed.start else text
        if _UPDATE_WORDS.search(text) and (not prefix or _UPDATE_WORDS.search(text)):
            # "28 آب 2013، آخر تحديث 14:00": the whole stamp is an update stamp
            updated = updated or parsed
            continue
        published = parsed
        break
    return published, updated


def _machine_date(meta: PageMeta, keys, ld_key: str, tz: str | None, now: datetime | None):
    values: list[tuple[str, str]] = []
    ld = meta.ld(ld_key)
    if isinstance(ld, list):
        ld = ld[0] if ld else None
    if isinstance(ld, str):
        values.append((ld, "jsonld"))
    for key, method in keys:
        for raw in meta.meta.get(key, ()):
            values.append((raw, method))
    naive = None
    for raw, method in values:
        raw_c = _txt(raw)
        value = parse_iso(raw_c, tz)
        zoned = value is not None and bool(_HAS_ZONE.search(raw_c))
        if value is None:
            parsed = parse_visible(raw_c, tz)
            value = parsed.value if parsed else None
        if value is None or not is_plausible(value, now):
            continue
        if zoned:
            return value, raw_c, method
        naive = naive or (value, raw_c, method)
    # only values without a zone: the first one, read in the source's zone
    return naive or (None, None, None)


def _htmldate(root: etree._Element, tz: str | None, now: datetime | None):
    try:
        from htmldate import find_date
    except ImportError:  # pragma: no cover
        return None, None
    try:
        found = find_date(root, original_date=True, extensive_search=True, outputformat="%Y-%m-%d")
    except Exception:  # htmldate must never break a page
        return None, None
    if not found:
        return None, None
    value = parse_iso(found, tz)
    return (value, found) if value is not None and is_plausible(value, now) else (None, None)


def _language(meta: PageMeta, source: SiteContext | None, sample: str) -> tuple[str | None, str | None]:
    declared = []
    if meta.html_lang:
        declared.append((meta.html_lang, "html"))
    for key in ("og:locale", "content-language", "dc.language", "language"):
        found = meta.first(key)
        if found:
            declared.append((found[1], "meta"))
    ld = meta.ld("inlanguage")
    if isinstance(ld, str):
        declared.append((ld, "jsonld"))
    if source and source.language:
        declared.append((source.language, "source"))
    script = script_language(sample)
    for value, method in declared:
        code = re.split(r"[-_]", value.strip().lower())[0]
        if not code:
            continue
        if script and code != script:
            continue  # declared language contradicted by the letters (lang="en-US" on Arabic)
        return code, method
    if script:
        return script, "script"
    return None, None


def extract(html: str | bytes, url: str, source: SiteContext | None = None,
            now: datetime | None = None) -> Article:
    """Extract the article of one page.

    `html` may be bytes (decoded strict UTF-8, then the declared charset, then detected) or
    text. `source` gives the site's timezone (for dates without a zone), language, name and
    template (a name, "none" to turn templates off, or None to match by host/CMS).
    `now` is when the page was fetched: it bounds acceptable dates and picks the template
    version valid then (default: the real clock). Raises `ExtractionError` only when the
    page has neither a title nor any body text.
    """
    root = _parse(html)
    tz = source.timezone if source and source.timezone else None
    meta = read_metadata(root)
    methods: dict[str, str] = {}
    when = (now or datetime.now(timezone.utc)).date()
    template = select_template(load_templates(), url, root, source.template if source else None, when)
    tf = apply_template(template, root, meta) if template else TemplateFields()
    tmethod = f"template:{template.name}" if template else ""
    site_names = [n for n in (
        (meta.first("og:site_name") or (None, None))[1],
        (meta.first("application-name") or (None, None))[1],
        source.name if source else None,
        *_names(meta.ld("publisher")),
    ) if n]
    site_names = [_txt(n) for n in site_names]

    hints = [h for h in (meta.ld("headline"), (meta.first("og:title") or (None, ""))[1]) if isinstance(h, str)]
    h1 = _choose_h1(root, [_meta_text(h) for h in hints])
    inner_kicker, h1_title = h1_text(h1)
    if tf.title:
        title, method = _txt(tf.title), tmethod
    else:
        title, method = _title(meta, h1_title, inner_kicker, site_names)
    if method:
        methods["title"] = method

    if tf.kicker is not None:  # the template knows the slot: empty means no kicker
        kicker, kmethod = _txt(tf.kicker) or None, tmethod
    else:
        kicker, kmethod = inner_kicker or _kicker(h1), "visible"
    if kicker:
        methods["kicker"] = kmethod

    # ---- body container (our own tree) ----
    container = tf.body if tf.body is not None else find_container(root, after=h1)
    prefix = lead_prefix(container) if container is not None and tf.body is None else []
    in_body = {e for p in prefix for e in p.iter()}
    if tf.lead is not None:
        lead, lead_method = _txt(tf.lead) or None, tmethod
    else:
        lead, lead_method, _ = _lead(h1, container, meta, in_body)
    if lead:
        methods["lead"] = lead_method

    blocks: list[Block] = []
    if container is not None:
        if tf.body is not None and len(tf.body_parts) > 1:
            runs = container_runs(tf.body_parts[-1], tf.body_parts[:-1], tf.drop)
        else:
            runs = container_runs(container, prefix, tf.drop)
        blocks = runs_to_blocks(runs)
        methods["body"] = tmethod if tf.body is not None else "visible"
        if tf.body is None and any(b.kind == "paragraph" and len(b.text) < _SHORT_LINE for b in blocks):
            # short lines in the text (a date stamp, "3 Min", "Dieses Thema im Programm:", a
            # teaser's label) hint at furniture inside our container: a second opinion on the
            # region around it (a small copy, so cheap) drops what the other extractor leaves out
            blocks = trim_by_second_opinion(blocks, _trafilatura_blocks(region_around(container)))
    own_len = sum(len(b.text) for b in blocks)
    page_len = _paragraph_text_length(root)
    if own_len < _GENERIC_BELOW and own_len < 0.6 * page_len:
        # a short body holding little of the page's paragraph text may mean we picked a
        # teaser box: ask trafilatura, keep the longer one
        generic = _trafilatura_blocks(root)
        if sum(len(b.text) for b in generic) > max(1.5 * own_len, 200 if not blocks else 0):
            blocks = generic
            methods["body"] = "generic"
    elif tf.body is None and blocks and own_len < _SPLIT_SHARE * page_len:
        # a long body that still holds under half of the page's paragraph text: the story may
        # go on in sibling modules we did not join. The whole-page extractor's body wins when
        # it holds ours and adds a good deal more
        generic = _trafilatura_blocks(root)
        if extends(blocks, generic):
            blocks = generic
            methods["body"] = "generic"

    blocks = [Block(b.kind, _txt(b.text)) for b in blocks]  # ZWNJ back before comparing

    # ---- dates ----
    vis_pub, vis_upd = _visible_date(h1, tz, None)
    if tf.date:
        found = find_dates(tf.date, tz)
        if found:
            vis_pub = found[0]
    published_at, published_text, pmethod = _machine_date(meta, _MACHINE_PUBLISHED, "datepublished", tz, now)
    if published_at is not None:
        published_at = resolve_z_trap(published_text, published_at, vis_pub, tz)
    elif vis_pub is not None and is_plausible(vis_pub.value, now):
        published_at, published_text = vis_pub.value, _txt(vis_pub.text)
        pmethod = tmethod if tf.date else "visible"
    else:
        url_day = date_from_url(url)
        if url_day is not None:
            value = parse_iso(url_day.isoformat(), tz)
            if is_plausible(value, now):
                published_at, published_text, pmethod = value, url, "url"
        if published_at is None:
            published_at, published_text = _htmldate(root, tz, now)
            pmethod = "generic" if published_at else None
        if published_at is None and vis_upd is not None and is_plausible(vis_upd.value, now):
            published_at, published_text, pmethod = vis_upd.value, _txt(vis_upd.text), "visible"
    if pmethod:
        methods["published_at"] = pmethod
    modified_at, modified_text, mmethod = _machine_date(meta, _MACHINE_MODIFIED, "datemodified", tz, now)
    if modified_at is None and vis_upd is not None and is_plausible(vis_upd.value, now):
        modified_at, modified_text, mmethod = vis_upd.value, _txt(vis_upd.text), "visible"
    if modified_at is not None and mmethod != "visible":
        modified_at = resolve_z_trap(modified_text, modified_at, vis_pub, tz)
    if modified_at is not None and published_at is not None and modified_at < published_at:
        modified_at = modified_text = mmethod = None  # "modified" before publication: bogus
    if mmethod:
        methods["modified_at"] = mmethod

    # ---- clean the body: title/kicker/lead/date/byline/credit lines out ----
    authors: list[str] = []
    drop = {normalize_for_matching(t) for t in (title, kicker, lead) if t}
    cleaned: list[Block] = []
    for block in blocks:
        norm = normalize_for_matching(block.text)
        if norm in drop:
            continue
        if len(block.text) < 80 and find_dates(block.text, tz):
            rest = re.sub(r"[\d\W]+", " ", block.text).strip()
            if len(rest) < 40:
                continue
        name, had_role = strip_byline_role(block.text)
        if had_role and len(block.text) < 60 and block.kind != "subheading":
            if name:
                authors.append(name)
            continue
        cleaned.append(block)
    credit = None
    while cleaned and cleaned[-1].kind == "paragraph" and match_credit(cleaned[-1].text):
        credit = _txt(match_credit(cleaned.pop().text))
        methods["credit"] = "visible"
        break
    if credit is None and tf.credit:
        credit, methods["credit"] = _txt(tf.credit), tmethod
    if credit is None:
        credit = _credit_outside(root, container, cleaned)
        if credit:
            methods["credit"] = "visible"
    if credit is None and cleaned:
        dateline = _DATELINE.match(cleaned[0].text)
        if dateline:  # "دمشق، سوريا (CNN) -- ...": the agency in the dateline; text kept
            credit, methods["credit"] = dateline.group(1).strip(), "dateline"
    body = tuple(Block(b.kind, _txt(b.text)) for b in cleaned)
    if body and "body" not in methods:
        methods["body"] = "visible"

    if not title and not body:
        raise ExtractionError("no title and no body text")

    # ---- authors, section, tags, image ----
    ld_authors = [_txt(n) for n in _names(meta.ld("author", "creator"))]
    if ld_authors:
        methods["authors"] = "jsonld"
    else:
        for key in ("author", "article:author", "dc.creator", "byl", "sailthru.author", "parsely-author"):
            found = meta.first(key)
            if found and not found[1].strip().startswith("http"):
                ld_authors = [_txt(found[1])]
                methods["authors"] = "opengraph" if key.startswith("article:") else "meta"
                break
    if tf.authors:
        ld_authors, methods["authors"] = [_txt(a) for a in tf.authors], tmethod
    if not ld_authors and authors:
        methods["authors"] = "visible"
    not_people = {normalize_for_matching(n) for n in site_names}
    not_people.add(normalize_for_matching(registrable_host(url).split(".")[0]))
    not_people |= {normalize_for_matching(n) for n in _organisations(meta.ld("author", "creator"))}
    squeezed_sites = [n.replace(" ", "") for n in not_people if n]

    def people(names: list[str]) -> list[str]:
        kept: list[str] = []
        for name in names:
            name, _ = strip_byline_role(name)
            norm = normalize_for_matching(name)
            if (not name or name in kept or norm in not_people or len(name) > 60
                    or "|" in name or name.startswith("(") or match_credit(name)):
                continue  # the site or an agency, not a person
            if " " not in norm and len(norm) >= 3 and any(norm in s or s in norm for s in squeezed_sites if len(s) >= 3):
                continue  # "LBCI" for the site "LBCIV7": the publisher's short name
            kept.append(name)
        return kept

    final_authors = people(ld_authors + authors)
    if not final_authors and tf.body is None:
        # no person in the metadata: the byline the reader sees near the title
        final_authors = people(_visible_byline(root, h1, container))
        if final_authors:
            methods["authors"] = "visible"
    if not final_authors:
        methods.pop("authors", None)  # only the publisher or an agency was named

    section = None
    ld_section = meta.ld("articlesection")
    if isinstance(ld_section, list):
        ld_section = ld_section[0] if ld_section else None
    if isinstance(ld_section, str) and _txt(ld_section):
        section, methods["section"] = _txt(ld_section), "jsonld"
    elif meta.first("article:section"):
        section, methods["section"] = _txt(meta.first("article:section")[1]), "opengraph"

    tags: list[str] = [_txt(t) for t in meta.meta.get("article:tag", []) if _txt(t)]
    if tags:
        methods["tags"] = "opengraph"
    else:
        kw = meta.ld("keywords") or (meta.first("news_keywords", "keywords") or (None, None))[1]
        if isinstance(kw, str):
            kw = re.split(r"[,،;]", kw)
        if isinstance(kw, list):
            tags = [_txt(t) for t in kw if isinstance(t, str) and _txt(t)]
            if tags:
                methods["tags"] = "jsonld" if meta.ld("keywords") else "meta"

    image = None
    og_image = meta.first("og:image", "twitter:image")
    if og_image:
        image, methods["image"] = og_image[1].strip(), "opengraph"
    else:
        ld_image = meta.ld("image")
        if isinstance(ld_image, list):
            ld_image = ld_image[0] if ld_image else None
        if isinstance(ld_image, dict):
            ld_image = ld_image.get("url")
        if isinstance(ld_image, str):
            image, methods["image"] = ld_image.strip(), "jsonld"

    # ---- canonical url, language ----
    canonical = canonicalize_url(url)
    methods["canonical_url"] = "input"
    for candidate, cmethod in ((meta.canonical, "link"), ((meta.first("og:url") or (None, None))[1], "opengraph")):
        if candidate and candidate.strip():
            candidate = urljoin(url, _txt(candidate))  # relative canonical links are common
        if candidate and candidate.startswith("http") and registrable_host(candidate) == registrable_host(url):
            canonical, methods["canonical_url"] = canonicalize_url(_txt(candidate)), cmethod
            break
    language, lmethod = _language(meta, source, " ".join([title or ""] + [b.text for b in body[:5]]))
    if lmethod:
        methods["language"] = lmethod

    return Article(
        url=url,
        canonical_url=canonical,
        title=title or None,
        kicker=kicker or None,
        lead=lead or None,
        body=body,
        credit=credit,
        authors=tuple(final_authors),
        language=language,
        published_at=published_at,
        published_text=published_text,
        modified_at=modified_at,
        modified_text=modified_text,
        section=section,
        tags=tuple(dict.fromkeys(tags)),
        image=image,
        source=source.name if source and source.name else None,
        methods=methods,
    )


def _organisations(value: Any) -> list[str]:
    """Names of the JSON-LD authors typed Organization (the publisher, a desk): not people."""
    if isinstance(value, list):
        return [n for v in value for n in _organisations(v)]
    if isinstance(value, dict):
        kind = value.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(isinstance(k, str) and k.lower() in ("organization", "newsmediaorganization", "organisation") for k in kinds):
            return [n for n in _names(value) if n]
    return []


_BYLINE_CLASS = re.compile(
    r"(?<![a-z])(?:by-?line|byline__\w+|author-?name|author|authors|writer|write-?by|writtenby|"
    r"post-author|article-author|post-meta-author|reporter|kateb|news-?writer)(?![a-z])", re.I)
_BYLINE_ROLE = re.compile(r"^(?:كتب(?:ت|ه|ها)?|بقلم|By|Von|Par|Por)\s*[:：\-–]?\s+\S", re.I)
_HAS_DIGIT = re.compile(r"\d")


def _visible_byline(root: etree._Element, h1: etree._Element | None,
                    container: etree._Element | None) -> list[str]:
    """A byline shown near the title: the innermost element with a byline/author/writer class
    after the h1, or a short line there that starts with a role word («كتبت أسماء نصار»,
    "By Jane Doe"). Names only: role words, dates and separators go; nothing with digits."""
    elements = list(_following(h1, None, limit=120)) if h1 is not None else []
    if container is not None:
        elements += [e for e in container.iter() if isinstance(e.tag, str)][:200]
    for el in elements:
        if el.tag in ("script", "style", "a") and not class_matches(el, _BYLINE_CLASS):
            continue
        by_class = class_matches(el, _BYLINE_CLASS) and not any(
            class_matches(c, _BYLINE_CLASS) for c in el.iterdescendants() if isinstance(c.tag, str))
        text = _el_text(el)
        if not text or len(text) > 80:
            continue
        if not by_class and not (_BYLINE_ROLE.match(text) and len(el) <= 3):
            continue
        name, _ = strip_byline_role(text)
        name = re.split(r"\s[|•·]\s|\s-\s", name)[0].strip()
        names = []
        for part in re.split(r"\s*[,،/]\s*|\s+(?:and|und|et|y|و)\s+", name):
            part = part.strip()
            # one word is a desk, a place or a section ("red", "Lille", «منوعات»), unless the
            # script writes names without spaces (松岡大地)
            if (2 <= len(part) <= 50 and not _HAS_DIGIT.search(part) and len(part.split()) <= 5
                    and (len(part.split()) >= 2 or _CJK.search(part))):
                names.append(part)
        if names:
            return names
        if by_class:
            continue
    return []


_CJK = re.compile("[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")


def _paragraph_text_length(root: etree._Element) -> int:
    """Characters in the page's real-looking <p> paragraphs (25+ chars, outside junk tags)."""
    total = 0
    for p in root.iter("p"):
        n = len(clean_text(p.text_content()))
        if n >= 25:
            total += n
    return total


def _credit_outside(root: etree._Element, container: etree._Element | None,
                    body: list[Block]) -> str | None:
    """A credit shown outside the text, in an element with a source/credit class near the
    body (albayan's «المصدر: (أبوظبي - البيان)» above the text)."""
    # any class naming a source or credit (source, news-source, wd-source, credit...): the text
    # itself must still read as a credit line, so a loose class match costs nothing
    for el in root.xpath('//*[contains(@class, "source") or contains(@class, "credit")]'):
        text = _el_text(el)
        if text and len(text) <= 100:
            found = match_credit(text)
            if found:
                return found
    return None


def _trafilatura_blocks(root: etree._Element) -> list[Block]:
    """trafilatura's body, converted to blocks (it copies the tree it is given)."""
    try:
        from trafilatura.core import bare_extraction
    except ImportError:  # pragma: no cover
        return []
    try:
        # fast=True skips trafilatura's own justext/readability fallbacks (they tripled its
        # time on heavy pages); it is our fallback already
        doc = bare_extraction(root, with_metadata=False, include_comments=False,
                              include_tables=False, output_format="python", fast=True)
    except Exception:  # trafilatura must never break a page
        return []
    body = getattr(doc, "body", None) if doc is not None else None
    return generic_blocks(body)
