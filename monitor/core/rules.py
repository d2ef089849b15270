"""Notify rules: which channels hear about a score. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.domain import Score, Severity, Watchlist


def channels_for(watchlist: Watchlist, score: Score, feed_tags: Sequence[str] = ()) -> tuple[str, ...]:
    """Channels of every notify rule the score reaches, in rule order, without repeats."""
    if score.severity is Severity.NONE:
        return ()
    tags = set(feed_tags)
    chosen: dict[str, None] = {}
    for rule in watchlist.notify:
        if score.severity >= rule.min_severity and (not rule.tags or tags & set(rule.tags)):
            chosen.update(dict.fromkeys(rule.channels))
    return tuple(chosen)
