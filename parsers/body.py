"""The article body: find the container that holds the story text in our own lxml tree and
turn it into ordered `Block`s (paragraph / subheading / list_item), leaving out captions,
share bars, related lists, "read also" teasers, comment policies and layout-only paragraphs.

Taking the text from our own tree (rather than from trafilatura's output) keeps it verbatim:
Persian ZWNJ, `*` subheading marks, and paragraphs separated only by `<br><br>`.
`generic_blocks` converts trafilatura's output when no container is found.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from copy import deepcopy
from dataclasses import dataclass

import lxml.html
from lxml import etree

from parsers.article import Block
from parsers.text import clean_text, is_boilerplate, is_layout_only, is_read_also

__all__ = ["Run", "find_container", "container_runs", "runs_to_blocks", "generic_blocks",
           "shingles", "trim_by_second_opinion", "region_around", "extends",
           "class_matches", "lead_prefix", "is_junk", "is_body_like", "JUNK_TAGS"]

JUNK_TAGS = frozenset(
    {"script", "style", "noscript", "iframe", "button", "figure", "figcaption",
     "aside", "nav", "footer", "svg", "select", "input", "textarea", "video", "audio",
     "object", "embed", "template", "img", "picture", "source", "label", "head", "title",
     "link", "meta", "canvas", "map"}
)
BLOCK_TAGS = frozenset(
    {"p", "div", "section", "article", "blockquote", "ul", "ol", "li", "table", "tr", "td",
     "th", "tbody", "thead", "h1", "h2", "h3", "h4", "h5", "h6", "header", "main", "pre",
     "dl", "dt", "dd", "hr", "center", "address"}
)
HEADING_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
BOLD_TAGS = frozenset({"strong", "b"})
# Class/id words (matched as whole parts of the class string) that mark page furniture.
_JUNK_WORDS = re.compile(
    r"(?<![a-z])(?:caption|adv|share|sharing|social|related|relatedposts|read-?also|readmore|"
    r"tags?|keywords|comments?|advert\w*|ads?|adsbygoogle|banner|b-inject|inject\w*|byline|"
    r"author|newsletter|subscribe|breadcrumbs?|sidebar|widget|promo|outbrain|taboola|gallery|"
    r"print|rating|likes|counters|sponsor\w*|more-?news|most-?read|popular|toolbar|"
    r"navigation|menu|metadata|meta|post-meta|entry-meta|source|email|addtoany|a2a\w*|sharedaddy|jp-relatedposts|"
    r"wp-caption|img-caption|photo-?credit|image-?credit|video|google-news|ria-fb|"
    r"b-article__refs|fb-comments|icon_font_resize\w*)(?![a-z])",
    re.I,
)
_WIDGET = re.compile(r"(?<![a-z])widget\w*", re.I)
_HIDDEN_WORDS = re.compile(r"(?<![\w-])(?:hidden|d-none|u-hide|sr-only|visually-hidden)(?![\w-])", re.I)
_BODY_WORDS = re.compile(
    r"(?<![a-z])(?:article[-_]?body|articlebody|article[-_]?content|article[-_]?text|"
    r"article__text|b-article__text|item-text|entry-content|post-content|story[-_]?body|"
    r"story[-_]?text|news[-_]?body|news[-_]?text|longdesc|body[-_]?text|text[-_]?body|"
    r"content[-_]?text|article_details_body|field-name-body|td-post-content|main-text|"
    r"article-body|body|cnn_strycntntrgt)(?![a-z])",
    re.I,
)
_LEAD_WORDS = re.compile(
    r"(?<![a-z])(?:lead|lede|summary|introtext|intro|standfirst|excerpt|teaser|dek|sapo|"
    r"chapo|strapline|b-article__lead|article__lead|news-lead)(?![a-z])",
    re.I,
)
_MIN_UNIT = 25


def _classes(el: etree._Element) -> str:
    return f"{el.get('class') or ''} {el.get('id') or ''}".lower()


def class_matches(el: etree._Element, pattern: re.Pattern) -> bool:
    """Does the element's class or id contain one of the words of `pattern`?"""
    return bool(pattern.search(_classes(el)))


def is_body_like(el: etree._Element) -> bool:
    """Is the element marked as the article text (itemprop=articleBody, article-body...)?"""
    return el.get("itemprop", "").lower() == "articlebody" or class_matches(el, _BODY_WORDS)


