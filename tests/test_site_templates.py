"""Site templates: every shipped template has a fixture page it parses; selection by name,
host, CMS fingerprint and date version."""

from __future__ import annotations

import gzip
from datetime import date, datetime, timezone
from pathlib import Path

import lxml.html
import pytest

from parsers import SiteContext, extract
from parsers.site_templates import select_template, template_from_dict
from parsers.template_data import load_templates

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = load_templates()


def test_templates_load() -> None:
    assert {t.name for t in TEMPLATES} >= {"nastooh", "yjc"}


@pytest.mark.parametrize("tpl", TEMPLATES, ids=[f"{t.name}@{t.valid_from}" for t in TEMPLATES])
def test_every_template_has_a_fixture_page_it_parses(tpl) -> None:
    assert tpl.fixtures, f"{tpl.source}: template {tpl.name} has no fixture page"
    for rel in tpl.fixtures:
        page = ROOT / rel
        assert page.is_file(), f"{tpl.source}: fixture {rel} is missing"
        data = gzip.decompress(page.read_bytes()) if page.suffix == ".gz" else page.read_bytes()
        when = tpl.valid_until or date(2026, 1, 1)
        now = datetime(when.year, when.month, when.day, tzinfo=timezone.utc)
        article = extract(data, "https://unknown.example/news/1", SiteContext(template=tpl.name), now=now)
        # every field the template names comes from it (a title-only template leaves the
        # body to the generic path); a template names at least a title or a body
        assert "title" in tpl.selectors or "body" in tpl.selectors
        if "title" in tpl.selectors:
            assert article.methods.get("title") == f"template:{tpl.name}", rel
        if "body" in tpl.selectors:
            assert article.methods.get("body") == f"template:{tpl.name}", rel
        assert article.title and len(article.body) >= 3


def _page(html: str):
    return lxml.html.document_fromstring(html)


def test_cms_fingerprint_selects_the_template_on_any_host() -> None:
    root = _page('<html><head><meta name="generator" content="www.nastooh.ir"></head><body></body></html>')
    tpl = select_template(TEMPLATES, "https://some-other-agency.ir/news/1", root, None, date(2024, 1, 1))
    assert tpl is not None and tpl.name == "nastooh"


def test_none_turns_templates_off_and_unknown_pages_get_none() -> None:
    root = _page('<html><head><meta name="generator" content="www.nastooh.ir"></head><body></body></html>')
    assert select_template(TEMPLATES, "https://www.khabaronline.ir/news/1", root, "none", date(2024, 1, 1)) is None
    assert select_template(TEMPLATES, "https://example.com/a", _page("<p>x</p>"), None, date(2024, 1, 1)) is None


def test_versions_by_date() -> None:
    old = template_from_dict({"name": "site", "hosts": ["example.com"], "valid_until": "2023-06-01",
                              "selectors": {"title": "h1.old"}, "fixtures": ["x"]})
    new = template_from_dict({"name": "site", "hosts": ["example.com"], "valid_from": "2023-06-01",
                              "selectors": {"title": "h1.new"}, "fixtures": ["x"]})
    root = _page("<p>x</p>")
    assert select_template((old, new), "https://example.com/a", root, None, date(2023, 5, 31)) is old
    assert select_template((old, new), "https://example.com/a", root, None, date(2023, 6, 1)) is new
    assert select_template((old, new), "https://example.com/a", root, "site", date(2020, 1, 1)) is old


def test_a_page_before_a_redesign_parses_with_the_template_of_its_time() -> None:
    html = ('<html><body><h1 class="old">Old headline here</h1><h2 class="new">New headline here</h2>'
            '<div class="text">' + "<p>" + "A sentence of the story text. " * 5 + "</p>" * 1 + "</div></body></html>")
    old = template_from_dict({"name": "s", "hosts": ["example.com"], "valid_until": "2023-06-01",
                              "selectors": {"title": "h1.old"}})
    new = template_from_dict({"name": "s", "hosts": ["example.com"], "valid_from": "2023-06-01",
                              "selectors": {"title": "h2.new"}})
    root = _page(html)
    assert select_template((old, new), "https://example.com/a", root, None, date(2022, 1, 1)).selectors["title"] == "h1.old"


