"""Pydantic models of every config file; load, interpolate ${VAR}, validate once, all or nothing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.domain import Actor, Keyword, NotifyRule, Severity, StoryOptions, TrendOptions, Watchlist
from monitor.errors import ConfigError, ConfigProblem
from monitor.yamlfile import YamlDoc, read_yaml

M = TypeVar("M", bound=BaseModel)
DEFAULT_DATABASE = "sqlite:///data/monitor.db"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(value: Any) -> float:
    """`90s`, `5m`, `6h`, `7d` (or a bare number of seconds) -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 90s, 5m, 6h or 7d")
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"invalid duration {value!r}: expected a number with a unit, like 90s, 5m, 6h or 7d")
    return float(match.group(1)) * _UNITS[match.group(2)]


Duration = Annotated[float, BeforeValidator(parse_duration)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- monitor.yaml ---


class FeedHealthSettings(Strict):
    failures: int = Field(default=5, gt=0)  # consecutive failures before the ops channel hears of it
    silence_factor: float = Field(default=10.0, gt=1)  # silent: this many usual publishing gaps with nothing new
    min_silence: Duration = 86400.0  # and at least this long
    ops_channel: str | None = None  # a channels.yaml name; unset: feed health changes are only logged


class PollingSettings(Strict):
    interval: Duration = 600.0
    min_interval: Duration = 120.0
    max_interval: Duration = 6 * 3600.0
    timeout: Duration = 20.0
    deadline: Duration = 60.0  # the whole exchange with one feed, however slowly the server trickles
    max_bytes: int = Field(default=10_000_000, gt=0)
    max_redirects: int = Field(default=5, ge=0)
    concurrency: int = Field(default=16, gt=0)
    per_host: int = Field(default=4, gt=0)
    user_agent: str = "escalation-monitor/0.1 (+https://github.com/escalation-monitor)"
    tick: Duration = 5.0  # how often the scheduler looks for due feeds
    lease: Duration | None = None  # how long a claimed feed stays one worker's; default 2 x timeout + 30s
    adaptive: bool = True  # follow each feed's publishing cadence within min_interval..max_interval
    parse_workers: int | None = Field(default=None, ge=0)  # processes for parsing; None: one per core; 0: a thread
    health: FeedHealthSettings = FeedHealthSettings()

    @model_validator(mode="after")
    def _ordered(self) -> PollingSettings:
        if not self.min_interval <= self.interval <= self.max_interval:
            raise ValueError("intervals must satisfy min_interval <= interval <= max_interval")
        if self.deadline < self.timeout:
            raise ValueError("deadline must be at least the timeout")
        return self


class DeliverySettings(Strict):
    interval: Duration = 5.0
    max_attempts: int = Field(default=8, gt=0)
    backoff: Duration = 30.0
    max_backoff: Duration = 3600.0
    timeout: Duration = 30.0
    lease: Duration = Field(default=60.0, gt=0)  # a claim lasts timeout x URLs + this; then a crash is recovered
    realert: Duration = Field(default=6 * 3600.0, ge=0)  # one story alerts once per watchlist unless severity rises


class LogSettings(Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class HttpSettings(Strict):
    listen: str = "127.0.0.1:8787"  # loopback by default: the page and metrics are not for the internet
    enabled: bool = True

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected HOST:PORT, like 127.0.0.1:8787, not {value!r}")
        return value

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class ReloadSettings(Strict):
    watch: bool = True  # follow edits of the config directory; SIGHUP reloads either way
    debounce: Duration = 0.3  # editors write a file in several steps: wait for them to settle


class StorySettings(Strict):
    window: Duration = Field(default=48 * 3600.0, gt=0)  # how long a story stays open for new copies


class MonitorSettings(Strict):
    database: str = DEFAULT_DATABASE
    polling: PollingSettings = PollingSettings()
    delivery: DeliverySettings = DeliverySettings()
    http: HttpSettings = HttpSettings()
    log: LogSettings = LogSettings()
    retention: Duration = 90 * 86400.0
    stories: StorySettings = StorySettings()
    reload: ReloadSettings = ReloadSettings()
    shutdown_grace: Duration = 20.0  # SIGTERM: how long in-flight polls and deliveries may take to finish


# --- feeds.yaml ---


class FeedConfig(Strict):
    url: str
    name: str = ""
    interval: Duration | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"not an http(s) URL: {value!r}")
        return value

    @model_validator(mode="after")
    def _default_name(self) -> FeedConfig:
        if not self.name:
            object.__setattr__(self, "name", self.url)
        return self


class FeedsFile(Strict):
    feeds: tuple[FeedConfig, ...] = ()


# --- channels.yaml ---


def _clock(value: Any) -> time:
    if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 reads 22:00 as 1320 (sexagesimal)
        value = f"{value // 60:02d}:{value % 60:02d}"
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(value).strip())
    if not match:
        raise ValueError(f"invalid time {value!r}: expected HH:MM, like 22:00")
    return time(int(match.group(1)), int(match.group(2)))


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)") from None
    return value


