"""Score `parsers.extract` (and trafilatura, in the same run, on the same pages) on the
extraction development set, the way `../shared/eval/README.md` defines the measures.

    python benchmarks/extraction.py [--eval-dir ../shared/eval] [--no-templates] [--out FILE]
                                    [--only SUBSTRING] [--no-trafilatura]

Measures, per set (fundus-dev, arabic-dev), per language and overall:
- body: multiset of 4-word shingles of `\\w+` words (case kept); per page precision =
  |shared|/|extracted| (pages with no output left out of the precision average), recall =
  |shared|/|truth| (empty output = 0); P and R averaged over pages; F1 = harmonic mean of the
  two averages. Only fundus-dev has a full body truth. akhbar's text is lead + body (the
  truth's `body` is "lead + subheadings + paragraphs").
- title: exact after NFC and whitespace collapsing.
- date: right to the day in the truth's zone, to the minute where the truth has a time; a
  missing value is wrong. A truth without an offset is read in the zone a source config
  would give the site (its country's zone, below); a naive midnight is a day-only truth.
  Pages whose truth has no date are not scored for dates.
- arabic-dev only: kicker, lead, credit and authors where `benchmarks/arabic_checks.json`
  makes the truth checkable; first/last body sentence present; nothing from exclude_from_body.
- CPU: median `time.process_time` per call: akhbar's `extract`, and trafilatura's
  `extract(with_metadata=True)` (the baseline the issue names). trafilatura's fields are
  scored from `bare_extraction(with_metadata=True)` on the same bytes (a separate, untimed call).

Writes a per-page report to benchmarks/out/extraction.json (gitignored) and prints a table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
import unicodedata
import warnings
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from parsers import SiteContext, extract  # noqa: E402

#: The zone a source config would give a site of each country (sources.yaml carries one);
#: shared with the per-page tests.
COUNTRY_TZ: dict[str, str] = json.loads((ROOT / "tests" / "fixtures" / "country_timezones.json").read_text())
WORD = re.compile(r"\w+")


def norm(text: str | None) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text or "")).strip()


def shingles(text: str, n: int = 4) -> Counter:
    words = WORD.findall(text or "")
    if len(words) < n:
        return Counter([tuple(words)]) if words else Counter()
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def body_pr(extracted: str, truth: str) -> tuple[float | None, float]:
    """(precision or None when nothing was extracted, recall)."""
    got, want = shingles(extracted), shingles(truth)
    shared = sum((got & want).values())
    precision = shared / sum(got.values()) if got else None
    recall = shared / sum(want.values()) if want else 0.0
    return precision, recall


def date_scores(value: datetime | None, truth_iso: str | None, tz: str) -> tuple[bool | None, bool | None]:
    """(day right, minute right or None when the truth has no time); None, None when no truth."""
    if not truth_iso:
        return None, None
    truth = datetime.fromisoformat(truth_iso)
    has_time = len(truth_iso) > 10 and not (truth.tzinfo is None and truth.time() == datetime.min.time())
    if truth.tzinfo is None:
        truth = truth.replace(tzinfo=ZoneInfo(tz))
    if value is None:
        return False, (False if has_time else None)
    day = value.astimezone(truth.tzinfo).date() == truth.date()
    minute = None
    if has_time:
        minute = abs((value - truth).total_seconds()) < 60
    return day, minute


def parse_day_string(text: str | None, tz: str) -> datetime | None:
    """trafilatura's date ("YYYY-MM-DD"), as midnight in the site's zone: it gives a day only."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text[:10]).replace(tzinfo=ZoneInfo(tz))
    except ValueError:
        return None


def load_pages(eval_dir: Path, only: str | None) -> list[dict]:
    pages = []
    for set_name in ("fundus-dev", "arabic-dev"):
        for html in sorted((eval_dir / set_name).glob("*/*.html.gz")):
            if only and only not in str(html):
                continue
            truth = json.loads(html.with_name(html.name.replace(".html.gz", ".json")).read_text("utf-8"))
            pages.append({"set": set_name, "path": html, "truth": truth})
    return pages


