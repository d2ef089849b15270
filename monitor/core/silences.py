"""Silence matchers (issue 17), as in Alertmanager: an alert is silenced when every matcher of an active silence
matches it. Pure: the facts of an alert in, a yes or no out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.core.normalize import fold

FIELDS = ("watchlist", "actor", "feed", "tag", "text")


class MatcherError(ValueError):
    pass


@dataclass(frozen=True)
class AlertFacts:
    """What a silence can match on, taken from an alert before it is written."""

    watchlist: str
    feed: str
    title: str
    actors: frozenset[str]
    tags: frozenset[str]


def parse_matcher(text: str) -> dict[str, str]:
    """`watchlist=nato` -> {"field": "watchlist", "value": "nato"}; MatcherError names what is wrong."""
    field, sep, value = text.partition("=")
    field, value = field.strip().lower(), value.strip()
    if not sep or field not in FIELDS:
        raise MatcherError(f"matcher {text!r}: expected FIELD=VALUE with FIELD one of {', '.join(FIELDS)}")
    if not value:
        raise MatcherError(f"matcher {text!r}: the value is empty")
    return {"field": field, "value": value}


def _one(matcher: Mapping[str, Any], facts: AlertFacts) -> bool:
    field, value = str(matcher.get("field", "")), str(matcher.get("value", ""))
    folded = fold(value).text
    if field == "watchlist":
        return facts.watchlist == value
    if field == "feed":
        return facts.feed == value
    if field == "actor":
        return any(fold(a).text == folded for a in facts.actors)
    if field == "tag":
        return value in facts.tags
    if field == "text":
        return bool(folded) and folded in fold(facts.title).text
    return False  # an unknown field never matches: a silence must not widen by a typo


def matches(matchers: Sequence[Mapping[str, Any]], facts: AlertFacts) -> bool:
    return bool(matchers) and all(_one(m, facts) for m in matchers)


def active(starts_at: datetime, ends_at: datetime, now: datetime) -> bool:
    return starts_at <= now < ends_at
