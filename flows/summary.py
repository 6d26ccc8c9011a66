"""What a run did, per source: the counts the flow returns, stores in `runs` and publishes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from flows.fetch import POLICY_REASONS
from warehouse import LoadResult, PageFailure

__all__ = ["COLUMNS", "OUTCOMES", "RunSummary"]

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
        }

    def table(self) -> list[dict]:
        """One row per source plus a total row (for the Prefect table artifact and the CLI)."""
        rows = [{"source": s, **{c: self.counts[s][c] for c in COLUMNS}} for s in self.counts]
        rows.append({"source": "(total)", **self.totals()})
        return rows
