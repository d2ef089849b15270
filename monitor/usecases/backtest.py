"""Replay stored items through watchlists, a fresh StoryIndex, the story alert rules and the trend rules, sending
and writing nothing: what `monitor backtest` prints and what the console's watchlist preview compares.

Two passes: every item is scored first (core.score_memo: each text once per watchlist version, remembered across
replays when the caller keeps a memo), then replayed oldest first through stories and rules. The split changes no
result: scoring is a pure function of the item, and the replay reads the scores in item order as before."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.config import gazetteer
from monitor.core import trends
from monitor.core.clustering import StoryIndex
from monitor.core.score_memo import GroupScorer, ScoreMemo, score_each, score_group
from monitor.core.story_rules import StoryAlertState, StoryItem, decide, story_level
from monitor.core.trends import TrendPolicy, TrendSubject
from monitor.domain import Document, Score, Watchlist
from monitor.store import story_rows
from monitor.usecases.story_alerts import story_policy
from monitor.usecases.trends import PERIOD, policy_for

EXPIRE_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class Hit:
    at: datetime
    watchlist: str
    kind: str  # story_first, story_update, deescalation, trend
    severity: str
    text: str
    story: str = ""  # the replay's story id (its first item's id); "" for a trend
    title: str = ""


@dataclass
class Day:
    score: float = 0.0  # the highest story level of the day
    story_alerts: int = 0
    trend_alerts: int = 0


@dataclass
class Backtest:
    items: int = 0
    hits: list[Hit] = field(default_factory=list)
    days: dict[tuple[str, str], Day] = field(default_factory=lambda: defaultdict(Day))  # (day, watchlist)


def run(items: Sequence[story_rows.StoredItem], watchlists: Sequence[Watchlist], *, window: float,
        stored_stories: bool = False, memo: ScoreMemo | None = None,
        score_groups: GroupScorer = score_group, stories_only: bool = False) -> Backtest:
    """`stored_stories`: file each item in the story it was filed in when it arrived (a fresh index only for items
    that have none). Clustering does not depend on watchlists, so a watchlist preview skips ~40% of the work.
    `stories_only`: the story alerts alone, no trend alerts and no daily figures (`Backtest.days` stays empty):
    what the editor's preview compares, about half the replay's time.
    `memo`: scores remembered from earlier replays (the editor's previews keep one); None: this replay's own.
    `score_groups`: how missing scores are computed (score_memo.score_each)."""
    scored = score_each([(Document(i.title, i.summary), i.tags, i.language) for i in items], watchlists, memo,
                        score_groups)
    replay = _Replay(items, watchlists, window, stored_stories, stories_only)
    for item, scores in zip(items, scored, strict=True):
        replay.add(item, {s.watchlist: s for s in scores if s is not None and s.value > 0})
    return replay.result


class _Replay:
    """The replay's state: stories as filed, their alert states per watchlist, trend counts per subject."""

    def __init__(self, items: Sequence[story_rows.StoredItem], watchlists: Sequence[Watchlist], window: float,
                 stored_stories: bool, stories_only: bool = False) -> None:
        self.result = Backtest(items=len(items))
        self._stories_only = stories_only
        self._by_name = {w.name: w for w in watchlists}
        self._policies = {w.name: story_policy(w) for w in watchlists}
        self._trend_policies = {w.name: policy_for(w) for w in watchlists}
        self._window, self._stored = window, stored_stories
        self._index: StoryIndex | None = None  # made at the first item without a stored story
        self._members: dict[str, list[tuple[datetime, str, dict[str, Score]]]] = defaultdict(list)
        self._states: dict[tuple[str, str], StoryAlertState] = {}
        self._times: dict[TrendSubject, list[datetime]] = defaultdict(list)
        self._checked: dict[TrendSubject, datetime] = {}
        self._last_trend: dict[TrendSubject, datetime] = {}
        self._start = items[0].fetched_at if items else None
        self._next_expiry = self._start + EXPIRE_EVERY if self._start else None

    def add(self, item: story_rows.StoredItem, scores: dict[str, Score]) -> None:
        at = item.fetched_at
        story_id = self._file(item)
        self._members[story_id].append((at, item.feed, scores))
        if not scores:
            return
        day = "" if self._stories_only else at.strftime("%Y-%m-%d")
        for name, score in scores.items():
            wl = self._by_name[name]
            self._story(wl, story_id, item, at, day)
            if wl.trends.enabled and self._start is not None and not self._stories_only:
                _trend(self.result, wl, score, at, self._start, self._times, self._checked, self._last_trend,
                       self._trend_policies[name])

    def _file(self, item: story_rows.StoredItem) -> str:
        at = item.fetched_at
        if self._next_expiry and at >= self._next_expiry:
            if self._index is not None:  # an index not made yet holds nothing to expire
                self._index.expire(at - timedelta(seconds=self._window))
            self._next_expiry = at + EXPIRE_EVERY
        if self._stored and item.story_id:
            return item.story_id
        if self._index is None:
            self._index = StoryIndex(gazetteer.place_tokens())
        return self._index.add(str(item.id), title=item.title, summary=item.summary, source=item.feed,
                               at=at).story_id

    def _story(self, wl: Watchlist, story_id: str, item: story_rows.StoredItem, at: datetime, day: str) -> None:
        policy = self._policies[wl.name]
        if policy is None:
            return
        name = wl.name
        level = story_level([StoryItem(t, src, sc.get(name)) for t, src, sc in self._members[story_id]], wl,
                            since=at - policy.coverage, policy=policy.corroboration)
        stats = None if self._stories_only else self.result.days[(day, name)]
        if stats is not None:
            stats.score = max(stats.score, level.value)
        decision = decide(self._states.get((story_id, name), StoryAlertState()), level, policy)
        if decision is not None:
            self._states[(story_id, name)] = decision.state
            if stats is not None:
                stats.story_alerts += 1
            self.result.hits.append(Hit(at, name, f"story_{decision.kind.value}", decision.severity.label,
                                        f"{'; '.join(decision.reasons)}, {level.sources} sources: {item.title}",
                                        story_id, item.title))


def _trend(result: Backtest, wl: Watchlist, score: Score, at: datetime, history_start: datetime,
           times: dict[TrendSubject, list[datetime]], checked: dict[TrendSubject, datetime],
           last_trend: dict[TrendSubject, datetime], policy: TrendPolicy | None = None) -> None:
    """Like the scheduled job: each subject evaluated at most once per job period. `policy`: the watchlist's,
    if the caller made it already."""
    policy = policy or policy_for(wl)
    for subject in trends.subjects(score):
        times[subject].append(at)
        if subject in checked and at - checked[subject] < PERIOD:
            continue
        checked[subject] = at
        decision = trends.trend(times[subject], subject, now=at, history_start=history_start, policy=policy,
                                presorted=True)  # items are replayed oldest first
        if trends.alert_due(decision, last_trend.get(subject), at, policy):
            last_trend[subject] = at
            result.days[(at.strftime("%Y-%m-%d"), wl.name)].trend_alerts += 1
            result.hits.append(Hit(at, wl.name, "trend", "warning", decision.explanation))
