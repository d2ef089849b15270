"""The vocabulary every layer shares: frozen values, no behaviour beyond small helpers.

Nothing here does I/O; `alerts` may import this module and nothing else from `monitor`.
"""

from __future__ import annotations

import email.utils
import enum
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, TypeVar

_T = TypeVar("_T")


def pickled_by_slots(cls: type[_T]) -> type[_T]:
    """Pickle a slotted dataclass as its constructor and field values. Python 3.11 pickles one through
    dataclasses.fields() per object, and items, scores and fingerprints cross from the parse workers by the
    100,000 in a busy round: a 50-item document's result went from 0.68 to 0.29 ms to unpickle in the daemon's
    main process, whose one core sets the pace of a round."""
    get = attrgetter(*(f.name for f in fields(cls)))  # type: ignore[arg-type]
    assert all(f.init for f in fields(cls)), "every field must be a constructor argument"  # type: ignore[arg-type]

    def __reduce__(self: _T) -> tuple[type[_T], tuple[Any, ...]]:
        return cls, get(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls


class Severity(enum.IntEnum):
    NONE = 0
    WATCH = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls if s is not cls.NONE)
            raise ValueError(f"unknown severity {text!r} (expected one of {names})") from None


@pickled_by_slots
@dataclass(frozen=True, slots=True)
class Item:
    """A normalised feed entry. `uid` is stable per feed (guid, else canonical link, else hash)."""

    uid: str
    feed: str
    title: str
    link: str
    summary: str
    published: datetime  # aware, UTC
    canonical_url: str = ""
    language: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def document(self) -> Document:
        return Document(title=self.title, body=self.summary)


