"""Source configuration: reading and validating `sources.yaml`.

A bad file stops the run before anything is fetched, with one message that names the file,
the source and the field (`ConfigError`).

File shape::

    settings:            # optional; every key of `Settings`
      database: data/akhbar.duckdb
    sources:
      - name: alwefaq
        homepage: https://www.al-vefagh.net/
        language: ar
        timezone: Asia/Tehran
        feeds: [https://www.al-vefagh.net/rss]            # RSS/Atom
        sitemaps: [https://www.al-vefagh.net/sitemap.xml] # sitemap or sitemap index, gzip or not
        listing_pages:                                    # for sites with neither
          - {url: https://www.al-vefagh.net/news, link_pattern: "/news/\\d+"}
        autodiscover_feeds: false     # read <link rel="alternate"> feeds from the homepage
        per_host_concurrency: 2       # politeness overrides (default: the settings)
        min_delay: 0.5
        revisit_after_hours: null     # refetch known articles this old (null: only on a sign of change)
        allow_private_addresses: false   # only local test and demo sources set this
        schedule_group: default       # the Prefect deployment that ingests it (prefect.yaml, one per group)

A source needs at least one discovery endpoint: feeds, sitemaps, listing_pages or
autodiscover_feeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
import ipaddress

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, ValidationError, field_validator

from flows.settings import Settings
from parsers import SiteContext
from warehouse import SourceRecord

__all__ = ["ConfigError", "DEFAULT_GROUP", "ListingPage", "Source", "Config", "load_config"]

#: The schedule group of a source that names none.
DEFAULT_GROUP = "default"


class ConfigError(Exception):
    """The configuration file cannot be used; the message names file, source and field."""


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value


def _check_http_urls(values: tuple[str, ...], what: str) -> tuple[str, ...]:
    """Every value an http(s) URL; the error names which one ("feed #2: not an http(s) URL…")."""
    for i, url in enumerate(values):
        try:
            _check_http_url(url)
        except ValueError as exc:
            raise ValueError(f"{what} #{i + 1}: {exc}") from None
    return values


class ListingPage(BaseModel):
    """A page listing articles (a section front) and the pattern its article links match."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    link_pattern: str = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_http_url(value)

    @field_validator("link_pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        import re

        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value


class Source(BaseModel):
    """One news site to ingest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    homepage: str
    language: str = Field(min_length=2, max_length=8)
    timezone: str
    # discovery endpoints (declared before `feeds`, whose validator checks that one exists)
    sitemaps: tuple[str, ...] = ()
    listing_pages: tuple[ListingPage, ...] = ()
    autodiscover_feeds: bool = False
    feeds: tuple[str, ...] = Field((), validate_default=True)
    #: True: loopback and private (RFC 1918, ULA) addresses are allowed, link-local (cloud
    #: metadata, 169.254.0.0/16) never; or an explicit list of networks, e.g. ["127.0.0.0/8"].
    allow_private_addresses: bool | tuple[str, ...] = False
    # politeness overrides (None: the settings)
    per_host_concurrency: int | None = Field(None, ge=1, le=10)
    min_delay: float | None = Field(None, ge=0)
    revisit_after_hours: float | None = Field(None, gt=0)
    template: str | None = None
    country: str | None = None
    #: names the outlet is credited as in other outlets' credit lines («الوفاق», "Al-Wefaq"):
    #: a story cluster prefers as its representative the outlet that the copies credit
    aliases: tuple[str, ...] = ()
    #: which scheduled deployment ingests it: prefect.yaml has one `ingest` deployment per group
    #: (parameter `group`), e.g. `default` every 15 minutes, `hourly` for slow sites
    schedule_group: str = Field(DEFAULT_GROUP, pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=40)

    @field_validator("sitemaps")
    @classmethod
    def _sitemaps_are_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_http_urls(value, "sitemap")

    @field_validator("allow_private_addresses")
    @classmethod
    def _networks(cls, value: bool | tuple[str, ...]) -> bool | tuple[str, ...]:
        if isinstance(value, tuple):
            for net in value:
                try:
                    ipaddress.ip_network(net, strict=False)
                except ValueError:
                    raise ValueError(f"not a network: {net!r}") from None
        return value

    @field_validator("homepage")
    @classmethod
    def _homepage_is_url(cls, value: str) -> str:
        return _check_http_url(value)

    @field_validator("feeds")
    @classmethod
    def _feeds_are_urls(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if not value and not (info.data.get("sitemaps") or info.data.get("listing_pages")
                              or info.data.get("autodiscover_feeds")):
            raise ValueError("no discovery endpoint: give feeds, sitemaps, listing_pages or autodiscover_feeds: true")
        return _check_http_urls(value, "feed")

    @field_validator("timezone")
    @classmethod
    def _timezone_is_known(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    def warehouse_record(self) -> SourceRecord:
        """What the warehouse keeps of this source (its `sources` table)."""
        return SourceRecord(self.name, self.homepage, self.language, self.timezone, self.country, self.aliases)

    def site_context(self) -> SiteContext:
        """What the pure parser may know about this source."""
        return SiteContext(
            name=self.name, timezone=self.timezone, language=self.language, template=self.template
        )


class Config(BaseModel):
    """A whole `sources.yaml`: settings plus sources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: tuple[Source, ...] = Field(min_length=1)
    settings: Settings = Field(default_factory=Settings)

    @property
    def groups(self) -> list[str]:
        """The schedule groups the sources use, in first-use order."""
        return list(dict.fromkeys(s.schedule_group for s in self.sources))

    def select(self, names: list[str] | None, group: str | None = None) -> tuple[Source, ...]:
        """The sources named (all when `names` is empty), of schedule group `group` when given;
        an unknown name, or a group no source belongs to, is a ConfigError."""
        chosen = self.sources
        if group is not None:
            chosen = tuple(s for s in chosen if s.schedule_group == group)
            if not chosen:
                raise ConfigError(f"no source in schedule group {group!r}; groups: {', '.join(self.groups)}")
        if not names:
            return chosen
        known = {s.name: s for s in chosen}
        missing = [n for n in names if n not in known]
        if missing:
            where = f" in schedule group {group!r}" if group is not None else ""
            raise ConfigError(f"unknown source(s){where} {', '.join(missing)}; configured: {', '.join(known)}")
        return tuple(known[n] for n in names)


def _describe(path: Path, raw: dict[str, Any], error: dict[str, Any]) -> str:
    loc = list(error.get("loc", ()))
    where = ""
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        index = loc[1]
        sources = raw.get("sources") or []
        name = sources[index].get("name") if index < len(sources) and isinstance(sources[index], dict) else None
        where = f"source {name!r}" if name else f"source #{index + 1}"
        loc = loc[2:]
    field = ".".join(str(p) for p in loc) or "(top level)"
    kind = error.get("type", "")
    msg = error.get("msg", "invalid")
    if kind == "extra_forbidden":
        msg = "unknown key"
    elif kind == "missing":
        msg = "missing field"
    parts = [str(path)]
    if where:
        parts.append(where)
    parts.append(f"field {field!r}: {msg}")
    return ": ".join(parts)


def load_config(path: str | Path) -> Config:
    """Read and validate a sources file; raise ConfigError naming file, source and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: field 'sources': missing field (expected a mapping with a 'sources' list)")
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        messages = [_describe(path, raw, err) for err in exc.errors()]
        raise ConfigError("\n".join(messages)) from None
    names = [s.name for s in config.sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{path}: source {dupes[0]!r}: field 'name': duplicate source name")
    return config