def is_junk(el: etree._Element) -> bool:
    """Page furniture by tag, class/id, role or inline hiding."""
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in JUNK_TAGS or not tag:
        return True
    if el.get("itemprop", "").lower() == "articlebody":
        return False
    if class_matches(el, _HIDDEN_WORDS):
        return True
    if tag == "a" and el.tail and el.tail.strip() and "none" not in (el.get("style") or ""):
        return False  # a link inside running text ("<a class=tag-link>Fuji TV</a> said"): words of the sentence
    if class_matches(el, _JUNK_WORDS):
        # a heading is not a box: "widget-title" names the CMS module a subheading sits in
        return not (tag in HEADING_TAGS and not _JUNK_WORDS.search(_WIDGET.sub(" ", _classes(el))))
    role = (el.get("role") or "").lower()
    if role in ("navigation", "complementary", "contentinfo", "banner"):
        return True
    style = (el.get("style") or "").replace(" ", "").lower()
    return "display:none" in style


def _direct_text(el: etree._Element) -> str:
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and child.tag not in BLOCK_TAGS and child.tag not in JUNK_TAGS:
            parts.append(child.text_content() or "")
        parts.append(child.tail or "")
    return "".join(parts)


def _text_len(text: str) -> int:
    """Length of `text` as `clean_text` would leave it, counted cheaply (bidi marks and
    zero-width spaces aside): whitespace runs count as one character."""
    return len(" ".join(text.split()))


def _link_density(el: etree._Element, total: int) -> float:
    if total <= 0:
        return 1.0
    links = sum(_text_len(a.text_content()) for a in el.iter("a"))
    return min(1.0, links / total)


def find_container(root: etree._Element, after: etree._Element | None = None) -> etree._Element | None:
    """The element that holds the article text, readability-style: every text unit (a `<p>`
    or an element's own `<br>`-separated text of at least 25 characters) gives its length to
    its container (full) and the container's parent (half); body-like class names
    (article-body, item-text, itemprop=articleBody...) raise a score, furniture class names
    and link-heavy text lower it. Elements inside junk containers do not count. When `after`
    (the title's h1) is given, containers that end before it are ignored."""
    scores: dict[etree._Element, float] = {}
    order: dict[etree._Element, int] = {}
    units: list[tuple[int, int, etree._Element]] = []  # (position, text length, element) of every text unit
    junk_cache: dict[etree._Element, bool] = {}

    def in_junk(el: etree._Element) -> bool:
        chain = []
        cur = el
        while cur is not None:
            if cur in junk_cache:
                result = junk_cache[cur]
                break
            chain.append(cur)
            cur = cur.getparent()
        else:
            result = False
        for node in reversed(chain):
            result = result or (node.tag not in ("html", "body") and is_junk(node))
            junk_cache[node] = result
        return result

    for i, el in enumerate(root.iter()):
        if not isinstance(el.tag, str):
            continue
        order[el] = i
        if el.tag in JUNK_TAGS:
            continue
        if el.tag == "p":
            length = _text_len(el.text_content())
            holder = el.getparent()
        elif el.tag in ("div", "td", "section", "article", "span", "font", "blockquote"):
            length = _text_len(_direct_text(el))
            holder = el
        else:
            continue
        if length < _MIN_UNIT or holder is None or in_junk(el):
            continue
        units.append((i, length, el))
        scores[holder] = scores.get(holder, 0.0) + length
        parent = holder.getparent()
        if parent is not None:
            scores[parent] = scores.get(parent, 0.0) + length / 2
    best, best_score = None, 0.0
    after_pos = order.get(after, -1) if after is not None else -1
    for el, score in scores.items():
        if el.tag in ("html", "body"):
            score *= 0.5
        if el.get("itemprop", "").lower() == "articlebody" or class_matches(el, _BODY_WORDS):
            score *= 1.6
        elif is_junk(el):
            score *= 0.2
        text_len = _text_len(el.text_content())
        score *= 1.0 - 0.8 * _link_density(el, text_len)
        if after_pos >= 0:
            last = max((order.get(d, 0) for d in el.iter()), default=0)
            if last < after_pos:
                score *= 0.3
        if score > best_score:
            best, best_score = el, score
    if best is None:
        return None
    return _widen(best, order, units, in_junk)