def test_bad_template_is_rejected_at_load() -> None:
    with pytest.raises(ValueError):
        template_from_dict({"name": "x", "selectors": {"headline": "h1"}})
    with pytest.raises(ValueError):
        template_from_dict({"name": "x", "colour": "red"})


def test_meta_content_jsonld_field_and_alternatives() -> None:
    from parsers.metadata import read_metadata
    from parsers.site_templates import apply_template

    html = ('<html><head><meta property="og:title" content=" The editors&#39; headline ">'
            '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "SEO &#039;headline&#039;",'
            ' "alternativeHeadline": ""}</script></head>'
            '<body><h1>Topic: the h1</h1></body></html>')
    root = _page(html)
    meta = read_metadata(root)

    def title(selector):
        tpl = template_from_dict({"name": "t", "selectors": {"title": selector}})
        return apply_template(tpl, root, meta).title

    assert title('meta[property="og:title"]') == "The editors' headline"  # a meta tag gives its content
    assert title("jsonld:headline") == "SEO 'headline'"  # a JSON-LD field, entities decoded
    assert title("jsonld:alternativeHeadline") == ""  # empty: nothing found
    # alternatives: the first that yields text wins
    assert title(["header > h1", "jsonld:alternativeHeadline", "jsonld:headline", "h1"]) == "SEO 'headline'"
    assert title(["h2.none", "h1"]) == "Topic: the h1"
    # on a host with such a template (n-tv.de: og:title), the meta tag wins over the cascade
    body = "<p>" + "A sentence of the story text. " * 8 + "</p>"
    page = html.replace("</h1>", "</h1>" + body)
    assert extract(page, "https://www.n-tv.de/politik/a-1.html").title == "The editors' headline"
    assert extract(page, "https://www.n-tv.de/politik/a-1.html", SiteContext(template="none")).title != "The editors' headline"


def test_jsonld_selector_only_for_text_fields() -> None:
    with pytest.raises(ValueError):
        template_from_dict({"name": "x", "selectors": {"body": "jsonld:articleBody"}})
    with pytest.raises(ValueError):
        template_from_dict({"name": "x", "selectors": {"title": "jsonld:"}})
    template_from_dict({"name": "x", "selectors": {"lead": ["p.lead", "jsonld:description"]}})


def test_hosts_match_subdomains() -> None:
    tpl = template_from_dict({"name": "p", "hosts": ["people.com.cn"], "selectors": {"title": "h1"}})
    root = _page("<p>x</p>")
    assert tpl.matches("http://politics.people.com.cn/n1/2024/0424/c1001-1.html", root)
    assert tpl.matches("https://www.people.com.cn/a", root)
    assert not tpl.matches("https://notpeople.com.cn/a", root)


def test_drop_by_text_and_body_over_several_modules() -> None:
    from parsers.site_templates import apply_template

    html = ('<html><body><main>'
            '<div class="mod"><p class="par">First paragraph of the story, long enough to count here.</p></div>'
            '<div class="teaser"><p>Read also: something else entirely</p></div>'
            '<div class="mod"><h2 class="sub">A subheading</h2>'
            '<p class="par">Second paragraph of the story, also long enough to count here.</p>'
            '<p class="par">Got a story? Email the news desk.</p></div>'
            '</main></body></html>')
    tpl = template_from_dict({"name": "m", "hosts": ["example.com"],
                              "selectors": {"title": "h2", "body": ".par, h2.sub"},
                              "drop": [{"select": "p", "text": "^Got a story"}]})
    root = _page(html)
    tf = apply_template(tpl, root)
    assert [e.get("class") for e in tf.body_parts] == ["par", "sub", "par", "par"]  # page order
    dropped = [e for e in tf.drop if e.tag == "p"]
    assert len(dropped) == 1 and dropped[0].text.startswith("Got a story")
    with pytest.raises(ValueError):  # lxml's :contains() is refused; {select, text} says it
        template_from_dict({"name": "x", "drop": ['p:contains("Got a story")']})
    with pytest.raises(ValueError):
        template_from_dict({"name": "x", "drop": [{"select": "p"}]})
