"""The per-watchlist `stories:` and `trends:` keys and the global `stories.window`: defaults, values, and
mistakes named by file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import Config, load_config
from monitor.domain import StoryOptions, TrendOptions
from monitor.errors import ConfigError
from tests.support.configdir import write_config

WATCHLIST = """\
name: test-list
keywords:
  - {term: war, weight: 2}
severities: {watch: 2, warning: 4}
notify:
  - {channels: [console], min_severity: warning}
"""


def _load(tmp_path: Path, extra: str = "", settings: dict[str, object] | None = None) -> Config:
    directory = write_config(tmp_path / "config", settings=settings)
    (directory / "watchlists" / "test.yaml").write_text(WATCHLIST + extra, encoding="utf-8")
    return load_config(directory, env={})


def _problem(tmp_path: Path, extra: str) -> str:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, extra)
    return str(caught.value.problems[0])


def test_defaults_are_off_for_de_escalation_and_on_for_trends(tmp_path: Path) -> None:
    config = _load(tmp_path)
    wl = config.watchlists[0]
    assert wl.stories == StoryOptions() and not wl.stories.deescalation
    assert wl.trends == TrendOptions() and wl.trends.enabled
    assert config.settings.stories.window == 48 * 3600


def test_values_are_read_with_durations(tmp_path: Path) -> None:
    config = _load(tmp_path, "stories: {deescalation: true, window: 48h, corroboration: {steps: [3, 10]}}\n"
                             "trends: {window: 30m, min_count: 8, ratio: 4, cooldown: 12h}\n",
                   settings={"stories": {"window": "3d"}})
    wl = config.watchlists[0]
    assert wl.stories == StoryOptions(deescalation=True, window=48 * 3600.0, steps=(3, 10))
    assert wl.trends == TrendOptions(window=1800.0, min_count=8, ratio=4.0, cooldown=12 * 3600.0)
    assert config.settings.stories.window == 3 * 86400


def test_an_unknown_key_names_file_line_and_field(tmp_path: Path) -> None:
    message = _problem(tmp_path, "stories:\n  deescalate: true\n")
    assert "test.yaml:8:" in message and "stories.deescalate" in message and "unknown key" in message


def test_a_bad_value_names_file_line_and_field(tmp_path: Path) -> None:
    message = _problem(tmp_path, "trends:\n  window: soon\n")
    assert "test.yaml:8:" in message and "trends.window" in message and "invalid duration" in message
    message = _problem(tmp_path, "stories:\n  corroboration: {steps: [20, 5]}\n")
    assert "stories.corroboration.steps" in message and "ascending" in message
