"""Deduplication: quality on a labelled set built from the dev pages, and cost at scale.

    python benchmarks/dedup.py [--eval-dir ../shared/eval] [--scale 10000,30000,100000]

Quality. Originals are the extracted bodies of the development pages (`--eval-dir`, default
`../shared/eval`; falls back to `tests/fixtures`) with at least 80 words. Copies are made the way
syndication happens, one kind of edit at a time (and one combined), each with its own URL on
another outlet:

  exact level (must be caught as exact copies):
    retemplated   the same text under another outlet's headline (template and title change only)
    spelling      Persian ی/ک for ي/ك, tatweel, hamza-less alef, diacritics, other punctuation
    digits        digits switched to Arabic-Indic or Persian
  near level (must be caught as near copies):
    drop_first    first paragraph dropped          drop_last     last paragraph dropped
    add_para      a paragraph of another story added at the end
    credit        an agency credit paragraph added («(رويترز)» / "(Reuters)")
    combined      drop_first + spelling + add_para + credit
  URL level: tracking parameters, www/m./amp variants of the original URL (must map to it).

Hard negatives (must never be linked): every pair of different originals (same language,
often the same country and day), and "running story updates": a new story that reuses a third
of an original's paragraphs as background under new reporting.

All originals are loaded first (one batch), then all copies and negatives (a second batch), so
the cross-run path through the warehouse index is what is measured. Precision and recall are
printed per kind of edit.

Scale. N generated articles (3 KB Arabic bodies, 10% planted near copies) go through
`Warehouse.upsert_articles` in batches of 1,000 (signature, LSH index in DuckDB, clustering):
wall time, CPU per article, peak memory (RSS), for each N, so growth can be read off.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import random
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.demo_world import GeneratedWorld  # noqa: E402
from parsers import Article, Block, SiteContext, canonicalize_url, extract  # noqa: E402
from warehouse import LoadItem, Warehouse, run_query  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime.now(timezone.utc)
EXACT_KINDS = ("retemplated", "spelling", "digits")
NEAR_KINDS = ("drop_first", "drop_last", "add_para", "credit", "combined")


# -- the labelled set ---------------------------------------------------------------------------

def load_originals(eval_dir: Path) -> list[Article]:
    """Extracted dev pages with enough text; a page present in both sets counts once."""
    originals: list[Article] = []
    seen: set[str] = set()
    for meta_path in sorted(eval_dir.glob("*-dev/**/*.json")):
        page = meta_path.with_suffix(".html.gz")
        if not page.exists():
            continue
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        try:
            art = extract(gzip.decompress(page.read_bytes()), meta["url"], SiteContext(timezone="UTC"))
        except Exception:
            continue
        words = sum(len(b.text.split()) for b in art.body)
        key = canonicalize_url(meta["url"])
        if words >= 80 and len(art.body) >= 3 and key not in seen:
            seen.add(key)
            originals.append(replace(art, source=f"orig-{len(originals)}", published_at=NOW - timedelta(days=1)))
    return originals


_SPELLING = str.maketrans({"ي": "ی", "ك": "ک", "أ": "ا", "إ": "ا", ",": "،", "،": ","})


def spelling(text: str) -> str:
    out = text.translate(_SPELLING)
    words = out.split(" ")
    # tatweel in every 5th long word, a diacritic (fatha) in every 7th
    return " ".join(
        (w[:2] + "ـ" + w[2:]) if i % 5 == 0 and len(w) > 3 else (w + "\u064e") if i % 7 == 0 and w else w
        for i, w in enumerate(words)
    )


def digits(text: str) -> str:
    table = "٠١٢٣٤٥٦٧٨٩" if any("\u0600" <= c <= "\u06ff" for c in text) else "۰۱۲۳۴۵۶۷۸۹"
    return text.translate(str.maketrans("0123456789", table))


def credit_for(art: Article) -> str:
    return "(رويترز)" if (art.language or "") in ("ar", "fa") else "(Reuters)"


def make_copy(kind: str, art: Article, other: Article, n: int) -> Article:
    paras = [b.text for b in art.body]
    if kind == "retemplated":
        new = paras
    elif kind == "spelling":
        new = [spelling(p) for p in paras]
    elif kind == "digits":
        new = [digits(p) for p in paras]
    elif kind == "drop_first":
        new = paras[1:]
    elif kind == "drop_last":
        new = paras[:-1]
    elif kind == "add_para":
        new = paras + [max((b.text for b in other.body), key=len)]
    elif kind == "credit":
        new = paras + [credit_for(art)]
    elif kind == "combined":
        new = [spelling(p) for p in paras[1:]] + [max((b.text for b in other.body), key=len), credit_for(art)]
    else:
        raise ValueError(kind)
    url = f"https://copies-{kind}.example/story/{n}"
    return replace(
        art, url=url, canonical_url=url, source=f"copy-{kind}", title=f"{art.title} ({kind})",
        body=tuple(Block("paragraph", p) for p in new),
    )


def make_update(art: Article, other: Article, n: int) -> Article:
    """A new story in a running thread: new reporting (`other`, never loaded itself) followed by
    a third of the original's paragraphs as background."""
    paras = [b.text for b in art.body]
    background = paras[-max(1, len(paras) // 3):]
    new = [b.text for b in other.body] + background
    url = f"https://updates.example/story/{n}"
    return replace(other, url=url, canonical_url=url, source="update", body=tuple(Block("paragraph", p) for p in new))


def quality(eval_dir: Path, tmp: Path) -> None:
    originals = load_originals(eval_dir)
    if not originals:
        raise SystemExit(f"no dev pages under {eval_dir}")
    rng = random.Random(7)
    by_lang: dict[str, list[Article]] = {}
    for a in originals:
        by_lang.setdefault(a.language or "?", []).append(a)

    def other_of(a: Article) -> Article:
        pool = [o for o in by_lang[a.language or "?"] if o is not a] or [o for o in originals if o is not a]
        return rng.choice(pool)

    copies: list[tuple[str, Article, Article]] = []  # (kind, copy, original)
    for n, art in enumerate(originals):
        for kind in EXACT_KINDS + NEAR_KINDS:
            copies.append((kind, make_copy(kind, art, other_of(art), n), art))
    # Running-story updates need reporting nobody has loaded: every other original is held out
    # as the "new reporting" of an update to its neighbour, and is then not loaded itself.
    held_out = originals[1::2]
    updates = [make_update(a, new, n) for n, (a, new) in enumerate(zip(originals[0::2], held_out))]
    loaded = [a for a in originals if not any(a is h for h in held_out)]
    copies = [(k, c, o) for k, c, o in copies if not any(o is h for h in held_out)]

    wh = Warehouse(tmp / "quality.duckdb")
    wh.migrate()
    t0 = time.perf_counter()
    wh.upsert_articles([LoadItem(a, NOW) for a in loaded])
    second = wh.upsert_articles([LoadItem(c, NOW) for _, c, _ in copies] + [LoadItem(u, NOW) for u in updates])
    elapsed = time.perf_counter() - t0
    ids = {d.item.article.url: d for d in second.decisions}
    from warehouse.dedup import article_id_for

    originals_links = run_query(wh.path, "SELECT count(*) FROM articles WHERE source LIKE 'orig-%' AND duplicate_of IS NOT NULL").rows[0][0]

    print(f"labelled set: {len(loaded)} originals from {eval_dir}, {len(copies)} copies, {len(updates)} running-story updates"
          f" ({elapsed:.1f} s to load)")
    print(f"  {'kind':12s} {'level':6s} {'pairs':>5s} {'caught':>6s} {'right level':>11s} {'recall':>7s}")
    linked_right = linked_total = 0
    for kind in EXACT_KINDS + NEAR_KINDS:
        pairs = [(c, o) for k, c, o in copies if k == kind]
        caught = right_level = 0
        for c, o in pairs:
            d = ids[c.url]
            if d.kind == "duplicate":
                linked_total += 1
                if d.cluster_id == article_id_for(o.canonical_url):
                    caught += 1
                    linked_right += 1
                    expected = "exact_body" if kind in EXACT_KINDS else "near_copy"
                    right_level += d.reason == expected
        level = "exact" if kind in EXACT_KINDS else "near"
        print(f"  {kind:12s} {level:6s} {len(pairs):5d} {caught:6d} {right_level:11d} {caught / len(pairs):7.3f}")
    false_updates = sum(1 for u in updates if ids[u.url].kind == "duplicate")
    linked_total += false_updates + originals_links
    print(f"  hard negatives: {len(loaded) * (len(loaded) - 1) // 2} pairs of different originals -> "
          f"{originals_links} linked; {len(updates)} running-story updates -> {false_updates} linked")
    near_pairs = [(c, o) for k, c, o in copies if k in NEAR_KINDS]
    near_caught = sum(1 for c, o in near_pairs if ids[c.url].kind == "duplicate"
                      and ids[c.url].cluster_id == article_id_for(o.canonical_url))
    precision = linked_right / linked_total if linked_total else 1.0
    print(f"  near copies: recall {near_caught / len(near_pairs):.3f}; all links: precision {precision:.3f} "
          f"({linked_right} right of {linked_total})")
    # URL level
    variants = []
    for a in originals:
        u = a.canonical_url
        host = u.split("/")[2]
        bare = host[4:] if host.startswith("www.") else host
        variants += [
            (u + ("&" if "?" in u else "?") + "utm_source=tw&fbclid=1", u),
            (u.replace(host, "m." + bare, 1), u),
            (u.rstrip("/") + "/amp", u),
        ]
    same = sum(canonicalize_url(v) == canonicalize_url(u) for v, u in variants)
    distinct = len({canonicalize_url(a.canonical_url) for a in originals})
    print(f"  URL level: {same}/{len(variants)} variants map to their original; "
          f"{distinct}/{len(originals)} originals keep distinct canonical URLs")


# -- scale ---------------------------------------------------------------------------------------

def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _make_batch(n: int, start: int, stop: int, copy_of: dict[int, int]) -> list[LoadItem]:
    world = GeneratedWorld(n_articles=n)
    items = []
    for i in range(start, stop):
        if i in copy_of:  # a planted near copy: last paragraph dropped, an agency credit added
            paras = world.paragraphs(copy_of[i])[:-1] + ["(وكالات)"]
        else:
            paras = world.paragraphs(i)
        url = f"https://gen.example/{i}"
        art = Article(url=url, canonical_url=url, title=world.headline(i), source=f"gen-{i % 10}",
                      body=tuple(Block("paragraph", p) for p in paras),
                      published_at=NOW - timedelta(minutes=n - i))
        items.append(LoadItem(art, NOW))
    return items


def _generate_and_prepare(args: tuple[int, int, int, dict[int, int], bool]) -> tuple[list[LoadItem], list]:
    from warehouse.dedup import prepare

    n, start, stop, copies, search_terms = args
    items = _make_batch(n, start, stop, copies)
    return items, prepare(items, search_terms=search_terms)


def _bounded_map(pool, fn, jobs, ahead: int = 4):
    """Like pool.map, but with at most `ahead` jobs in flight, so finished batches do not pile up
    in memory while the main process is busy loading."""
    from collections import deque

    pending: deque = deque()
    for job in jobs:
        pending.append(pool.submit(fn, job))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _plant(n: int) -> dict[int, int]:
    rng = random.Random(n)
    copy_of: dict[int, int] = {}
    originals: list[int] = []
    for i in range(n):
        if i >= 100 and rng.random() < 0.10:
            copy_of[i] = rng.choice(originals)
        else:
            originals.append(i)
    return copy_of


def scale(n: int, tmp: Path, workers: int, dedup_only: bool, batch: int = 1000) -> dict:
    """N generated articles through signature, LSH index and clustering.

    dedup_only: exactly those steps (signatures, the warehouse's LSH bucket lookup, the batch
    decision with its clusters, storing signatures and buckets), one writer transaction per
    batch; otherwise the whole loader (`upsert_articles`: also versions, articles, search index).
    With workers > 0, batches are generated and signed in that many processes while the main
    process loads the previous one."""
    from concurrent.futures import ProcessPoolExecutor

    from warehouse.connection import open_writer
    from warehouse.dedup import decide_batch
    from warehouse.batch_tables import bucket_rows, signature_rows
    from warehouse.near_index import add_buckets, add_signatures, find_candidates
    from warehouse.statement_queue import statement_queue

    copy_of = _plant(n)
    wh = Warehouse(tmp / f"scale-{n}-{workers}-{int(dedup_only)}.duckdb")
    wh.migrate()
    jobs = [(n, s, min(n, s + batch), {i: j for i, j in copy_of.items() if s <= i < s + batch}, not dedup_only)
            for s in range(0, n, batch)]
    caught = 0

    def load(items, prepared) -> int:
        if not dedup_only:
            result = wh.upsert_articles(items, prepared=prepared)
            return sum(1 for d in result.decisions if d.reason == "near_copy")
        with open_writer(wh.path, memory_limit=wh.memory_limit) as con:
            keys = sorted({k for p in prepared for k in p.keys})
            candidates, candidate_keys = find_candidates(con, keys, NOW - timedelta(days=30))
            decisions = decide_batch(prepared, {}, {}, candidates, candidate_keys, wh.near_duplicate_threshold)
            fresh = [d for d in decisions if d.kind in ("new", "duplicate")]
            with statement_queue(con) as queue:
                signatures = signature_rows(fresh)
                add_signatures(queue, signatures, [d.cluster_id or d.article_id for d in fresh], NOW)
                add_buckets(queue, bucket_rows(signatures), NOW)
        return sum(1 for d in decisions if d.reason == "near_copy")

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0, c0 = time.perf_counter(), time.process_time()
    if workers:
        with ProcessPoolExecutor(workers) as pool:
            for items, prepared in _bounded_map(pool, _generate_and_prepare, jobs, ahead=2 * workers):
                caught += load(items, prepared)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        child_cpu = (children.ru_utime + children.ru_stime) - (before.ru_utime + before.ru_stime)
    else:
        child_cpu = 0.0
        for job in jobs:
            items, prepared = _generate_and_prepare(job)
            caught += load(items, prepared)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"n": n, "wall": wall, "cpu_ms": 1000 * (cpu + child_cpu) / n, "planted": len(copy_of),
            "caught": caught, "rss_mb": _rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--scale", default="10000,30000,100000", help="comma-separated N; empty to skip")
    parser.add_argument("--workers", type=int, default=2, help="processes that sign batches (0: all in one)")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--full-loader", action="store_true",
                        help="time the whole loader (versions, articles, search index too), not dedup alone")
    args = parser.parse_args()
    eval_dir = args.eval_dir if args.eval_dir.exists() else ROOT / "tests" / "fixtures"
    tmp = Path(tempfile.mkdtemp(prefix="akhbar-dedup-"))
    if not args.no_quality:
        quality(eval_dir, tmp)
    sizes = [int(x) for x in args.scale.split(",") if x.strip()]
    if sizes:
        what = "the whole loader (Warehouse.upsert_articles)" if args.full_loader else "signature, LSH index, clustering"
        print(f"scale: {what}, batches of 1,000, {args.workers} signing processes (CPU includes them; "
              "peak RSS is the main process's so far):")
        for n in sizes:
            gc.collect()
            r = scale(n, tmp, args.workers, not args.full_loader)
            print(f"  N={r['n']:>7,d}  wall {r['wall']:6.1f} s  CPU {r['cpu_ms']:.3f} ms/article  "
                  f"planted {r['planted']:,d} caught {r['caught']:,d}  peak RSS {r['rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
