"""robots.txt: the rules of one origin (protego), and the per-run cache of them.

Caching: a robots.txt is fetched once per origin (scheme://host:port) and run, and kept in the
warehouse (`robots_txt`) until `settings.robots_ttl` seconds have passed, so the next runs within
that time do not ask again. What the answer means follows RFC 9309:

- 2xx: the rules in the body (crawl-delay honoured, capped at `MAX_CRAWL_DELAY` seconds);
- 4xx (404, 403...): no rules, everything allowed;
- 5xx or no answer at all: everything disallowed for now (kept for at most `UNREACHABLE_TTL`
  seconds, so the site is asked again soon).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from protego import Protego

from warehouse import RobotsRecord

__all__ = ["AGENT_TOKEN", "MAX_CRAWL_DELAY", "Rules", "RobotsCache", "origin_of"]

AGENT_TOKEN = "akhbar"
MAX_CRAWL_DELAY = 60.0
UNREACHABLE_TTL = 600.0
_MAX_ROBOTS_BYTES = 512_000  # what Google reads of a robots.txt


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass
class Rules:
    """What one origin's robots.txt allows."""

    record: RobotsRecord
    _parsed: Protego | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        status = self.record.status
        if status is not None and 200 <= status < 300 and self.record.body:
            self._parsed = Protego.parse(self.record.body[:_MAX_ROBOTS_BYTES])

    @property
    def unreachable(self) -> bool:
        status = self.record.status
        return status is None or status >= 500

    def allowed(self, url: str) -> bool:
        if self.unreachable:
            return False
        if self._parsed is None:
            return True
        return self._parsed.can_fetch(url, AGENT_TOKEN)

    def crawl_delay(self) -> float:
        if self._parsed is None:
            return 0.0
        delay = self._parsed.crawl_delay(AGENT_TOKEN) or 0.0
        rate = self._parsed.request_rate(AGENT_TOKEN)
        if rate is not None and rate.requests:
            delay = max(delay, rate.seconds / rate.requests)
        return min(float(delay), MAX_CRAWL_DELAY)


@dataclass
class RobotsCache:
    """The rules known in this run: loaded from the warehouse, plus those fetched (in `fresh`,
    to be saved). Plain data: shared by the stages of one run, across event loops."""

    ttl: float = 86_400.0
    rules: dict[str, Rules] = field(default_factory=dict)
    fresh: list[RobotsRecord] = field(default_factory=list)

    @classmethod
    def from_records(cls, records: dict[str, RobotsRecord], ttl: float) -> "RobotsCache":
        return cls(ttl, {origin: Rules(r) for origin, r in records.items()})

    def get(self, origin: str) -> Rules | None:
        rules = self.rules.get(origin)
        if rules is not None and rules.record.expires_at <= datetime.now(timezone.utc):
            return None
        return rules

    def put(self, origin: str, status: int | None, body: str) -> Rules:
        now = datetime.now(timezone.utc)
        ttl = self.ttl if status is not None and status < 500 else min(self.ttl, UNREACHABLE_TTL)
        record = RobotsRecord(origin, status, body, now, now + timedelta(seconds=ttl))
        rules = self.rules[origin] = Rules(record)
        self.fresh.append(record)
        return rules
