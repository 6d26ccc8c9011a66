"""URL canonicalisation for dedup keys: one spelling for one page."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

__all__ = ["canonicalize_url", "TRACKING_PARAMS", "registrable_host"]

#: Query parameters that only track a visit and never select content. Also every parameter
#: starting with ``utm_``. (Kept deliberately short: params like ``id`` or ``p`` select pages.)
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "igshid", "mc_cid", "mc_eid", "ref", "ref_src", "ref_url", "at_medium",
        "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4", "_ga",
        "_gl", "ocid", "cmpid", "ito", "xtor", "__twitter_impression", "amp", "s_cid",
        "spm",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 3986 unreserved characters stay literal; everything else outside the allowed set is
# percent-encoded with upper-case hex. Non-ASCII (Arabic paths) is encoded as UTF-8.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = "/:@!$'()*+,;-._~?"
_PCT = re.compile(r"%[0-9A-Fa-f]{2}")
# Host prefixes of the same site's mobile and AMP editions (and www): one dedup key for all.
_VARIANT_HOST = re.compile(r"^(?:www\d*|m|mobile|amp)\.(?=[^.]+\.[^.]+)")
# An /amp segment at the start or the end of the path.
_AMP_PATH = re.compile(r"^/amp(/.*)$|(?<=.)/amp$")


def _norm_component(part: str, safe: str) -> str:
    # unquote then quote: %D8%A7 and the raw Arabic letter both become %D8%A7; %7E → ~.
    # Encoded reserved characters that carry meaning (%2F, %3F, %26, %3D, %23) are kept.
    keep = {"%2F", "%3F", "%26", "%3D", "%23", "%25", "%2B"}
    pieces = []
    last = 0
    for m in _PCT.finditer(part):
        if m.group(0).upper() in keep:
            pieces.append(quote(unquote(part[last:m.start()]), safe=safe))
            pieces.append(m.group(0).upper())
            last = m.end()
    pieces.append(quote(unquote(part[last:]), safe=safe))
    return "".join(pieces)


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("utm_") or lowered in TRACKING_PARAMS


def canonicalize_url(url: str, *, fold_variants: bool = True) -> str:
    """Canonical form of a URL, for dedup keys. Idempotent. Steps:

    - trim whitespace; lowercase scheme and host (IDNA hosts kept as given, lowercased);
      drop userinfo-free default ports (:80 for http, :443 for https); drop the fragment;
    - drop tracking query parameters: every ``utm_*`` and those in `TRACKING_PARAMS`
      (fbclid, gclid, dclid, gbraid, wbraid, msclkid, yclid, twclid, igshid, mc_cid, mc_eid,
      ref, ref_src, ref_url, at_medium, at_campaign, at_custom1-4, _ga, _gl, ocid, cmpid,
      ito, xtor, __twitter_impression, amp, s_cid, spm);
    - sort the remaining parameters (by name, then value; blank values kept);
    - normalise percent-encoding: decode what need not be encoded, encode non-ASCII as
      UTF-8 with upper-case hex, so an Arabic path and its percent-encoded form are equal;
    - remove a trailing slash on a non-root path; an empty path becomes ``/``;
    - fold the variants of one page: a ``www.``, ``m.``, ``mobile.`` or ``amp.`` host prefix is
      dropped (the result is a dedup key, not always a fetchable address: the fetched URL is kept
      beside it), and AMP paths lose their marker (``/amp/…``, ``…/amp``, ``….amp.html``,
      ``outputType=amp``). With ``fold_variants=False`` this step is skipped: the result is
      then a clean address to fetch.
    """
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if fold_variants:
        host = _VARIANT_HOST.sub("", host)
    port = parts.port if parts.port is not None else None
    netloc = host
    if parts.username or parts.password:
        userinfo = parts.username or ""
        if parts.password:
            userinfo += ":" + parts.password
        netloc = f"{userinfo}@{host}"
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        netloc += f":{port}"
    path = _norm_component(parts.path, _PATH_SAFE) or "/"
    path = re.sub(r"/{2,}", "/", path)
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    while fold_variants:  # both markers may be present: strip until nothing changes
        stripped = _AMP_PATH.sub(lambda m: m.group(1) if m.group(1) is not None else "", path)
        stripped = stripped.replace(".amp.html", ".html")
        if len(stripped) > 1 and stripped.endswith("/"):
            stripped = stripped.rstrip("/") or "/"
        if stripped == path:
            break
        path = stripped
    params = []
    for pair in parts.query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name_n = _norm_component(name.replace("+", " "), _QUERY_SAFE)
        if _is_tracking(unquote(name_n)):
            continue
        if fold_variants and unquote(name_n).lower() == "outputtype" and unquote(value).lower() == "amp":
            continue
        value_n = _norm_component(value.replace("+", " "), _QUERY_SAFE)
        params.append((name_n, value_n, "=" in pair))
    params.sort()
    query = "&".join(f"{n}={v}" if has_eq else n for n, v, has_eq in params)
    return urlunsplit((scheme, netloc, path, query, ""))


def registrable_host(url: str) -> str:
    """A cheap registrable-domain guess: the host without a leading ``www.``/``m.``/``amp.``.

    (No public-suffix list here: this is only used to check that a page's rel=canonical
    points to the same site as the URL it was fetched from.)"""
    host = (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    return re.sub(r"^(?:www\d*|m|amp|mobile)\.", "", host)
