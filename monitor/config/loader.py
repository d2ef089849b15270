"""The configuration directory, loaded as one: every file read (${VAR} where secrets belong), validated, and
cross-checked (channels named by watchlists exist, names are unique); all or nothing, every problem listed."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from monitor.config import channels as channels_file
from monitor.config import settings as settings_file
from monitor.config.channels import ChannelConfig, ChannelsFile, fallback_problems
from monitor.config.feeds import FeedConfig, FeedsFile
from monitor.config.settings import HttpSettings, MonitorSettings
from monitor.config.validate import M, validate
from monitor.config.watchlists import LexiconModel, WatchlistModel, build_watchlist, load_lexicons
from monitor.config.yamlfile import YamlDoc, read_yaml
from monitor.domain import Watchlist
from monitor.errors import ConfigError, ConfigProblem

T = TypeVar("T")
# The only places a `${VAR}` may be written; in feeds.yaml, watchlists and lexicons it is an error.
_ENV_FIELDS = {"monitor.yaml": settings_file.ENV_FIELDS, "channels.yaml": channels_file.ENV_FIELDS}


@dataclass(frozen=True)
class Config:
    directory: Path
    settings: MonitorSettings
    feeds: tuple[FeedConfig, ...]
    channels: Mapping[str, ChannelConfig]
    watchlists: tuple[Watchlist, ...]

    @property
    def database_url(self) -> str:
        return self.settings.database




def load_config(directory: Path, *, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the whole directory; raise ConfigError listing every problem found."""
    environ = os.environ if env is None else env
    if not directory.is_dir():
        raise ConfigError([ConfigProblem(str(directory), None, "", "configuration directory not found")])
    run = _Loading(directory, environ)
    settings = run.file("monitor.yaml", MonitorSettings)
    feeds = run.file("feeds.yaml", FeedsFile)
    channels = run.file("channels.yaml", ChannelsFile)
    lexicons = run.attempt(load_lexicons, directory / "lexicons") or {}
    channel_names = set(channels[0].channels) if channels else None
    if channels is not None:
        run.problems.extend(fallback_problems(channels[0].channels, channels[1]))
    watchlists = run.watchlists(lexicons, channel_names)
    if settings is not None and channel_names is not None:
        run.problems.extend(_ops_channel_problems(settings, channel_names))
    if feeds is not None:
        run.problems.extend(_duplicate_feed_problems(feeds))
    if run.problems:
        raise ConfigError(run.problems)
    assert settings and feeds and channels  # no problems means every file loaded
    return Config(directory, _overridden(settings[0], environ), feeds[0].feeds, dict(channels[0].channels),
                  tuple(watchlists))


@dataclass
class _Loading:
    """One load of the directory: every problem is collected, so one run reports them all."""

    directory: Path
    environ: Mapping[str, str]
    problems: list[ConfigProblem] = field(default_factory=list)

    def attempt(self, fn: Callable[..., T], *args: Any) -> T | None:
        try:
            return fn(*args)
        except ConfigError as exc:
            self.problems.extend(exc.problems)
            return None

    def file(self, name: str, model: type[M]) -> tuple[M, YamlDoc] | None:
        """A file of the directory, validated; an absent file is its model's defaults."""
        path = self.directory / name
        if not path.exists():
            return model.model_validate({}), YamlDoc(path, {})
        doc = self.attempt(partial(read_yaml, env_fields=_ENV_FIELDS.get(name, ())), path, self.environ)
        validated = self.attempt(validate, model, doc) if doc is not None else None
        return (validated, doc) if doc is not None and validated is not None else None

    def watchlists(self, lexicons: Mapping[str, LexiconModel], channels: set[str] | None) -> list[Watchlist]:
        built: list[Watchlist] = []
        seen: dict[str, Path] = {}
        for path in sorted((self.directory / "watchlists").glob("*.y*ml")):
            doc = self.attempt(read_yaml, path, self.environ)
            model = self.attempt(validate, WatchlistModel, doc) if doc is not None else None
            if doc is None or model is None:
                continue
            if model.name in seen:
                self.problems.append(doc.problem(("name",), f"duplicate watchlist name (also in {seen[model.name]})"))
            seen[model.name] = path
            if channels is not None:
                self.problems.extend(_notify_problems(model, doc, channels))
            if (watchlist := self.attempt(build_watchlist, model, doc, lexicons)) is not None:
                built.append(watchlist)
        return built


def _unknown_channel(channel: str, channels: set[str]) -> str:
    return f"unknown channel {channel!r} (channels.yaml has: {', '.join(sorted(channels)) or 'none'})"


def _notify_problems(model: WatchlistModel, doc: YamlDoc, channels: set[str]) -> list[ConfigProblem]:
    return [doc.problem(("notify", r, "channels", c), _unknown_channel(channel, channels))
            for r, rule in enumerate(model.notify) for c, channel in enumerate(rule.channels)
            if channel not in channels]


def _ops_channel_problems(settings: tuple[MonitorSettings, YamlDoc], channels: set[str]) -> list[ConfigProblem]:
    ops = settings[0].polling.health.ops_channel
    if ops is None or ops in channels:
        return []
    return [settings[1].problem(("polling", "health", "ops_channel"), _unknown_channel(ops, channels))]


def _duplicate_feed_problems(feeds: tuple[FeedsFile, YamlDoc]) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    names: dict[str, int] = {}
    for i, feed in enumerate(feeds[0].feeds):
        if feed.name in names:
            message = f"duplicate feed name {feed.name!r} (also feeds[{names[feed.name]}])"
            problems.append(feeds[1].problem(("feeds", i, "name"), message))
        names[feed.name] = i
    return problems


def _overridden(settings: MonitorSettings, environ: Mapping[str, str]) -> MonitorSettings:
    """MONITOR_DATABASE_URL and MONITOR_HTTP_LISTEN over the file's values."""
    if database := environ.get("MONITOR_DATABASE_URL"):
        settings = settings.model_copy(update={"database": database})
    if listen := environ.get("MONITOR_HTTP_LISTEN"):  # containers listen beyond loopback without a config edit
        http = validate(HttpSettings, YamlDoc(Path("$MONITOR_HTTP_LISTEN"),
                                              {**settings.http.model_dump(), "listen": listen}))
        settings = settings.model_copy(update={"http": http})
    return settings
