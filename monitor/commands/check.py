"""`monitor check`: what load_config cannot know alone (apprise URL validity)."""

from __future__ import annotations

from alerts.sender import url_problems
from monitor.config import Config


def check_channels(config: Config) -> list[str]:
    path = config.directory / "channels.yaml"
    return [f"{path}: {problem}" for problem in url_problems({n: c.urls for n, c in config.channels.items()})]
