"""Run settings: where the warehouse lives and how the fetcher behaves.

Values come, lowest to highest priority, from these defaults, `AKHBAR_*` environment variables
(e.g. `AKHBAR_DATABASE`), and the `settings:` section of `sources.yaml`.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AKHBAR_", extra="forbid", frozen=True)

    database: str = Field("data/akhbar.duckdb", description="DuckDB file of the warehouse")
    user_agent: str = Field(
        "akhbar/0.1 (news ingestion; +https://github.com/akhbar/akhbar)",
        description="User-Agent sent with every request; it names akhbar and a contact URL",
    )
    connect_timeout: float = Field(5.0, gt=0, description="seconds to open a connection")
    read_timeout: float = Field(15.0, gt=0, description="seconds to wait between bytes")
    total_timeout: float = Field(30.0, gt=0, description="seconds for a whole request")
    per_host_concurrency: int = Field(2, ge=1, le=10, description="requests in flight per host")
    max_redirects: int = Field(5, ge=0, le=20)
    max_body_bytes: int = Field(10_000_000, gt=0, description="larger responses are refused")
    max_articles_per_source: int = Field(500, gt=0, description="cap on new URLs fetched per source per run")