@dataclass(frozen=True, slots=True)
class Document:
    """What is scored. Spans in explanations index into `text`: the title (the headline), a newline, the body (the
    feed's summary), and for a candidate whose article was read (issue 18), a newline and the article's main text."""

    title: str
    body: str = ""
    article: str = ""

    @property
    def text(self) -> str:
        text = f"{self.title}\n{self.body}" if self.body else self.title
        return f"{text}\n{self.article}" if self.article else text

    @classmethod
    def from_text(cls, text: str) -> Document:
        title, _, body = text.lstrip("\ufeff").partition("\n")
        return cls(title=title, body=body)


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A feed as configured (feeds.yaml), resolved against the polling defaults."""

    name: str
    url: str
    interval: float
    tags: tuple[str, ...] = ()
    language: str | None = None
    enabled: bool = True
    fulltext: str = "auto"  # auto: read the article of candidates; always: of every new item; never


# --- watchlists (built by monitor.config from YAML, consumed by monitor.core) ---


@dataclass(frozen=True, slots=True)
class Actor:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    weight: float = 1.0
    fuzzy: bool = False
    fuzzy_threshold: float = 85.0
    places: tuple[str, ...] = ()  # place names that count as a mention (the cities of a state), capitalised


@dataclass(frozen=True, slots=True)
class Keyword:
    """A term (`nuclear strike`, `escalat*`) or, with regex=True, a pattern. Negative weight de-escalates."""

    term: str
    weight: float = 1.0
    language: str | None = None
    regex: bool = False
    # from the shared knowledge (monitor/knowledge), not the watchlist: where it overlaps a watchlist term, the
    # watchlist's term wins, unless this one lowers the score (a benign sense, cooperation)
    shared: bool = False


@dataclass(frozen=True, slots=True)
class NotifyRule:
    channels: tuple[str, ...]
    min_severity: Severity = Severity.WARNING
    tags: tuple[str, ...] = ()  # only items from feeds carrying one of these tags; empty = all


@dataclass(frozen=True, slots=True)
class StoryOptions:
    """Per watchlist `stories:`: how its story alerts behave (seconds for durations)."""

    deescalation: bool = False  # a short notice when an alerted story fades; off by default
    window: float = 24 * 3600.0  # the trailing coverage window a story's level is measured over
    corroboration_weight: float = 1.5
    corroboration_cap: float = 6.0
    steps: tuple[int, ...] = (5, 20)  # source counts at which an update goes out


@dataclass(frozen=True, slots=True)
class TrendOptions:
    """Per watchlist `trends:`: spike alerts per watchlist and actor against a baseline (seconds)."""

    enabled: bool = True
    window: float = 3600.0
    min_count: int = 5
    ratio: float = 3.0
    z: float = 3.0
    cooldown: float = 6 * 3600.0


@dataclass(frozen=True, slots=True)
class Examples:
    alert: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    weight: float = 4.0  # what a near copy of an example adds (alert) or takes away (ignore)


@dataclass(frozen=True, slots=True)
class Watchlist:
    name: str
    actors: tuple[Actor, ...] = ()
    keywords: tuple[Keyword, ...] = ()
    # ascending score thresholds: ((Severity.WATCH, 4.0), (Severity.WARNING, 8.0), ...)
    severities: tuple[tuple[Severity, float], ...] = ()
    notify: tuple[NotifyRule, ...] = ()
    description: str = ""
    tags: tuple[str, ...] = ()  # feed tags this watchlist applies to; empty = all feeds
    languages: tuple[str, ...] = ()  # item languages this watchlist applies to; empty = all
    require_actor: bool = False
    proximity_window: int = 12  # words between an actor and an escalation term
    stories: StoryOptions = StoryOptions()
    trends: TrendOptions = TrendOptions()
    # analysts' sentences: items like an `alert` example score higher, like an `ignore` example lower
    examples: Examples = field(default_factory=lambda: Examples())

    def severity_for(self, score: float) -> Severity:
        result = Severity.NONE
        for severity, threshold in self.severities:
            if score >= threshold:
                result = max(result, severity)
        return result


# --- scores and explanations ---


@pickled_by_slots
@dataclass(frozen=True, slots=True)
class Contribution:
    kind: str  # keyword, actor, proximity, negation, hedge, cooccurrence, deescalation, ...
    term: str  # the matched text as it appears in the document
    span: tuple[int, int]  # [start, end) into Document.text
    value: float
    detail: str = ""
    part: str = ""  # where it was found: headline, summary or article; "" for the item as a whole


@pickled_by_slots
@dataclass(frozen=True, slots=True)
class Score:
    watchlist: str
    value: float
    severity: Severity
    contributions: tuple[Contribution, ...] = ()
    actors: tuple[str, ...] = ()  # display names of the matched actors, in order of appearance
    terms: tuple[str, ...] = ()  # matched escalation terms (as written in the document)

    def top(self, n: int = 5) -> tuple[Contribution, ...]:
        return tuple(sorted(self.contributions, key=lambda c: -abs(c.value))[:n])


# --- alerts (what `alerts` renders and sends) ---


@dataclass(frozen=True, slots=True)
class AlertLinks:
    """Where a person acts on an alert (issue 17): its page in the console and one-click actions, as plain URLs so
    that `alerts` renders them without knowing how they are signed."""

    page: str
    actions: tuple[tuple[str, str], ...] = ()  # (action, url): useful, noise, snooze


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """Everything a channel needs to tell a person about one alert."""

    alert_id: int
    watchlist: str
    severity: Severity
    score: float
    title: str
    link: str
    feed: str
    published: datetime
    summary: str = ""
    actors: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    contributions: tuple[Contribution, ...] = field(default_factory=tuple)
    sources: int = 1
    # Made at send time and never stored: a token is a credential, and one signed when the alert was written
    # would start its week of validity before a digest or quiet hours let the message out. Not in to_json.
    links: AlertLinks | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "alert_id": self.alert_id, "watchlist": self.watchlist, "severity": self.severity.label,
            "score": self.score, "title": self.title, "link": self.link, "feed": self.feed,
            "published": self.published.isoformat(), "summary": self.summary, "actors": list(self.actors),
            "terms": list(self.terms), "sources": self.sources,
            "contributions": [{"kind": c.kind, "term": c.term, "span": list(c.span), "value": c.value,
                               "detail": c.detail, "part": c.part} for c in self.contributions],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertMessage:
        return cls(
            alert_id=int(data["alert_id"]), watchlist=str(data["watchlist"]),
            severity=Severity.parse(str(data["severity"])), score=float(data["score"]), title=str(data["title"]),
            link=str(data["link"]), feed=str(data["feed"]), published=datetime.fromisoformat(str(data["published"])),
            summary=str(data.get("summary", "")), actors=tuple(data.get("actors", ())),
            terms=tuple(data.get("terms", ())), sources=int(data.get("sources", 1)),
            contributions=tuple(Contribution(c["kind"], c["term"], (int(c["span"][0]), int(c["span"][1])),
                                             float(c["value"]), c.get("detail", ""), c.get("part", ""))
                                for c in data.get("contributions", ())),
        )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """An HTTP Retry-After header (delta-seconds or an HTTP date, RFC 9110 10.2.3) as seconds from `now`;
    None if absent or unreadable. Feeds and channels both answer 429/503 with it."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