#: How much one character of non-paragraph text (captions, link lists, short fragments)
#: weighs against one character of paragraph text when a wider container is considered.
_BAD_WEIGHT = 1.0
_WIDEN_LEVELS = 6
_ADDED_LINK_DENSITY = 0.3


def _visible_len(el: etree._Element, skip: etree._Element | None = None) -> tuple[int, int]:
    """(characters of visible text, characters of it inside links) of `el` without the
    subtree `skip`; furniture (junk tags and classes) left out."""
    total = links = 0
    stack = [(el, False)]
    while stack:
        node, in_link = stack.pop()
        if node is not el and is_junk(node):
            continue
        in_link = in_link or node.tag == "a"
        # a node's own text is in the link when the node is; a child's tail only when this node is
        for text, linked in [(node.text, in_link)] + [(child.tail, in_link) for child in node]:
            if text and not text.isspace():
                n = len(" ".join(text.split()))
                total += n
                links += n if linked else 0
        for child in node:
            if child is not skip:
                stack.append((child, in_link))
    return total, links


def _last_position(el: etree._Element, order: dict) -> int:
    node = el
    while True:
        children = [c for c in node if isinstance(c.tag, str)]
        if not children:
            return order.get(node, 0)
        node = children[-1]


def _signature(el: etree._Element) -> tuple[str, frozenset, str, frozenset]:
    parent = el.getparent()
    return (el.tag, frozenset((el.get("class") or "").split()),
            parent.tag if parent is not None else "", frozenset((parent.get("class") or "").split()) if parent is not None else frozenset())


def _alike(sig: tuple, known: list[tuple]) -> bool:
    """A text unit shaped like the container's own paragraphs: same tag and a shared class
    (or both unclassed); an unclassed unit must also sit in the same kind of parent."""
    tag, classes, ptag, pclasses = sig
    for ktag, kclasses, kptag, kpclasses in known:
        if tag != ktag or (classes or kclasses) and not classes & kclasses:
            continue
        if classes or (ptag == kptag and (not (pclasses or kpclasses) or pclasses & kpclasses)):
            return True
    return False


def _widen(best: etree._Element, order: dict, units: list[tuple[int, int, etree._Element]],
           in_junk) -> etree._Element:
    """The story is often split over sibling modules (one wrapper per paragraph or per
    section), so the best-scoring element holds only part of it. Walk up a few levels and
    take the ancestor with the most paragraph text net of the other text it adds: only
    paragraphs shaped like the container's own (same tag and class, `_alike`) count as
    story text; captions, teasers, link lists and fragments count against, at `_BAD_WEIGHT`
    per character."""
    positions = [pos for pos, _, _ in units]
    first, last = order.get(best, 0), _last_position(best, order)
    lo, hi = bisect.bisect_left(positions, first), bisect.bisect_right(positions, last)
    known = list({_signature(el) for _, _, el in units[lo:hi]})
    if not known:
        return best
    cumulative = [0]
    for _, n, el in units:
        cumulative.append(cumulative[-1] + (n if _alike(_signature(el), known) else 0))

    def good(el: etree._Element) -> int:
        lo = bisect.bisect_left(positions, order.get(el, 0))
        hi = bisect.bisect_right(positions, _last_position(el, order))
        return cumulative[hi] - cumulative[lo]

    total, links = _visible_len(best)
    g = max(0, good(best) - links)
    base = chosen_net = g - _BAD_WEIGHT * max(0, total - g)
    chosen = best
    child, node = best, best.getparent()
    for _ in range(_WIDEN_LEVELS):
        if node is None or node.tag in ("body", "html") or in_junk(node):
            break
        more_total, more_links = _visible_len(node, skip=child)
        if more_links > max(100, _ADDED_LINK_DENSITY * more_total):
            break  # what the wider box adds is mostly links: teasers, menus, "more on this"
        total, links = total + more_total, links + more_links
        g = max(0, good(node) - links)
        value = g - _BAD_WEIGHT * max(0, total - g)
        if value > chosen_net:
            chosen, chosen_net = node, value
        child, node = node, node.getparent()
    if chosen is not best and chosen_net < base + max(100.0, 0.1 * abs(base)):
        return best
    return chosen


