"""What a run did, per source: the counts the flow returns, stores in `runs` and publishes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flows.fetch import POLICY_REASONS
from warehouse import LoadResult, PageFailure
from warehouse.health import SourceRun

__all__ = ["COLUMNS", "OUTCOMES", "REPORT_COLUMNS", "RunSummary", "report_table", "report_markdown"]

#: Per-source counters, in display order. Every discovered URL ends in exactly one outcome:
#: discovered = known + skipped + new + updated + unchanged + duplicates + failed, where known is
#: skipped by the frontier (known, no sign of change), skipped is refused by policy (robots,
#: address, type, size) or deferred (over the per-source cap), failed has a reason (fetch or
#: parse). fetched = pages fetched with a body (new + updated + unchanged + duplicates +
#: failed at parse). Discovery endpoints (feeds, sitemaps, listing pages, homepages) that could
#: not be read are counted apart, in feed_errors (they are not discovered URLs).
COLUMNS = ("discovered", "known", "skipped", "fetched", "new", "updated", "unchanged", "duplicates", "staged",
           "failed", "feed_errors")
OUTCOMES = ("known", "skipped", "new", "updated", "unchanged", "duplicates", "staged", "failed")


@dataclass
class RunSummary:
    run_id: str
    sources: list[str]
    counts: dict[str, Counter] = field(default_factory=dict)
    reasons: dict[str, Counter] = field(default_factory=dict)
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    #: per source: discovery endpoints asked and read; pages the frontier chose to fetch
    endpoints: dict[str, tuple[int, int]] = field(default_factory=dict)
    to_fetch: dict[str, int] = field(default_factory=dict)
    #: worker processes that parsed the pages (0: parsed in the flow's process)
    parse_workers: int = 0

    def __post_init__(self) -> None:
        for name in self.sources:
            self.counts.setdefault(name, Counter({c: 0 for c in COLUMNS}))
            self.reasons.setdefault(name, Counter())

    def add(self, source: str, column: str, n: int = 1) -> None:
        self.counts.setdefault(source, Counter())[column] += n

    def add_failures(self, failures: Iterable[PageFailure]) -> None:
        for f in failures:
            if f.stage == "discover":
                column = "feed_errors"
            elif f.reason in POLICY_REASONS:
                column = "skipped"
            else:
                column = "failed"
            self.add(f.source, column)
            self.reasons.setdefault(f.source, Counter())[f"{f.stage}:{f.reason}"] += 1

    def add_skipped(self, source: str, reason: str, n: int) -> None:
        """URLs skipped by policy without a fetch (e.g. `frontier:deferred`)."""
        if n:
            self.add(source, "skipped", n)
            self.reasons.setdefault(source, Counter())[reason] += n

    def unaccounted(self) -> dict[str, int]:
        """Per source, discovered minus the sum of the outcomes: all zero when nothing was lost."""
        return {s: c["discovered"] - sum(c[o] for o in OUTCOMES) for s, c in self.counts.items()}

    def add_load(self, result: LoadResult) -> None:
        names = {"new": "new", "updated": "updated", "unchanged": "unchanged", "duplicate": "duplicates",
                 "staged": "staged"}  # staged: the file was busy; a later load merges them
        for source, kinds in result.per_source.items():
            for kind, n in kinds.items():
                self.add(source, names[kind], n)

    def time_stage(self, stage: str, wall: float, cpu: float) -> None:
        slot = self.stages.setdefault(stage, {"wall_s": 0.0, "cpu_s": 0.0})
        slot["wall_s"] += wall
        slot["cpu_s"] += cpu

    def totals(self) -> dict[str, int]:
        total: Counter = Counter({c: 0 for c in COLUMNS})
        for counts in self.counts.values():
            total.update(counts)
        return {c: total[c] for c in COLUMNS}

    def as_dict(self) -> dict:
        """JSON-able: what the flow returns and what `runs.stats` stores."""
        return {
            "run_id": self.run_id,
            "sources": {s: {c: self.counts[s][c] for c in COLUMNS} for s in self.counts},
            "totals": self.totals(),
            "failure_reasons": {s: dict(r) for s, r in self.reasons.items() if r},
            "stages": {k: {m: round(v, 4) for m, v in d.items()} for k, d in self.stages.items()},
            "parse_workers": self.parse_workers,
        }

    def outcome(self, source: str) -> tuple[str, str | None]:
        """("ok", None) or ("failed", why) for one source in this run. A source run failed when
        no discovery endpoint could be read (`no_endpoint_read`), or when there were pages to
        fetch and every attempt failed (`nothing_fetched`); anything less is partial failure,
        shown as counts."""
        asked, read = self.endpoints.get(source, (0, 0))
        c = self.counts.get(source, Counter())
        if asked > 0 and read == 0:
            return "failed", "no_endpoint_read"
        if self.to_fetch.get(source, 0) > 0 and c["fetched"] == 0 and c["failed"] > 0:
            return "failed", "nothing_fetched"
        return "ok", None

    def source_runs(self, group: str | None, flow_run_id: str | None, started_at: datetime,
                    finished_at: datetime) -> list[SourceRun]:
        """The rows of `source_runs` for this run."""
        rows = []
        for name, c in self.counts.items():
            status, failure = self.outcome(name)
            asked, read = self.endpoints.get(name, (0, 0))
            rows.append(SourceRun(
                self.run_id, name, group, flow_run_id, started_at, finished_at, status, failure, asked, read,
                c["discovered"], self.to_fetch.get(name, 0), c["fetched"], c["new"], c["updated"], c["duplicates"],
                c["skipped"], c["failed"], c["feed_errors"],
            ))
        return rows

    def top_reasons(self, n: int = 10) -> list[tuple[str, int, list[str]]]:
        """(stage:reason, count, sources) of the n most frequent failure and skip reasons."""
        total: Counter = Counter()
        where: dict[str, list[str]] = {}
        for source, reasons in self.reasons.items():
            for reason, k in reasons.items():
                total[reason] += k
                where.setdefault(reason, []).append(source)
        return [(r, k, sorted(where[r])) for r, k in total.most_common(n)]

    def table(self) -> list[dict]:
        """One row per source plus a total row (for the Prefect table artifact and the CLI)."""
        rows = [{"source": s, **{c: self.counts[s][c] for c in COLUMNS}} for s in self.counts]
        rows.append({"source": "(total)", **self.totals()})
        return rows


#: The columns of the run's table artifact, after `source`: the counts an operator reads first,
#: then the rest, the source run's outcome and its health flag.
REPORT_COLUMNS = ("discovered", "fetched", "new", "updated", "duplicates", "skipped", "failed", "known",
                  "unchanged", "staged", "feed_errors")


def report_table(summary: RunSummary, health: dict[str, dict] | None) -> list[dict]:
    """One row per source (and a total row) for the Prefect table artifact."""
    rows = []
    for name, c in summary.counts.items():
        status, failure = summary.outcome(name)
        h = (health or {}).get(name) or {}
        rows.append({"source": name, **{k: c[k] for k in REPORT_COLUMNS},
                     "run": status if failure is None else f"failed: {failure}", "flag": h.get("flag") or ""})
    totals = summary.totals()
    rows.append({"source": "(total)", **{k: totals[k] for k in REPORT_COLUMNS}, "run": "", "flag": ""})
    return rows


def _md_row(cells) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def _md_table(header: Sequence[str], rows: Iterable[Sequence]) -> list[str]:
    lines = [_md_row(header), _md_row(["---"] * len(header))]
    lines += [_md_row(r) for r in rows]
    return lines


def report_markdown(summary: RunSummary, health: dict[str, dict] | None, group: str | None, status: str) -> str:
    """The run's markdown artifact: what it did per source, the top error reasons, the time per
    stage, and the sources flagged by their health."""
    totals = summary.totals()
    title = f"# akhbar run `{summary.run_id[:12]}`" + (f", schedule group `{group}`" if group else "") + f": {status}"
    out = [title, "",
           f"{len(summary.counts)} source(s): " + ", ".join(f"{k} {totals[k]}" for k in REPORT_COLUMNS) + ".", ""]
    failed = [n for n in summary.counts if summary.outcome(n)[0] == "failed"]
    if failed:
        out += ["Sources whose run failed: " + ", ".join(f"`{n}` ({summary.outcome(n)[1]})" for n in failed) + ".", ""]
    out += ["## Per source", ""]
    out += _md_table(["source", *REPORT_COLUMNS, "run", "flag"],
                     ([r["source"], *(r[k] for k in REPORT_COLUMNS), r["run"], r["flag"]]
                      for r in report_table(summary, health)))
    out += ["", "## Top error reasons", ""]
    reasons = summary.top_reasons()
    if reasons:
        out += _md_table(["reason", "count", "sources"], ([r, k, ", ".join(s)] for r, k, s in reasons))
    else:
        out.append("None.")
    out += ["", "## Time per stage", ""]
    out += _md_table(["stage", "wall s", "cpu s"],
                     ([k, f"{v['wall_s']:.2f}", f"{v['cpu_s']:.2f}"] for k, v in summary.stages.items()))
    out += ["", "## Flagged sources", ""]
    if health is None:
        out.append("Health not read: the warehouse was busy (this run's rows wait in staging).")
    else:
        flagged = [h for h in health.values() if h.get("flag")]
        if flagged:
            out += [f"- **{h['source']}**: {h['flag']}, {h['flag_reason']}" for h in flagged]
        else:
            out.append("None.")
    return "\n".join(out) + "\n"