def site_context(page: dict) -> SiteContext:
    truth = page["truth"]
    if page["set"] == "arabic-dev":
        return SiteContext(name=truth["site"], timezone=COUNTRY_TZ.get(truth["country"][:2], "UTC"),
                           language=truth["language"])
    return SiteContext(name=truth["publisher"], timezone=COUNTRY_TZ.get(truth["country"], "UTC"),
                       language=truth["lang"])


def run_akhbar(data: bytes, url: str, ctx: SiteContext, now: datetime) -> tuple[dict, float]:
    t0 = time.process_time()
    try:
        art = extract(data, url, ctx, now=now)
    except Exception as exc:  # a failure is a page with no output, not a crashed benchmark
        return {"error": f"{type(exc).__name__}: {exc}"}, (time.process_time() - t0) * 1000
    ms = (time.process_time() - t0) * 1000
    texts = [b.text for b in art.body]
    full = texts if (not art.lead or any(norm(art.lead) in norm(t) for t in texts[:2])) else [art.lead] + texts
    return {
        "title": art.title, "kicker": art.kicker, "lead": art.lead, "credit": art.credit,
        "authors": list(art.authors), "published": art.published_at, "published_text": art.published_text,
        "text": "\n".join(full), "body_only": "\n".join(texts), "methods": art.methods,
    }, ms


def run_trafilatura(data: bytes, url: str) -> tuple[dict, float]:
    import trafilatura

    t0 = time.process_time()
    try:
        trafilatura.extract(data, url=url, with_metadata=True)
    except Exception:
        pass
    ms = (time.process_time() - t0) * 1000
    try:
        doc = trafilatura.bare_extraction(data, url=url, with_metadata=True)
    except Exception as exc:
        return {"error": str(exc)}, ms
    if doc is None:
        return {}, ms
    get = doc.get if isinstance(doc, dict) else (lambda k: getattr(doc, k, None))
    return {"title": get("title"), "date": get("date"), "text": get("text") or ""}, ms


def _rate(values: list) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(bool(v) for v in vals) / len(vals) if vals else None


def summarise(rows: list[dict], who: str) -> dict:
    precisions = [r[who]["body_p"] for r in rows if r[who].get("body_p") is not None]
    recalls = [r[who]["body_r"] for r in rows if r[who].get("body_r") is not None]
    p = statistics.fmean(precisions) if precisions else None
    rc = statistics.fmean(recalls) if recalls else None
    f1 = (2 * p * rc / (p + rc)) if p and rc else None
    out = {"pages": len(rows), "body_pages": len(recalls), "body_p": p, "body_r": rc, "body_f1": f1}
    for key in ("title", "day", "minute", "kicker", "lead", "credit", "authors", "first_last", "exclude"):
        out[key] = _rate([r[who].get(key) for r in rows])
        out[key + "_n"] = sum(r[who].get(key) is not None for r in rows)
    out["cpu_ms_median"] = statistics.median([r[who]["ms"] for r in rows]) if rows else None
    return out


