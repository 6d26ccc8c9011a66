"""canonicalize_url."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given, settings, strategies as st

from parsers import canonicalize_url


def test_scheme_and_host_lowercased_default_port_and_fragment_dropped() -> None:
    assert canonicalize_url("HTTPS://News.Example.COM:443/a/b#top") == "https://news.example.com/a/b"
    assert canonicalize_url("http://example.com:80") == "http://example.com/"
    assert canonicalize_url("http://example.com:8080/x") == "http://example.com:8080/x"


def test_tracking_params_dropped_and_rest_sorted() -> None:
    url = "https://e.com/n?utm_source=tw&b=2&fbclid=x&a=1&gclid=y&ref=home&mc_cid=1&at_medium=s"
    assert canonicalize_url(url) == "https://e.com/n?a=1&b=2"


def test_trailing_slash_removed_on_non_root_path() -> None:
    assert canonicalize_url("https://e.com/2020/11/2338761/") == "https://e.com/2020/11/2338761"
    assert canonicalize_url("https://e.com/") == "https://e.com/"


def test_arabic_path_and_its_percent_encoding_are_equal() -> None:
    raw = "https://www.youm7.com/story/2020/8/24/وزير-الرى-يشهد/4943459"
    encoded = "https://www.youm7.com/story/2020/8/24/" + quote("وزير-الرى-يشهد") + "/4943459"
    lower_hex = encoded.replace("%D9", "%d9")
    assert canonicalize_url(raw) == canonicalize_url(encoded) == canonicalize_url(lower_hex)


def test_unreserved_characters_decoded() -> None:
    assert canonicalize_url("https://e.com/%7Euser/a%2Db") == "https://e.com/~user/a-b"


def test_encoded_slash_kept() -> None:
    assert canonicalize_url("https://e.com/a%2fb") == "https://e.com/a%2Fb"


segment = st.text(alphabet=st.sampled_from(list("abcXYZ019-_.~وزير%/ ")), max_size=12)
names = st.sampled_from(["a", "b", "id", "page", "q", "x"])
values = st.text(alphabet=st.sampled_from(list("abc123وز-_ ")), max_size=6)
tracking = st.sampled_from(["utm_source", "utm_medium", "fbclid", "gclid", "mc_cid", "mc_eid", "ref", "at_medium", "at_campaign"])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["http", "HTTPS"]), st.sampled_from(["E.com", "www.example.org:443", "a.b:8080"]),
       st.lists(segment, max_size=4), st.lists(st.tuples(names, values), max_size=4), st.text(max_size=5))
def test_idempotent(scheme, host, segments, params, fragment) -> None:
    url = f"{scheme}://{host}/" + "/".join(segments) + "?" + "&".join(f"{k}={v}" for k, v in params) + "#" + fragment
    once = canonicalize_url(url)
    assert canonicalize_url(once) == once


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(names, values), max_size=4), st.lists(st.tuples(tracking, values), min_size=1, max_size=3))
def test_tracking_params_never_survive(params, tracked) -> None:
    url = "https://e.com/x?" + "&".join(f"{k}={v}" for k, v in params + tracked)
    query = canonicalize_url(url).split("?", 1)[1] if "?" in canonicalize_url(url) else ""
    for key, _ in tracked:
        assert not any(part == key or part.startswith(f"{key}=") for part in query.split("&"))


@settings(max_examples=200, deadline=None)
@given(st.permutations([("a", "1"), ("b", "2"), ("c", "3"), ("utm_source", "x")]))
def test_param_order_does_not_matter(params) -> None:
    url = "https://e.com/x?" + "&".join(f"{k}={v}" for k, v in params)
    assert canonicalize_url(url) == "https://e.com/x?a=1&b=2&c=3"


def test_mobile_amp_and_www_variants_share_one_key() -> None:
    variants = [
        "https://www.example.com/news/2024/04/27/story",
        "https://m.example.com/news/2024/04/27/story",
        "https://amp.example.com/news/2024/04/27/story",
        "https://example.com/amp/news/2024/04/27/story",
        "https://example.com/news/2024/04/27/story/amp",
        "https://example.com/news/2024/04/27/story?outputType=amp",
    ]
    assert {canonicalize_url(u) for u in variants} == {"https://example.com/news/2024/04/27/story"}


def test_amp_html_suffix_is_folded() -> None:
    assert canonicalize_url("https://e.com/a/b.amp.html") == "https://e.com/a/b.html"


def _dev_set_urls() -> list[str]:
    import json
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures"
    from urllib.parse import unquote

    # one page may sit in both sets, once percent-encoded: count it once
    urls = {unquote(json.loads(p.read_text(encoding="utf-8"))["url"]) for p in fixtures.glob("*-dev/**/*.json")}
    return sorted(urls)


def test_no_two_articles_of_the_dev_set_share_a_canonical_url() -> None:
    urls = _dev_set_urls()
    assert len(urls) >= 9
    assert len({canonicalize_url(u) for u in urls}) == len(urls)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["", "www.", "m.", "amp."]),
    st.lists(st.text(alphabet="abcdefgh0123456789-", min_size=1, max_size=8), min_size=1, max_size=4),
    st.sampled_from(["", "/amp", "/"]),
)
def test_variants_of_dev_shaped_urls_are_idempotent(prefix: str, segments: list[str], suffix: str) -> None:
    url = f"https://{prefix}news.example.org/" + "/".join(segments) + suffix
    once = canonicalize_url(url)
    assert canonicalize_url(once) == once


def test_without_folding_the_host_and_amp_marker_stay_fetchable() -> None:
    url = "https://m.example.com/news/1/amp?utm_source=x#top"
    assert canonicalize_url(url, fold_variants=False) == "https://m.example.com/news/1/amp"
