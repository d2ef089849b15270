"""monitor.yaml: global settings (database, polling, delivery, HTTP, reload, stories, retention), and the
building blocks every config file shares (strict models, durations)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

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