def score_page(page: dict, checks: dict, use_templates: bool, with_traf: bool) -> dict:
    truth = page["truth"]
    data = gzip.decompress(page["path"].read_bytes())
    ctx = site_context(page)
    if not use_templates:
        ctx = replace(ctx, template="none")
    # "now" = a fixed day after the newest page, so the result does not depend on the clock
    now = datetime(2027, 1, 1, tzinfo=timezone.utc)
    ours, ms = run_akhbar(data, truth["url"], ctx, now)
    row: dict = {"set": page["set"], "page": str(page["path"].relative_to(page["path"].parents[2])),
                 "lang": truth.get("lang") or truth.get("language"), "akhbar": {"ms": ms}}
    published = truth["published"]["iso"] or truth["published"]["date"] if page["set"] == "arabic-dev" else truth.get("published")
    tz = ctx.timezone or "UTC"
    a = row["akhbar"]
    if "error" in ours:
        a["error"] = ours["error"]
        ours = {}
    a["title"] = norm(ours.get("title")) == norm(truth["title"])
    a["day"], a["minute"] = date_scores(ours.get("published"), published, tz)
    a["got"] = {k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in ours.items() if k not in ("text", "body_only")}
    if page["set"] == "fundus-dev":
        a["body_p"], a["body_r"] = body_pr(ours.get("text", ""), truth["body"])
    else:
        site = checks.get(truth["site"], {})
        body = norm(ours.get("body_only", ""))
        a["first_last"] = norm(truth["body_first_sentence"]) in body and norm(truth["body_last_sentence"]) in body
        blocks = {norm(t) for t in ours.get("body_only", "").split("\n")}
        a["exclude"] = all((norm(t) not in body) if how == "in" else (norm(t) not in blocks)
                           for t, how in site.get("exclude", []))
        for key in ("kicker", "lead", "credit"):
            if key in site:
                a[key] = norm(ours.get(key)) == norm(site[key])
        if "authors" in site:
            a["authors"] = [norm(x) for x in ours.get("authors", [])] == [norm(x) for x in site["authors"]]
    if with_traf:
        theirs, tms = run_trafilatura(data, truth["url"])
        t = row["trafilatura"] = {"ms": tms}
        t["title"] = norm(theirs.get("title")) == norm(truth["title"])
        t["day"], t["minute"] = date_scores(parse_day_string(theirs.get("date"), tz), published, tz)
        if t["minute"] is not None:
            t["minute"] = False  # trafilatura returns a day, never a time
        if page["set"] == "fundus-dev":
            t["body_p"], t["body_r"] = body_pr(theirs.get("text", ""), truth["body"])
        else:
            text = norm(theirs.get("text", ""))
            t["first_last"] = norm(truth["body_first_sentence"]) in text and norm(truth["body_last_sentence"]) in text
        t["got"] = {"title": theirs.get("title"), "date": theirs.get("date")}
    return row


def fmt(value: float | None, n: int | None = None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" + (f" ({n})" if n is not None else "")


def print_table(groups: dict[str, list[dict]], with_traf: bool) -> None:
    cols = ["pages", "body P", "body R", "body F1", "title", "day", "minute", "kicker", "lead",
            "credit", "authors", "1st&last", "exclude", "cpu ms"]
    print(f"{'group':<22} {'who':<11} " + " ".join(f"{c:>8}" for c in cols))
    for name, rows in groups.items():
        for who in ("akhbar", "trafilatura") if with_traf else ("akhbar",):
            s = summarise(rows, who)
            vals = [str(s["pages"]), fmt(s["body_p"]), fmt(s["body_r"]), fmt(s["body_f1"])]
            for key in ("title", "day", "minute", "kicker", "lead", "credit", "authors", "first_last", "exclude"):
                vals.append(fmt(s[key]) if s[key + "_n"] else "-")
            vals.append(f"{s['cpu_ms_median']:.1f}")
            print(f"{name:<22} {who:<11} " + " ".join(f"{v:>8}" for v in vals))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "extraction.json")
    ap.add_argument("--no-templates", action="store_true", help="generic path only (no site template)")
    ap.add_argument("--no-trafilatura", action="store_true")
    ap.add_argument("--only", help="pages whose path contains this string")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    import logging
    logging.disable(logging.WARNING)  # trafilatura/htmldate chatter
    checks = json.loads((ROOT / "benchmarks" / "arabic_checks.json").read_text("utf-8"))
    pages = load_pages(args.eval_dir, args.only)
    if not pages:
        print(f"no pages under {args.eval_dir}", file=sys.stderr)
        return 1
    rows = [score_page(p, checks, not args.no_templates, not args.no_trafilatura) for p in pages]
    groups: dict[str, list[dict]] = {"all": rows}
    for set_name in ("fundus-dev", "arabic-dev"):
        groups[set_name] = [r for r in rows if r["set"] == set_name]
    by_lang: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_lang[f"{r['set'][:6]}/{r['lang']}"].append(r)
    groups.update(dict(sorted(by_lang.items())))
    groups = {k: v for k, v in groups.items() if v}
    print_table(groups, not args.no_trafilatura)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"templates": not args.no_templates,
              "summary": {k: {w: summarise(v, w) for w in (("akhbar", "trafilatura") if not args.no_trafilatura else ("akhbar",))}
                          for k, v in groups.items()},
              "pages": rows}
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), "utf-8")
    print(f"\nper-page report: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