#: Boxes inside the article container that are dropped when most of their text is links:
#: teaser cards, "more on this topic", related-story lists, tables of contents, tag clouds.
_BOX_TAGS = frozenset({"div", "section", "ul", "ol", "dl", "table", "header"})
_BOX_LINK_DENSITY = 0.5


def _link_box(el: etree._Element) -> bool:
    total = len(" ".join(el.text_content().split()))
    if total == 0:
        return False
    links = sum(len(" ".join(a.text_content().split())) for a in el.iter("a"))
    return links > _BOX_LINK_DENSITY * total


@dataclass
class Run:
    """A piece of visible text between block boundaries. `bold` is True when all of its
    text sits inside <strong>/<b>; `heading` when it comes from an h2-h6; `item` from an li."""

    text: str
    bold: bool = False
    heading: bool = False
    item: bool = False


def container_runs(container: etree._Element, prefix: list[etree._Element] = (),
                   skip: set | frozenset = frozenset()) -> list[Run]:
    """Text runs of `container` (after the elements in `prefix`, e.g. a lead paragraph that
    belongs to the text) in reading order, split at block elements and at `<br>`. Elements
    in `skip` (a site template's drop list) are left out like furniture."""
    runs: list[Run] = []
    buf: list[tuple[str, bool]] = []
    state = {"heading": False, "item": False}

    def flush() -> None:
        text = clean_text("".join(t for t, _ in buf))
        if text:
            bold = all(b for t, b in buf if t.strip())
            runs.append(Run(text, bold, state["heading"], state["item"]))
        buf.clear()

    def walk(el: etree._Element, bold: bool) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if el in skip or is_junk(el) or (el not in roots and tag in _BOX_TAGS and _link_box(el)):
            if el.tail:
                buf.append((el.tail, bold_outer[-1]))
            return
        if tag == "br":
            flush()
            if el.tail:
                buf.append((el.tail, bold_outer[-1]))
            return
        block = tag in BLOCK_TAGS
        if block:
            flush()
        saved = dict(state)
        if tag in HEADING_TAGS:
            state["heading"] = True
        if tag == "li":
            state["item"] = True
        inner_bold = bold or tag in BOLD_TAGS
        bold_outer.append(inner_bold)
        if el.text:
            buf.append((el.text, inner_bold))
        for child in el:
            walk(child, inner_bold)
        bold_outer.pop()
        if block:
            flush()
        state.update(saved)
        if el.tail:
            buf.append((el.tail, bold_outer[-1]))

    bold_outer = [False]
    roots = set(prefix) | {container}
    for el in list(prefix) + [container]:
        walk(el, False)
        flush()
    return runs


_NO_LETTERS = re.compile(r"[\d\W_]+")


def runs_to_blocks(runs: list[Run]) -> list[Block]:
    """Runs → Blocks: h2-h6 and short all-bold or `*`-prefixed paragraphs are subheadings,
    list items are list items; layout-only, "read also" and boilerplate runs are dropped."""
    blocks: list[Block] = []
    for run in runs:
        text = run.text
        if is_layout_only(text) or is_read_also(text) or is_boilerplate(text):
            continue
        if _NO_LETTERS.fullmatch(text):
            continue  # "17302": a code or counter, not text
        if run.heading:
            kind = "subheading"
        elif text.startswith("*") and len(text) <= 150:
            kind = "subheading"
        elif run.item:
            kind = "list_item"
        elif run.bold and len(text) <= 120 and not text.endswith((".", "。")) and len(runs) > 1:
            kind = "subheading"
        else:
            kind = "paragraph"
        blocks.append(Block(kind, text))
    return blocks


def generic_blocks(body: etree._Element | None) -> list[Block]:
    """Blocks from trafilatura's output tree (<p>, <head>, <list><item>, <quote>)."""
    if body is None:
        return []
    blocks: list[Block] = []
    for el in body.iter("p", "head", "item", "quote"):
        if el.tag in ("p", "quote") and any(a.tag in ("item", "quote") for a in el.iterancestors()):
            continue
        text = clean_text("".join(el.itertext()))
        if is_layout_only(text) or is_read_also(text) or is_boilerplate(text):
            continue
        kind = {"head": "subheading", "item": "list_item"}.get(el.tag, "paragraph")
        if kind == "paragraph" and text.startswith("*") and len(text) <= 150:
            kind = "subheading"
        blocks.append(Block(kind, text))
    return blocks