Clock = Annotated[time, BeforeValidator(_clock)]
Zone = Annotated[str, AfterValidator(_zone)]
Bypass = Literal["watch", "warning", "critical", "none"]


class RateLimitModel(Strict):
    messages: int = Field(gt=0)
    per: Duration = Field(gt=0)


class QuietHoursModel(Strict):
    start: Clock
    end: Clock
    timezone: Zone = "UTC"
    bypass: Bypass = "critical"  # this severity and above is sent during quiet hours anyway

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHoursModel:
        if self.start == self.end:
            raise ValueError("start and end are the same time")
        return self


class DigestModel(Strict):
    cron: str  # crontab, five fields: minute hour day month weekday ("0 8 * * *" = daily at 08:00)
    timezone: Zone = "UTC"
    bypass: Bypass = "none"

    @model_validator(mode="after")
    def _cron(self) -> DigestModel:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(self.cron, timezone=self.timezone)
        except ValueError as exc:
            raise ValueError(f"invalid cron expression {self.cron!r}: {exc}") from None
        return self


class FallbackModel(Strict):
    channel: str
    after: Duration = Field(default=900.0, ge=0)  # failing this long, with no success, hands alerts over


class ChannelConfig(Strict):
    urls: tuple[str, ...] = Field(min_length=1)
    rate_limit: RateLimitModel | None = RateLimitModel(messages=10, per=60.0)
    summary_size: int = Field(default=25, ge=1, le=1000)
    quiet_hours: QuietHoursModel | None = None
    digest: DigestModel | None = None
    fallback: FallbackModel | None = None

    @field_validator("urls")
    @classmethod
    def _has_scheme(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            if "://" not in url:
                raise ValueError("not an apprise URL (expected scheme://...)")
        return urls


def _fallback_problems(channels: Mapping[str, ChannelConfig], doc: YamlDoc) -> list[ConfigProblem]:
    """A fallback names another configured channel, and following fallbacks never loops."""
    problems = []
    for name, channel in channels.items():
        if channel.fallback is None:
            continue
        loc = ("channels", name, "fallback", "channel")
        target = channel.fallback.channel
        if target not in channels or target == name:
            known = ", ".join(sorted(set(channels) - {name})) or "none"
            problems.append(doc.problem(loc, f"fallback must be another configured channel, not {target!r} "
                                             f"(known: {known})"))
            continue
        seen, current = {name}, target
        while current not in seen:
            seen.add(current)
            nxt = channels[current].fallback
            if nxt is None or nxt.channel not in channels:
                break
            current = nxt.channel
        else:
            problems.append(doc.problem(loc, f"fallbacks loop back to {current!r}"))
    return problems


class ChannelsFile(Strict):
    channels: dict[str, ChannelConfig] = {}


# --- watchlists/*.yaml and lexicons/*.yaml ---


class KeywordModel(Strict):
    term: str | None = None
    pattern: str | None = None
    weight: float = 1.0
    language: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> KeywordModel:
        if (self.term is None) == (self.pattern is None):
            raise ValueError("give exactly one of `term` or `pattern`")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from exc
        if self.term is not None and not self.term.strip():
            raise ValueError("empty term")
        return self

    def to_domain(self) -> Keyword:
        if self.pattern is not None:
            return Keyword(self.pattern, self.weight, self.language, regex=True)
        return Keyword(str(self.term), self.weight, self.language)


class ActorModel(Strict):
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    weight: float = 1.0
    fuzzy: bool = False
    fuzzy_threshold: float = Field(default=85.0, ge=50, le=100)


class NotifyModel(Strict):
    channels: tuple[str, ...] = Field(min_length=1)
    min_severity: Literal["watch", "warning", "critical"] = "warning"
    tags: tuple[str, ...] = ()


class SeveritiesModel(Strict):
    watch: float | None = None
    warning: float | None = None
    critical: float | None = None

    @model_validator(mode="after")
    def _ascending(self) -> SeveritiesModel:
        given = [v for v in (self.watch, self.warning, self.critical) if v is not None]
        if not given:
            raise ValueError("give at least one threshold (watch, warning, critical)")
        if given != sorted(given) or len(set(given)) != len(given):
            raise ValueError("thresholds must rise: watch < warning < critical")
        return self


class CorroborationModel(Strict):
    weight: float = Field(default=1.5, ge=0)
    cap: float = Field(default=6.0, ge=0)
    steps: tuple[int, ...] = (5, 20)

    @field_validator("steps")
    @classmethod
    def _ascending_steps(cls, steps: tuple[int, ...]) -> tuple[int, ...]:
        if any(s < 2 for s in steps) or list(steps) != sorted(set(steps)):
            raise ValueError("steps must be ascending source counts of 2 or more")
        return steps


class StoriesModel(Strict):
    deescalation: bool = False
    window: Duration = Field(default=24 * 3600.0, gt=0)
    corroboration: CorroborationModel = CorroborationModel()

    def to_domain(self) -> StoryOptions:
        c = self.corroboration
        return StoryOptions(self.deescalation, self.window, c.weight, c.cap, c.steps)


class TrendsModel(Strict):
    enabled: bool = True
    window: Duration = Field(default=3600.0, gt=0, le=86400.0)
    min_count: int = Field(default=5, ge=1)
    ratio: float = Field(default=3.0, gt=1)
    z: float = Field(default=3.0, gt=0)
    cooldown: Duration = Field(default=6 * 3600.0, ge=0)

    def to_domain(self) -> TrendOptions:
        return TrendOptions(self.enabled, self.window, self.min_count, self.ratio, self.z, self.cooldown)


class WatchlistModel(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    lexicons: tuple[str, ...] = ()
    actors: tuple[ActorModel, ...] = ()
    keywords: tuple[KeywordModel, ...] = ()
    severities: SeveritiesModel
    notify: tuple[NotifyModel, ...] = ()
    tags: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    require_actor: bool = False
    proximity_window: int = Field(default=12, ge=1, le=100)
    stories: StoriesModel = StoriesModel()
    trends: TrendsModel = TrendsModel()


class LexiconModel(Strict):
    name: str
    language: str | None = None
    keywords: tuple[KeywordModel, ...] = Field(min_length=1)


# --- the whole directory ---


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


def _validate(model: type[M], doc: YamlDoc) -> M:
    data = {} if doc.data is None else doc.data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [doc.problem(tuple(err["loc"]), _message(err)) for err in exc.errors()]
        raise ConfigError(problems) from None


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (check the spelling)"
    if err["type"] == "missing":
        return "required field is missing"
    return str(err["msg"]).removeprefix("Value error, ")


def load_lexicons(directory: Path) -> dict[str, LexiconModel]:
    lexicons: dict[str, LexiconModel] = {}
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        lexicon = _validate(LexiconModel, read_yaml(path))
        lexicons[lexicon.name] = lexicon
    return lexicons


def _build_watchlist(model: WatchlistModel, doc: YamlDoc, lexicons: Mapping[str, LexiconModel]) -> Watchlist:
    keywords: dict[tuple[str, bool], Keyword] = {}
    for i, name in enumerate(model.lexicons):
        if name not in lexicons:
            known = ", ".join(sorted(lexicons)) or "none"
            raise ConfigError([doc.problem(("lexicons", i), f"unknown lexicon {name!r} (known: {known})")])
        for kw in lexicons[name].keywords:
            domain = kw.to_domain()
            if domain.language is None and lexicons[name].language:
                domain = Keyword(domain.term, domain.weight, lexicons[name].language, domain.regex)
            keywords[(domain.term.casefold(), domain.regex)] = domain
    for kw in model.keywords:  # the watchlist's own keywords win over a lexicon's
        domain = kw.to_domain()
        keywords[(domain.term.casefold(), domain.regex)] = domain
    thresholds = [(Severity.parse(label), value) for label, value in model.severities.model_dump().items()
                  if value is not None]
    return Watchlist(
        name=model.name,
        description=model.description,
        actors=tuple(Actor(a.id, a.name, a.aliases, a.weight, a.fuzzy, a.fuzzy_threshold) for a in model.actors),
        keywords=tuple(keywords.values()),
        severities=tuple(thresholds),
        notify=tuple(NotifyRule(n.channels, Severity.parse(n.min_severity), n.tags) for n in model.notify),
        tags=model.tags,
        languages=tuple(lang.lower() for lang in model.languages),
        require_actor=model.require_actor,
        proximity_window=model.proximity_window,
        stories=model.stories.to_domain(),
        trends=model.trends.to_domain(),
    )


def load_watchlist_file(path: Path, lexicon_dir: Path) -> Watchlist:
    """One watchlist file with its lexicons resolved (used by tests and `monitor score`)."""
    doc = read_yaml(path)
    return _build_watchlist(_validate(WatchlistModel, doc), doc, load_lexicons(lexicon_dir))


def load_config(directory: Path, *, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the whole directory; raise ConfigError listing every problem found."""
    import os

    environ = os.environ if env is None else env
    if not directory.is_dir():
        raise ConfigError([ConfigProblem(str(directory), None, "", "configuration directory not found")])
    problems: list[ConfigProblem] = []

    def attempt(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except ConfigError as exc:
            problems.extend(exc.problems)
            return None

    def load(name: str, model: type[M]) -> tuple[M, YamlDoc] | None:
        path = directory / name
        if not path.exists():
            return model.model_validate({}), YamlDoc(path, {})
        doc = attempt(read_yaml, path, environ)
        if doc is None:
            return None
        validated = attempt(_validate, model, doc)
        return (validated, doc) if validated is not None else None

    settings_doc = load("monitor.yaml", MonitorSettings)
    feeds_doc = load("feeds.yaml", FeedsFile)
    channels_doc = load("channels.yaml", ChannelsFile)
    lexicons = attempt(load_lexicons, directory / "lexicons") or {}
    channel_names = set(channels_doc[0].channels) if channels_doc else set()
    if channels_doc is not None:
        problems.extend(_fallback_problems(channels_doc[0].channels, channels_doc[1]))

    watchlists: list[Watchlist] = []
    seen: dict[str, Path] = {}
    for path in sorted((directory / "watchlists").glob("*.y*ml")):
        doc = attempt(read_yaml, path, environ)
        model = attempt(_validate, WatchlistModel, doc) if doc is not None else None
        if doc is None or model is None:
            continue
        if model.name in seen:
            problems.append(doc.problem(("name",), f"duplicate watchlist name (also in {seen[model.name]})"))
        seen[model.name] = path
        if channels_doc is not None:
            for r, rule in enumerate(model.notify):
                for c, channel in enumerate(rule.channels):
                    if channel not in channel_names:
                        known = ", ".join(sorted(channel_names)) or "none"
                        problems.append(doc.problem(("notify", r, "channels", c),
                                                    f"unknown channel {channel!r} (channels.yaml has: {known})"))
        built = attempt(_build_watchlist, model, doc, lexicons)
        if built is not None:
            watchlists.append(built)

    if settings_doc is not None and channels_doc is not None:
        ops = settings_doc[0].polling.health.ops_channel
        if ops is not None and ops not in channel_names:
            known = ", ".join(sorted(channel_names)) or "none"
            problems.append(settings_doc[1].problem(("polling", "health", "ops_channel"),
                                                    f"unknown channel {ops!r} (channels.yaml has: {known})"))
    if feeds_doc is not None:
        names: dict[str, int] = {}
        for i, feed in enumerate(feeds_doc[0].feeds):
            if feed.name in names:
                message = f"duplicate feed name {feed.name!r} (also feeds[{names[feed.name]}])"
                problems.append(feeds_doc[1].problem(("feeds", i, "name"), message))
            names[feed.name] = i
    if problems:
        raise ConfigError(problems)
    assert settings_doc and feeds_doc and channels_doc  # no problems means every file loaded
    settings = settings_doc[0]
    if database := environ.get("MONITOR_DATABASE_URL"):
        settings = settings.model_copy(update={"database": database})
    if listen := environ.get("MONITOR_HTTP_LISTEN"):  # containers listen beyond loopback without a config edit
        http = attempt(_validate, HttpSettings, YamlDoc(Path("$MONITOR_HTTP_LISTEN"),
                                                        {**settings.http.model_dump(), "listen": listen}))
        if http is None:
            raise ConfigError(problems)
        settings = settings.model_copy(update={"http": http})
    return Config(directory, settings, feeds_doc[0].feeds, dict(channels_doc[0].channels), tuple(watchlists))
