"""sources.yaml: a bad file stops the run with a message naming the file, the source and the field."""

from __future__ import annotations

import pytest

from flows.config import ConfigError, load_config

GOOD = """
sources:
  - name: alwefaq
    homepage: https://www.al-vefagh.net/
    language: ar
    timezone: Asia/Tehran
    feeds: [https://www.al-vefagh.net/rss]
"""


def test_a_good_file_loads_its_sources(write_yaml):
    config = load_config(write_yaml(GOOD))
    (source,) = config.sources
    assert source.name == "alwefaq"
    assert source.feeds == ("https://www.al-vefagh.net/rss",)
    assert source.allow_private_addresses is False
    assert source.site_context().timezone == "Asia/Tehran"


def test_settings_section_overrides_the_default_database(write_yaml):
    config = load_config(write_yaml("settings:\n  database: /tmp/x.duckdb\n" + GOOD))
    assert config.settings.database == "/tmp/x.duckdb"


def _error_for(write_yaml, text: str) -> str:
    path = write_yaml(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    return message


def test_unknown_key_is_named(write_yaml):
    message = _error_for(write_yaml, GOOD + "    colour: blue\n")
    assert "source 'alwefaq'" in message and "'colour'" in message and "unknown key" in message


def test_missing_field_is_named(write_yaml):
    message = _error_for(write_yaml, GOOD.replace("    timezone: Asia/Tehran\n", ""))
    assert "source 'alwefaq'" in message and "'timezone'" in message and "missing field" in message


def test_bad_homepage_url_is_named(write_yaml):
    message = _error_for(write_yaml, GOOD.replace("https://www.al-vefagh.net/\n", "al-vefagh.net\n"))
    assert "source 'alwefaq'" in message and "'homepage'" in message and "not an http(s) URL" in message


def test_bad_feed_url_is_named(write_yaml):
    message = _error_for(write_yaml, GOOD.replace("[https://www.al-vefagh.net/rss]", "[ftp://x.org/rss]"))
    assert "source 'alwefaq'" in message and "'feeds'" in message and "ftp://x.org/rss" in message


def test_unknown_timezone_is_named(write_yaml):
    message = _error_for(write_yaml, GOOD.replace("Asia/Tehran", "Asia/Atlantis"))
    assert "source 'alwefaq'" in message and "'timezone'" in message and "Asia/Atlantis" in message


def test_a_source_without_a_name_is_named_by_position(write_yaml):
    message = _error_for(write_yaml, GOOD.replace("  - name: alwefaq\n    homepage", "  - homepage"))
    assert "source #1" in message and "'name'" in message


def test_duplicate_source_names_are_refused(write_yaml):
    body = GOOD.split("sources:\n", 1)[1]
    message = _error_for(write_yaml, GOOD + body)
    assert "duplicate source name" in message


def test_unknown_top_level_key_is_named(write_yaml):
    message = _error_for(write_yaml, "sourcs: []\n" + GOOD)
    assert "'sourcs'" in message and "unknown key" in message


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_selecting_an_unknown_source_is_an_error(write_yaml):
    config = load_config(write_yaml(GOOD))
    with pytest.raises(ConfigError, match="unknown source"):
        config.select(["nope"])
