"""Scoring items under a time limit in a parse worker (issue 16): an item whose scoring runs past the limit is set
aside unscored, with its reason, and the document's other items are scored as usual.

The limit needs SIGALRM, so it only applies in a worker process's main thread (monitor.feeds.pool); elsewhere the
limit is 0 (off).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.core.scoring import Scorer
from monitor.domain import Document, Score

Scores = dict[str, list[Score]]  # item uid -> its scores, for the items that were not known
Scored = tuple[str, Document, str | None]  # what score_all scores: uid, document, language


class _ItemTimeout(Exception):
    pass


@dataclass
class _ItemClock:
    """The item being scored in this worker: when it started (0: none) and its limit. A periodic timer looks at
    it (`on_alarm`), so an item costs one clock read, not two system calls to arm and disarm a timer (5 us,
    4% of scoring)."""

    started: float = 0.0
    limit: float = 0.0


_clock = _ItemClock()


def on_alarm(_signum: int, _frame: object) -> None:
    """The SIGALRM handler of a worker process (set by its initializer)."""
    if _clock.started and time.monotonic() - _clock.started >= _clock.limit:
        _clock.started = 0.0
        raise _ItemTimeout


def score_all(scorer: Scorer, items: Sequence[Scored], tags: Sequence[str],
              limit: float) -> tuple[Scores, dict[str, str]]:
    """Scores by uid; an item past `limit` seconds (0: none) is set aside, with an empty score and its reason."""
    scores: Scores = {}
    set_aside: dict[str, str] = {}
    if limit:  # looked at four times per limit: an item is set aside between 1 and 1.25 limits in
        interval = max(limit / 4, 0.001)
        signal.setitimer(signal.ITIMER_REAL, interval, interval)
        _clock.limit = limit
    try:
        for uid, document, language in items:
            try:
                _clock.started = time.monotonic() if limit else 0.0
                scores[uid] = scorer.score(document, tags=tags, language=language)
                _clock.started = 0.0
            except _ItemTimeout:
                scores[uid] = []
                set_aside[uid] = f"scoring took longer than {limit:g} s"
    finally:
        _clock.started = 0.0
        if limit:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return scores, set_aside
