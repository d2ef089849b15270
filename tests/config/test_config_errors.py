"""Every kind of configuration mistake names the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config, parse_duration
from monitor.errors import ConfigError
from tests.conftest import run_monitor
from tests.support.configdir import write_config

WATCHLIST = """\
name: test-list
actors:
  - id: nato
    name: NATO
    aliases: [NATO]
keywords:
  - {term: war, weight: 2}
severities: {watch: 2, warning: 4}
notify:
  - {channels: [console], min_severity: warning}
"""


def _config(tmp_path: Path, watchlist: str = WATCHLIST, channels: str | None = None, feeds: str | None = None) -> Path:
    directory = write_config(tmp_path / "config")
    (directory / "watchlists" / "test.yaml").write_text(watchlist, encoding="utf-8")
    if channels is not None:
        (directory / "channels.yaml").write_text(channels, encoding="utf-8")
    if feeds is not None:
        (directory / "feeds.yaml").write_text(feeds, encoding="utf-8")
    return directory


def _problem(directory: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(directory, env=env or {})
    assert len(caught.value.problems) >= 1
    return str(caught.value.problems[0])


def test_valid_config_loads(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path), env={})
    assert [w.name for w in config.watchlists] == ["test-list"]
    assert config.watchlists[0].severity_for(4.5).label == "warning"


def test_unknown_key_names_file_line_and_field(tmp_path: Path) -> None:
    text = WATCHLIST.replace("  - {term: war, weight: 2}", "  - {term: war, wieght: 2}")
    message = _problem(_config(tmp_path, text))
    assert message.startswith(f"{tmp_path}/config/watchlists/test.yaml:7:")
    assert "keywords[0].wieght" in message and "unknown key" in message


def test_wrong_type_names_file_line_and_field(tmp_path: Path) -> None:
    text = WATCHLIST.replace("severities: {watch: 2, warning: 4}", "severities: {watch: 2, warning: lots}")
    message = _problem(_config(tmp_path, text))
    assert "test.yaml:8:" in message and "severities.warning" in message


def test_unknown_channel_names_file_line_and_field(tmp_path: Path) -> None:
    text = WATCHLIST.replace("channels: [console]", "channels: [console, pager]")
    message = _problem(_config(tmp_path, text))
    assert "test.yaml:10:" in message and "notify[0].channels[1]" in message and "'pager'" in message


def test_unset_variable_names_file_line_and_field(tmp_path: Path) -> None:
    channels = 'channels:\n  console:\n    urls: ["console://"]\n  slack:\n    urls: ["${SLACK_WEBHOOK_URL}"]\n'
    directory = _config(tmp_path, channels=channels)
    message = _problem(directory)
    assert "channels.yaml:5:" in message and "channels.slack.urls[0]" in message
    assert "SLACK_WEBHOOK_URL is not set" in message
    # With the variable set, the same file loads and the value is substituted.
    config = load_config(directory, env={"SLACK_WEBHOOK_URL": "slack://T0/B0/XYZ"})
    assert config.channels["slack"].urls == ("slack://T0/B0/XYZ",)


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    message = _problem(_config(tmp_path, feeds="feeds:\n  - url: http://a.example/rss\n   name: bad indent\n"))
    assert "feeds.yaml:3:" in message and "invalid YAML" in message


def test_bad_duration_and_url_in_feeds(tmp_path: Path) -> None:
    feeds = "feeds:\n  - url: http://a.example/rss\n    interval: soon\n  - url: ftp://b.example/rss\n"
    with pytest.raises(ConfigError) as caught:
        load_config(_config(tmp_path, feeds=feeds), env={})
    messages = [str(p) for p in caught.value.problems]
    assert any("feeds.yaml:3:" in m and "feeds[0].interval" in m for m in messages), messages
    assert any("feeds.yaml:4:" in m and "feeds[1].url" in m for m in messages), messages


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = WATCHLIST.replace("channels: [console]", "channels: [pager]").replace("name: test-list", "nmae: x")
    with pytest.raises(ConfigError) as caught:
        load_config(_config(tmp_path, text, feeds="feeds:\n  - {url: http://a.example/rss, tgas: [x]}\n"), env={})
    assert len(caught.value.problems) >= 2


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("5m", 300), ("6h", 21600), ("7d", 604800), (30, 30)])
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_check_command_exits_2_with_the_location(tmp_path: Path) -> None:
    directory = _config(tmp_path, WATCHLIST.replace("channels: [console]", "channels: [pager]"))
    result = run_monitor("check", "--config", str(directory))
    assert result.returncode == 2
    assert "test.yaml:10: notify[0].channels[0]: unknown channel 'pager'" in result.stderr


def test_check_command_accepts_the_shipped_config() -> None:
    result = run_monitor("check", "--config", "config", env={"MONITOR_DATABASE_URL": "sqlite:///:memory:"})
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_too_many_examples_name_file_line_and_field(tmp_path: Path) -> None:
    """Each example is compared with every item's headline: thousands would slow every item down, so the count is
    bounded and the edit refused where it is made."""
    examples = "".join(f"    - Russian drones hit the plant number {i}\n" for i in range(1_001))
    problem = _problem(_config(tmp_path, WATCHLIST + "examples:\n  alert:\n" + examples))
    assert "watchlists/test.yaml:" in problem and "examples.alert" in problem and "at most 1000" in problem
