"""Story alerts: one first alert per story and watchlist, an update when it climbs (a higher severity or a
corroboration step), nothing for further copies, and an optional de-escalation notice when it fades. Pure.

The caller keeps a StoryAlertState per (story, watchlist) and feeds `decide` the story's level over a trailing
coverage window (`story_level`), after each new item of the story and from a periodic sweep (a story that
fades gets no new items, so only the sweep can notice). The same level feeds both, so a faded story that comes
back re-escalates instead of flapping.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from monitor.core.corroboration import DEFAULT_POLICY, CorroborationPolicy, corroborated, step_reached
from monitor.domain import Score, Severity, Watchlist


class StoryItem(NamedTuple):
    at: datetime
    source: str
    score: Score | None  # the item's score for the watchlist (None: it did not score)


@dataclass(frozen=True, slots=True)
class StoryLevel:
    """Where a story stands for one watchlist: its corroborated best score and distinct sources."""

    score: Score | None
    sources: int

    @property
    def severity(self) -> Severity:
        return self.score.severity if self.score else Severity.NONE

    @property
    def value(self) -> float:
        return self.score.value if self.score else 0.0


@dataclass(frozen=True, slots=True)
class StoryPolicy:
    floor: Severity = Severity.WATCH  # the lowest severity that alerts; see alert_floor()
    corroboration: CorroborationPolicy = DEFAULT_POLICY
    deescalation: bool = False  # off by default, per watchlist
    coverage: timedelta = timedelta(hours=24)  # the trailing window a story's level is measured over


@dataclass(frozen=True, slots=True)
class StoryAlertState:
    """What has gone out for one story and watchlist; persist it with the alert it came with."""

    severity: Severity = Severity.NONE  # highest severity alerted (lowered by a de-escalation notice)
    step: int = 0  # highest corroboration step alerted
    sources: int = 0  # distinct sources when it last alerted
    alerts: int = 0  # alerts sent for the story so far (first, updates, notices)
    deescalated: bool = False


class StoryAlertKind(enum.Enum):
    FIRST = "first"
    UPDATE = "update"
    DEESCALATION = "deescalation"


@dataclass(frozen=True, slots=True)
class StoryDecision:
    kind: StoryAlertKind
    severity: Severity  # the story's severity now
    notify: Severity  # whom to tell: channels_for a score of this severity (a notice reaches who was alerted)
    reasons: tuple[str, ...]
    state: StoryAlertState = field(default_factory=StoryAlertState)  # to persist once the alert row is written

    @property
    def threaded(self) -> bool:
        """Follows an earlier alert of the same story (a reply in the thread where the channel allows)."""
        return self.kind is not StoryAlertKind.FIRST


def alert_floor(watchlist: Watchlist) -> Severity | None:
    """The lowest severity any notify rule of the watchlist sends (None: the watchlist notifies nobody)."""
    floors = [rule.min_severity for rule in watchlist.notify if rule.min_severity > Severity.NONE]
    return min(floors, default=None)


def story_level(items: Iterable[StoryItem], watchlist: Watchlist, *, since: datetime,
                policy: CorroborationPolicy = DEFAULT_POLICY) -> StoryLevel:
    """The story's level over items seen at or after `since`: best item score, plus corroboration by the
    distinct sources among those items."""
    recent = [i for i in items if i.at >= since]
    sources = len({i.source for i in recent})
    scored = [i.score for i in recent if i.score is not None and i.score.value > 0]
    if not scored:
        return StoryLevel(None, sources)
    best = max(scored, key=lambda s: s.value)
    return StoryLevel(corroborated(best, sources, watchlist, policy), sources)


def decide(state: StoryAlertState, level: StoryLevel, policy: StoryPolicy) -> StoryDecision | None:
    """The alert this level calls for, if any, with the state to keep."""
    if not state.alerts:
        return _first(level, policy)
    reasons = []
    severity = state.severity
    if level.severity > state.severity and level.severity >= policy.floor:
        reasons.append(f"{'back up' if state.deescalated else 'rose'} to {level.severity.label}")
        severity = level.severity
    step = step_reached(level.sources, policy.corroboration)
    if step > state.step:
        reasons.append(f"{level.sources} sources")
    if reasons:
        new = StoryAlertState(severity, max(step, state.step), level.sources, state.alerts + 1,
                              state.deescalated and severity == state.severity)
        return StoryDecision(StoryAlertKind.UPDATE, level.severity, max(severity, level.severity), tuple(reasons),
                             new)
    if _faded(state, level, policy):
        reason = (f"coverage fell to {level.sources} {'source' if level.sources == 1 else 'sources'} and the score "
                  f"below {state.severity.label}")
        new = replace(state, severity=level.severity, sources=level.sources, alerts=state.alerts + 1,
                      deescalated=True)
        return StoryDecision(StoryAlertKind.DEESCALATION, level.severity, state.severity, (reason,), new)
    return None


def story_alert_key(watchlist: str, story_id: str, decision: StoryDecision) -> str:
    """One alert row per decision: the outbox's unique key makes a retried or raced decision a no-op."""
    return f"{watchlist}:story:{story_id}:{decision.state.alerts}"


def _first(level: StoryLevel, policy: StoryPolicy) -> StoryDecision | None:
    if level.severity < policy.floor or level.severity is Severity.NONE:
        return None
    step = step_reached(level.sources, policy.corroboration)
    reasons = [f"reached {level.severity.label}"] + ([f"{level.sources} sources"] if step else [])
    state = StoryAlertState(level.severity, step, level.sources, 1)
    return StoryDecision(StoryAlertKind.FIRST, level.severity, level.severity, tuple(reasons), state)


def _faded(state: StoryAlertState, level: StoryLevel, policy: StoryPolicy) -> bool:
    return (policy.deescalation and not state.deescalated and level.severity < state.severity
            and level.sources < state.sources)
