"""Run settings: where the warehouse lives and how the fetcher behaves.

Values come, lowest to highest priority, from these defaults, `AKHBAR_*` environment variables
(e.g. `AKHBAR_DATABASE`), and the `settings:` section of `sources.yaml`.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from warehouse.health import HealthRules

__all__ = ["Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AKHBAR_", extra="forbid", frozen=True)

    database: str = Field("data/akhbar.duckdb", description="DuckDB file of the warehouse")
    data_dir: str | None = Field(
        None, description="where the raw archive (WARC files under warc/) is written; default: the database's folder"
    )
    contact_url: str = Field("https://github.com/akhbar/akhbar", description="contact URL named in the User-Agent")
    user_agent: str = Field(
        "akhbar/0.1 (news ingestion; +{contact_url})",
        description="User-Agent sent with every request; it names akhbar and a contact URL ({contact_url} is filled in)",
    )
    connect_timeout: float = Field(5.0, gt=0, description="seconds to open a connection")
    read_timeout: float = Field(15.0, gt=0, description="seconds to wait between bytes")
    total_timeout: float = Field(30.0, gt=0, description="seconds for a whole request")
    per_host_concurrency: int = Field(2, ge=1, le=10, description="requests in flight per host")
    max_redirects: int = Field(5, ge=0, le=20)
    max_body_bytes: int = Field(10_000_000, gt=0, description="larger responses are refused")
    near_duplicate_threshold: float = Field(
        0.6, gt=0, le=1, description="least similarity (Jaccard of word shingles) for a near copy"
    )
    dedup_window_days: int = Field(30, ge=1, description="new articles are compared with this many days back")
    duckdb_memory_limit: str = Field("1GB", description="DuckDB's buffer pool cap while loading")
    duckdb_checkpoint_threshold: str = Field(
        "1GB", description="while a run holds the file, the write-ahead log size at which DuckDB checkpoints "
        "(a run always checkpoints when it releases the file)",
    )
    lock_timeout: float = Field(
        30.0, gt=0, description="seconds a write waits for the warehouse file; then its batch is staged (merged by the next load)"
    )
    archive_retention_days: int = Field(
        0, ge=0, description="`akhbar maintain` deletes WARC files older than this many days (0: keep them all)"
    )
    max_articles_per_source: int = Field(500, gt=0, description="cap on new URLs fetched per source per run")
    global_concurrency: int = Field(64, ge=1, description="requests in flight over all hosts")
    min_delay: float = Field(0.0, ge=0, description="seconds between the starts of two requests to one host")
    max_retries: int = Field(3, ge=0, le=10, description="retries of a transient failure (408, 429, 5xx, connection)")
    retry_backoff: float = Field(1.0, ge=0, description="first retry delay in seconds; doubles each retry, with jitter")
    max_retry_after: float = Field(120.0, ge=0, description="a longer Retry-After gives up on the request")
    host_failure_limit: int = Field(8, ge=1, description="consecutive failed attempts after which a host is paused for the run")
    robots_ttl: float = Field(86_400.0, ge=0, description="seconds a fetched robots.txt is trusted (cached in the warehouse)")
    max_compression_ratio: float = Field(100.0, gt=1, description="decoded/transferred bytes above this is a decompression bomb")
    archive: bool = Field(True, description="write every response to WARC files under data_dir")
    warc_max_bytes: int = Field(1_000_000_000, gt=0, description="a WARC file is rotated beyond this size (and every day)")
    max_sitemaps_per_source: int = Field(50, ge=1, description="sitemap files read per source and run (indexes included)")
    parse_processes: int = Field(
        2, ge=1, le=64, description="worker processes that parse a run's pages (1: parse in the flow's process)"
    )
    parse_pool_min_bytes: int = Field(
        40_000_000, ge=0,
        description="a run that fetched fewer bytes of pages parses in the flow's process (starting the workers costs ~1.5 s)",
    )
    reparse_batch_pages: int = Field(
        1000, ge=1, description="`akhbar reparse` reads, parses and loads this many archived pages at a time, each batch its own transaction"
    )
    health_failing_after: int = Field(
        3, ge=1, description="consecutive failed runs of a source that flag it `failing` (source_health)"
    )
    health_silent_hours: int = Field(
        24, ge=1, description="hours without a new story that flag a source `silent`, when its usual rate is high enough"
    )
    health_min_usual_per_day: float = Field(
        1.0, gt=0, description="the least usual rate (new stories a day) at which a source can be flagged `silent`"
    )
    health_usual_days: int = Field(
        14, ge=1, le=365, description="a source's usual rate is the median daily count of this many days"
    )
    health_min_usual_days: int = Field(
        3, ge=1, description="a source observed for fewer days has no usual rate (and is never `silent`)"
    )
    writer_concurrency_limit: str = Field(
        "akhbar-warehouse-writer", min_length=1,
        description="Prefect global concurrency limit (1 slot) taken around every warehouse write; "
        "`akhbar init` creates it, and a run fails when it is missing",
    )

    @property
    def archive_dir(self) -> str:
        """The data directory: `data_dir`, else the folder of the database file (data/ by default)."""
        import os

        return self.data_dir or os.path.dirname(self.database) or "."

    def health_rules(self) -> HealthRules:
        """The `health_*` settings as the rules `source_health` flags by."""
        return HealthRules(self.health_failing_after, self.health_silent_hours, self.health_min_usual_per_day,
                           self.health_usual_days, self.health_min_usual_days)

    @property
    def agent(self) -> str:
        """The User-Agent header value."""
        return self.user_agent.replace("{contact_url}", self.contact_url)