def lead_prefix(container: etree._Element) -> list[etree._Element]:
    """A lead block that belongs to the text flow: the container's preceding sibling when it
    has a lead class and holds `<p>` paragraphs itself (Sputnik's div.b-article__lead)."""
    prev = container.getprevious()
    while prev is not None and isinstance(prev.tag, str) and not clean_text(prev.text_content()):
        prev = prev.getprevious()
    if (
        prev is not None
        and isinstance(prev.tag, str)
        and prev.tag in ("div", "section")
        and class_matches(prev, _LEAD_WORDS)
        and prev.find(".//p") is not None
    ):
        return [prev]
    return []


_WORD = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter:
    """Multiset of `n`-word shingles of `text` (a text shorter than `n` words is one shingle)."""
    words = _WORD.findall(text)
    if len(words) < n:
        return Counter([tuple(words)]) if words else Counter()
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def region_around(container: etree._Element, levels: int = 2) -> etree._Element:
    """A copy of the container's ancestor `levels` up (not past <body>), as its own small
    document: what a second extractor reads to judge our container, at a fraction of the
    cost of the whole page."""
    node = container
    for _ in range(levels):
        parent = node.getparent()
        if parent is None or parent.tag in ("body", "html"):
            break
        node = parent
    html = lxml.html.document_fromstring("<html><body></body></html>")
    html.find("body").append(deepcopy(node))
    return html


#: The second opinion must hold almost nothing we lack (its text is inside ours) ...
_SECOND_INSIDE = 0.95
#: ... while a noticeable share of ours is missing from it; a block of ours is then kept when
#: at least this share of its shingles is in the second opinion.
_OURS_COVERED_BELOW = 0.95
_BLOCK_SUPPORT = 0.5
_LEAD_MIN = 100


def trim_by_second_opinion(blocks: list[Block], other: list[Block]) -> list[Block]:
    """Drop from our blocks what a second extractor, reading the same region, left out as
    furniture: only when its text lies almost wholly inside ours (so it found the same story,
    not another one) and ours has a noticeable share it does not (teaser lists, tag boxes,
    broadcast notes, fold-out info boxes). Our own text is kept verbatim; blocks the other
    extractor does not have are dropped, the rest stays in our order and kinds."""
    if not blocks or not other:
        return blocks
    ours = shingles("\n".join(b.text for b in blocks))
    theirs = shingles("\n".join(b.text for b in other))
    shared = sum((ours & theirs).values())
    if not theirs or shared < _SECOND_INSIDE * sum(theirs.values()):
        return blocks
    if shared >= _OURS_COVERED_BELOW * sum(ours.values()):
        return blocks
    keep = []
    for block in blocks:
        own = shingles(block.text)
        total = sum(own.values())
        keep.append(total == 0 or sum((own & theirs).values()) >= _BLOCK_SUPPORT * total)
    first = next((i for i, k in enumerate(keep) if k and blocks[i].kind != "subheading"), len(keep))
    for i in range(first):
        # a standfirst paragraph before the story's first shared paragraph: extractors often
        # leave out a lead for its class; it stays
        if blocks[i].kind == "paragraph" and len(blocks[i].text) >= _LEAD_MIN:
            keep[i] = True
    following = False  # a subheading goes with the text under it (extractors drop headings)
    for i in range(len(blocks) - 1, -1, -1):
        if blocks[i].kind == "subheading":
            keep[i] = following
        else:
            following = keep[i]
    kept = [b for b, k in zip(blocks, keep) if k]
    return kept or blocks


#: `extends`: ours must lie this much inside the other body, and be at most this share of it.
_EXTENDS_INSIDE = 0.9
_EXTENDS_COVER = 0.8


def extends(blocks: list[Block], other: list[Block]) -> bool:
    """Does `other` hold (nearly) all of our text and a good deal more (ours under 80% of it)?
    Then it found the same story, continued where our container stopped."""
    if not blocks or not other:
        return False
    ours = shingles("\n".join(b.text for b in blocks))
    theirs = shingles("\n".join(b.text for b in other))
    shared = sum((ours & theirs).values())
    return (shared >= _EXTENDS_INSIDE * sum(ours.values())
            and shared < _EXTENDS_COVER * sum(theirs.values()))
